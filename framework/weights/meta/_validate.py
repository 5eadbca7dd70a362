"""Argument checks shared by the meta rules (ValueError naming parameter and value)."""

from __future__ import annotations


def positive(name: str, value) -> float:
  if not (isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0):
    raise ValueError(f"{name}={value!r} must be a number > 0")
  return float(value)


def non_negative(name: str, value) -> float:
  if not (isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0):
    raise ValueError(f"{name}={value!r} must be a number >= 0")
  return float(value)


def fraction(name: str, value) -> float:
  """In [0, 1)."""
  if not (isinstance(value, (int, float)) and not isinstance(value, bool) and 0 <= value < 1):
    raise ValueError(f"{name}={value!r} must be in [0, 1)")
  return float(value)


def inner_lr(value) -> float | str:
  """A virtual step size: a number > 0, or "model" (the model optimizer's current rate)."""
  if value == "model":
    return value
  if not (isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0):
    raise ValueError(f"inner_lr={value!r} must be a number > 0 or 'model'")
  return float(value)
