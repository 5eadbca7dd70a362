"""The exported model's front end for a csv: raw cells in, the encoding the model trained on
out (`framework.data.columns`), in Keras's own layers and ops, so `model.keras` takes the
rows of a file as they are (blanks, NA, categories never seen in training).

Inputs: float32 [n, D] (NaN where missing) when every feature column is numeric, else a
dict `input_name(column)` -> [n, 1] (float32, or the str cells of a categorical column:
tf.string tensors, as Keras takes no numpy str arrays); each numeric
column is filled with its training median where missing and followed by its 0/1 indicator
when it has one, each categorical column is one-hot by `keras.layers.StringLookup` (slot 0:
values training never saw).
"""

from __future__ import annotations

from typing import Any, Sequence

import keras

from framework.data.columns import Column, input_name


def _numeric(x: Any, column: Column) -> list[Any]:
  """The encoded columns of numeric cells x [n, 1]."""
  missing = keras.ops.isnan(x)
  filled = keras.ops.where(missing, keras.ops.full_like(x, column.median), x)
  return [filled, keras.ops.cast(missing, x.dtype)] if column.indicator else [filled]


def encoded_inputs(columns: Sequence[Column]) -> tuple[Any, Any]:
  """(the model's raw inputs, float32 [n, sum of widths]: their encoding)."""
  if not any(c.categorical for c in columns):
    inputs = keras.Input((len(columns),), name="inputs")
    cells = [inputs[:, j:j + 1] for j in range(len(columns))]
  else:
    inputs = {input_name(c.name): keras.Input((1,), name=input_name(c.name),
                                              dtype="string" if c.categorical else "float32")
              for c in columns}
    cells = [inputs[input_name(c.name)] for c in columns]
  blocks = []
  for column, x in zip(columns, cells):
    if column.categorical:
      blocks.append(keras.layers.StringLookup(
          vocabulary=list(column.vocabulary), num_oov_indices=1, output_mode="one_hot",
          name=input_name(column.name) + "_one_hot")(x))
    else:
      blocks.extend(_numeric(x, column))
  encoded = blocks[0] if len(blocks) == 1 else keras.layers.Concatenate()(blocks)
  return inputs, encoded
