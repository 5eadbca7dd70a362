"""What a config field may hold: one check per idiom, each with its rule in words.

A check is called as `check(field, value)` and raises a one-line ConfigError naming the
field, the value and what is allowed; its `allowed` text is what `--help` shows. The
declarations in `framework.config.fields` are made of these. A check that allows an int or a
float (an epoch or a fraction of the run) is `untyped`: its ConfigDict entry takes either.
"""

from __future__ import annotations

import dataclasses
import importlib
import math
from typing import Any, Callable, ClassVar, Mapping

from framework.config.registry import Registry
from framework.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class Check:
  """A test of a field's value and what it allows, in words ("an integer >= 1")."""
  accepts: Callable[[Any], bool]
  allowed: str
  untyped: bool = False  # an int or a float: ml_collections would fix the default's type

  def __call__(self, field: str, value: Any) -> None:
    if not self.accepts(value):
      raise ConfigError(f"{field}={value!r} must be {self.allowed}")


@dataclasses.dataclass(frozen=True)
class Registered:
  """A name in a registry, given as "module:ATTRIBUTE" and imported only when a value is
  checked (the registries' modules load TensorFlow; `--help` must not)."""
  where: str
  allowed: ClassVar[str] = "a registered name (see --list)"

  def registry(self) -> Registry:
    module, attribute = self.where.split(":")
    return getattr(importlib.import_module(module), attribute)

  def __call__(self, field: str, value: Any) -> None:
    self.registry().get(value, field)


def _is_int(value: Any) -> bool:
  return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
  return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def integer(least: int, allowed: str | None = None, most: int | None = None) -> Check:
  """An int >= `least` (and <= `most`, if given)."""
  default = f"an integer >= {least}" if most is None else f"an integer in [{least}, {most}]"
  return Check(lambda v: _is_int(v) and least <= v and (most is None or v <= most),
               allowed or default)


def number(*, at_least: float | None = None, above: float | None = None,
           below: float | None = None, at_most: float | None = None) -> Check:
  """A finite int or float within the bounds given (none: any finite number)."""
  def accepts(v: Any) -> bool:
    return (_is_number(v) and (at_least is None or v >= at_least) and
            (above is None or v > above) and (below is None or v < below) and
            (at_most is None or v <= at_most))
  low = at_least if at_least is not None else above
  high = below if below is not None else at_most
  if low is not None and high is not None:
    allowed = (f"a number in {'[' if at_least is not None else '('}{low:g}, "
               f"{high:g}{')' if below is not None else ']'}")
  elif low is not None:
    allowed = f"a number {'>=' if at_least is not None else '>'} {low:g}"
  elif high is not None:
    allowed = f"a number {'<' if below is not None else '<='} {high:g}"
  else:
    allowed = "a finite number"
  return Check(accepts, allowed)


def one_of(*choices: str) -> Check:
  return Check(lambda v: v in choices, "one of " + ", ".join(c or "''" for c in choices))


def sequence_of(item: Check, allowed: str, increasing: bool = False) -> Check:
  """A list or tuple whose every element passes `item` (in increasing order if asked)."""
  def accepts(v: Any) -> bool:
    if isinstance(v, (str, bytes)) or not isinstance(v, (list, tuple)):
      return False
    return (all(item.accepts(e) for e in v) and
            (not increasing or list(v) == sorted(v)))
  return Check(accepts, f"a list of {allowed}")


def is_fraction(value: Any) -> bool:
  """A fraction of the run: a float strictly between 0 and 1 (1 and 1.0 are epochs)."""
  return isinstance(value, float) and 0.0 < value < 1.0


def _is_epoch(value: Any) -> bool:
  """An epoch: an integer >= 0, also written as a float (16.0)."""
  return _is_number(value) and value >= 0 and float(value).is_integer()


def _is_tau(value: Any) -> bool:
  if value in ("", "auto"):
    return True
  try:
    return 0.0 <= float(value) <= 1.0
  except (TypeError, ValueError):
    return False


def _is_shot_thresholds(value: Any) -> bool:
  """() or a pair (many, few) of numbers with 0 <= few <= many."""
  if not isinstance(value, (list, tuple)) or len(value) not in (0, 2):
    return False
  return not value or (all(_is_number(v) for v in value) and 0 <= value[1] <= value[0])


BOOLEAN = Check(lambda v: isinstance(v, bool), "true or false")
TEXT = Check(lambda v: isinstance(v, str), "a string")
KWARGS = Check(lambda v: isinstance(v, Mapping) or hasattr(v, "to_dict"),
               "a mapping of keyword arguments")
TAU = Check(lambda v: isinstance(v, str) and _is_tau(v), "'', 'auto' or a number in [0, 1]")
# Points of a run's schedule, resolved for the run's length by framework.train.schedule;
# a list holds epochs or fractions, not both, so its order is the order of its epochs.
EPOCH_OR_FRACTION = Check(lambda v: _is_epoch(v) or is_fraction(v), "an epoch (an integer >= 0) "
                          "or a fraction of the run (a number in (0, 1))", untyped=True)
_POINTS = sequence_of(EPOCH_OR_FRACTION, "", increasing=True)
EPOCHS_OR_FRACTIONS = Check(lambda v: _POINTS.accepts(v) and len({is_fraction(e) for e in v}) < 2,
                            "a list of epochs (integers >= 0) or of fractions of the run "
                            "(numbers in (0, 1)), not mixed, in increasing order")
SHOT_THRESHOLDS = Check(_is_shot_thresholds, "() (automatic) or a pair (many, few) of numbers "
                        "with 0 <= few <= many")
