"""Decoupled training: cRT re-trains only a finished run's classifier; tau-norm rescales the
classifier's class weights at evaluation, against a NumPy re-derivation."""

import numpy as np
import pytest

from framework import train
from framework.evaluation import decoupled
from framework.runs.reader import FinishedRun
from framework.errors import ConfigError
from framework.train.experiment import build
from tests.helpers import synthetic_config


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("decoupled") / "ce")
  config = synthetic_config(model__kwargs={"hidden": (16,)}, train__epochs=3,
                            data__val_per_class=8, eval__tau_norm="auto")
  return workdir, train.run(config, workdir, verbose=False)


@pytest.mark.slow
def test_tau_norm_matches_numpy(finished):
  workdir, results = finished
  exp = build(synthetic_config(model__kwargs={"hidden": (16,)}, data__val_per_class=8))
  trained = FinishedRun(workdir).trained_model()
  kernel = trained.get_layer("logits").kernel.numpy().astype(np.float64)
  features = decoupled.features_model(trained)
  x = exp.data.transform.eval(exp.data.val.features)
  val_features = features(x).numpy().astype(np.float64)
  scores = []
  for tau in decoupled.TAUS:
    w = kernel / np.linalg.norm(kernel, axis=0, keepdims=True) ** tau
    predictions = np.argmax(val_features @ w, axis=1)
    recalls = [np.mean(predictions[exp.data.val.labels == c] == c) for c in range(4)]
    scores.append(np.mean(recalls))
  best = decoupled.TAUS[int(np.argmax(scores))]
  final = results["final"]
  assert final["taunorm/tau"] == pytest.approx(best)
  test_features = features(exp.data.transform.eval(exp.data.test.features)).numpy()
  w = kernel / np.linalg.norm(kernel, axis=0, keepdims=True) ** best
  accuracy = np.mean(np.argmax(test_features @ w, 1) == exp.data.test.labels)
  assert final["taunorm/accuracy"] == pytest.approx(accuracy)


@pytest.mark.slow
def test_crt_retrains_only_a_reinitialised_classifier(finished, tmp_path):
  workdir, _ = finished
  config = synthetic_config(model__kwargs={"hidden": (16,)}, train__epochs=2,
                            model__init_from=workdir, model__retrain="head",
                            data__sampler="class_balanced")
  exp = build(config)
  start = [v.numpy().copy() for v in exp.model.weights]
  trained = FinishedRun(workdir).trained_model()
  assert [v.name for v in exp.model.trainable_variables] == ["kernel", "bias"]
  np.testing.assert_array_equal(start[0], trained.weights[0].numpy())  # the backbone loaded
  assert not np.allclose(start[-2], trained.weights[-2].numpy())  # the head re-initialised
  exp.trainer.train(2 * exp.steps_per_epoch)
  after = [v.numpy() for v in exp.model.weights]
  for before, now, variable in zip(start, after, exp.model.weights):
    if variable.path.startswith(exp.model.get_layer("logits").path):
      assert not np.array_equal(before, now), variable.path
    else:
      np.testing.assert_array_equal(before, now, err_msg=variable.path)


def test_decoupled_config_errors():
  with pytest.raises(ConfigError, match="model.retrain='head'"):
    build(synthetic_config(model__retrain="head"))
  with pytest.raises(ConfigError, match="eval.tau_norm='auto'"):
    build(synthetic_config(eval__tau_norm="auto"))
  with pytest.raises(ConfigError, match="eval.tau_norm='2'"):
    build(synthetic_config(eval__tau_norm="2"))


def test_init_from_a_missing_run_is_one_line(tmp_path):
  missing = str(tmp_path / "nope")
  with pytest.raises(ConfigError) as error:
    build(synthetic_config(model__init_from=missing, model__retrain="head"))
  assert str(error.value) == (f"model.init_from: workdir {missing!r} does not exist; allowed: "
                              "the workdir of a finished run")
  with pytest.raises(ConfigError, match=r"^model.init_from: workdir .* has no model.keras"):
    build(synthetic_config(model__init_from=str(tmp_path), model__retrain="head"))
