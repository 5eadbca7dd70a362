"""The controller's standard actions: evaluate, record history, snapshot the weights, progress.

Each is a small callable of a `LoopEnd` holding only what its job needs; `train.run`
wires them, a study or benchmark picks the ones it wants. TensorBoard actions are in
`framework.logging.summaries`.
"""

from __future__ import annotations

import keras
import numpy as np

from framework.controller import LoopEnd, due
from framework.data import Split
from framework.evaluator import Evaluator
from framework.rundir import RunDir
from framework.weights import WeightState


def scalars(metrics: dict) -> dict:
  """The scalar entries of a metrics dict (not the per-class lists and matrices)."""
  return {k: v for k, v in metrics.items() if np.ndim(v) == 0}


class Evaluate:
  """Evaluates on `split` every `every_steps` steps and at the end; puts the metrics in
  the loop's logs as "eval" (and keeps the latest)."""

  def __init__(self, evaluator: Evaluator, split: Split, every_steps: int):
    self.evaluator, self.split, self.every_steps = evaluator, split, every_steps
    self.latest: dict | None = None

  def __call__(self, end: LoopEnd) -> None:
    if due(end, self.every_steps):
      self.latest = end.logs["eval"] = self.evaluator.evaluate(self.split)


class History:
  """Appends each evaluation's scalar metrics to history.jsonl."""

  def __init__(self, rundir: RunDir, steps_per_epoch: int):
    self.rundir, self.steps_per_epoch = rundir, steps_per_epoch

  def __call__(self, end: LoopEnd) -> None:
    if "eval" in end.logs:
      self.rundir.append_record("history.jsonl", {
          "step": end.step, "epoch": end.step / self.steps_per_epoch,
          **scalars(end.logs["eval"])})


class Snapshots:
  """Saves every weight table to weights/step_<step>.npz every `every_steps` steps (0:
  only at the end) and at the end."""

  def __init__(self, rundir: RunDir, state: WeightState, every_steps: int):
    self.rundir, self.state, self.every_steps = rundir, state, every_steps

  def __call__(self, end: LoopEnd) -> None:
    if due(end, self.every_steps):
      self.rundir.write_snapshot(end.step, self.state.numpy())


class ProgressBar:
  """A Keras progress bar over the training steps with the latest loss."""

  def __init__(self, total_steps: int, verbose: bool = True):
    self.bar = keras.utils.Progbar(total_steps, verbose=1 if verbose else 0, unit_name="step",
                                   stateful_metrics=["loss"])

  def __call__(self, end: LoopEnd) -> None:
    self.bar.update(end.step, [("loss", end.logs["train/loss"])])
