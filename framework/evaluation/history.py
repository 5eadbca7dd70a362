"""Best and last accuracy over a run's evaluations, as the noisy-label literature reports.

Label noise is memorised late in training, so test accuracy often peaks and then falls;
papers report the best over the evaluations and the last one, and the gap between them
measures how much of the noise the model ended up fitting. The records are a run's
history.jsonl (`RunDir.read_history`): one dict per evaluation with its `step` and the
evaluator's scalar metrics.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np


def best_and_last(history: Sequence[Mapping[str, Any]], key: str = "accuracy"
                  ) -> dict[str, float | int]:
  """`best_<key>` with `best_step`, and `last_<key>` with `last_step`.

  best: the largest value over the evaluations (the earliest step on a tie; NaN values
  never win unless all are NaN); last: the value at the largest step.
  """
  if not history:
    raise ValueError("history holds no evaluation")
  missing = [r.get("step") for r in history if key not in r or "step" not in r]
  if missing:
    raise ValueError(f"history records at steps {missing} have no {key!r} or no 'step'")
  records = sorted(history, key=lambda r: r["step"])
  values = np.array([r[key] for r in records], np.float64)
  best = int(np.argmax(np.where(np.isnan(values), -np.inf, values)))
  return {f"best_{key}": float(values[best]), "best_step": int(records[best]["step"]),
          f"last_{key}": float(values[-1]), "last_step": int(records[-1]["step"])}
