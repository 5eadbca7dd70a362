"""The Python API: train on your own model and data from a notebook or script, no config file.

    result = framework.fit(model, (x, y), loss=framework.losses.SparseFocalLoss(
        gamma=2.0, from_logits=True), rule="loss_ema", epochs=5)
    result.model, result.results["final"]["balanced_accuracy"], result.tables

Every component is a name (as in a config) or an object: the model (a `keras.Model`, a
function `(input_shape, num_classes) -> keras.Model`, or a registered name), the data
(`(x, y)`, `(x, y, x_test, y_test)`, a `framework.data.Source`, a `DataBundle`, or a
registered source name), the loss (a name or a `keras.losses.Loss` taking logits), the
rule (a name or a `framework.Rule`), the optimizer, the class weights (a scheme name, one
weight per class, or Keras's `{class id: weight}` for every class) and the strategy.
Anything else is a config field, given as a dotted keyword in `config`
(`{"data.val_per_class": 20, "train.eval_every_epochs": 5}`). It is the config path: `fit`
fills a `base_config()` and hands the objects to the same `experiment.build` and
`train.run_experiment` that `launch.py` uses. Bad arguments fail before training, in one
line naming the argument, the value and what is allowed.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import tempfile
from typing import Any, Mapping

import keras
import ml_collections
import numpy as np
import tensorflow as tf

from framework import train
from framework.train import experiment as experiment_lib
from framework.runs import export
from framework.config import base_config, set_field
from framework.errors import nonfinite_rows, one_line
from framework.data import DataBundle, Source
from framework.data.sources import Arrays
from framework.losses import output_scale
from framework.weights import Rule, Tables


@dataclasses.dataclass
class Result:
  """What `fit` returns: the trained model, the weight tables, the results, where they are."""
  model: keras.Model        # the trained model (the pipeline's normalised inputs -> logits)
  tables: Tables            # the rule's tables as NumPy arrays (per_sample weight, alpha, ...)
  results: dict             # as results.json: final metrics, history, class counts, config
  workdir: str              # checkpoints, TensorBoard, model.keras (raw inputs -> logits)
  experiment: experiment_lib.Experiment

  def predict(self, x: Any, batch_size: int = 1000) -> np.ndarray:
    """Class probabilities [n, C] of raw inputs (as passed to `fit`), at the model's size."""
    x = _examples(x, "x")
    serving = export.serving_model(self.model, self.experiment.data,
                                   output_scale(self.experiment.config.loss))
    logits = serving.predict(x, batch_size=batch_size, verbose=0)
    return keras.ops.convert_to_numpy(keras.ops.softmax(logits))


def _data(data: Any, config: ml_collections.ConfigDict) -> Source | DataBundle | None:
  """A Source (arrays), a given Source / DataBundle, or None for a registered source name."""
  if isinstance(data, str):
    config.data.source = data
    return None
  if isinstance(data, (Source, DataBundle)):
    config.data.source = "python"  # not rebuildable from config.json
    return data
  if isinstance(data, (tuple, list)) and len(data) in (2, 4):
    x = _examples(data[0], "data: x")
    test = None
    if len(data) == 4:
      x_test = _examples(data[2], "data: x_test")
      _check_test_like_train(x, x_test)
      test = Arrays(x_test, np.asarray(data[3]))
    config.data.source = "python"  # the arrays as given: no standardisation of features
    return Source(Arrays(x, np.asarray(data[1])), test, location="python arrays")
  raise TypeError("data must be (x, y), (x, y, x_test, y_test), a Source, a DataBundle or "
                  f"a registered source name; got {type(data).__name__}")


def fit(model: Any, data: Any, *, loss: str | keras.losses.Loss = "cross_entropy",
        rule: str | Rule = "fixed", optimizer: str | keras.optimizers.Optimizer = "adam",
        class_weights: str | Any = "none", strategy: str | tf.distribute.Strategy = "default",
        epochs: int = 10, batch_size: int = 128, learning_rate: float = 1e-3, seed: int = 0,
        workdir: str | None = None, config: Mapping[str, Any] | None = None,
        verbose: bool = False) -> Result:
  """Trains `model` on `data` with the framework's trainer; see the module docstring.

  `workdir` defaults to a new temporary folder (`Result.workdir`); a workdir that already
  holds a run resumes it. Keras 3 with TensorFlow; the model must return logits.
  """
  c = base_config()
  for argument, dotted, value in (("epochs", "train.epochs", epochs),
                                  ("batch_size", "train.batch_size", batch_size),
                                  ("learning_rate", "optimizer.learning_rate", learning_rate),
                                  ("seed", "seed", seed), ("seed", "data.seed", seed)):
    _set_argument(c, dotted, value, argument)
  if not isinstance(config or {}, Mapping):
    raise TypeError(f"config={config!r:.60} ({type(config).__name__}); allowed: a dict of "
                    "dotted fields, {'train.eval_every_epochs': 5}")
  for dotted, value in (config or {}).items():
    _check_config_key(c, dotted)
    _set_argument(c, dotted, value, f"config[{dotted!r}]")
  objects = {"data": _data(data, c)}
  for field, value, section in (("model", model, c.model), ("loss", loss, c.loss),
                                ("rule", rule, c.rule), ("optimizer", optimizer, c.optimizer),
                                ("strategy", strategy, c.strategy)):
    if field in _COMPONENT_TYPES:
      _check_component(field, value)
    if isinstance(value, str):
      section.name = value
    else:
      section.name = (getattr(value, "name", None) or getattr(value, "__name__", None)
                      or type(value).__name__)
      objects[field] = value
  if isinstance(class_weights, str):
    c.class_weights.scheme = class_weights
  else:
    c.class_weights.scheme = "custom"
    c.class_weights.kwargs = _class_weights_kwargs(class_weights)
  exp = experiment_lib.build(c, **objects)
  _check_weighted_classes(class_weights, exp.data.num_classes)
  workdir = workdir or tempfile.mkdtemp(prefix="framework-run-")
  results = train.run_guarded(exp, workdir, verbose)
  return Result(exp.model, exp.state.tables(), results, workdir, exp)


# The checks of fit's arguments, before it trains: each a TypeError or ValueError in one line
# naming the argument, the value and what is allowed (the config path checks the rest, in
# framework.config.checks, with the same words).

# argument -> (the object type it takes besides a registered name, how the type is spelt)
_COMPONENT_TYPES = {
    "loss": (keras.losses.Loss, "a keras.losses.Loss taking logits"),
    "rule": (Rule, "a framework.Rule"),
    "optimizer": (keras.optimizers.Optimizer, "a keras.optimizers.Optimizer"),
    "strategy": (tf.distribute.Strategy, "a tf.distribute.Strategy"),
}


def _shown(value: Any) -> str:
  text = repr(value)
  return text if len(text) <= 60 else text[:57] + "..."


def _check_component(argument: str, value: Any) -> None:
  """A TypeError unless `value` is a name or an object of the type `argument` takes."""
  kind, spelt = _COMPONENT_TYPES[argument]
  if not isinstance(value, (str, kind)):
    raise TypeError(f"{argument}={_shown(value)} ({type(value).__name__}); allowed: a "
                    f"registered {argument} name or {spelt}")


def _check_config_key(config: ml_collections.ConfigDict, dotted: Any) -> None:
  """A ValueError unless `dotted` ("train.epochs") names a field of `config`."""
  if not isinstance(dotted, str):
    raise TypeError(f"config key {_shown(dotted)} ({type(dotted).__name__}); allowed: a "
                    "dotted field name such as 'train.eval_every_epochs'")
  fields = list(_dotted_fields(config))
  if dotted not in fields:
    close = difflib.get_close_matches(dotted, fields, n=1)
    hint = f"did you mean {close[0]!r}?" if close else "allowed: a dotted field of base_config()"
    raise ValueError(f"config={{{dotted!r}: ...}}: no field {dotted!r}; {hint}")


def _set_argument(config: ml_collections.ConfigDict, dotted: str, value: Any,
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


def _class_weights_kwargs(class_weights: Any) -> dict:
  """The `custom` scheme's kwargs for weights given per class: a sequence of C numbers, or
  Keras's dict {class id: weight} (every class then needs one: `_check_weighted_classes`)."""
  if isinstance(class_weights, Mapping):
    bad = [k for k in class_weights
           if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0]
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


def _check_weighted_classes(class_weights: Any, num_classes: int) -> None:
  """A ValueError when Keras's dict form leaves out classes of the data (the `custom`
  scheme would give them weight 1 silently)."""
  if not isinstance(class_weights, Mapping):
    return
  missing = sorted(set(range(num_classes)) - set(int(k) for k in class_weights))
  if missing:
    shown = ", ".join(map(str, missing[:10])) + (", ..." if len(missing) > 10 else "")
    raise ValueError(f"class_weights has no weight for classes {shown} (the data has "
                     f"{num_classes} classes); allowed: a weight for every class id")


def _examples(value: Any, name: str) -> np.ndarray:
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


def _check_test_like_train(x: np.ndarray, x_test: np.ndarray) -> None:
  """A ValueError when the test examples have another shape than the training ones."""
  if x.shape[1:] != x_test.shape[1:]:
    raise ValueError(f"data: x_test has examples of shape {list(x_test.shape[1:])}, x of "
                     f"shape {list(x.shape[1:])}; allowed: test examples shaped like the "
                     "training ones")
