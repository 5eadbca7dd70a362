"""The controller: loop { trainer.train(n) ; evaluate ; actions ; checkpoint }, resumable
(after Orbit).

After each compiled loop it runs the test `Evaluation` when due, then every action due
(see `actions.Action`) with a `LoopEnd` holding the metrics, and saves a checkpoint; once
training is over, every action's `finish`. Loops are cut so that one ends on each multiple
of the evaluation's and the actions' `every_steps` (evaluations fall on epoch boundaries,
say). It knows nothing of summaries or files. Benchmarks, studies and tests drive the same
trainer, controller and actions.

Checkpoints: a restore takes the newest checkpoint that reads (a damaged one, which cannot
be read, is set aside as `*.damaged` with a one-line warning), works without the
`checkpoint` state file, and removes the temporary folders an interrupted save leaves. A
checkpoint that reads but does not fit the model (a variable of another shape, a variable
missing) is refused in one line and left as it is: the run's code or data changed, and
neither renaming nor starting over would be right. A signal (see `preemption`) stops the
loop at the next step and saves a checkpoint there.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import sys
import time
from typing import Sequence

import tensorflow as tf

from framework.errors import ConfigError, Diverged, one_line
from framework.runs import files
from framework.train.actions import Action, Evaluation, LoopEnd
from framework.train.preemption import Preempted, call_interruptibly


def cut_at_multiple(step: int, length: int, every: int) -> int:
  """`length` steps from `step`, cut so that they end at the next multiple of `every` if one
  comes first (every <= 0: no cut)."""
  return min(length, every - step % every) if every > 0 else length


class Controller:
  """Runs a trainer to `total_steps` in compiled loops of at most `steps_per_loop` steps."""

  def __init__(self, trainer, total_steps: int, steps_per_loop: int,
               actions: Sequence[Action] = (), *, evaluation: Evaluation | None = None,
               checkpoint_dir: str | None = None, max_checkpoints: int = 3,
               checkpoint_every_loops: int = 1):
    self.trainer, self.total_steps, self.steps_per_loop = trainer, total_steps, steps_per_loop
    self.actions, self.evaluation = tuple(actions), evaluation
    self.checkpoint_dir = checkpoint_dir
    self.max_checkpoints, self.checkpoint_every_loops = max_checkpoints, checkpoint_every_loops
    self.manager = None
    self.seconds = [0.0] * len(self.actions)  # wall time inside each action (benchmarks)

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
    scheduled = self.actions + ((self.evaluation,) if self.evaluation is not None else ())
    passes = getattr(self.trainer, "pass_every_steps", 0)  # a rule's epoch pass (trainer)
    for every in [each.every_steps for each in scheduled] + [passes]:
      length = cut_at_multiple(step, length, every)
    return length

  def run(self) -> int:
    """Trains from the restored step to the end (or until an action stops training), then
    finishes every action; returns the final step.

    Raises `Diverged` when the trainer stopped at a non-finite loss or gradient (the last
    checkpoint, saved before, stays the last good state).
    """
    step, loop = self.restore(), 0
    while step < self.total_steps and not self._stopped():
      if self.trainer.stop_requested:
        self._stop(step)
      length = self._loop_length(step)
      loss = float(call_interruptibly(lambda: self.trainer.train(length),
                                      self.trainer.request_stop))
      step, loop = self.trainer.current_step, loop + 1
      if self.trainer.diverged:
        raise Diverged(f"step {step}: {self.trainer.diverged} went non-finite (NaN or "
                       f"infinity); nothing was updated or saved from it. {self._advice()}")
      if self.trainer.stop_requested:
        self._stop(step)
      final = step == self.total_steps
      evaluated = self.evaluation is not None and self.evaluation.due(step, final)
      end = LoopEnd(step, loop, final, loss, self.evaluation(step) if evaluated else None)
      for index, action in enumerate(self.actions):
        if action.due(end):
          self._timed(index, action.run, end)
      if final or loop % self.checkpoint_every_loops == 0 or self._stopped():
        self.save(step)
    metrics = self.evaluation(step) if self.evaluation is not None else None
    for index, action in enumerate(self.actions):
      self._timed(index, action.finish, step, metrics)
    return step

  def _advice(self) -> str:
    """What to change after the run diverged; a changed method is a new run, so a new
    workdir (the relaunch checks refuse it in this one)."""
    options = self.trainer.options
    if options.on_nonfinite == "skip":
      change = (f"It stayed non-finite for train.max_skipped={options.max_skipped} steps in "
                "a row, so skipping does not help: lower the learning rate (or clip the "
                "gradients, optimizer.kwargs.clipnorm)")
    else:
      change = "Lower the learning rate, or set train.on_nonfinite=skip to skip such steps,"
    return f"{change} in a new --workdir (this one keeps the run's config)"

  def _stopped(self) -> bool:
    """Whether an action ended training early."""
    return any(action.stop_training for action in self.actions)

  def _timed(self, index: int, method, *args) -> None:
    start = time.perf_counter()
    method(*args)
    self.seconds[index] += time.perf_counter() - start

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


_SHAPES = re.compile(r"incompatible tensor with shape (\(.*?\)) when attempting to restore "
                     r"variable with shape (\(.*?\)) and name (.+?)(?::\d+)?\.?$")
_DTYPES = re.compile(r"tensor_name = (.+?)(?:/\.ATTRIBUTES/VARIABLE_VALUE)?; expected dtype "
                     r"(\w+) does not equal original dtype (\w+)")
_UNBOUND = re.compile(r"(?:path=|tf\.Variable ')([^,'\s:]+)(?::\d+)?'?,? shape=(\(.*?\))")


def mismatch(error: Exception) -> str | None:
  """What does not fit when the error of a restore says the checkpoint reads but does not
  fit the model (a variable's shape or dtype, a variable it lacks); None when the error is
  that it cannot be read (a truncated or corrupt file, one missing)."""
  text = " ".join(str(error).split())
  if isinstance(error, ValueError):
    if shapes := _SHAPES.search(text):
      saved, model, name = shapes.groups()
      return f"variable {name!r} has shape {saved} in the checkpoint and {model} in the model"
    return one_line(text, 160)
  if isinstance(error, tf.errors.InvalidArgumentError) and (dtypes := _DTYPES.search(text)):
    name, model, saved = dtypes.groups()
    return f"variable {name!r} has dtype {saved} in the checkpoint and {model} in the model"
  if isinstance(error, AssertionError):
    if unbound := _UNBOUND.search(text):
      return (f"variable {unbound.group(1)!r} (shape {unbound.group(2)}) of the model is not "
              "in the checkpoint")
    return one_line(text, 160)
  return None


def restore_newest_readable(checkpoint: tf.train.Checkpoint, directory: str) -> list[str]:
  """Restores the newest checkpoint of `directory` that reads; returns the readable ones'
  prefixes, oldest first. Leftover temporary folders are removed, damaged checkpoints set
  aside (`.damaged`) with a warning; if none reads (now or at an earlier launch), a one-line
  ConfigError. A checkpoint that reads but does not fit the model (`mismatch`) is a
  one-line ConfigError, with nothing renamed."""
  for temporary in glob.glob(os.path.join(directory, "*_temp*")):
    shutil.rmtree(temporary, ignore_errors=True)
  prefixes = [prefix for _, prefix in files.numbered_checkpoints(directory)]
  # Created before a restore that may fail, the save counter leaves no checkpoint value
  # pending, which TensorFlow would warn of when the process ends.
  checkpoint.save_counter  # pylint: disable=pointless-statement
  for position in range(len(prefixes) - 1, -1, -1):
    prefix = prefixes[position]
    try:
      checkpoint.restore(prefix).assert_existing_objects_matched()
      return prefixes[:position + 1]
    except Exception as e:  # pylint: disable=broad-except  (a mismatch, or any damage)
      if (what := mismatch(e)) is not None:
        raise ConfigError(f"checkpoint {prefix} does not fit this model: {what}; the model or "
                          "the data changed since it was saved (nothing renamed): relaunch "
                          "with the code and data the run started with, or use a new "
                          "--workdir") from None
      print(f"warning: checkpoint {prefix} does not read ({type(e).__name__}: "
            f"{one_line(e, 100)}); set aside as {os.path.basename(prefix)}.*.damaged",
            file=sys.stderr)
      for path in glob.glob(prefix + ".*"):
        os.replace(path, path + ".damaged")
  damaged = glob.glob(os.path.join(directory, "ckpt-*.index.damaged"))
  if damaged:  # set aside now or at an earlier launch: the run's progress is not here
    raise ConfigError(f"no checkpoint in {directory} reads ({len(damaged)} set aside as "
                      "damaged); remove the folder to start over")
  return []
