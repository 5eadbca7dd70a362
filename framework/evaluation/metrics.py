"""Classification metrics for imbalanced and noisy data, in NumPy.

Accuracy hides a starved minority class, so the trainer reports balanced accuracy, macro-F1,
the smallest per-class recall and the per-class breakdown; binary problems also get ROC-AUC
and average precision. `auroc` and `average_precision` are reused to score how well learned
per-sample weights separate the injected noisy labels (positives) from the clean ones.
`top_k_accuracy` is the large-label-space report (top-5 from 10 classes on). Every returned
value is a Python float / int or a list of them, so the dict goes straight into JSON or a
`MetricWriter`. Undefined ranking scores (a single class present) are NaN.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

_SCALAR_SUMMARY = (("accuracy", "accuracy"), ("balanced acc", "balanced_accuracy"),
                   ("macro-F1", "macro_f1"), ("min recall", "min_recall"))
_TOP5_AND_ECE = (("top-5 accuracy", "top5_accuracy"), ("ECE", "ece"))


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
  """num / den, 0 where den == 0 (sklearn's zero_division=0)."""
  num = np.asarray(num, np.float64)
  den = np.asarray(den, np.float64)
  return np.divide(num, den, out=np.zeros_like(num), where=den != 0)


def _check_ranking_inputs(scores: Any, positives: Any) -> tuple[np.ndarray, np.ndarray]:
  scores = np.asarray(scores, np.float64)
  positives = np.asarray(positives)
  if scores.ndim != 1 or positives.shape != scores.shape:
    raise ValueError(f"scores shape {scores.shape} and positives shape {positives.shape} "
                     "must be equal and 1-D")
  if positives.dtype != bool:
    if not np.isin(positives, (0, 1)).all():
      raise ValueError("positives must be boolean or 0/1; got values "
                       f"{np.unique(positives)[:5].tolist()}")
    positives = positives.astype(bool)
  if np.isnan(scores).any():
    raise ValueError("scores contain NaN; allowed: finite or +-inf values")
  return scores, positives


def auroc(scores: Any, positives: Any) -> float:
  """Area under the ROC curve: P(score of a positive > score of a negative), ties count 1/2.

  Computed as the Mann-Whitney U statistic from average ranks. NaN if either class is empty.
  """
  scores, positives = _check_ranking_inputs(scores, positives)
  num_pos = int(positives.sum())
  num_neg = positives.size - num_pos
  if num_pos == 0 or num_neg == 0:
    return float("nan")
  _, inverse, counts = np.unique(scores, return_inverse=True, return_counts=True)
  upper = np.cumsum(counts)                     # 1-based rank of the last member of a tie
  average_rank = upper - (counts - 1) / 2.0     # mean of the ranks the tie occupies
  rank_sum = average_rank[inverse][positives].sum()
  u_statistic = rank_sum - num_pos * (num_pos + 1) / 2.0
  return float(u_statistic / (num_pos * num_neg))


def average_precision(scores: Any, positives: Any) -> float:
  """Average precision, sum_n (R_n - R_{n-1}) P_n over distinct thresholds (sklearn's AP).

  No interpolation; tied scores enter together as one threshold. NaN if there is no positive.
  """
  scores, positives = _check_ranking_inputs(scores, positives)
  num_pos = int(positives.sum())
  if num_pos == 0:
    return float("nan")
  order = np.argsort(-scores, kind="stable")
  sorted_scores = scores[order]
  sorted_pos = positives[order]
  # The last index of each run of equal scores is one threshold.
  last_of_tie = np.r_[np.flatnonzero(np.diff(sorted_scores)), sorted_scores.size - 1]
  true_pos = np.cumsum(sorted_pos)[last_of_tie]
  predicted_pos = last_of_tie + 1
  precision = true_pos / predicted_pos
  recall = true_pos / num_pos
  recall_gain = np.diff(np.r_[0.0, recall])
  return float(np.sum(recall_gain * precision))


def _check_classification_inputs(labels: Any, logits: Any,
                                 num_classes: int) -> tuple[np.ndarray, np.ndarray]:
  if not isinstance(num_classes, (int, np.integer)) or num_classes < 2:
    raise ValueError(f"num_classes={num_classes!r} must be an int >= 2")
  labels = np.asarray(labels)
  logits = np.asarray(logits, np.float64)
  if labels.ndim != 1 or labels.size == 0:
    raise ValueError(f"labels shape {labels.shape} must be 1-D and non-empty")
  if logits.shape != (labels.size, num_classes):
    raise ValueError(f"logits shape {logits.shape} must be [num_examples, num_classes] = "
                     f"{[labels.size, int(num_classes)]}")
  if not np.issubdtype(labels.dtype, np.integer):
    raise ValueError(f"labels dtype {labels.dtype} must be an integer type")
  if labels.min() < 0 or labels.max() >= num_classes:
    raise ValueError(f"labels range [{labels.min()}, {labels.max()}] must lie in "
                     f"[0, {num_classes - 1}]")
  return labels.astype(np.int64), logits


def _binary_scores(logits: np.ndarray, positive: int) -> np.ndarray:
  """Ranking score of the positive class p: the margin z_p - z_(1-p).

  The softmax probability of class p is sigmoid(z_p - z_(1-p)), a strictly increasing
  function of the margin, so ROC-AUC and average precision are identical; the margin keeps
  confident examples apart where the probability would round to 1.0 and create spurious ties.
  """
  return logits[:, positive] - logits[:, 1 - positive]


def classification_metrics(labels: Any, logits: Any, num_classes: int,
                           positive_class: int | None = None) -> dict[str, Any]:
  """Scalar and per-class metrics of argmax predictions; JSON-serialisable.

  Args:
    labels: int [N] true class ids in [0, num_classes).
    logits: float [N, num_classes] model outputs. For C == 2 the ranking metrics score
      examples by the softmax probability of class 1 (computed via the logit margin).
    num_classes: C >= 2.
    positive_class: for C == 2, the class the ranking metrics and `positive_f1` are about
      (0 or 1; None: class 1).

  Returns:
    A dict with `accuracy`; `balanced_accuracy` and `min_recall` (mean / min recall over the
    classes present in `labels`); `macro_f1` (mean F1 over the classes present in labels or
    predictions, as sklearn's default); `per_class_recall`, `per_class_precision`,
    `per_class_f1` (lists [C], 0 where undefined); `confusion_matrix` [C][C] (rows = true,
    columns = predicted); `support` [C]. For C == 2 also `positive_class`, `roc_auc`,
    `pr_auc` (average precision of the positive class), `positive_f1` (its F1) and
    `minority_f1` (F1 of the least frequent class present in labels; class 1 on a tie).
  """
  labels, logits = _check_classification_inputs(labels, logits, num_classes)
  c = int(num_classes)
  positive = 1 if positive_class is None else positive_class
  if c == 2 and positive not in (0, 1):
    raise ValueError(f"positive_class={positive_class!r} must be 0 or 1 for 2 classes")
  preds = np.argmax(logits, axis=1)
  confusion = np.bincount(labels * c + preds, minlength=c * c).reshape(c, c)
  support = confusion.sum(axis=1)
  predicted = confusion.sum(axis=0)
  true_pos = np.diag(confusion)
  recall = _safe_div(true_pos, support)
  precision = _safe_div(true_pos, predicted)
  f1 = _safe_div(2 * true_pos, support + predicted)  # == 2PR / (P + R), 0 where undefined
  present = support > 0
  seen = present | (predicted > 0)
  result: dict[str, Any] = {
      "accuracy": float(true_pos.sum() / labels.size),
      "balanced_accuracy": float(recall[present].mean()),
      "macro_f1": float(f1[seen].mean()),
      "min_recall": float(recall[present].min()),
      "per_class_recall": recall.tolist(),
      "per_class_precision": precision.tolist(),
      "per_class_f1": f1.tolist(),
      "confusion_matrix": confusion.tolist(),
      "support": support.tolist(),
  }
  if c == 2:
    scores = _binary_scores(logits, int(positive))
    finite = not np.isnan(scores).any()  # NaN logits (a diverged model) -> NaN, not a crash
    result["positive_class"] = int(positive)
    result["roc_auc"] = auroc(scores, labels == positive) if finite else float("nan")
    result["pr_auc"] = average_precision(scores, labels == positive) if finite else float("nan")
    result["positive_f1"] = float(f1[positive])
    counts = np.where(present, support, np.iinfo(np.int64).max)
    minority = 1 if counts[1] <= counts[0] else 0
    result["minority_f1"] = float(f1[minority])
  return result


def top_k_accuracy(labels: Any, scores: Any, k: int = 5) -> float:
  """Fraction of examples whose true class is among the k highest of its row of `scores`.

  scores: float [N, C] logits or probabilities (the same ranking). As keras'
  SparseTopKCategoricalAccuracy (tf.math.in_top_k): classes tied with the true one at the
  k-th place all count as within the top k, and a row with a non-finite score is a miss.
  """
  scores = np.asarray(scores, np.float64)
  if scores.ndim != 2:
    raise ValueError(f"scores shape {scores.shape} must be [num_examples, num_classes]")
  labels, scores = _check_classification_inputs(labels, scores, scores.shape[1])
  if not isinstance(k, (int, np.integer)) or not 1 <= k <= scores.shape[1]:
    raise ValueError(f"k={k!r} must be an int in [1, {scores.shape[1]}]")
  true_score = scores[np.arange(labels.size), labels]
  higher = (scores > true_score[:, None]).sum(axis=1)
  hit = (higher < k) & np.isfinite(scores).all(axis=1)
  return float(hit.mean())


def format_per_class_table(metrics: dict[str, Any], class_names: Sequence[str],
                           train_counts: Sequence[int] | None = None) -> str:
  """Plain-text per-class table (class, [training count,] test support, recall, precision,
  F1) plus a summary line, and lines for whichever of the binary, many / medium / few-shot,
  top-5 and ECE metrics the dict holds.

  `metrics` is the dict of `classification_metrics` or of the Evaluator; meant for the
  console and logs.
  """
  recall = metrics["per_class_recall"]
  if len(class_names) != len(recall):
    raise ValueError(f"class_names has {len(class_names)} entries; the metrics have "
                     f"{len(recall)} classes")
  names = [str(name) for name in class_names]
  width = max(5, *(len(name) for name in names))
  trained = "" if train_counts is None else f"  {'train n':>7}"
  header = (f"{'class':<{width}}{trained}  {'test n':>7}  {'recall':>6}  {'precision':>9}  "
            f"{'F1':>6}")
  lines = [header, "-" * len(header)]
  for i, name in enumerate(names):
    count = "" if train_counts is None else f"  {int(train_counts[i]):>7d}"
    lines.append(f"{name:<{width}}{count}  {metrics['support'][i]:>7d}  {recall[i]:>6.3f}  "
                 f"{metrics['per_class_precision'][i]:>9.3f}  "
                 f"{metrics['per_class_f1'][i]:>6.3f}")
  lines.append("-" * len(header))
  lines.append("  ".join(f"{label} {metrics[key]:.4f}" for label, key in _SCALAR_SUMMARY))
  if "pr_auc" in metrics:
    positive = metrics.get("positive_class", 1)
    f1 = metrics.get("positive_f1", metrics["per_class_f1"][positive])
    lines.append(f"positive class {names[positive]!r}: PR-AUC {metrics['pr_auc']:.4f}  "
                 f"ROC-AUC {metrics['roc_auc']:.4f}  F1 {f1:.4f}")
  if "shot_thresholds" in metrics:
    many, few = metrics["shot_thresholds"]
    lines.append(f"many-shot (> {many:g} training examples) "
                 f"{metrics['many_shot_accuracy']:.4f}  medium-shot "
                 f"{metrics['medium_shot_accuracy']:.4f}  few-shot (< {few:g}) "
                 f"{metrics['few_shot_accuracy']:.4f}")
  reported = [f"{label} {metrics[key]:.4f}" for label, key in _TOP5_AND_ECE if key in metrics]
  if reported:
    lines.append("  ".join(reported))
  return "\n".join(lines)
