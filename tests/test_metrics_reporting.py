"""The field's reporting conventions: many / medium / few-shot accuracy, top-5, ECE with its
reliability bins and diagram, best and last accuracy over a run's evaluations, and their
place in the evaluator's metrics. Expected values are worked out by hand or re-derived
independently; nothing here trains."""

from __future__ import annotations

import json
import math
import re
import types

import keras
import numpy as np
import pytest

from framework.config import base_config, fields
from framework.data import Split
from framework.data.augment import InputTransform
from framework.errors import ConfigError
from framework.evaluation.calibration import (Reliability, calibration_metrics,
                                              expected_calibration_error, reliability)
from framework.evaluation.evaluator import Evaluator, run_evaluator
from framework.evaluation.history import best_and_last
from framework.evaluation.metrics import (classification_metrics, format_per_class_table,
                                          top_k_accuracy)
from framework.evaluation.shots import protocol_thresholds, shot_accuracies, shot_classes
from framework.runs import files
from framework.runs.rundir import RunDir
from framework.summaries.figures import reliability_figure

FASHION_MNIST_LT = [6000, 3596, 2156, 1292, 774, 464, 278, 166, 100, 60]


# ---- many / medium / few-shot ----

def test_shot_groups_follow_the_strict_boundaries():
  # 101 > 100: many; exactly 100 and exactly 20: medium; 19 < 20: few.
  groups = shot_classes([500, 101, 100, 50, 20, 19, 0])
  assert groups["many"].tolist() == [0, 1]
  assert groups["medium"].tolist() == [2, 3, 4]
  assert groups["few"].tolist() == [5, 6]
  custom = shot_classes([30, 10, 9, 3], many_threshold=10, few_threshold=4)
  assert [custom[s].tolist() for s in ("many", "medium", "few")] == [[0], [1, 2], [3]]


def test_shot_accuracy_is_the_mean_recall_of_the_group_classes():
  recall = [1.0, 0.5, 0.75, 0.25, 0.5, 0.2, 0.9]
  support = [10, 10, 10, 10, 10, 10, 0]          # class 6 is not in the test split
  counts = [500, 101, 100, 50, 20, 19, 5]
  acc = shot_accuracies(recall, support, counts)
  assert acc["many_shot_accuracy"] == pytest.approx((1.0 + 0.5) / 2)
  assert acc["medium_shot_accuracy"] == pytest.approx((0.75 + 0.25 + 0.5) / 3)
  assert acc["few_shot_accuracy"] == pytest.approx(0.2)   # class 6 left out, not 0.9


def test_shot_accuracy_averages_per_class_not_per_example():
  # Many-shot classes 0 (8 test examples, all right) and 1 (2, both wrong): the per-class
  # mean is (1 + 0) / 2 = 0.5, where pooling the examples would give 8 / 10.
  labels = np.array([0] * 8 + [1] * 2 + [2] * 4)
  predictions = np.array([0] * 8 + [0] * 2 + [2, 2, 2, 0])
  m = classification_metrics(labels, np.eye(3)[predictions], 3)
  acc = shot_accuracies(m["per_class_recall"], m["support"], [300, 200, 10])
  assert acc["many_shot_accuracy"] == 0.5
  assert math.isnan(acc["medium_shot_accuracy"])
  assert acc["few_shot_accuracy"] == 0.75


def test_a_group_without_a_class_is_nan_not_zero():
  acc = shot_accuracies([0.0, 0.5, 1.0], [5, 5, 5], [500, 300, 200])
  assert acc["many_shot_accuracy"] == 0.5
  assert math.isnan(acc["medium_shot_accuracy"]) and math.isnan(acc["few_shot_accuracy"])
  absent = shot_accuracies([0.0, 0.5, 1.0], [5, 5, 0], [500, 50, 5])  # few class untested
  assert math.isnan(absent["few_shot_accuracy"])


@pytest.mark.parametrize("call, fragment", [
    (lambda: shot_classes([10, 5], many_threshold=5, few_threshold=10), "few <= many"),
    (lambda: shot_classes([10, -1]), "counts >= 0"),
    (lambda: shot_accuracies([1.0, 0.5], [1, 1], [10, 5, 1]), "must be equal"),
])
def test_shot_functions_reject_bad_input(call, fragment):
  with pytest.raises(ValueError, match=fragment):
    call()


def test_protocol_thresholds_keep_the_field_s_when_every_group_has_a_class():
  # ImageNet-LT's range (1280 .. 5): moved thresholds would differ, but none is needed.
  assert protocol_thresholds([1280, 400, 100, 60, 19, 5]) == (100, 20)


def test_protocol_thresholds_on_fashion_mnist_lt():
  # Imbalance 100, like CIFAR-100-LT (500 .. 5): the thresholds scale with the largest
  # class, 6000 / 500 * (100, 20) = (1200, 240).
  assert shot_classes(FASHION_MNIST_LT)["few"].size == 0      # the field's leave few empty
  many, few = protocol_thresholds(FASHION_MNIST_LT)
  assert (many, few) == (1200, 240)
  groups = shot_classes(FASHION_MNIST_LT, many, few)
  assert groups["many"].tolist() == [0, 1, 2, 3]     # 6000, 3596, 2156, 1292
  assert groups["medium"].tolist() == [4, 5, 6]      # 774, 464, 278
  assert groups["few"].tolist() == [7, 8, 9]         # 166, 100, 60


def test_protocol_thresholds_at_another_imbalance():
  # 5000 .. 500 (imbalance 10): 100 and 20 sit at log 20 / log 100 and log 4 / log 100 of
  # the reference log range, so many = 500 * 10 ** (log10(20) / 2) = 500 * sqrt(20) = 2236
  # and few = 500 * 10 ** log10(2) = 1000.
  counts = np.round(5000 * 10.0 ** (-np.arange(10) / 9)).astype(int)
  assert protocol_thresholds(counts) == (2236, 1000)
  assert all(g.size for g in shot_classes(counts, 2236, 1000).values())


def test_protocol_thresholds_cannot_split_a_balanced_set():
  many, few = protocol_thresholds([700] * 5)
  groups = shot_classes([700] * 5, many, few)
  assert groups["many"].size == 0 and groups["few"].size == 0


# ---- top-k ----

def test_top_k_by_hand():
  scores = np.array([[0.1, 0.5, 0.3, 0.1],     # label 2: second highest
                     [0.1, 0.5, 0.3, 0.1],     # label 0: two classes above it
                     [0.4, 0.4, 0.4, 0.1],     # label 2: tied for first, counts as top-1
                     [0.2, 0.1, 0.3, np.nan]])  # a non-finite score: a miss
  labels = np.array([2, 0, 2, 2])
  assert top_k_accuracy(labels, scores, k=1) == 1 / 4
  assert top_k_accuracy(labels, scores, k=2) == 2 / 4
  assert top_k_accuracy(labels, scores, k=3) == 3 / 4
  assert top_k_accuracy(labels, scores, k=4) == 3 / 4


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_top5_agrees_with_keras(seed):
  rng = np.random.default_rng(seed)
  n, c = 300, 12
  labels = rng.integers(0, c, size=n)
  logits = np.round(rng.normal(size=(n, c)) * 2) / 2   # coarse: many ties at the 5th place
  logits[np.arange(n), labels] += rng.uniform(0, 1, size=n)
  probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
  for scores in (logits, probabilities):
    metric = keras.metrics.SparseTopKCategoricalAccuracy(k=5)
    metric.update_state(labels, scores.astype(np.float32))
    assert top_k_accuracy(labels, scores.astype(np.float32), 5) == pytest.approx(
        float(metric.result()), abs=1e-6)


def test_top_k_rejects_bad_k():
  with pytest.raises(ValueError, match="k=5 must be an int in"):
    top_k_accuracy([0, 1], np.zeros((2, 3)), 5)


# ---- calibration ----

def test_ece_by_hand():
  # Confidences 0.75 (right), 0.75 (wrong), 0.9 (right), 0.5 (wrong), in bins of width
  # 1/15: 0.75 in (11/15, 12/15], 0.9 in (13/15, 14/15], 0.5 in (7/15, 8/15].
  # ECE = |0.5 - 0.75| * 2/4 + |1 - 0.9| * 1/4 + |0 - 0.5| * 1/4 = 0.275.
  logits = np.array([[math.log(3), 0.0], [0.0, math.log(3)], [math.log(9), 0.0], [0.0, 0.0]])
  labels = np.array([0, 0, 0, 1])
  assert expected_calibration_error(labels, logits) == pytest.approx(0.275, abs=1e-12)
  bins = reliability(labels, logits)
  assert np.flatnonzero(bins.count).tolist() == [7, 11, 13]
  assert bins.count[[7, 11, 13]].tolist() == [1, 2, 1]
  np.testing.assert_allclose(bins.accuracy[[7, 11, 13]], [0.0, 0.5, 1.0])
  np.testing.assert_allclose(bins.confidence[[7, 11, 13]], [0.5, 0.75, 0.9])
  assert np.isnan(bins.accuracy[0]) and np.isnan(bins.confidence[0])   # empty bin
  np.testing.assert_allclose(bins.edges, np.arange(16) / 15)


def _ece_reference(labels, logits, num_bins=15):
  """ECE and bins by a plain loop: softmax in float64, bin b holds (b/B, (b+1)/B]."""
  z = np.asarray(logits, np.float64)
  total, counts = 0.0, np.zeros(num_bins)
  hits, confidences = np.zeros(num_bins), np.zeros(num_bins)
  for row, label in zip(z, labels):
    p = np.exp(row) / np.sum(np.exp(row))
    confidence = p.max()
    b = next(b for b in range(num_bins) if confidence <= (b + 1) / num_bins)
    counts[b] += 1
    hits[b] += float(np.argmax(p) == label)
    confidences[b] += confidence
  for b in range(num_bins):
    if counts[b]:
      total += abs(hits[b] / counts[b] - confidences[b] / counts[b]) * counts[b]
  return total / len(labels), counts, hits, confidences


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_ece_against_an_independent_derivation(seed):
  rng = np.random.default_rng(seed)
  n, c = 500, int(rng.integers(2, 12))
  labels = rng.integers(0, c, size=n)
  logits = (rng.normal(size=(n, c)) * rng.uniform(0.5, 4)).astype(np.float32)
  logits[np.arange(n), labels] += rng.uniform(0, 2, size=n).astype(np.float32)
  ece, counts, hits, confidences = _ece_reference(labels, logits)
  bins = reliability(labels, logits)
  assert bins.ece == pytest.approx(ece, rel=1e-12, abs=1e-15)
  np.testing.assert_array_equal(bins.count, counts)
  filled = counts > 0
  np.testing.assert_allclose(bins.accuracy[filled], hits[filled] / counts[filled], rtol=1e-12)
  np.testing.assert_allclose(bins.confidence[filled], confidences[filled] / counts[filled],
                             rtol=1e-12)


def test_calibration_extremes():
  saturated = np.array([[100.0, 0.0], [0.0, 100.0]])       # confidence 1.0: the last bin
  bins = reliability([0, 0], saturated)
  assert bins.count[14] == 2 and bins.accuracy[14] == 0.5
  assert bins.ece == pytest.approx(0.5)
  # Equal logits over 3 (5) classes: confidence exactly 1/3 = 5/15 (0.2 = 3/15), an upper
  # edge, so bin 4 = (4/15, 5/15] (bin 2).
  assert np.flatnonzero(reliability([0], [[0.0, 0.0, 0.0]]).count).tolist() == [4]
  assert np.flatnonzero(reliability([0], [[1.0] * 5]).count).tolist() == [2]
  assert math.isnan(expected_calibration_error([0, 1], [[np.nan, 0.0], [0.0, 1.0]]))
  with pytest.raises(ValueError, match="num_bins"):
    reliability([0], [[0.0, 1.0]], num_bins=0)
  with pytest.raises(ValueError, match="logits shape"):
    reliability([0, 1], [[0.0, 1.0]])


def test_calibration_metrics_round_trip_through_json():
  logits = np.array([[math.log(3), 0.0], [0.0, math.log(3)], [math.log(9), 0.0], [0.0, 0.0]])
  stored = calibration_metrics([0, 0, 0, 1], logits)
  metrics = json.loads(json.dumps(stored, allow_nan=False))   # empty bins are null
  assert metrics["ece"] == pytest.approx(0.275)
  assert metrics["reliability_accuracy"][0] is None and metrics["reliability_count"][0] == 0
  bins = Reliability.from_metrics(metrics)
  assert bins.ece == pytest.approx(0.275) and bins.count.sum() == 4
  assert np.isnan(bins.accuracy[0]) and bins.confidence[11] == pytest.approx(0.75)


def test_reliability_figure_draws_bars_and_gaps():
  blue, red = np.array([59, 82, 139]), np.array([236, 112, 99])

  def pixels(image, colour):
    return int(np.all(image == colour, axis=-1).sum())

  def figure(accuracy, confidence):
    count = np.zeros(15, int)
    count[[4, 12]] = 10
    acc, conf = np.full(15, np.nan), np.full(15, np.nan)
    acc[[4, 12]], conf[[4, 12]] = accuracy, confidence
    return reliability_figure(Reliability(acc, conf, count))

  calibrated = figure([0.3, 0.8], [0.3, 0.8])
  assert calibrated.dtype == np.uint8 and calibrated.ndim == 3 and calibrated.shape[2] == 3
  assert pixels(calibrated, red) == 0 and pixels(calibrated, blue) > 0
  overconfident = figure([0.3, 0.4], [0.3, 0.8])
  assert pixels(overconfident, red) > 0
  # Underconfident: the gap lies over the accuracy bar, which still shows beside it.
  underconfident = figure([0.3, 0.8], [0.3, 0.3])
  is_red = np.all(underconfident == red, axis=-1).any(axis=1)
  is_blue = np.all(underconfident == blue, axis=-1).any(axis=1)
  assert is_red.sum() > 50 and not (is_red & ~is_blue).any()
  # Bar area grows with accuracy: halving both accuracies about halves the blue.
  halved = figure([0.15, 0.4], [0.15, 0.4])
  assert pixels(halved, blue) == pytest.approx(pixels(calibrated, blue) / 2, rel=0.05)
  empty = reliability_figure(Reliability(np.full(15, np.nan), np.full(15, np.nan),
                                         np.zeros(15, int)))
  assert pixels(empty, blue) == 0


# ---- best and last ----

def test_best_and_last_by_hand():
  # Out of order: by step 100: 0.5, 200: 0.8, 300: 0.8, 400: 0.6. The tie goes to the
  # earlier step, the last is the largest step's.
  history = [{"step": 400, "accuracy": 0.6}, {"step": 300, "accuracy": 0.8},
             {"step": 100, "accuracy": 0.5}, {"step": 200, "accuracy": 0.8}]
  assert best_and_last(history) == {"best_accuracy": 0.8, "best_step": 200,
                                    "last_accuracy": 0.6, "last_step": 400}
  history = [{"step": 1, "balanced_accuracy": float("nan")},
             {"step": 2, "balanced_accuracy": 0.4}, {"step": 3, "balanced_accuracy": 0.3}]
  assert best_and_last(history, "balanced_accuracy") == {
      "best_balanced_accuracy": 0.4, "best_step": 2, "last_balanced_accuracy": 0.3,
      "last_step": 3}
  with pytest.raises(ValueError, match="no evaluation"):
    best_and_last([])
  with pytest.raises(ValueError, match="'top5_accuracy'"):
    best_and_last(history, "top5_accuracy")


def test_best_and_last_over_a_run_history(tmp_path):
  rundir = RunDir(str(tmp_path))
  for step, accuracy in [(10, 0.6), (20, 0.9), (30, 0.7), (20, 0.65)]:  # 20 again: resumed
    rundir.append_record(files.HISTORY, {"step": step, "epoch": step / 10,
                                         "accuracy": accuracy})
  result = best_and_last(rundir.read_history())
  assert result == {"best_accuracy": 0.7, "best_step": 30, "last_accuracy": 0.7,
                    "last_step": 30}


# ---- the evaluator's metrics ----

def _identity_evaluator(logits, counts, **kwargs):
  c = logits.shape[1]
  model = keras.Sequential([keras.Input((c,)), keras.layers.Identity()])
  return Evaluator(model, 64, np.array(counts), transform=InputTransform((c,)), **kwargs)


def _long_tail_case(seed=0, n=400):
  rng = np.random.default_rng(seed)
  labels = np.arange(n) % 10
  logits = rng.normal(size=(n, 10)).astype(np.float32)
  logits[np.arange(n), labels] += rng.uniform(0, 2.5, size=n).astype(np.float32)
  return labels, logits


def test_evaluator_adds_the_reports_and_keeps_the_existing_values():
  labels, logits = _long_tail_case()
  evaluator = _identity_evaluator(logits, FASHION_MNIST_LT, posthoc_tau=1.0)
  metrics = evaluator.evaluate(Split(logits, labels))
  plain = classification_metrics(labels, logits, 10)
  for key, value in plain.items():
    assert metrics[key] == value, key
  assert metrics["top5_accuracy"] == top_k_accuracy(labels, logits, 5)
  assert metrics["ece"] == expected_calibration_error(labels, logits)
  assert metrics["shot_thresholds"] == [1200, 240]
  recall = plain["per_class_recall"]
  assert metrics["many_shot_accuracy"] == pytest.approx(np.mean(recall[:4]))
  assert metrics["medium_shot_accuracy"] == pytest.approx(np.mean(recall[4:7]))
  assert metrics["few_shot_accuracy"] == pytest.approx(np.mean(recall[7:]))
  assert len(metrics["reliability_count"]) == 15
  for key in ("top5_accuracy", "ece", "many_shot_accuracy", "reliability_count"):
    assert f"posthoc/{key}" in metrics
  assert "posthoc/shot_thresholds" not in metrics
  json.dumps(metrics, allow_nan=False)
  table = format_per_class_table(metrics, [str(c) for c in range(10)], FASHION_MNIST_LT)
  assert (f"many-shot (> 1200 training examples) {metrics['many_shot_accuracy']:.4f}"
          in table)
  assert "few-shot (< 240)" in table
  assert f"top-5 accuracy {metrics['top5_accuracy']:.4f}  ECE {metrics['ece']:.4f}" in table


def test_evaluator_with_explicit_thresholds():
  labels, logits = _long_tail_case(1)
  evaluator = _identity_evaluator(logits, FASHION_MNIST_LT, shot_thresholds=(1000, 500))
  metrics = evaluator.evaluate(Split(logits, labels))
  recall = metrics["per_class_recall"]
  assert metrics["shot_thresholds"] == [1000, 500]
  assert metrics["medium_shot_accuracy"] == pytest.approx(np.mean(recall[4:5]))  # 774
  assert metrics["few_shot_accuracy"] == pytest.approx(np.mean(recall[5:]))


def test_the_shot_thresholds_field_reaches_a_run_s_evaluator():
  labels, logits = _long_tail_case(1)
  model = keras.Sequential([keras.Input((10,)), keras.layers.Identity()])
  data = types.SimpleNamespace(class_counts=np.array(FASHION_MNIST_LT), val=None,
                               transform=InputTransform((10,)))
  config = base_config()
  eval_config = config.eval
  assert eval_config.shot_thresholds == ()  # automatic: moved to the counts' range
  assert run_evaluator(model, config, data).shot_thresholds == (1200, 240)
  eval_config.shot_thresholds = (1000, 500)
  fields.check_fields(eval_config, "eval")
  metrics = run_evaluator(model, config, data).evaluate(Split(logits, labels))
  assert metrics["shot_thresholds"] == [1000, 500]
  assert metrics["medium_shot_accuracy"] == pytest.approx(metrics["per_class_recall"][4])
  for bad in [(20, 100), (100,), (100, -1), (100, 20, 5)]:
    eval_config.shot_thresholds = bad
    with pytest.raises(ConfigError, match=rf"^eval.shot_thresholds={re.escape(repr(bad))} "
                       r"must be \(\) \(automatic\) or a pair \(many, few\)"):
      fields.check_fields(eval_config, "eval")


def test_evaluator_leaves_out_what_does_not_apply():
  # 4 balanced classes: no top-5 (fewer than 10 classes) and no shot groups to report.
  rng = np.random.default_rng(2)
  labels = np.arange(40) % 4
  logits = rng.normal(size=(40, 4)).astype(np.float32)
  metrics = _identity_evaluator(logits, [100] * 4).evaluate(Split(logits, labels))
  assert "ece" in metrics and "top5_accuracy" not in metrics
  assert not any("shot" in key for key in metrics)
  table = format_per_class_table(metrics, list("abcd"))
  assert "many-shot" not in table and table.splitlines()[-1].startswith("ECE ")
