"""The controller's standard actions: evaluate, record history, snapshot the weights, progress.

Each is a small callable of a `LoopEnd` holding only what its job needs; `train.run`
wires them, a study or benchmark picks the ones it wants. TensorBoard actions are in
`framework.summaries.actions`.
"""

from __future__ import annotations

import sys
import time

import numpy as np

from framework.train.controller import LoopEnd, due
from framework.data import Split
from framework.evaluation.evaluator import Evaluator
from framework.runs.rundir import RunDir
from framework.weights import WeightState
from framework.weights.effective import EffectiveWeights
from framework.runs import files


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
      self.rundir.append_record(files.HISTORY, {
          "step": end.step, "epoch": end.step / self.steps_per_epoch,
          **scalars(end.logs["eval"])})


class Snapshots:
  """Saves every weight table to weights/step_<step>.npz every `every_steps` steps (0:
  only at the end) and at the end, with the effective weights (see weights.effective)."""

  def __init__(self, rundir: RunDir, state: WeightState, every_steps: int,
               effective: EffectiveWeights):
    self.rundir, self.state, self.every_steps = rundir, state, every_steps
    self.effective = effective

  def __call__(self, end: LoopEnd) -> None:
    if due(end, self.every_steps):
      self.save(end.step)

  def save(self, step: int) -> None:
    self.rundir.write_snapshot(step, self.effective(self.state.numpy(), step))


class Progress:
  """Training progress: one plain line per epoch (loss, latest evaluation, time, time left)
  and, on a terminal only, a bar within the epoch redrawn in place.

  The time left is estimated from the loops after the first, so compilation does not
  inflate it. Nothing but printable text and newlines reaches a file or a pipe.
  """

  def __init__(self, total_steps: int, steps_per_epoch: int, stream=None,
               interactive: bool | None = None, clock=time.monotonic):
    self.total, self.per_epoch = total_steps, steps_per_epoch
    self.stream = stream or sys.stdout
    self.interactive = (self.stream.isatty() if interactive is None else interactive)
    self.clock, self.started = clock, clock()
    self.timed_from: tuple[float, int] | None = None  # (time, step) after the first loop
    self.previous_step, self.metrics, self.width = None, {}, 0

  def __call__(self, end: LoopEnd) -> None:
    now = self.clock()
    if self.timed_from is None:
      self.timed_from = (now, end.step)
    if "eval" in end.logs:
      self.metrics = {k: end.logs["eval"][k] for k in _SHOWN if k in end.logs["eval"]}
    previous = end.step - 1 if self.previous_step is None else self.previous_step
    self.previous_step = end.step
    epoch = -(-end.step // self.per_epoch)  # the epoch the last step belonged to
    if end.final or end.step // self.per_epoch > previous // self.per_epoch:
      self._show(self._line(end, epoch, now), final=True)
    elif self.interactive:
      done = end.step - (epoch - 1) * self.per_epoch
      bar = "#" * (20 * done // self.per_epoch)
      self._show(f"epoch {epoch}/{self._epochs} [{bar:<20}] {done}/{self.per_epoch}  "
                 f"loss {end.logs['train/loss']:.4f}  {self._left(end.step, now)}", final=False)

  @property
  def _epochs(self) -> int:
    return -(-self.total // self.per_epoch)

  def _left(self, step: int, now: float) -> str:
    since, from_step = self.timed_from
    if step <= from_step or step >= self.total:
      return ""
    return f"ETA {_clock(((now - since) / (step - from_step)) * (self.total - step))}"

  def _line(self, end: LoopEnd, epoch: int, now: float) -> str:
    shown = "  ".join(f"{_SHOWN[k]} {v:.4f}" for k, v in self.metrics.items())
    return (f"epoch {epoch}/{self._epochs}  step {end.step}/{self.total}  "
            f"loss {end.logs['train/loss']:.4f}" + (f"  test {shown}" if shown else "")
            + f"  {_clock(now - self.started)}  {self._left(end.step, now)}").rstrip()

  def _show(self, text: str, final: bool) -> None:
    if self.interactive:
      pad = " " * max(0, self.width - len(text))
      self.stream.write("\r" + text + pad + ("\n" if final else ""))
      self.width = 0 if final else len(text)
    elif final:
      self.stream.write(text + "\n")
    self.stream.flush()


_SHOWN = {"balanced_accuracy": "balanced acc", "macro_f1": "macro-F1", "min_recall": "min recall"}


def _clock(seconds: float) -> str:
  seconds = int(round(seconds))
  hours, rest = divmod(seconds, 3600)
  return (f"{hours}:" if hours else "") + f"{rest // 60:0{2 if hours else 1}d}:{rest % 60:02d}"


class SelectBest:
  """Keeps the model best on the clean validation split by `metric` as best.keras (its step
  and metrics in best.json), evaluated with the test evaluations."""

  def __init__(self, evaluator: Evaluator, split: Split, metric: str, every_steps: int,
               rundir: RunDir, save):
    self.evaluator, self.split = evaluator, split
    self.metric, self.every_steps = metric, every_steps
    self.rundir, self.save = rundir, save
    self.best = rundir.read_json(files.BEST) if rundir.exists(files.BEST) else None

  def __call__(self, end: LoopEnd) -> None:
    if not due(end, self.every_steps):
      return
    metrics = self.evaluator.evaluate(self.split)
    if self.best is None or metrics[self.metric] > self.best["validation"][self.metric]:
      self.save()
      self.best = {"step": end.step, "metric": self.metric, "validation": scalars(metrics),
                   "test": scalars(end.logs.get("eval") or {})}
      self.rundir.write_json(files.BEST, self.best)
