"""A loss that scales the model's outputs before its softmax (LDAM's s on a cosine head):
evaluation and the export apply the scale, so probabilities are those the loss trained."""

import keras
import ml_collections
import numpy as np
import pytest

from framework import train
from framework.data import Split
from framework.data.augment import InputTransform
from framework.evaluation.evaluator import Evaluator
from framework.losses import LDAMLoss, SparseCrossEntropyLoss, output_scale
from framework.runs.export import OUTPUT_SCALE
from framework.runs.reader import FinishedRun
from tests.helpers import synthetic_config


def _numpy_ece(labels, logits, num_bins=15):
  """ECE re-derived: |accuracy - confidence| per equal-width bin, weighted by its share."""
  z = logits - logits.max(1, keepdims=True)
  p = np.exp(z) / np.exp(z).sum(1, keepdims=True)
  confidence, correct = p.max(1), (p.argmax(1) == labels)
  edges = np.linspace(0.0, 1.0, num_bins + 1)
  total = 0.0
  for lo, hi in zip(edges[:-1], edges[1:]):
    inside = (confidence > lo) & (confidence <= hi)
    if inside.any():
      total += inside.mean() * abs(correct[inside].mean() - confidence[inside].mean())
  return total


@pytest.mark.parametrize("loss, expected", [
    ({"name": "ldam", "kwargs": {}}, 30.0),
    ({"name": "ldam", "kwargs": {"scale": 16.0}}, 16.0),
    ({"name": "cross_entropy", "kwargs": {}}, 1.0),
    ({"name": "logit_adjusted", "kwargs": {"tau": 1.0}}, 1.0),
    ({"name": LDAMLoss([5, 1], scale=8.0), "kwargs": {}}, 8.0),
    ({"name": SparseCrossEntropyLoss(), "kwargs": {}}, 1.0),
])
def test_the_scale_is_the_loss_s_own(loss, expected):
  assert output_scale(ml_collections.ConfigDict(loss)) == expected


def test_the_evaluator_scales_the_logits_for_calibration_not_for_predictions():
  rng = np.random.default_rng(0)
  cosines = rng.uniform(-1, 1, (400, 5)).astype(np.float32)
  labels = np.where(rng.random(400) < 0.7, cosines.argmax(1), rng.integers(0, 5, 400))
  model = keras.Sequential([keras.Input((5,)), keras.layers.Identity()])
  plain = Evaluator(model, 64, np.full(5, 80), transform=InputTransform((5,)))
  scaled = Evaluator(model, 64, np.full(5, 80), transform=InputTransform((5,)),
                     output_scale=30.0)
  split = Split(cosines, labels)
  a, b = plain.evaluate(split), scaled.evaluate(split)
  assert a["accuracy"] == b["accuracy"] and a["balanced_accuracy"] == b["balanced_accuracy"]
  assert a["ece"] == pytest.approx(_numpy_ece(labels, cosines.astype(np.float64)), abs=1e-6)
  assert b["ece"] == pytest.approx(_numpy_ece(labels, 30.0 * cosines.astype(np.float64)),
                                   abs=1e-6)
  assert a["ece"] > 0.4 > b["ece"]  # bare cosines: near-uniform confidence


@pytest.mark.slow
def test_an_ldam_run_reports_and_exports_the_scaled_probabilities(tmp_path):
  config = synthetic_config(model__kwargs={"hidden": (32,), "head": "cosine"}, loss__name="ldam",
                            loss__kwargs={"max_margin": 0.5, "scale": 30.0}, train__epochs=2)
  results = train.run(config, str(tmp_path), verbose=False)
  run = FinishedRun(str(tmp_path))
  serving, network, test = run.model(), run.trained_model(), run.data.test
  assert serving.layers[-1].name == OUTPUT_SCALE and network.name == serving.layers[-2].name
  unscaled = keras.Model(serving.inputs, serving.layers[-1].input)
  raw = test.features.astype(np.float32)
  np.testing.assert_allclose(serving.predict(raw, verbose=0),
                             30.0 * unscaled.predict(raw, verbose=0), rtol=1e-5, atol=1e-5)
  cosines = Evaluator(network, 1000, run.data.class_counts,
                      transform=run.data.transform).logits(test).astype(np.float64)
  assert np.abs(cosines).max() <= 1.0 + 1e-5  # the network itself still ends in cosines
  assert results["final"]["ece"] == pytest.approx(_numpy_ece(test.labels, 30.0 * cosines),
                                                  abs=1e-5)
