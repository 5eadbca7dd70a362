"""Runs a sweep's runs in parallel worker processes and reports as it goes.

Each run is a child process (`framework.sweeps.worker`) in its own session with its own
device share (`framework.sweeps.devices`), its output in WORKDIR/sweep.log. A failed run
is reported with its last line and the others go on. SIGTERM or Ctrl-C to the sweep is
passed on to the children as SIGTERM (each checkpoints and stops, as any run does) and no
new run starts; a re-run of the sweep resumes them.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from typing import Callable

from framework.runs import files
from framework.sweeps.plan import PlannedRun

POLL_SECONDS = 0.2


@dataclasses.dataclass
class Outcome:
  """How a run of the sweep ended: 'done', 'reused' (finished before), 'failed', 'stopped'."""
  status: str
  seconds: float = 0.0
  message: str = ""


@dataclasses.dataclass
class _Child:
  run: PlannedRun
  process: subprocess.Popen
  started: float


class Pool:
  """`workers` processes at a time over `runs`; `finished` names the runs already done."""

  def __init__(self, runs: list[PlannedRun], finished: set[str],
               command: Callable[[PlannedRun], list[str]],
               env: Callable[[int], dict[str, str]], workers: int):
    self.command, self.env, self.workers = command, env, workers
    self.pending = [r for r in runs if r.name not in finished]
    self.outcomes = {name: Outcome("reused") for name in finished}
    self.total = len(runs)
    self.running: dict[int, _Child] = {}
    self.stopped_by: str | None = None
    self.started = time.time()

  def run(self) -> dict[str, Outcome]:
    """Runs every pending run (or until a signal); each run's outcome by name."""
    previous = {s: signal.signal(s, self._stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
      self._report("start", "")
      while self.running or (self.pending and not self.stopped_by):
        self._collect()
        if not self.stopped_by:
          self._launch()
        if self.pending and not self.running and not self.stopped_by:
          break  # only runs waiting on a run this process does not run
        time.sleep(POLL_SECONDS)
    finally:
      for child in self.running.values():  # left only by an error in this process
        child.process.send_signal(signal.SIGTERM)
        child.process.wait()
      for number, handler in previous.items():
        signal.signal(number, handler)
    return self.outcomes

  def _launch(self) -> None:
    self._fail_orphans()
    for slot in range(self.workers):
      if slot in self.running:
        continue
      run = next((r for r in self.pending if self._ready(r)), None)
      if run is None:
        return
      self.pending.remove(run)
      os.makedirs(run.workdir, exist_ok=True)
      with open(os.path.join(run.workdir, files.SWEEP_LOG), "a") as log:
        process = subprocess.Popen(self.command(run), env=self.env(slot), stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
      self.running[slot] = _Child(run, process, time.time())
      self._report("started", f"{run.name} (worker {slot})")

  def _ready(self, run: PlannedRun) -> bool:
    """It starts afresh, or from a run finished now or before."""
    before = self.outcomes.get(run.starts_from) if run.starts_from else Outcome("done")
    return before is not None and before.status in ("done", "reused")

  def _fail_orphans(self) -> None:
    """A run whose starting run failed or stopped fails (it cannot start)."""
    for run in list(self.pending):
      before = self.outcomes.get(run.starts_from) if run.starts_from else None
      if before is not None and before.status in ("failed", "stopped"):
        self.pending.remove(run)
        message = f"starts from {run.starts_from}, which {before.status}"
        self.outcomes[run.name] = Outcome("failed", 0.0, message)
        self._report("FAILED", f"{run.name}: {message}")

  def _collect(self) -> None:
    for slot, child in list(self.running.items()):
      code = child.process.poll()
      if code is None:
        continue
      del self.running[slot]
      seconds = time.time() - child.started
      if code == 0:
        self.outcomes[child.run.name] = Outcome("done", seconds)
        self._report("finished", f"{child.run.name} in {seconds:.0f} s")
      elif self.stopped_by:
        self.outcomes[child.run.name] = Outcome("stopped", seconds)
        self._report("stopped", f"{child.run.name} after {seconds:.0f} s")
      else:
        message = (last_line(os.path.join(child.run.workdir, files.SWEEP_LOG))
                   or f"exit status {code}")
        self.outcomes[child.run.name] = Outcome("failed", seconds, message)
        self._report("FAILED", f"{child.run.name} after {seconds:.0f} s (exit {code}): "
                     f"{message}")

  def _stop(self, number, frame) -> None:
    del frame
    if self.stopped_by is None:
      self.stopped_by = signal.Signals(number).name
      self._report("stopping", f"on {self.stopped_by}: {len(self.running)} run(s) "
                   "checkpoint and stop; re-run the sweep to resume")
    for child in self.running.values():
      if child.process.poll() is None:
        child.process.send_signal(signal.SIGTERM)

  def counts(self) -> dict[str, int]:
    """done (finished now or before), running, failed, left (not started or stopped)."""
    statuses = [o.status for o in self.outcomes.values()]
    done = statuses.count("done") + statuses.count("reused")
    failed = statuses.count("failed")
    return {"done": done, "running": len(self.running), "failed": failed,
            "left": self.total - done - failed - len(self.running)}

  def _report(self, event: str, detail: str) -> None:
    elapsed = int(time.time() - self.started)
    counts = ", ".join(f"{k} {v}" for k, v in self.counts().items())
    print(f"[{time.strftime('%H:%M:%S')} +{elapsed // 3600}:{elapsed // 60 % 60:02d}:"
          f"{elapsed % 60:02d}] {counts} | {event} {detail}".rstrip(), flush=True)


def last_line(path: str) -> str:
  """The last non-empty line of a run's log (its one-line error), '' if none."""
  try:
    with open(path, errors="replace") as f:
      lines = [line.strip() for line in f if line.strip()]
  except OSError:
    return ""
  return lines[-1] if lines else ""


def worker_command(sweep_path: str, root: str) -> Callable[[PlannedRun], list[str]]:
  """The command line of a run's worker process."""
  return lambda run: [sys.executable, "-m", "framework.sweeps.worker", os.path.abspath(sweep_path),
                      os.path.abspath(root), run.name]
