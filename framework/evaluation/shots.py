"""Many / medium / few-shot accuracy: the long-tail report by training count.

The field (Liu et al. 2019, OLTR, for ImageNet-LT; Kang et al. 2020, decoupling; and the
CIFAR-LT papers after them) groups classes by their number n of training examples, in the
papers' words more than 100, 20 to 100, fewer than 20: many-shot n > 100, medium-shot
20 <= n <= 100, few-shot n < 20. The decoupling code's `shot_acc`, which later code copies,
compares exactly so (`> 100`, `< 20`, the rest medium); OLTR's code release compared
>= 100 and <= 20, which moves a class with exactly 100 or 20 images out of medium.

A group's accuracy is the mean of its classes' recalls, per class as that code averages
(not per test example; on the balanced test sets of the benchmarks the two coincide).
Classes absent from the test split are left out; a group without a class is NaN, not 0
(the decoupling code reports 0, which reads as a measured failure).
"""

from __future__ import annotations

from typing import Any

import numpy as np

MANY_THRESHOLD = 100  # many-shot: more training examples than this
FEW_THRESHOLD = 20    # few-shot: fewer training examples than this
# CIFAR-100-LT at imbalance 100, the range the field's thresholds are set in (500 .. 5).
_REFERENCE_COUNTS = (5, 500)


def _check_thresholds(many_threshold: float, few_threshold: float) -> None:
  if not 0 <= few_threshold <= many_threshold:
    raise ValueError(f"shot thresholds many={many_threshold!r}, few={few_threshold!r} must "
                     "satisfy 0 <= few <= many")


def _counts(train_counts: Any) -> np.ndarray:
  counts = np.asarray(train_counts)
  if counts.ndim != 1 or counts.size == 0 or (counts < 0).any():
    raise ValueError(f"train_counts {counts.tolist()} must be a non-empty list of counts >= 0")
  return counts


def shot_classes(train_counts: Any, many_threshold: float = MANY_THRESHOLD,
                 few_threshold: float = FEW_THRESHOLD) -> dict[str, np.ndarray]:
  """{"many" | "medium" | "few": the class ids of the group}, by training count n:
  many n > many_threshold, few n < few_threshold, medium the rest (both ends included)."""
  _check_thresholds(many_threshold, few_threshold)
  counts = _counts(train_counts)
  many, few = counts > many_threshold, counts < few_threshold
  return {"many": np.flatnonzero(many), "medium": np.flatnonzero(~many & ~few),
          "few": np.flatnonzero(few)}


def shot_accuracies(per_class_recall: Any, support: Any, train_counts: Any,
                    many_threshold: float = MANY_THRESHOLD,
                    few_threshold: float = FEW_THRESHOLD) -> dict[str, float]:
  """`many_shot_accuracy`, `medium_shot_accuracy`, `few_shot_accuracy`: each the mean recall
  of the group's classes present in the test split (`support` > 0), NaN if there is none.

  per_class_recall and support [C] are as in `classification_metrics`; train_counts [C].
  """
  recall = np.asarray(per_class_recall, np.float64)
  present = np.asarray(support) > 0
  if recall.shape != present.shape or recall.shape != np.shape(train_counts):
    raise ValueError(f"per_class_recall, support and train_counts have {recall.shape}, "
                     f"{present.shape}, {np.shape(train_counts)} entries; they must be equal")
  result = {}
  for shot, classes in shot_classes(train_counts, many_threshold, few_threshold).items():
    measured = classes[present[classes]]
    result[f"{shot}_shot_accuracy"] = (float(recall[measured].mean()) if measured.size
                                       else float("nan"))
  return result


def protocol_thresholds(train_counts: Any) -> tuple[int, int]:
  """(many, few) thresholds for this training set: the field's (100, 20) when each group
  then holds a class, else the same thresholds moved to the protocol's range of counts.

  Moving keeps each threshold's place on the log-count axis between the smallest and the
  largest class: in CIFAR-100-LT (500 down to 5) 100 and 20 lie log 20 / log 100 = 65% and
  log 4 / log 100 = 30% of the way up, so the moved thresholds are
  n_min * (n_max / n_min) ** 0.65 and n_min * (n_max / n_min) ** 0.30, rounded to whole
  examples (n_min at least 1). With imbalance 100 that is n_max / 5 and n_max / 25, e.g.
  (1200, 240) for Fashion-MNIST-LT's 6000 .. 60; an exponential profile of three or more
  classes then fills every group. A group can still be empty (two classes, a balanced
  training set); the thresholds are returned so a report can print them.
  """
  counts = _counts(train_counts)
  if all(classes.size for classes in shot_classes(counts).values()):
    return MANY_THRESHOLD, FEW_THRESHOLD
  low, high = max(int(counts.min()), 1), max(int(counts.max()), 1)
  ref_low, ref_high = _REFERENCE_COUNTS

  def moved(threshold: int) -> int:
    position = np.log(threshold / ref_low) / np.log(ref_high / ref_low)
    return int(round(low * (high / low) ** position))

  return moved(MANY_THRESHOLD), moved(FEW_THRESHOLD)
