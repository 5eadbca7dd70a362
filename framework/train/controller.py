"""The controller: loop { trainer.train(n) ; actions ; checkpoint }, resumable (after Orbit).

It knows nothing of evaluation, summaries or files: those are actions, callables run
after every loop with a `LoopEnd`. An action with an `every_steps` attribute > 0 also
cuts the loops so that one ends on each multiple of it (evaluations fall on epoch
boundaries, say); `due(end, every)` tells an action whether this loop end is one of its
steps. Benchmarks, studies and tests drive the same trainer, controller and actions.

Checkpoints: a restore takes the newest checkpoint that reads (a damaged one is set aside
as `*.damaged` with a one-line warning), works without the `checkpoint` state file, and
removes the temporary folders an interrupted save leaves. A signal (see `preemption`)
stops the loop at the next step and saves a checkpoint there.
"""

from __future__ import annotations

import dataclasses
import glob
import os
import re
import shutil
import sys
from typing import Callable, Sequence

import tensorflow as tf

from framework.errors import ConfigError, Diverged, one_line
from framework.train.preemption import Preempted, call_interruptibly


@dataclasses.dataclass
class LoopEnd:
  """What an action sees after a loop: where the run is, and the loop's logs.

  `logs` starts as {"train/loss": mean loss over the loop}; actions may add to it for the
  actions after them (the evaluation action adds "eval": metrics).
  """
  step: int
  loop: int
  final: bool
  logs: dict


Action = Callable[[LoopEnd], None]


def due(end: LoopEnd, every_steps: int) -> bool:
  """Whether `end` is a multiple of `every_steps` (> 0) or the end of training."""
  return end.final or (every_steps > 0 and end.step % every_steps == 0)


class Controller:
  """Runs a trainer to `total_steps` in compiled loops of at most `steps_per_loop` steps."""

  def __init__(self, trainer, total_steps: int, steps_per_loop: int,
               actions: Sequence[Action] = (), checkpoint_dir: str | None = None,
               max_checkpoints: int = 3, checkpoint_every_loops: int = 1):
    self.trainer, self.total_steps, self.steps_per_loop = trainer, total_steps, steps_per_loop
    self.actions, self.checkpoint_dir = tuple(actions), checkpoint_dir
    self.max_checkpoints, self.checkpoint_every_loops = max_checkpoints, checkpoint_every_loops
    self.manager = None

  def restore(self) -> int:
    """Restores the newest readable checkpoint, once; returns the step to start from."""
    if self.checkpoint_dir is not None and self.manager is None:
      checkpoint = self.trainer.checkpoint()
      readable = restore_newest_readable(checkpoint, self.checkpoint_dir)
      if readable:
        write_checkpoint_state(self.checkpoint_dir, readable)
      self.manager = tf.train.CheckpointManager(checkpoint, self.checkpoint_dir,
                                                max_to_keep=self.max_checkpoints)
    return self.trainer.current_step

  def save(self, step: int) -> None:
    if self.manager is not None:
      self.manager.save(checkpoint_number=step)

  def _loop_length(self, step: int) -> int:
    length = min(self.steps_per_loop, self.total_steps - step)
    for action in self.actions:
      every = getattr(action, "every_steps", 0)
      if every > 0:
        length = min(length, every - step % every)
    return length

  def run(self) -> int:
    """Trains from the restored step to the end; returns the final step.

    Raises `Diverged` when the trainer stopped at a non-finite loss or gradient (the last
    checkpoint, saved before, stays the last good state).
    """
    step, loop = self.restore(), 0
    while step < self.total_steps:
      if self.trainer.stop_requested:
        self._stop(step)
      length = self._loop_length(step)
      loss = float(call_interruptibly(lambda: self.trainer.train(length),
                                      self.trainer.request_stop))
      step, loop = self.trainer.current_step, loop + 1
      if self.trainer.diverged:
        raise Diverged(f"step {step}: {self.trainer.diverged} went non-finite (NaN or "
                       "infinity); nothing was updated or saved from it. Lower the learning "
                       "rate, or set train.on_nonfinite=skip to skip such steps")
      if self.trainer.stop_requested:
        self._stop(step)
      end = LoopEnd(step, loop, step == self.total_steps, {"train/loss": loss})
      for action in self.actions:
        action(end)
      if end.final or loop % self.checkpoint_every_loops == 0:
        self.save(step)
    return step

  def _stop(self, step: int):
    self.save(step)
    raise Preempted(f"stopped at step {step} of {self.total_steps} by a signal; checkpoint "
                    f"saved{' in ' + self.checkpoint_dir if self.checkpoint_dir else ''}: "
                    "relaunch the same command to resume")


def write_checkpoint_state(directory: str, prefixes: list[str]) -> None:
  """The `checkpoint` state file (a text proto) listing `prefixes`, the last the latest; a
  manager built after it keeps rotating them."""
  names = [os.path.basename(p) for p in prefixes]
  text = f'model_checkpoint_path: "{names[-1]}"\n' + "".join(
      f'all_model_checkpoint_paths: "{n}"\n' for n in names)
  path = os.path.join(directory, "checkpoint")
  with open(path + ".tmp", "w") as f:
    f.write(text)
  os.replace(path + ".tmp", path)


def restore_newest_readable(checkpoint: tf.train.Checkpoint, directory: str) -> list[str]:
  """Restores the newest checkpoint of `directory` that reads; returns the readable ones'
  prefixes, oldest first. Leftover temporary folders are removed, damaged checkpoints set
  aside (`.damaged`) with a warning; if none reads, a one-line ConfigError."""
  for temporary in glob.glob(os.path.join(directory, "*_temp*")):
    shutil.rmtree(temporary, ignore_errors=True)
  numbered = []
  for index in glob.glob(os.path.join(directory, "ckpt-*.index")):
    match = re.match(r"^ckpt-(\d+)\.index$", os.path.basename(index))
    if match:
      numbered.append((int(match.group(1)), index[:-len(".index")]))
  prefixes = [prefix for _, prefix in sorted(numbered)]
  for position in range(len(prefixes) - 1, -1, -1):
    prefix = prefixes[position]
    try:
      checkpoint.restore(prefix).assert_existing_objects_matched()
      return prefixes[:position + 1]
    except Exception as e:  # pylint: disable=broad-except  (any damage: truncation, bytes)
      print(f"warning: checkpoint {prefix} does not read ({type(e).__name__}: "
            f"{one_line(e, 100)}); set aside as {os.path.basename(prefix)}.*.damaged",
            file=sys.stderr)
      for path in glob.glob(prefix + ".*"):
        os.replace(path, path + ".damaged")
  if prefixes:
    raise ConfigError(f"no checkpoint in {directory} reads (all {len(prefixes)} damaged); "
                      "remove the folder to start over")
  return []
