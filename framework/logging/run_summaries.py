"""What the controller writes to TensorBoard between compiled loops."""

from __future__ import annotations

import os

import numpy as np

from framework.logging.writer import MetricWriter
from framework.optimizers import current_learning_rate
from framework.weights import ALPHA, WEIGHT


class RunSummaries:
  """Writes the scalars, per-class views and weight statistics of a run."""

  def __init__(self, exp, workdir: str):
    self.exp = exp
    self.class_names = list(exp.data.class_names)
    self.snapshot_dir = os.path.join(workdir, "weights")
    self.snapshot_every = exp.config.logging.snapshot_every_epochs * exp.steps_per_epoch
    self.every_loops = exp.config.logging.summary_every_loops

  def write(self, writer: MetricWriter, step: int, loss: float, metrics: dict | None,
            loop: int) -> None:
    scalars = {}
    if loop % self.every_loops == 0:
      scalars = {"train/loss": loss,
                 "train/learning_rate": current_learning_rate(self.exp.optimizer)}
      tables = self.exp.state.numpy()
      alpha = tables[f"class/{ALPHA}"]
      scalars.update({f"alpha/{name}": float(a) for name, a in zip(self.class_names, alpha)})
      writer.write_histograms(step, {"weights/all": tables[f"sample/{WEIGHT}"]})
    if metrics is not None:
      scalars.update(self._metric_scalars(metrics))
    writer.write_scalars(step, scalars)
    if step % self.snapshot_every == 0:
      self.snapshot(step)

  def _metric_scalars(self, metrics: dict) -> dict:
    scalars = {f"eval/{k}": v for k, v in metrics.items() if np.ndim(v) == 0}
    for key in ("per_class_recall", "per_class_precision"):
      scalars.update({f"eval/{key[10:]}/{name}": v
                      for name, v in zip(self.class_names, metrics[key])})
    return scalars

  def snapshot(self, step: int) -> str:
    """Saves every weight table as NumPy arrays in `weights/step_<step>.npz`."""
    os.makedirs(self.snapshot_dir, exist_ok=True)
    path = os.path.join(self.snapshot_dir, f"step_{step:08d}.npz")
    np.savez(path, step=step, **{k.replace("/", "__"): v
                                 for k, v in self.exp.state.numpy().items()})
    return path

  def write_final(self, writer: MetricWriter, metrics: dict) -> None:
    hparams = {"data.source": self.exp.config.data.source,
               "loss.name": self.exp.config.loss.name,
               "rule.name": self.exp.config.rule.name,
               "class_weights.scheme": self.exp.config.class_weights.scheme,
               "seed": self.exp.config.seed}
    writer.write_hparams(hparams, {f"final/{k}": v for k, v in metrics.items()
                                   if np.ndim(v) == 0})
