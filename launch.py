"""Runs an experiment.

  python launch.py --config=experiments/fmnist_lt.py:focal --workdir=runs/focal \
      --config.optimizer.learning_rate=3e-4

Relaunching with the same --workdir resumes from its last checkpoint.
"""

import datetime
import os
import sys

from absl import app, flags, logging
from ml_collections import config_flags

_HERE = os.path.dirname(os.path.abspath(__file__))
_CONFIG = config_flags.DEFINE_config_file(
    "config", os.path.join(_HERE, "experiments", "default.py"),
    "Experiment config file, optionally with a variant: experiments/fmnist_lt.py:focal.",
    lock_config=True)
_WORKDIR = flags.DEFINE_string(
    "workdir", None, "Where the run's checkpoints, logs and results go "
    "(default: runs/<experiment>-<variant>-<time>).")


def _default_workdir() -> str:
  spec = flags.FLAGS["config"].config_filename
  name = os.path.splitext(os.path.basename(spec.split(":")[0]))[0]
  variant = spec.split(":")[1] if ":" in spec else ""
  stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
  return os.path.join("runs", "-".join(filter(None, (name, variant, stamp))))


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  logging.set_verbosity(logging.WARNING)
  from framework import ConfigError, train  # after flag parsing: TensorFlow loads slowly
  try:
    train.run(_CONFIG.value, _WORKDIR.value or _default_workdir())
  except ConfigError as e:
    sys.exit(f"error: {e}")


if __name__ == "__main__":
  app.run(main)
