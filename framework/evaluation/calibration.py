"""Calibration: expected calibration error and the per-bin data of a reliability diagram.

A model is calibrated when, among the examples it predicts with confidence p, a fraction p
is right. The field's measure (Guo et al. 2017) sorts the test examples into 15 equal-width
bins of confidence, the largest softmax probability, each bin holding the confidences in
(lower, upper], and sums the gaps between accuracy and mean confidence weighted by the bins'
shares of the examples:

  ECE = sum_b |acc(b) - conf(b)| * n_b / n.

The reliability diagram draws acc(b) against the bin, next to the diagonal conf = acc; its
drawing is `framework.summaries.figures.reliability_figure`. The evaluator's metrics carry
the bins as `reliability_accuracy`, `reliability_confidence` and `reliability_count`, so a
finished run's diagram can be drawn from its results.json.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

NUM_BINS = 15


@dataclasses.dataclass(frozen=True)
class Reliability:
  """Per-bin calibration data over equal-width confidence bins of [0, 1].

  accuracy and confidence are NaN in a bin without examples.
  """

  accuracy: np.ndarray    # float [B]: fraction of the bin's examples predicted right
  confidence: np.ndarray  # float [B]: mean confidence of the bin's examples
  count: np.ndarray       # int [B]: examples in the bin

  @classmethod
  def from_metrics(cls, metrics: dict[str, Any], prefix: str = "") -> Reliability:
    """The bins stored in a metrics dict by `calibration_metrics` (keys after `prefix`);
    None entries become NaN."""
    return cls(np.asarray(metrics[f"{prefix}reliability_accuracy"], np.float64),
               np.asarray(metrics[f"{prefix}reliability_confidence"], np.float64),
               np.asarray(metrics[f"{prefix}reliability_count"], np.int64))

  @property
  def edges(self) -> np.ndarray:
    """float [B + 1]: the bin edges 0, 1/B, ..., 1."""
    return np.linspace(0.0, 1.0, len(self.count) + 1)

  @property
  def ece(self) -> float:
    """Expected calibration error; NaN without examples or if a confidence was NaN
    (non-finite logits)."""
    filled = self.count > 0
    gaps = np.abs(self.accuracy[filled] - self.confidence[filled]) * self.count[filled]
    total = self.count.sum()
    return float(gaps.sum() / total) if total else float("nan")


def _max_softmax(logits: np.ndarray) -> np.ndarray:
  """max_j softmax(z)_j = 1 / sum_j exp(z_j - max z), in float64."""
  shifted = logits - logits.max(axis=1, keepdims=True)
  return 1.0 / np.exp(shifted).sum(axis=1)


def reliability(labels: Any, logits: Any, num_bins: int = NUM_BINS) -> Reliability:
  """The reliability bins of argmax predictions from `logits` float [N, C] for `labels` [N].

  Confidence is the largest softmax probability of each row; a row with a NaN or infinite
  logit has NaN confidence and makes the last bin's values, and so the ECE, NaN.
  """
  if not isinstance(num_bins, (int, np.integer)) or num_bins < 1:
    raise ValueError(f"num_bins={num_bins!r} must be an int >= 1")
  labels = np.asarray(labels)
  logits = np.asarray(logits, np.float64)
  if logits.ndim != 2 or labels.shape != logits.shape[:1] or labels.size == 0:
    raise ValueError(f"logits shape {logits.shape} must be [N, C] for labels shape "
                     f"{labels.shape} [N], N >= 1")
  confidence = _max_softmax(logits)
  correct = (np.argmax(logits, axis=1) == labels).astype(np.float64)
  edges = np.linspace(0.0, 1.0, num_bins + 1)
  # side="left": a confidence equal to an edge belongs to the bin below it, (lower, upper].
  bins = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, num_bins - 1)
  count = np.bincount(bins, minlength=num_bins)
  with np.errstate(invalid="ignore", divide="ignore"):
    accuracy = np.bincount(bins, correct, minlength=num_bins) / count
    mean_confidence = np.bincount(bins, confidence, minlength=num_bins) / count
  return Reliability(accuracy, mean_confidence, count)


def expected_calibration_error(labels: Any, logits: Any, num_bins: int = NUM_BINS) -> float:
  """ECE of argmax predictions from `logits` over `num_bins` equal-width confidence bins."""
  return reliability(labels, logits, num_bins).ece


def _json_list(values: np.ndarray) -> list[float | None]:
  """Floats, None (JSON null) where NaN: empty bins keep results.json strict JSON."""
  return [None if np.isnan(v) else float(v) for v in values]


def calibration_metrics(labels: Any, logits: Any) -> dict[str, Any]:
  """`ece` and the reliability bins as lists, None for an empty bin's accuracy and
  confidence, for the evaluator's metrics dict (`Reliability.from_metrics` reads them)."""
  bins = reliability(labels, logits)
  return {"ece": bins.ece, "reliability_accuracy": _json_list(bins.accuracy),
          "reliability_confidence": _json_list(bins.confidence),
          "reliability_count": bins.count.tolist()}
