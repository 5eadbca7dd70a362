"""ResNet-32 training throughput: the framework's trainer, a raw compiled loop, model.fit.

  python -m framework.bench.backbones [--steps=5] [--repeats=5] [--batch=128]

CIFAR-shaped random uint8 images (in memory, written to a temporary npz for the trainer),
batch 128, one process, the same architecture, initial weights and optimizer (SGD,
momentum 0.9) for all three: (a) `experiment.build(...).trainer.train(n)`; (b) a
`tf.function` over `tf.range` with a GradientTape and plain cross-entropy, fed by
tf.data; (c) Keras `model.fit(steps_per_execution=n)`. The three alternate, `repeats`
times, so machine noise hits them alike; prints images/s (medians) and the ratios.
"""

from __future__ import annotations

import os
import tempfile
import time

from absl import app, flags
import keras
import numpy as np
import tensorflow as tf

from framework.bench.raw_loop import raw_loop
from framework.train import experiment
from framework.config import base_config

_STEPS = flags.DEFINE_integer("steps", 5, "Training steps per timed call.")
_REPEATS = flags.DEFINE_integer("repeats", 5, "Timed calls of each, alternating.")
_BATCH = flags.DEFINE_integer("batch", 128, "Global batch size.")
_IMAGES = 2560
_LR, _MOMENTUM = 0.1, 0.9


def _config(path: str, batch: int):
  c = base_config()
  c.data.source, c.data.path = "npz", path
  c.model.name = "resnet32"
  c.optimizer.name, c.optimizer.learning_rate = "sgd", _LR
  c.optimizer.kwargs = {"momentum": _MOMENTUM}
  c.train.batch_size = batch
  return c


def _dataset(x: np.ndarray, y: np.ndarray, batch: int) -> tf.data.Dataset:
  """The images as the trainer's input transform gives them: float32 in [0, 1]."""
  return (tf.data.Dataset.from_tensor_slices((x, y)).repeat().batch(batch, drop_remainder=True)
          .map(lambda a, b: (tf.cast(a, tf.float32) / 255.0, b),
               num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE))


def _copy(model: keras.Model) -> keras.Model:
  clone = keras.models.clone_model(model)
  clone.set_weights(model.get_weights())
  return clone


def _raw_loop(model: keras.Model, dataset: tf.data.Dataset):
  """The raw compiled loop (SGD with the trainer's momentum) as a runner of n steps."""
  loop = raw_loop(model, keras.optimizers.SGD(_LR, momentum=_MOMENTUM), iter(dataset))
  return lambda n: loop(tf.constant(n)).numpy()


def _fit(model: keras.Model, dataset: tf.data.Dataset, steps: int):
  model.compile(keras.optimizers.SGD(_LR, momentum=_MOMENTUM),
                keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                steps_per_execution=steps)
  return lambda n: model.fit(dataset, epochs=1, steps_per_epoch=n, verbose=0, shuffle=False)


def _timed(fn, steps: int) -> float:
  start = time.perf_counter()
  fn(steps)
  return time.perf_counter() - start


def main(argv):
  del argv
  steps, batch = _STEPS.value, _BATCH.value
  rng = np.random.default_rng(0)
  x = rng.integers(0, 256, (_IMAGES, 32, 32, 3), dtype=np.uint8)
  y = (np.arange(_IMAGES) % 10).astype(np.int32)
  with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "cifar_shaped.npz")
    np.savez(path, x=x, y=y, x_test=x[:100], y_test=y[:100])
    exp = experiment.build(_config(path, batch))
  dataset = _dataset(x, y, batch)
  runners = {"trainer": lambda n: exp.trainer.train(n).numpy(),
             "raw loop": _raw_loop(_copy(exp.model), dataset),
             "model.fit": _fit(_copy(exp.model), dataset, steps)}
  for run in runners.values():  # trace and warm up each
    run(steps)
  seconds = {name: [] for name in runners}
  for _ in range(_REPEATS.value):
    for name, run in runners.items():
      seconds[name].append(_timed(run, steps))
  rates = {name: steps * batch / np.median(s) for name, s in seconds.items()}
  print(f"ResNet-32 ({exp.model.count_params():,} parameters), CIFAR-shaped random uint8 "
        f"images in memory, batch {batch}, SGD momentum, {steps} steps a call, median of "
        f"{_REPEATS.value}, {os.cpu_count()} CPUs")
  for name, rate in rates.items():
    print(f"{name + ':':12s} {rate:8.1f} images/s")
  print(f"ratio trainer / raw loop:  {rates['trainer'] / rates['raw loop']:.3f}")
  print(f"ratio trainer / model.fit: {rates['trainer'] / rates['model.fit']:.3f}")


if __name__ == "__main__":
  app.run(main)
