"""Runs the rule conformance checks on a user's rule and prints one line per check.

  python -m framework.tools.check_rule tests/example_rule.py:example_focal_weights
  python -m framework.tools.check_rule my_package.rules:my_rule --kwargs lr=0.1 hi=10

FILE is a .py file (loaded from its path) or a dotted module name; NAME the name the rule
is registered under (or its factory's name). The rule is trained for a few steps on a
tiny synthetic problem on one device and on two replicas (the CPU split in two); see
`framework.train.conformance` for the checks. Exit status: 0 every check passed, 1 not.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import io
import os
import sys
import tempfile

from framework.errors import ConfigError, one_line

CONTEXT = ("num_classes", "class_counts", "num_samples", "steps_per_epoch")  # from the data


class _Parser(argparse.ArgumentParser):
  def error(self, message):
    raise ConfigError(f"{message}; usage: python -m framework.tools.check_rule FILE_OR_MODULE:NAME "
                      "[--kwargs KEY=VALUE ...]")


def parse_args(argv: list[str]) -> argparse.Namespace:
  parser = _Parser(prog="python -m framework.tools.check_rule", description=__doc__.split("\n")[0])
  parser.add_argument("rule", metavar="FILE_OR_MODULE:NAME")
  parser.add_argument("--kwargs", nargs="*", default=[], metavar="KEY=VALUE",
                      help="the rule's kwargs, parsed to the type of their defaults")
  return parser.parse_args(argv)


def load_rule(spec: str) -> str:
  """Imports FILE_OR_MODULE of `spec` and returns the registered name of its rule NAME."""
  from framework.config.extra_modules import import_extra_modules  # pylint: disable=g-import-not-at-top
  from framework.weights import RULES  # pylint: disable=g-import-not-at-top
  source, _, name = spec.rpartition(":")
  if not source or not name:
    raise ConfigError(f"{spec!r} is not FILE_OR_MODULE:NAME (e.g. "
                      "tests/example_rule.py:example_focal_weights)")
  if source.endswith(".py") and not os.path.isfile(source):
    raise ConfigError(f"{spec!r}: no such file {source!r}")
  before = {key: RULES.get(key) for key in RULES.names()}
  try:
    import_extra_modules([source])
  except ConfigError as e:
    raise ConfigError(f"{spec!r}: {str(e).removeprefix('extra_modules: ')}") from None
  added = [key for key in RULES.names() if before.get(key) is not RULES.get(key)]
  if name in RULES:
    return name
  by_factory = [key for key in added if RULES.get(key).__name__ == name]
  if by_factory:
    return by_factory[0]
  raise ConfigError(f"{spec!r}: no rule {name!r} is registered; registered: "
                    f"{', '.join(added or RULES.names())}")


def parse_kwargs(name: str, pairs: list[str]) -> dict:
  """KEY=VALUE strings checked against rule `name`'s signature and parsed by its defaults."""
  from framework.tools import cli  # pylint: disable=g-import-not-at-top
  from framework.train import components
  from framework.weights import RULES  # pylint: disable=g-import-not-at-top
  allowed = RULES.parameters(name, dict.fromkeys(CONTEXT))
  kwargs = {}
  for pair in pairs:
    key, equals, raw = pair.partition("=")
    if not equals:
      raise ConfigError(f"--kwargs {pair!r} is not KEY=VALUE")
    if key not in allowed:
      raise ConfigError(f"--kwargs {key}: not a parameter of rule {name!r}; allowed: "
                        f"{', '.join(allowed) or 'none'}")
    default = None if allowed[key] is inspect.Parameter.empty else allowed[key]
    try:
      kwargs[key] = cli.parse_value(raw, default, components.number_or_text("rule", name, key))
    except ValueError as e:
      expected = f"; expected a {type(default).__name__}" if default is not None else ""
      raise ConfigError(f"--kwargs {key}={raw}: {one_line(e)}{expected}") from None
  return kwargs


def report(spec: str, kwargs: dict, checks: list) -> str:
  """The report: a title, one line per check, a verdict."""
  shown = ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) or "defaults"
  width = max(len(c.name) for c in checks)
  lines = [f"Rule conformance of {spec} (kwargs: {shown})"]
  lines += [f"{'PASS' if c.passed else 'FAIL'}  {c.name:<{width}}  {c.reason}" for c in checks]
  failed = sum(not c.passed for c in checks)
  lines.append(f"all {len(checks)} checks passed" if not failed else
               f"{failed} of {len(checks)} checks failed")
  return "\n".join(lines)


def main(argv: list[str]) -> int:
  try:
    args = parse_args(argv)
    import tensorflow as tf  # pylint: disable=g-import-not-at-top
    from framework.train.distribute import split_cpu  # pylint: disable=g-import-not-at-top
    tf.config.set_visible_devices([], "GPU")  # both runs on the CPU, split in two
    split_cpu(2)  # before anything initialises TensorFlow's devices
    from framework.train import conformance  # pylint: disable=g-import-not-at-top
    name = load_rule(args.rule)
    kwargs = parse_kwargs(name, args.kwargs)
    with (tempfile.TemporaryDirectory(prefix="check_rule_") as directory,
          contextlib.redirect_stdout(io.StringIO())):  # the runs' own notices
      checks = conformance.run_checks(name, kwargs, directory)
  except ConfigError as e:
    print(f"error: {e}", file=sys.stderr)
    return 1
  except Exception as e:  # pylint: disable=broad-except  (one line, never a traceback wall)
    print(f"error: {type(e).__name__}: {one_line(e, 300)}", file=sys.stderr)
    return 1
  print(report(args.rule, kwargs, checks))
  return 0 if all(c.passed for c in checks) else 1


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))
