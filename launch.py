"""Runs an experiment.

  python launch.py --config=experiments/fmnist_lt.py:focal --workdir=runs/focal \
      --config.optimizer.learning_rate=3e-4

Relaunching with the same --workdir resumes from its last checkpoint.
"""

import os
import sys

from absl import app, flags, logging
from ml_collections import config_flags

from framework import cli

_HERE = os.path.dirname(os.path.abspath(__file__))
FLAGS = flags.FLAGS


def _define_flags() -> None:
  config_flags.DEFINE_config_file(
      "config", os.path.join(_HERE, "experiments", "default.py"),
      "Experiment config file, optionally with a variant: experiments/fmnist_lt.py:focal.",
      lock_config=True)
  flags.DEFINE_string("workdir", None, "Where the run's checkpoints, logs and results go "
                      "(default: runs/<experiment>-<variant>-<time>).")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  logging.set_verbosity(logging.WARNING)
  from framework import ConfigError, train  # pylint: disable=g-import-not-at-top
  try:
    train.run(FLAGS.config, FLAGS.workdir or cli.default_workdir(FLAGS["config"].config_filename))
  except ConfigError as e:
    sys.exit(f"error: {e}")


def _parse(argv):
  try:
    return FLAGS(argv)
  except Exception as e:  # pylint: disable=broad-except
    sys.exit(f"error: {cli.explain_flag_error(e, argv)}")


if __name__ == "__main__":
  cli.check_config_file(sys.argv)
  try:
    _define_flags()
  except Exception as e:  # pylint: disable=broad-except
    sys.exit(f"error: {cli.explain_flag_error(e, sys.argv)}")
  app.run(main, flags_parser=_parse)
