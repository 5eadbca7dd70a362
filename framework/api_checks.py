"""What `framework.fit` refuses before it trains: a component of the wrong type, a `config`
key that is no field or a value of another type, class weights that are neither a scheme
nor one per class (or leave out a class), and arrays that are ragged, empty, not finite, or
whose test examples are unlike the training ones.

Each is a TypeError or ValueError in one line naming the argument, the value and what is
allowed; the config path checks the rest (`framework.config.checks`) with the same words.
"""

from __future__ import annotations

import difflib
import functools
from typing import Any, Mapping

import keras
import ml_collections
import numpy as np
import tensorflow as tf

from framework.config import set_field
from framework.errors import one_line
from framework.weights import Rule

# argument -> (the object type it takes besides a registered name, how the type is spelt)
COMPONENT_TYPES = {
    "loss": (keras.losses.Loss, "a keras.losses.Loss taking logits"),
    "rule": (Rule, "a framework.Rule"),
    "optimizer": (keras.optimizers.Optimizer, "a keras.optimizers.Optimizer"),
    "strategy": (tf.distribute.Strategy, "a tf.distribute.Strategy"),
}


def _shown(value: Any) -> str:
  text = repr(value)
  return text if len(text) <= 60 else text[:57] + "..."


def check_component(argument: str, value: Any) -> None:
  """A TypeError unless `value` is a name or an object of the type `argument` takes."""
  kind, spelt = COMPONENT_TYPES[argument]
  if not isinstance(value, (str, kind)):
    raise TypeError(f"{argument}={_shown(value)} ({type(value).__name__}); allowed: a "
                    f"registered {argument} name or {spelt}")


def check_config_key(config: ml_collections.ConfigDict, dotted: Any) -> None:
  """A ValueError unless `dotted` ("train.epochs") names a field of `config`."""
  if not isinstance(dotted, str):
    raise TypeError(f"config key {_shown(dotted)} ({type(dotted).__name__}); allowed: a "
                    "dotted field name such as 'train.eval_every_epochs'")
  fields = list(_dotted_fields(config))
  if dotted not in fields:
    close = difflib.get_close_matches(dotted, fields, n=1)
    hint = f"did you mean {close[0]!r}?" if close else "allowed: a dotted field of base_config()"
    raise ValueError(f"config={{{dotted!r}: ...}}: no field {dotted!r}; {hint}")


def set_argument(config: ml_collections.ConfigDict, dotted: str, value: Any,
                 argument: str) -> None:
  """Sets field `dotted` to `value`; a TypeError naming `argument` when the field cannot
  take a value of that type (ml_collections keeps each field's type)."""
  try:
    set_field(config, dotted, value)
  except (TypeError, ValueError):
    old = functools.reduce(lambda node, key: node[key], dotted.split("."), config)
    kind = type(old).__name__
    raise TypeError(f"{argument}={_shown(value)} ({type(value).__name__}); allowed: "
                    f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} (the type of {dotted})") \
        from None


def _dotted_fields(config: ml_collections.ConfigDict, prefix: str = ""):
  """Every settable field of `config`, dotted; a section is settable whole too."""
  for key, value in config.items():
    yield prefix + key
    if isinstance(value, ml_collections.ConfigDict):
      yield from _dotted_fields(value, f"{prefix}{key}.")


def class_weights_kwargs(class_weights: Any) -> dict:
  """The `custom` scheme's kwargs for weights given per class: a sequence of C numbers, or
  Keras's dict {class id: weight} (every class then needs one: see `check_weighted_classes`)."""
  if isinstance(class_weights, Mapping):
    bad = [k for k in class_weights if isinstance(k, bool) or not isinstance(k, (int, np.integer))
           or k < 0]
    if bad:
      raise ValueError(f"class_weights has key {bad[0]!r}; allowed: class ids 0, 1, ... "
                       "(as in Keras's class_weight)")
    return {"weights": {int(k): _number(v) for k, v in class_weights.items()}}
  try:
    return {"weights": [_number(w) for w in class_weights]}
  except TypeError:
    raise TypeError(f"class_weights={_shown(class_weights)} ({type(class_weights).__name__}); "
                    "allowed: a scheme name, one weight per class, or {class id: weight}") \
        from None


def _number(value: Any) -> float:
  if isinstance(value, (bool, str)) or not np.isscalar(value):
    raise TypeError(f"class_weights has the weight {_shown(value)}; allowed: numbers")
  return float(value)


def check_weighted_classes(class_weights: Any, num_classes: int) -> None:
  """A ValueError when Keras's dict form leaves out classes of the data (the `custom`
  scheme would give them weight 1 silently)."""
  if not isinstance(class_weights, Mapping):
    return
  missing = sorted(set(range(num_classes)) - set(int(k) for k in class_weights))
  if missing:
    shown = ", ".join(map(str, missing[:10])) + (", ..." if len(missing) > 10 else "")
    raise ValueError(f"class_weights has no weight for classes {shown} (the data has "
                     f"{num_classes} classes); allowed: a weight for every class id")


def examples(value: Any, name: str) -> np.ndarray:
  """`value` as an array of examples; a ValueError naming `name` ("data: x") when it is
  ragged, not numeric, empty, or holds NaN or infinity (the model would map them to NaN,
  or to nonsense)."""
  try:
    x = np.asarray(value)
  except ValueError as e:
    raise ValueError(f"{name} is not an array ({one_line(e, 100)}); allowed: arrays "
                     "[n, ...] of examples of one shape") from None
  if x.dtype.kind not in "iufb" or x.ndim == 0:
    raise ValueError(f"{name} is {x.dtype} of shape {list(x.shape)}; allowed: a numeric "
                     "array of examples [n, ...]")
  if len(x) == 0:
    raise ValueError(f"{name} has no rows; allowed: at least one example")
  rows = nonfinite_rows(x)
  if rows:
    raise ValueError(f"{name} has NaN or infinity in {rows}; allowed: finite values")
  return x


def nonfinite_rows(x: np.ndarray) -> str:
  """'rows 1, 4 (2 of 6)': the examples of `x` [n, ...] holding NaN or infinity ('' for none)."""
  if x.dtype.kind != "f" or np.all(np.isfinite(x)):
    return ""
  rows = np.flatnonzero(~np.all(np.isfinite(x.reshape(len(x), -1)), axis=1))
  shown = ", ".join(map(str, rows[:5])) + (", ..." if len(rows) > 5 else "")
  return f"rows {shown} ({len(rows)} of {len(x)})"


def check_test_like_train(x: np.ndarray, x_test: np.ndarray) -> None:
  """A ValueError when the test examples have another shape than the training ones."""
  if x.shape[1:] != x_test.shape[1:]:
    raise ValueError(f"data: x_test has examples of shape {list(x_test.shape[1:])}, x of "
                     f"shape {list(x.shape[1:])}; allowed: test examples shaped like the "
                     "training ones")
