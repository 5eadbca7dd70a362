"""The controller: loop { trainer.train(n) ; actions ; checkpoint }, resumable (after Orbit).

It knows nothing of evaluation, summaries or files: those are actions, callables run
after every loop with a `LoopEnd`. An action with an `every_steps` attribute > 0 also
cuts the loops so that one ends on each multiple of it (evaluations fall on epoch
boundaries, say); `due(end, every)` tells an action whether this loop end is one of its
steps. Benchmarks, studies and tests drive the same trainer, controller and actions.
"""

from __future__ import annotations

import dataclasses
from typing import Callable, Sequence

import tensorflow as tf


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
               actions: Sequence[Action] = (),
               checkpoint_manager: tf.train.CheckpointManager | None = None,
               checkpoint_every_loops: int = 1):
    self.trainer, self.total_steps, self.steps_per_loop = trainer, total_steps, steps_per_loop
    self.actions, self.manager = tuple(actions), checkpoint_manager
    self.checkpoint_every_loops = checkpoint_every_loops
    self._restored = False

  def restore(self) -> int:
    """Restores the latest checkpoint, once, if there is one; returns the step to start from."""
    if self.manager is not None and not self._restored:
      self.manager.restore_or_initialize()
    self._restored = True
    return self.trainer.current_step

  def _loop_length(self, step: int) -> int:
    length = min(self.steps_per_loop, self.total_steps - step)
    for action in self.actions:
      every = getattr(action, "every_steps", 0)
      if every > 0:
        length = min(length, every - step % every)
    return length

  def run(self) -> int:
    """Trains from the restored step to the end; returns the final step."""
    step, loop = self.restore(), 0
    while step < self.total_steps:
      num_steps = self._loop_length(step)
      loss = float(self.trainer.train(num_steps))
      step, loop = step + num_steps, loop + 1
      end = LoopEnd(step, loop, step == self.total_steps, {"train/loss": loss})
      for action in self.actions:
        action(end)
      if self.manager is not None and (end.final or loop % self.checkpoint_every_loops == 0):
        self.manager.save(checkpoint_number=step)
    return step
