"""Training throughput of the framework's trainer against Keras `model.fit(class_weight=...)`.

  python -m framework.bench.fit_throughput [--source=fashion_mnist] [--repeats=3]

Same model architecture and initial weights, data, global batch, optimizer and
inverse-frequency class weights; measurements alternate between the two so machine
noise hits both alike. Prints examples per second and the ratio trainer / fit.
"""

from __future__ import annotations

import time

from absl import app, flags
import keras
import numpy as np

from framework.train import experiment
from framework.config import base_config

_SOURCE = flags.DEFINE_string("source", "fashion_mnist", "Dataset (fashion_mnist or digits).")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Timed epochs of each, alternating.")


def _config(source: str):
  c = base_config()
  c.data.source = source
  c.data.long_tail.profile, c.data.long_tail.imbalance_ratio = "exponential", 100.0
  c.model.name = "small_cnn"
  c.class_weights.scheme = "inverse_frequency"
  c.train.batch_size = 128 if source != "digits" else 32
  return c


def _timed(fn) -> float:
  start = time.perf_counter()
  fn()
  return time.perf_counter() - start


def main(argv):
  del argv
  config = _config(_SOURCE.value)
  exp = experiment.build(config)
  data, batch, steps = exp.data, config.train.batch_size, exp.steps_per_epoch
  examples = steps * batch

  reference = keras.models.clone_model(exp.model)
  reference.set_weights(exp.model.get_weights())
  reference.compile(keras.optimizers.Adam(config.optimizer.learning_rate),
                    keras.losses.SparseCategoricalCrossentropy(from_logits=True))
  weights = exp.trainer.class_weighting(1).numpy()
  class_weight = {c: float(w) for c, w in enumerate(weights)}
  x, y = data.transform.eval(data.train.features).numpy(), data.train.labels
  def fit_epoch():
    reference.fit(x, y, batch_size=batch, epochs=1, steps_per_epoch=steps,
                  class_weight=class_weight, verbose=0, shuffle=True)
  def trainer_epoch():
    exp.trainer.train(steps).numpy()

  fit_epoch(), trainer_epoch()  # compile both
  fit_rates, trainer_rates = [], []
  for _ in range(_REPEATS.value):
    fit_rates.append(examples / _timed(fit_epoch))
    trainer_rates.append(examples / _timed(trainer_epoch))
  fit_rate, trainer_rate = np.median(fit_rates), np.median(trainer_rates)
  print(f"data {config.data.source} (long-tailed, {len(y)} examples), small_cnn, batch {batch}, "
        f"{steps} steps an epoch, inverse-frequency class weights, median of {_REPEATS.value}")
  print(f"model.fit(class_weight=...): {fit_rate:9.0f} examples/s")
  print(f"framework Trainer:          {trainer_rate:9.0f} examples/s")
  print(f"ratio trainer / fit:        {trainer_rate / fit_rate:9.2f}")


if __name__ == "__main__":
  app.run(main)
