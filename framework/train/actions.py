"""The controller's action protocol and its standard actions: history, snapshots, best model,
progress.

An `Action` says when it runs (`every_steps`, `every_loops`, `at_end`, `on_evaluation`) and
what it does (`run(end)` with the `LoopEnd`, `finish(step, metrics)` once training is over).
The test `Evaluation` is not an action: the controller runs it on its own schedule before
the actions and hands every action its metrics, so actions never read each other and
their order only orders their writes. `train.runner.assemble` wires a run's actions; a
study or benchmark adds its own. TensorBoard actions are in `framework.summaries.actions`.
"""

from __future__ import annotations

import dataclasses
import sys
import time

import numpy as np

from framework.data import Split
from framework.evaluation.evaluator import Evaluator
from framework.runs.rundir import RunDir
from framework.weights import WeightState
from framework.weights.effective import EffectiveWeights
from framework.runs import files


@dataclasses.dataclass(frozen=True)
class LoopEnd:
  """What the controller knows after a loop: where the run is, the loop's mean training
  loss and, when an evaluation fell on this step, its metrics."""
  step: int
  loop: int                    # loops run by this process, from 1
  final: bool                  # the last step of training
  loss: float
  metrics: dict | None = None  # the test evaluation at `step`, if one was made


class Action:
  """Work the controller does between compiled loops (after Orbit's and clu's actions).

  When: at each multiple of `every_steps` (the controller ends a loop there, so
  evaluations fall on epoch boundaries, say), every `every_loops`-th loop, after the last
  loop if `at_end`, and after every evaluation if `on_evaluation`; 0 / False turn a
  schedule off. What: `run(end)`. Once training is over (also when a relaunch found nothing
  left to train), `finish(step, metrics)`.
  """
  every_steps: int = 0
  every_loops: int = 0
  at_end: bool = False
  on_evaluation: bool = False
  stop_training: bool = False  # true: the controller ends training after this loop

  def due(self, end: LoopEnd) -> bool:
    return ((self.every_steps > 0 and end.step % self.every_steps == 0)
            or (self.every_loops > 0 and end.loop % self.every_loops == 0)
            or (self.at_end and end.final)
            or (self.on_evaluation and end.metrics is not None))

  def run(self, end: LoopEnd) -> None:
    """The action's work after a loop it is due at."""
    raise NotImplementedError

  def finish(self, step: int, metrics: dict | None) -> None:
    """End-of-run work at the final `step`, with the final test metrics (None when the
    controller has no evaluation)."""


class Evaluation:
  """An evaluation of `split`, made at most once per step. The run's test evaluation: every
  `every_steps` steps (0: none before the end) and after the last loop; the controller runs
  it and hands its metrics to the actions. The validation split's: when an action asks
  (best model, early stopping), shared by those that ask at the same step."""

  def __init__(self, evaluator: Evaluator, split: Split, every_steps: int):
    self.evaluator, self.split, self.every_steps = evaluator, split, every_steps
    self.latest: tuple[int, dict] | None = None  # (step, metrics) of the latest evaluation

  def due(self, step: int, final: bool) -> bool:
    return final or (self.every_steps > 0 and step % self.every_steps == 0)

  def forget(self) -> None:
    """Drops the latest metrics: the model changed without a step (best weights restored)."""
    self.latest = None

  def __call__(self, step: int) -> dict:
    """The metrics of the model at `step`: evaluated now unless already evaluated there."""
    if self.latest is None or self.latest[0] != step:
      self.latest = (step, self.evaluator.evaluate(self.split))
    return self.latest[1]


def scalars(metrics: dict) -> dict:
  """The scalar entries of a metrics dict (not the per-class lists and matrices)."""
  return {k: v for k, v in metrics.items() if np.ndim(v) == 0}


class History(Action):
  """Appends each evaluation's scalar metrics to history.jsonl."""
  on_evaluation = True

  def __init__(self, rundir: RunDir, steps_per_epoch: int):
    self.rundir, self.steps_per_epoch = rundir, steps_per_epoch

  def run(self, end: LoopEnd) -> None:
    self.rundir.append_record(files.HISTORY, {
        "step": end.step, "epoch": end.step / self.steps_per_epoch, **scalars(end.metrics)})


class Snapshots(Action):
  """Saves every weight table to weights/step_<step>.npz every `every_steps` steps (0: only
  at the end) and at the end, with the effective weights (see weights.effective)."""
  at_end = True

  def __init__(self, rundir: RunDir, state: WeightState, every_steps: int,
               effective: EffectiveWeights):
    self.rundir, self.state, self.every_steps = rundir, state, every_steps
    self.effective = effective

  def run(self, end: LoopEnd) -> None:
    self.save(end.step)

  def finish(self, step: int, metrics: dict | None) -> None:
    """The final snapshot, unless there is one (a relaunch of a finished run has one)."""
    saved = self.rundir.snapshots()
    if not saved or saved[-1][0] != step:
      self.save(step)

  def save(self, step: int) -> None:
    self.rundir.write_snapshot(step, self.effective(self.state.numpy(), step))


class SelectBest(Action):
  """Keeps the model best on the clean validation split by `metric` as best.keras (its step
  and metrics in best.json), at each test evaluation."""
  on_evaluation = True

  def __init__(self, validation: Evaluation, metric: str, rundir: RunDir, save):
    self.validation, self.metric, self.rundir, self.save = validation, metric, rundir, save
    self.best = rundir.read_json(files.BEST) if rundir.exists(files.BEST) else None

  def run(self, end: LoopEnd) -> None:
    metrics = self.validation(end.step)
    if self.best is None or metrics[self.metric] > self.best["validation"][self.metric]:
      self.save()
      self.best = {"step": end.step, "metric": self.metric, "validation": scalars(metrics),
                   "test": scalars(end.metrics)}
      self.rundir.write_json(files.BEST, self.best)


class Progress(Action):
  """Training progress: one plain line per epoch (loss, latest evaluation, time, time left)
  and, on a terminal only, a bar within the epoch redrawn in place.

  The time left is estimated from the loops after the first, so compilation does not
  inflate it. Nothing but printable text and newlines reaches a file or a pipe.
  """
  every_loops = 1

  def __init__(self, total_steps: int, steps_per_epoch: int, stream=None,
               interactive: bool | None = None, clock=time.monotonic):
    self.total, self.per_epoch = total_steps, steps_per_epoch
    self.stream = stream or sys.stdout
    self.interactive = (self.stream.isatty() if interactive is None else interactive)
    self.clock, self.started = clock, clock()
    self.timed_from: tuple[float, int] | None = None  # (time, step) after the first loop
    self.previous_step, self.metrics, self.width = None, {}, 0

  def run(self, end: LoopEnd) -> None:
    now = self.clock()
    if self.timed_from is None:
      self.timed_from = (now, end.step)
    if end.metrics is not None:
      self.metrics = {k: end.metrics[k] for k in _SHOWN if k in end.metrics}
    previous = end.step - 1 if self.previous_step is None else self.previous_step
    self.previous_step = end.step
    epoch = -(-end.step // self.per_epoch)  # the epoch the last step belonged to
    if end.final or end.step // self.per_epoch > previous // self.per_epoch:
      self._show(self._line(end, epoch, now), final=True)
    elif self.interactive:
      done = end.step - (epoch - 1) * self.per_epoch
      bar = "#" * (20 * done // self.per_epoch)
      self._show(f"epoch {epoch}/{self._epochs} [{bar:<20}] {done}/{self.per_epoch}  "
                 f"loss {end.loss:.4f}  {self._left(end.step, now)}", final=False)

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
            f"loss {end.loss:.4f}" + (f"  test {shown}" if shown else "")
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
