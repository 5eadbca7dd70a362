"""One run of a sweep, in its own process (what the sweep's workers start):

  python -m framework.sweeps.worker SWEEP_FILE ROOT RUN_NAME

The run's config is rebuilt from the sweep file, so the process trains exactly the run the
sweep planned; it then trains as the launcher would (`framework.train.run`): resuming from
its workdir, stopping with a checkpoint on SIGTERM, ending with the launcher's one-line
error and exit status (see `framework.tools.cli`).
"""

from __future__ import annotations

import signal
import sys

from framework.tools import cli


def main(argv: list[str]) -> int:
  previous = signal.signal(signal.SIGTERM, _stop_before_training)  # training sets its own
  try:
    from framework.runs.rundir import RunDir  # pylint: disable=g-import-not-at-top
    from framework.sweeps.declaration import load_sweep  # pylint: disable=g-import-not-at-top
    from framework.sweeps.plan import plan  # pylint: disable=g-import-not-at-top
    sweep_path, root, name = argv[1:]
    run = {r.name: r for r in plan(load_sweep(sweep_path), sweep_path, root)}[name]
    RunDir(run.workdir).check_not_in_use()  # at once, not after loading TensorFlow
    from framework import train  # pylint: disable=g-import-not-at-top (TensorFlow)
    train.run(run.config, run.workdir)
    return 0
  except Exception as e:  # pylint: disable=broad-except  (every failure is one line)
    return cli.report(e)
  except KeyboardInterrupt:
    return cli.fail("stopped before training; relaunch to resume", 130)
  finally:
    signal.signal(signal.SIGTERM, previous)


def _stop_before_training(number, frame):
  raise KeyboardInterrupt


if __name__ == "__main__":
  sys.exit(main(sys.argv))
