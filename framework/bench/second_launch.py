"""How long a second launch on a live run's workdir takes to fail: about a second.

    python -m framework.bench.second_launch [--repeats 3] [--launcher launch.py]

Starts a long run (synthetic data, linear model) in a temporary workdir, waits until it
holds the workdir's lock, then launches the same command again `repeats` times and prints
each second launch's wall time, exit status and stderr line. The launcher refuses before it
loads TensorFlow or builds the experiment, which is what took tens of seconds. The first run
is killed at the end (the temporary workdir goes with it).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

LAUNCHER = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "launch.py")
LONG_RUN = ["--config.data.source=synthetic", "--config.data.num_samples=512",
            "--config.model.name=linear", "--config.train.batch_size=32",
            "--config.train.epochs=100000"]


def wait_for_lock(workdir: str, run: subprocess.Popen, timeout: float = 600) -> None:
  """Returns once `run` has written its pid into WORKDIR/.lock (it holds the lock)."""
  deadline = time.time() + timeout
  owner = f"pid {run.pid} "
  while time.time() < deadline:
    if run.poll() is not None:
      raise RuntimeError(f"the first run ended with status {run.returncode}")
    try:
      with open(os.path.join(workdir, ".lock")) as f:
        if f.read().startswith(owner):
          return
    except FileNotFoundError:
      pass
    time.sleep(0.2)
  raise TimeoutError(f"the first run did not lock {workdir} within {timeout:.0f} s")


def main(argv: list[str] | None = None) -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--repeats", type=int, default=3)
  parser.add_argument("--launcher", default=LAUNCHER)
  args = parser.parse_args(argv)
  with tempfile.TemporaryDirectory() as folder:
    workdir = os.path.join(folder, "run")
    command = [sys.executable, args.launcher, *LONG_RUN, f"--workdir={workdir}"]
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
      wait_for_lock(workdir, first)
      times = []
      for _ in range(args.repeats):
        start = time.perf_counter()
        second = subprocess.run(command, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        print(f"second launch: {times[-1]:.2f} s, exit status {second.returncode}, "
              f"stderr {second.stderr.strip()!r}")
      alive = "still running" if first.poll() is None else f"ended ({first.returncode})"
      print(f"median {statistics.median(times):.2f} s over {args.repeats} second launches; "
            f"the first run is {alive}")
    finally:
      first.kill()
      first.wait()


if __name__ == "__main__":
  main()
