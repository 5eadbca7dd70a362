"""Only what moves is charted: a family of values is written once it has changed.

A family (a scalar, a per-class vector or a per-sample array) is held back while it equals
its first value. The first time it differs it goes live: its held-back value is written at
the first and the last step it was seen unchanged (so the chart starts where the run did),
then every value from then on. What never moves is reported once, as text (`constants`).
The live set is saved with the run so a resumed run keeps charting what moved before.
"""

from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np


class OnlyMoving:
  """Filters families of values down to those that have moved."""

  def __init__(self, live: Iterable[str] = ()):
    self.live = set(live)
    self._held: dict[str, tuple[int, int, np.ndarray]] = {}  # first step, last step, value

  def __call__(self, step: int, families: Mapping[str, np.ndarray]
               ) -> list[tuple[int, dict[str, np.ndarray]]]:
    """[(step, {family: value})] to write now, in step order."""
    out: dict[int, dict[str, np.ndarray]] = {}
    for name, value in families.items():
      value = np.asarray(value)
      if name not in self.live:
        held = self._held.get(name)
        if held is None or (held[2].shape == value.shape
                            and np.array_equal(held[2], value, equal_nan=True)):
          first = step if held is None else held[0]
          self._held[name] = (first, step, value.copy() if held is None else held[2])
          continue
        self.live.add(name)
        first, last, old = self._held.pop(name)
        for at in sorted({first, last}):
          out.setdefault(at, {})[name] = old
      out.setdefault(step, {})[name] = value
    return sorted(out.items())

  def constants(self) -> dict[str, np.ndarray]:
    """{family: value} of what has been seen and never moved."""
    return {name: held[2] for name, held in self._held.items()}
