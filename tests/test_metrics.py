"""framework.evaluation.metrics against scikit-learn (an independent reference) and hand-made cases."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from sklearn import metrics as skm

from framework.evaluation.metrics import auroc
from framework.evaluation.metrics import average_precision
from framework.evaluation.metrics import classification_metrics
from framework.evaluation.metrics import format_per_class_table


def _softmax(logits):
  z = logits - logits.max(axis=1, keepdims=True)
  e = np.exp(z)
  return e / e.sum(axis=1, keepdims=True)


def _random_case(seed, num_classes, n=200, present=None):
  """Labels from `present` classes (default all) and coarsely quantised logits (ties)."""
  rng = np.random.default_rng(seed)
  present = np.arange(num_classes) if present is None else np.asarray(present)
  probs = rng.dirichlet(np.ones(present.size))
  labels = rng.choice(present, size=n, p=probs).astype(np.int32)
  labels[:present.size] = present                                # each occurs at least once
  logits = rng.normal(size=(n, num_classes))
  logits[np.arange(n), labels] += rng.uniform(0, 1.5, size=n)   # better than chance
  logits = np.round(logits * 2) / 2                              # many equal values
  return labels, logits.astype(np.float32)


def _check_against_sklearn(labels, logits, num_classes):
  m = classification_metrics(labels, logits, num_classes)
  preds = np.argmax(logits, axis=1)
  every = list(range(num_classes))
  with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    expected_bacc = skm.balanced_accuracy_score(labels, preds)
    expected_macro_f1 = skm.f1_score(labels, preds, average="macro")
    recall = skm.recall_score(labels, preds, labels=every, average=None, zero_division=0)
  np.testing.assert_allclose(m["accuracy"], skm.accuracy_score(labels, preds), rtol=1e-12)
  np.testing.assert_allclose(m["balanced_accuracy"], expected_bacc, rtol=1e-12)
  np.testing.assert_allclose(m["macro_f1"], expected_macro_f1, rtol=1e-12)
  np.testing.assert_allclose(m["per_class_recall"], recall, rtol=1e-12)
  np.testing.assert_allclose(
      m["per_class_precision"],
      skm.precision_score(labels, preds, labels=every, average=None, zero_division=0),
      rtol=1e-12)
  np.testing.assert_allclose(
      m["per_class_f1"],
      skm.f1_score(labels, preds, labels=every, average=None, zero_division=0), rtol=1e-12)
  np.testing.assert_array_equal(m["confusion_matrix"],
                                skm.confusion_matrix(labels, preds, labels=every))
  np.testing.assert_array_equal(m["support"], np.bincount(labels, minlength=num_classes))
  present = np.bincount(labels, minlength=num_classes) > 0
  np.testing.assert_allclose(m["min_recall"], recall[present].min(), rtol=1e-12)
  return m


@pytest.mark.parametrize("num_classes", [3, 7, 10])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_multiclass_matches_sklearn(num_classes, seed):
  labels, logits = _random_case(seed, num_classes)
  m = _check_against_sklearn(labels, logits, num_classes)
  assert "roc_auc" not in m and "minority_f1" not in m


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_absent_classes_match_sklearn(seed):
  # Classes 1 and 4 never occur as labels; they can still be predicted (false positives).
  labels, logits = _random_case(seed, 6, n=120, present=[0, 2, 3, 5])
  logits[:, 4] -= 100.0   # class 4 neither true nor predicted: excluded from macro-F1
  m = _check_against_sklearn(labels, logits, 6)
  assert m["support"][1] == 0 and m["per_class_recall"][1] == 0.0
  # balanced accuracy averages over the 4 classes present, not over all 6.
  np.testing.assert_allclose(m["balanced_accuracy"],
                             np.mean([m["per_class_recall"][c] for c in (0, 2, 3, 5)]))


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_binary_matches_sklearn(seed):
  labels, logits = _random_case(seed, 2, n=150)
  m = _check_against_sklearn(labels, logits, 2)
  score = _softmax(logits.astype(np.float64))[:, 1]
  assert np.unique(score).size < score.size   # the case really has ties
  np.testing.assert_allclose(m["roc_auc"], skm.roc_auc_score(labels, score), rtol=1e-12)
  np.testing.assert_allclose(m["pr_auc"], skm.average_precision_score(labels, score),
                             rtol=1e-12)
  counts = np.bincount(labels, minlength=2)
  minority = int(np.argmin(counts)) if counts[0] != counts[1] else 1
  preds = np.argmax(logits, axis=1)
  np.testing.assert_allclose(m["minority_f1"],
                             skm.f1_score(labels, preds, pos_label=minority), rtol=1e-12)


def test_binary_minority_is_class_zero_when_rarer():
  labels = np.array([0, 1, 1, 1, 1])
  logits = np.array([[1., 0.], [1., 0.], [0., 1.], [0., 1.], [0., 1.]])
  m = classification_metrics(labels, logits, 2)
  # class 0: tp 1, fp 1, fn 0 -> F1 2/3; class 1: tp 3, fp 0, fn 1 -> F1 6/7.
  np.testing.assert_allclose(m["minority_f1"], 2 / 3)
  np.testing.assert_allclose(m["per_class_f1"], [2 / 3, 6 / 7])


def test_binary_scores_do_not_saturate():
  # softmax(class 1) rounds to 1.0 for both; the ranking must still separate them.
  labels = np.array([0, 1])
  logits = np.array([[0.0, 40.0], [0.0, 45.0]])
  assert classification_metrics(labels, logits, 2)["roc_auc"] == 1.0


def test_binary_nan_logits_give_nan_ranking_metrics():
  labels = np.array([0, 1, 1])
  logits = np.array([[np.nan, 0.0], [0.0, 1.0], [0.0, 2.0]])
  m = classification_metrics(labels, logits, 2)
  assert np.isnan(m["roc_auc"]) and np.isnan(m["pr_auc"])


def test_values_are_json_serialisable_python_types():
  labels, logits = _random_case(5, 2, n=40)
  m = classification_metrics(labels, logits, 2)
  json.loads(json.dumps(m))
  for key in ("accuracy", "balanced_accuracy", "macro_f1", "min_recall", "roc_auc",
              "pr_auc", "minority_f1"):
    assert type(m[key]) is float, key
  assert all(type(v) is float for v in m["per_class_recall"])
  assert all(type(v) is int for row in m["confusion_matrix"] for v in row)
  assert all(type(v) is int for v in m["support"])


@pytest.mark.parametrize("seed", range(8))
def test_ranking_scores_match_sklearn_with_ties(seed):
  rng = np.random.default_rng(seed)
  n = int(rng.integers(5, 300))
  scores = rng.integers(0, int(rng.integers(2, 12)), size=n).astype(np.float64)
  positives = rng.random(n) < rng.uniform(0.05, 0.6)
  positives[:2] = [True, False]
  np.testing.assert_allclose(auroc(scores, positives), skm.roc_auc_score(positives, scores),
                             rtol=1e-12)
  np.testing.assert_allclose(average_precision(scores, positives.astype(int)),
                             skm.average_precision_score(positives, scores), rtol=1e-12)
  # Mann-Whitney by brute force over all (positive, negative) pairs.
  diff = scores[positives][:, None] - scores[~positives][None, :]
  np.testing.assert_allclose(auroc(scores, positives),
                             np.mean((diff > 0) + 0.5 * (diff == 0)), rtol=1e-12)


def test_ranking_scores_known_values():
  scores = np.array([0.1, 0.4, 0.35, 0.8])
  positives = np.array([0, 0, 1, 1])
  assert auroc(scores, positives) == pytest.approx(0.75)
  assert average_precision(scores, positives) == pytest.approx(5 / 6)
  assert auroc(np.ones(4), positives) == 0.5               # all tied: chance
  assert average_precision(np.ones(4), positives) == 0.5   # all tied: the prevalence
  assert np.isnan(auroc(scores, np.zeros(4, bool)))
  assert np.isnan(average_precision(scores, np.zeros(4, bool)))
  assert np.isnan(auroc(scores, np.ones(4, bool)))


@pytest.mark.parametrize("scores, positives", [
    (np.zeros(3), np.zeros(4, bool)),
    (np.zeros((2, 2)), np.zeros((2, 2), bool)),
    (np.zeros(3), np.array([0, 1, 2])),
    (np.array([0.0, np.nan]), np.array([0, 1])),
])
def test_ranking_scores_reject_bad_input(scores, positives):
  with pytest.raises(ValueError):
    auroc(scores, positives)
  with pytest.raises(ValueError):
    average_precision(scores, positives)


@pytest.mark.parametrize("labels, logits, num_classes, fragment", [
    (np.array([0, 1]), np.zeros((2, 3)), 2, "logits shape"),
    (np.array([0, 3]), np.zeros((2, 3)), 3, "labels range"),
    (np.array([0, -1]), np.zeros((2, 3)), 3, "labels range"),
    (np.array([0.0, 1.0]), np.zeros((2, 2)), 2, "labels dtype"),
    (np.array([], np.int32), np.zeros((0, 2)), 2, "non-empty"),
    (np.array([0, 0]), np.zeros((2, 1)), 1, "num_classes"),
])
def test_classification_metrics_rejects_bad_input(labels, logits, num_classes, fragment):
  with pytest.raises(ValueError, match=fragment):
    classification_metrics(labels, logits, num_classes)


def test_format_per_class_table():
  labels = np.array([0, 0, 0, 1, 2, 2])
  logits = np.eye(3)[[0, 0, 1, 1, 2, 0]]
  m = classification_metrics(labels, logits, 3)
  table = format_per_class_table(m, ["t-shirt", "trouser", "bag"], [50, 20, 5])
  lines = table.splitlines()
  assert lines[0].split() == ["class", "train", "n", "test", "n", "recall", "precision", "F1"]
  rows = {line.split()[0]: line.split()[1:] for line in lines[2:5]}
  # t-shirt: support 3, recall 2/3, precision 2/3; bag: support 2, recall 1/2, precision 1.
  assert rows["t-shirt"] == ["50", "3", "0.667", "0.667", "0.667"]
  assert rows["trouser"] == ["20", "1", "1.000", "0.500", "0.667"]
  assert rows["bag"] == ["5", "2", "0.500", "1.000", "0.667"]
  without_counts = format_per_class_table(m, ["t-shirt", "trouser", "bag"]).splitlines()
  assert without_counts[0].split() == ["class", "test", "n", "recall", "precision", "F1"]
  summary = lines[-1]
  assert f"accuracy {4 / 6:.4f}" in summary
  assert f"balanced acc {(2 / 3 + 1 + 0.5) / 3:.4f}" in summary
  assert "macro-F1 0.6667" in summary and "min recall 0.5000" in summary
  with pytest.raises(ValueError, match="class_names"):
    format_per_class_table(m, ["a", "b"])
