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

from framework.losses import LOSSES
from framework.models import MODELS
from framework.trainer import Trainer
from framework.weights import RULES, WeightState

flags.DEFINE_integer("batch", 256, "global batch")
flags.DEFINE_integer("steps", 50, "steps per timed loop")
flags.DEFINE_integer("repeats", 7, "timed loops (the median is reported)")
FLAGS = flags.FLAGS
FEATURES, CLASSES = 64, 10


def make_trainer(num_samples: int, rule_name: str, rule_kwargs: dict | None = None):
  keras.utils.set_random_seed(0)
  strategy = tf.distribute.get_strategy()
  rule = RULES.build(rule_name, rule_kwargs or {}, context={"num_classes": CLASSES})
  model = MODELS.build("mlp", {"hidden": (256, 256)}, context={
      "input_shape": (FEATURES,), "num_classes": CLASSES})
  loss = LOSSES.build("cross_entropy", {}, context={
      "num_classes": CLASSES, "class_counts": np.ones(CLASSES, np.int64)})
  state = WeightState(num_samples, CLASSES, rule)
  return Trainer(model, keras.optimizers.Adam(1e-3), loss, lambda epoch: tf.ones([CLASSES]),
                 state, rule, strategy, FLAGS.batch, steps_per_epoch=1000)


def stream(num_samples: int):
  rng = np.random.default_rng(0)
  features = rng.normal(size=(4096, FEATURES)).astype(np.float32)
  labels = rng.integers(0, CLASSES, 4096).astype(np.int32)
  def example(i):
    row = i % 4096
    return {"features": tf.gather(features, row), "label": tf.gather(labels, row),
            "index": tf.random.stateless_uniform([], [0, i], 0, num_samples, tf.int64)}
  return iter(tf.data.Dataset.range(1 << 40).map(example).batch(FLAGS.batch).prefetch(4))


def step_ms(num_samples: int, rule_name: str, rule_kwargs: dict | None = None) -> float:
  trainer, it = make_trainer(num_samples, rule_name, rule_kwargs), stream(num_samples)
  trainer.train(it, FLAGS.steps)  # trace and warm up
  times = []
  for _ in range(FLAGS.repeats):
    start = time.perf_counter()
    trainer.train(it, FLAGS.steps).numpy()
    times.append(time.perf_counter() - start)
  return 1e3 * float(np.median(times)) / FLAGS.steps


def main(argv):
  del argv
  print(f"batch {FLAGS.batch}, MLP {FEATURES}-256-256-{CLASSES}, median of {FLAGS.repeats} "
        f"loops of {FLAGS.steps} steps\n")
  print("| rule | N | ms / step |")
  print("| --- | --- | --- |")
  results = {}
  for rule in ("fixed", "loss_ema", "exp_gradient"):
    for n in (10**3, 10**7):
      results[rule, n] = step_ms(n, rule)
      print(f"| {rule} | {n:.0e} | {results[rule, n]:.3f} |", flush=True)
  print()
  for rule in ("fixed", "loss_ema", "exp_gradient"):
    print(f"{rule}: N=1e7 / N=1e3 = {results[rule, 10**7] / results[rule, 10**3]:.3f} "
          "(target <= 1.1)")
  for rule in ("loss_ema", "exp_gradient"):
    print(f"{rule} / fixed at N=1e7: {results[rule, 10**7] / results['fixed', 10**7]:.3f} "
          "(target <= 1.10)")


if __name__ == "__main__":
  app.run(main)
