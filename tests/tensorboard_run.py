"""One short noisy-label run shared by the TensorBoard and inspect tests (trained once)."""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile

import tensorflow as tf

import framework
from framework import train
from tests.helpers import synthetic_config

EPOCHS = 3


@framework.register_rule("test_loss_ema")
def loss_ema(decay: float = 0.5, cutoff: float = 2.0) -> framework.Rule:
  """weight = exp(-EMA of the sample's loss), 0 beyond `cutoff`; alpha grows with visits.

  A probe with extra per-sample (`running`), per-class (`visits`) and shared (`seen`) tables
  that moves weights, zeroes some and changes alpha per class, so every summary shows.
  """
  def init(num_samples, num_classes):
    return framework.Tables({"running": tf.zeros([num_samples])},
                            {"visits": tf.zeros([num_classes])}, {"seen": tf.constant(0.0)})

  def update(view, batch, result):
    running = decay * view.per_sample["running"] + (1.0 - decay) * result.loss
    weight = tf.where(running > cutoff, 0.0, tf.exp(-running))
    visits = tf.math.unsorted_segment_sum(tf.ones_like(running), batch.label,
                                          tf.shape(view.per_class["alpha"])[0])
    alpha = view.per_class["alpha"] + 0.01 * visits / tf.cast(tf.size(running), tf.float32)
    return view.replace(per_sample={"running": running, "weight": weight},
                        per_class={"alpha": alpha, "visits": view.per_class["visits"] + visits},
                        shared={"seen": view.shared["seen"] + tf.reduce_sum(visits)})
  return framework.Rule(init=init, update=update)


def noisy_config(**overrides):
  """4 long-tailed synthetic classes (218 samples), 30% symmetric label noise, loss-EMA rule."""
  fields = dict(data__noise={"kind": "symmetric", "rate": 0.3}, rule__name="test_loss_ema",
                train__epochs=EPOCHS, logging__tracked_per_class=2, logging__tracked_noisy=5,
                logging__tracked_indices=(7,))
  return synthetic_config(**{**fields, **overrides})


RUN = "noisy"  # the workdir's name, so TensorBoard's name for the run


@functools.lru_cache(maxsize=None)
def noisy_run() -> tuple[str, dict]:
  """Trains `noisy_config()` once into PARENT/noisy; returns (workdir, results)."""
  parent = tempfile.mkdtemp(prefix="noisy_run_")
  atexit.register(shutil.rmtree, parent, ignore_errors=True)
  workdir = os.path.join(parent, RUN)
  return workdir, train.run(noisy_config(), workdir, verbose=False)
