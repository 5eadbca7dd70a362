"""Stopping cleanly on SIGTERM (a scheduler, a preempted VM) or SIGINT (Ctrl-C).

A compiled loop runs many steps in one call, during which Python cannot run a signal
handler; so the controller runs each loop in a worker thread and waits on it, the handler
runs at once in the main thread and sets the trainer's stop flag, and the compiled loop
reads that flag at every step (all-reduced over replicas and workers, so every worker
stops at the same step). The controller then saves a checkpoint at that step and raises
`Preempted`; a relaunch resumes from it and ends identical to an uninterrupted run.
TensorFlow's `PreemptionCheckpointHandler` saves at the boundaries of the calls it wraps,
here whole loops of up to an epoch, which is why the flag lives inside the loop instead.
A second Ctrl-C stops at once, without a checkpoint.
"""

from __future__ import annotations

import signal
import threading
from typing import Callable, TypeVar

T = TypeVar("T")
SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Preempted(RuntimeError):
  """Stopped by a signal after saving a checkpoint (exit status 75: relaunch to resume)."""


class StopOnSignal:
  """Within this context SIGTERM / SIGINT ask `trainer` to stop at its next step."""

  def __init__(self, trainer):
    self.trainer, self.received, self._previous = trainer, None, {}

  def _handle(self, number, frame):
    del frame
    if self.received is not None and number == signal.SIGINT:
      raise KeyboardInterrupt  # a second Ctrl-C: stop now
    self.received = signal.Signals(number).name
    self.trainer.request_stop()

  def __enter__(self) -> "StopOnSignal":
    if threading.current_thread() is threading.main_thread():
      self._previous = {s: signal.signal(s, self._handle) for s in SIGNALS}
    return self

  def __exit__(self, *exc_info) -> None:
    for number, handler in self._previous.items():
      signal.signal(number, handler)


def call_interruptibly(fn: Callable[[], T], stop: Callable[[], None] = lambda: None) -> T:
  """fn() in a worker thread, the main thread waiting in short slices so that signal
  handlers run at once; fn's exception, if any, is raised here. An exception in the waiting
  thread (a KeyboardInterrupt) calls `stop` and waits for fn to end before it propagates, so
  nothing trains on behind the caller's back."""
  outcome: dict = {}

  def target():
    try:
      outcome["value"] = fn()
    except BaseException as e:  # pylint: disable=broad-except  (re-raised below)
      outcome["error"] = e

  worker = threading.Thread(target=target, name="train-loop", daemon=True)
  worker.start()
  try:
    while worker.is_alive():
      worker.join(0.1)
  except BaseException:
    stop()
    worker.join()
    raise
  if "error" in outcome:
    raise outcome["error"]
  return outcome["value"]
