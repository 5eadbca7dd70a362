"""Step time versus table size (N = 10^3 vs 10^7) and per-sample rule versus the fixed rule.

    python -m framework.bench.weight_table

Per-sample work must be O(batch): the step with a 10^7-row table should cost the same as
with 10^3 rows (ratio <= 1.1), and a per-sample rule should add <= 10% to the fixed rule.
Same model, batch and features everywhere; sample indices are drawn within the table.
"""

from __future__ import annotations

import time

from absl import app, flags
import keras
import numpy as np
import tensorflow as tf

from framework.losses import build_loss, per_example
from framework.models import MODELS
from framework.train.trainer import Trainer
from framework.weights import RULES, WeightState

flags.DEFINE_integer("batch", 256, "global batch")
flags.DEFINE_integer("steps", 200, "steps per timed loop")
flags.DEFINE_integer("repeats", 7, "timed loops (the median is reported)")
FLAGS = flags.FLAGS
FEATURES, CLASSES = 64, 10


class RandomIndexInputs:
  """Trainer inputs: fixed features, indices drawn uniformly in [0, num_samples)."""

  def __init__(self, num_samples: int):
    self.num_samples, self.batch_size, self.val_batch_size = num_samples, FLAGS.batch, 0
    self.strategy, self.steps_per_epoch = tf.distribute.get_strategy(), 1000

  def iterators(self, step: int):
    rng = np.random.default_rng(0)
    features = tf.constant(rng.normal(size=(self.batch_size, FEATURES)).astype(np.float32))
    labels = tf.constant(rng.integers(0, CLASSES, self.batch_size).astype(np.int32))
    def batch(i):
      index = tf.random.stateless_uniform([self.batch_size], [0, i], 0, self.num_samples,
                                          tf.int64)
      return {"features": features, "label": labels, "index": index}
    return iter(tf.data.Dataset.range(step, 1 << 40).map(batch).prefetch(4)), None


def make_trainer(num_samples: int, rule_name: str, rule_kwargs: dict | None = None):
  keras.utils.set_random_seed(0)
  rule = RULES.build(rule_name, rule_kwargs or {}, context={"num_classes": CLASSES})
  model = MODELS.build("mlp", {"hidden": (256, 256)}, context={
      "input_shape": (FEATURES,), "num_classes": CLASSES})
  loss = per_example(build_loss("cross_entropy", {}, {"num_classes": CLASSES}))
  state = WeightState(num_samples, CLASSES, rule)
  return Trainer(model, keras.optimizers.Adam(1e-3), loss, lambda epoch: tf.ones([CLASSES]),
                 state, rule, RandomIndexInputs(num_samples))


def time_loops(configs: dict) -> dict:
  """Median ms per step of each config; loops of the configs interleave, so load drift
  on a shared machine hits them alike."""
  runs = {}
  for key, (n, rule) in configs.items():
    trainer = make_trainer(n, rule)
    trainer.train(FLAGS.steps).numpy()  # trace and warm up
    runs[key] = (trainer, [])
  for _ in range(FLAGS.repeats):
    for trainer, times in runs.values():
      start = time.perf_counter()
      trainer.train(FLAGS.steps).numpy()
      times.append(time.perf_counter() - start)
  return {key: 1e3 * float(np.median(t)) / FLAGS.steps for key, (_, t) in runs.items()}


def main(argv):
  del argv
  print(f"batch {FLAGS.batch}, MLP {FEATURES}-256-256-{CLASSES}, median of {FLAGS.repeats} "
        f"loops of {FLAGS.steps} steps\n")
  print("| rule | N | ms / step |")
  print("| --- | --- | --- |")
  configs = {(rule, n): (n, rule) for rule in ("fixed", "loss_ema", "exp_gradient")
             for n in (10**3, 10**7)}
  results = time_loops(configs)
  for (rule, n), ms in results.items():
    print(f"| {rule} | {n:.0e} | {ms:.3f} |")
  print()
  for rule in ("fixed", "loss_ema", "exp_gradient"):
    print(f"{rule}: N=1e7 / N=1e3 = {results[rule, 10**7] / results[rule, 10**3]:.3f} "
          "(target <= 1.1)")
  for rule in ("loss_ema", "exp_gradient"):
    print(f"{rule} / fixed at N=1e7: {results[rule, 10**7] / results['fixed', 10**7]:.3f} "
          "(target <= 1.10)")


if __name__ == "__main__":
  app.run(main)
