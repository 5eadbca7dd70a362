"""Runs an experiment.

  python launch.py --config=experiments/fmnist_lt.py:focal --workdir=runs/focal \\
      --config.optimizer.learning_rate=3e-4 --config.loss.kwargs.gamma=1

Relaunching with the same --workdir resumes from its last checkpoint. Switching a component
on the command line (--config.model.name=mlp, --config.class_weights.scheme=none, ...) drops
the experiment's kwargs of that section; --config.model.kwargs.KEY=VALUE sets the new one's.
`--help` lists the experiment's fields and variants; `--list` every registered component
with its kwargs. Arguments are flags only (the run's folder is --workdir).
"""

import signal
import sys

from framework.tools import cli
from framework.config import resolve_extra_modules

USAGE = ("usage: python launch.py [--config=FILE[:VARIANT]] [--workdir=DIR] "
         "[--config.FIELD=VALUE ...] [--list]")


def main(argv: list[str]) -> int:
  if any(arg in ("--help", "-h", "--helpshort") for arg in argv[1:]):
    try:
      print(cli.help_text(argv, USAGE + "\n\n" + __doc__.strip()))
    except BrokenPipeError:  # | head
      pass
    return 0
  previous = signal.signal(signal.SIGTERM, _stop_before_training)  # training sets its own
  try:
    return _launch(argv)
  finally:
    signal.signal(signal.SIGTERM, previous)  # for callers in the same process (tests)


def _launch(argv: list[str]) -> int:
  from absl import flags, logging  # pylint: disable=g-import-not-at-top
  from ml_collections import config_flags  # pylint: disable=g-import-not-at-top
  from framework.runs.rundir import RunDir  # pylint: disable=g-import-not-at-top (numpy)
  workdir = None
  try:
    spec = cli.config_spec(argv)
    _, loaded = cli.load_config(spec)
    argv, kwarg_overrides = cli.split_kwargs(argv)
    cli.check_override_fields(loaded, argv)
    values = flags.FlagValues()  # fresh, so main() can run again in one process (tests)
    config_flags.DEFINE_config_file("config", cli.DEFAULT_SPEC, "Experiment file[:variant].",
                                    flag_values=values, lock_config=True, sys_argv=argv)
    flags.DEFINE_string("workdir", None, "Where the run's checkpoints, logs and results go.",
                        flag_values=values)
    flags.DEFINE_bool("list", False, "List every registered component and exit.",
                      flag_values=values)
    try:
      positional = values(argv)[1:]
    except Exception as e:  # pylint: disable=broad-except  (absl / ml_collections errors)
      return cli.fail(cli.explain_flag_error(e))
    if positional:
      return cli.fail(cli.explain_positional(positional[0]))
    logging.set_verbosity(logging.WARNING)
    config = values.config
    config.extra_modules = resolve_extra_modules(config.extra_modules, spec.partition(":")[0])
    if values.list:  # with the experiment's own components
      print(_listing(config.extra_modules))
      return 0
    workdir = values.workdir or cli.default_workdir(spec)  # named by a full disk's error
    RunDir(workdir).check_not_in_use()  # at once, not after loading TensorFlow
    for notice in cli.drop_stale_kwargs(loaded, config, argv):
      print(notice)
    cli.apply_kwargs(config, kwarg_overrides)
    from framework import train  # pylint: disable=g-import-not-at-top (TensorFlow)
    train.run(config, workdir)
    return 0
  except Exception as e:  # pylint: disable=broad-except  (every failure is one line)
    return cli.report(e, workdir)
  except KeyboardInterrupt:
    return cli.fail("interrupted outside the training loop; relaunch to resume from the last "
                    "checkpoint", 130)


def _listing(extra_modules: tuple[str, ...]) -> str:
  """Every registered component; read from the cache unless the experiment adds its own."""
  from framework.config.extra_modules import import_extra_modules  # pylint: disable=g-import-not-at-top
  from framework.tools.listing_cache import cached_listing  # pylint: disable=g-import-not-at-top
  from framework.train import components  # pylint: disable=g-import-not-at-top
  if extra_modules:
    import_extra_modules(extra_modules)
    return components.listing()
  return cached_listing(components.listing)


def _stop_before_training(number, frame):
  raise KeyboardInterrupt


if __name__ == "__main__":
  sys.exit(main(sys.argv))
