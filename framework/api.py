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
line naming the argument (`framework.api_checks`).
"""

from __future__ import annotations

import dataclasses
import tempfile
from typing import Any, Mapping

import keras
import ml_collections
import numpy as np
import tensorflow as tf

from framework import api_checks, train
from framework.train import experiment as experiment_lib
from framework.runs import export
from framework.config import base_config
from framework.data import DataBundle, Source
from framework.data.sources import Arrays
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
    x = api_checks.examples(x, "x")
    serving = export.serving_model(self.model, self.experiment.data)
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
    x = api_checks.examples(data[0], "data: x")
    test = None
    if len(data) == 4:
      x_test = api_checks.examples(data[2], "data: x_test")
      api_checks.check_test_like_train(x, x_test)
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
    api_checks.set_argument(c, dotted, value, argument)
  if not isinstance(config or {}, Mapping):
    raise TypeError(f"config={config!r:.60} ({type(config).__name__}); allowed: a dict of "
                    "dotted fields, {'train.eval_every_epochs': 5}")
  for dotted, value in (config or {}).items():
    api_checks.check_config_key(c, dotted)
    api_checks.set_argument(c, dotted, value, f"config[{dotted!r}]")
  objects = {"data": _data(data, c)}
  for field, value, section in (("model", model, c.model), ("loss", loss, c.loss),
                                ("rule", rule, c.rule), ("optimizer", optimizer, c.optimizer),
                                ("strategy", strategy, c.strategy)):
    if field in api_checks.COMPONENT_TYPES:
      api_checks.check_component(field, value)
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
    c.class_weights.kwargs = api_checks.class_weights_kwargs(class_weights)
  exp = experiment_lib.build(c, **objects)
  api_checks.check_weighted_classes(class_weights, exp.data.num_classes)
  workdir = workdir or tempfile.mkdtemp(prefix="framework-run-")
  results = train.run_guarded(exp, workdir, verbose)
  return Result(exp.model, exp.state.tables(), results, workdir, exp)
