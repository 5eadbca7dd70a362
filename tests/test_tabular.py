"""The csv path: experiments/tabular.py end to end on a csv whose minority label is 0, the
positive class of the binary metrics, the model/data mismatch error, announced protocol
transforms, and the saved standardisation applied by the exported model and predict."""

import csv
import json
import math
import os

import keras
import ml_collections
import numpy as np
import pytest
from sklearn import metrics as skm
import tensorflow as tf

from framework import data as data_lib
from framework.train import experiment
from framework.runs import export
from framework.runs.reader import FinishedRun
from framework.config import load_experiment, set_fields
from framework.data.augment import InputTransform
from framework.data.bundle import Split
from framework.errors import ConfigError
from framework.evaluation.evaluator import Evaluator
from framework.evaluation.metrics import classification_metrics
from framework.tools.predict import main as predict_main, output_name
from tests.test_launch import ROOT, _stderr_lines, launch_here

TABULAR = os.path.join(ROOT, "experiments", "tabular.py")
DEFAULT = os.path.join(ROOT, "experiments", "default.py")
SCALES = np.array([1.0, 10.0, 100.0, 0.1, 1000.0])
OFFSETS = np.array([0.0, 50.0, -20.0, 3.0, 500.0])


def write_csv(path, counts, seed, shift=0.8):
  """Labels 0..C-1 with counts[c] rows each; class c shifted by c * shift in every feature,
  features on very different scales (so the standardisation matters). Returns (x, y)."""
  rng = np.random.default_rng(seed)
  y = np.concatenate([np.full(n, c) for c, n in enumerate(counts)])
  x = (rng.normal(size=(len(y), len(SCALES))) + shift * y[:, None]) * SCALES + OFFSETS
  order = rng.permutation(len(y))
  x, y = x[order], y[order]
  with open(path, "w") as f:
    f.write("amount,age,score,ratio,balance,label\n")
    f.writelines(",".join(f"{v:.6f}" for v in row) + f",{label}\n" for row, label in zip(x, y))
  return np.loadtxt(path, delimiter=",", skiprows=1)[:, :-1], y


def held_out(n, fraction=0.25):
  """Test rows of a class of n under a stratified split: round half up of n * fraction."""
  return math.floor(n * fraction + 0.5)


@pytest.fixture(scope="module")
def fraud_run(tmp_path_factory):
  """The README command on a csv whose minority (30 of 300 rows) is label 0."""
  root = tmp_path_factory.mktemp("tabular")
  x, y = write_csv(root / "fraud.csv", [30, 270], seed=0, shift=-1.0)
  workdir = root / "run"
  result = launch_here(f"--config={TABULAR}", f"--config.data.path={root / 'fraud.csv'}",
                       "--config.train.epochs=4", "--config.train.eval_every_epochs=2",
                       workdir=workdir)
  assert result.returncode == 0, result.stderr[-3000:]
  results = json.loads((workdir / "results.json").read_text())
  return root, str(workdir), results, result.stdout, x, y


def _test_rows(results):
  bundle = data_lib.build(ml_collections.ConfigDict(results["config"]).data)
  return bundle, np.asarray(bundle.info["test_origin"])


@pytest.mark.slow
def test_tabular_run_reports_pr_auc_of_minority_label_zero(fraud_run):
  _, workdir, results, stdout, x, y = fraud_run
  final = results["final"]
  # the data as it is: no long-tail cut, no noise; 25% of each class held out for test,
  # 20% of the rest for validation
  pool = [n - held_out(n) for n in (30, 270)]
  assert results["class_counts"] == [n - held_out(n, 0.2) for n in pool]
  assert final["support"] == [held_out(30), held_out(270)]
  assert "long-tail cut" not in stdout and "label noise" not in stdout
  assert final["positive_class"] == 0
  # an independent computation on the exported model's logits of the raw test rows
  _, rows = _test_rows(results)
  assert np.bincount(y[rows]).tolist() == final["support"]
  logits = FinishedRun(workdir).model().predict(x[rows].astype(np.float32), verbose=0)
  score = logits[:, 0].astype(np.float64) - logits[:, 1]
  expected = skm.average_precision_score(y[rows] == 0, score)
  assert final["pr_auc"] == pytest.approx(expected, rel=1e-6)
  assert final["roc_auc"] == pytest.approx(skm.roc_auc_score(y[rows] == 0, score), rel=1e-6)
  assert final["positive_f1"] == pytest.approx(
      skm.f1_score(y[rows], np.argmax(logits, 1), pos_label=0))
  # the case tells the classes apart: class 1's average precision is another number
  assert abs(skm.average_precision_score(y[rows] == 1, -score) - final["pr_auc"]) > 0.05
  assert f"positive class '0': PR-AUC {final['pr_auc']:.4f}" in stdout


@pytest.mark.slow
def test_an_explicit_positive_class_reaches_the_run(fraud_run):
  root, _, _, _, x, y = fraud_run
  workdir = root / "positive_1"
  result = launch_here(f"--config={TABULAR}", f"--config.data.path={root / 'fraud.csv'}",
                       "--config.train.epochs=1", "--config.eval.positive_class=1",
                       workdir=workdir)
  assert result.returncode == 0, result.stderr[-3000:]
  final = json.loads((workdir / "results.json").read_text())["final"]
  assert final["positive_class"] == 1
  rows = _test_rows(json.loads((workdir / "results.json").read_text()))[1]
  logits = FinishedRun(str(workdir)).model().predict(x[rows].astype(np.float32), verbose=0)
  score = logits[:, 1].astype(np.float64) - logits[:, 0]
  assert final["pr_auc"] == pytest.approx(
      skm.average_precision_score(y[rows] == 1, score), rel=1e-6)


@pytest.mark.slow
def test_predict_and_export_apply_the_saved_standardisation(fraud_run, tmp_path):
  root, workdir, results, _, x, _ = fraud_run
  bundle, test_rows = _test_rows(results)
  train_rows = np.setdiff1d(np.arange(len(x)), test_rows)
  mean, std = x[train_rows].mean(0), x[train_rows].std(0)  # the training pool's statistics
  np.testing.assert_allclose(bundle.test.features, (x[test_rows] - mean) / std, atol=1e-5)
  serving = FinishedRun(workdir).model()
  trained = serving.layers[-1]  # the network behind the input normalisation
  in_training = Evaluator(trained, 1000, bundle.class_counts,
                          transform=bundle.transform).logits(bundle.test)
  raw = x[test_rows].astype(np.float32)
  np.testing.assert_allclose(serving.predict(raw, verbose=0), in_training, rtol=1e-4,
                             atol=1e-5)
  served = tf.saved_model.load(os.path.join(workdir, export.SAVED_MODEL))
  np.testing.assert_allclose(served.serve(raw).numpy(), in_training, rtol=1e-4, atol=1e-5)
  # predict reads raw csv rows by column name (other order, an extra column)
  names = ["amount", "age", "score", "ratio", "balance"]
  order = [4, 0, 3, 1, 2]
  with open(tmp_path / "new.csv", "w") as f:
    f.write(",".join([names[j] for j in order] + ["note"]) + "\n")
    f.writelines(",".join(repr(float(v)) for v in row[order]) + ",7\n" for row in x[test_rows])
  assert predict_main([workdir, f"--data={tmp_path / 'new.csv'}",
                       f"--output={tmp_path / 'p.csv'}"]) == 0
  rows = list(csv.DictReader(open(tmp_path / "p.csv")))
  probabilities = np.array([[float(r["p_0"]), float(r["p_1"])] for r in rows])
  np.testing.assert_allclose(probabilities, keras.ops.softmax(in_training).numpy(), atol=2e-6)


@pytest.mark.slow
def test_image_model_on_csv_is_one_line_naming_model_name(fraud_run):
  root = fraud_run[0]
  result = launch_here(f"--config={DEFAULT}", "--config.data.source=csv",
                       f"--config.data.path={root / 'fraud.csv'}", workdir=root / "mismatch")
  lines = _stderr_lines(result)
  assert result.returncode == 1 and len(lines) == 1, result.stderr
  assert lines[0] == ("error: model.name='small_cnn' needs images [H, W, C]; data.source='csv' "
                      "gives feature vectors [5]; use model.name='mlp' (or 'linear'), or "
                      "experiments/tabular.py")
  assert "Traceback" not in result.stderr and result.stdout.strip() == ""
  assert not (root / "mismatch").exists()


def _config(path, experiment_file=TABULAR, **fields):
  config = load_experiment(experiment_file).get_config()
  config.data.source, config.data.path = "csv", str(path)
  config.model.name, config.model.kwargs = "mlp", {"hidden": (8,)}
  config.train.batch_size = 16
  set_fields(config, fields)
  return config


def test_mismatch_is_general_for_factories_and_models(tmp_path):
  """Not csv-specific: image data on a vectors-only factory, a Model of the wrong width."""
  def vectors_only(shape, num_classes):
    if len(shape) != 1:
      raise ValueError(f"expects vectors, got {shape}")
    return keras.Sequential([keras.Input(shape), keras.layers.Dense(num_classes)])

  config = load_experiment(DEFAULT).get_config()  # digits: 8x8 images
  with pytest.raises(ConfigError) as error:
    experiment.build(config, model=vectors_only)
  assert str(error.value) == (
      "the model factory needs feature vectors [D]; data.source='digits' gives images "
      "[8, 8, 1]; use an image model (model.name='small_cnn', 'resnet32', ...) or one that "
      "flattens ('mlp', 'linear')")
  write_csv(tmp_path / "d.csv", [20, 60], seed=1)
  narrow = keras.Sequential([keras.Input((8,)), keras.layers.Dense(2)], name="eight_wide")
  with pytest.raises(ConfigError, match=r"^model 'eight_wide' takes feature vectors \[8\]; "
                     r"data.source='csv' gives feature vectors \[5\]"):
    experiment.build(_config(tmp_path / "d.csv"), model=narrow)
  # a bad kwarg is still reported as itself, not as a mismatch
  with pytest.raises(ConfigError, match=r"^model \(mlp\): "):
    experiment.build(_config(tmp_path / "d.csv", model__kwargs={"hidden": (0,)}))


def test_long_tail_and_noise_are_announced_and_recorded(tmp_path, capsys):
  counts = [49, 53, 12, 9, 6, 20]  # Glass's classes
  write_csv(tmp_path / "glass.csv", counts, seed=2)
  config = _config(tmp_path / "glass.csv", DEFAULT, data__noise__kind="symmetric",
                   data__noise__rate=0.3)
  exp = experiment.build(config)
  lines = [l for l in capsys.readouterr().out.splitlines() if l.startswith("data: ")]
  # independently: the pool after the 25% test split, cut to n_max * 10^(-c/5)
  before = [n - held_out(n) for n in counts]
  target = [math.floor(max(before) * 10 ** (-c / 5) + 1e-9) for c in range(6)]
  after = [min(b, t) for b, t in zip(before, target)]
  assert before == [37, 40, 9, 7, 4, 15] and after == [37, 25, 9, 7, 4, 4]
  assert lines[0] == (
      f"data: long-tail cut applied (data.long_tail.profile='exponential', "
      f"imbalance_ratio=10): training examples per class {before} -> {after}; to train on "
      "the data as it is: --config.data.long_tail.profile=none "
      "--config.data.long_tail.imbalance_ratio=1")
  train = exp.data.train
  changed = int(np.sum(train.labels != train.clean_labels))
  observed = np.bincount(train.labels, minlength=6).tolist()
  assert 0 < changed < len(train)
  assert lines[1] == (
      f"data: label noise applied (data.noise.kind='symmetric', rate=0.3): {changed} of "
      f"{sum(after)} training labels changed, per class {after} -> {observed}; to turn it "
      "off: --config.data.noise.kind=none --config.data.noise.rate=0")
  assert len(lines) == 2
  cut, noise = exp.data.info["protocol"]
  assert (cut["counts_before"], cut["counts_after"]) == (before, after)
  assert (noise["changed"], noise["counts_after"]) == (changed, observed)
  # the tabular experiment keeps the data as it is, and says nothing; 20% of each class
  # of the pool validates
  exp = experiment.build(_config(tmp_path / "glass.csv"))
  assert "data: " not in capsys.readouterr().out and exp.data.info["protocol"] == []
  validation = [held_out(n, 0.2) for n in before]
  assert np.bincount(exp.data.val.labels).tolist() == validation == [7, 8, 2, 1, 1, 3]
  assert exp.data.class_counts.tolist() == [b - v for b, v in zip(before, validation)]


@pytest.mark.parametrize("value, counts, message", [
    (-2, [20, 60], "eval.positive_class=-2 must be -1 (the minority class by training "
                   "counts) or a class id >= 0"),
    (2, [20, 60], "eval.positive_class=2 is not a class of the data; allowed: -1 (the "
                  "minority class by training counts), 0 or 1"),
    (1, [20, 30, 40], "eval.positive_class=1 has no effect: binary metrics need 2 classes "
                      "and the data has 3; use -1"),
])
def test_positive_class_is_validated(tmp_path, value, counts, message):
  write_csv(tmp_path / "d.csv", counts, seed=3)
  with pytest.raises(ConfigError) as error:
    experiment.build(_config(tmp_path / "d.csv", eval__positive_class=value))
  assert str(error.value) == message


def test_an_npz_path_with_the_csv_source_names_the_fix(tmp_path):
  x, y = write_csv(tmp_path / "d.csv", [20, 60], seed=4)
  np.savez(tmp_path / "d.npz", x=x, y=y)
  with pytest.raises(ConfigError, match=r"data.path='.*d.npz' is a .npz file but "
                     r"data.source='csv'; set --config.data.source=npz$"):
    data_lib.build(_config(tmp_path / "d.npz").data)
  exp = experiment.build(_config(tmp_path / "d.npz", data__source="npz"))
  assert exp.data.input_shape == (5,) and exp.data.info["protocol"] == []


def test_binary_metrics_follow_the_positive_class():
  rng = np.random.default_rng(5)
  labels = (rng.random(200) < 0.8).astype(int)  # class 0 is the minority
  logits = rng.normal(size=(200, 2)) + 0.7 * np.eye(2)[labels]
  preds = np.argmax(logits, 1)
  for positive in (0, 1):
    m = classification_metrics(labels, logits, 2, positive_class=positive)
    score = logits[:, positive] - logits[:, 1 - positive]
    assert m["positive_class"] == positive
    assert m["pr_auc"] == pytest.approx(
        skm.average_precision_score(labels == positive, score), rel=1e-12)
    assert m["roc_auc"] == pytest.approx(skm.roc_auc_score(labels == positive, score),
                                         rel=1e-12)
    assert m["positive_f1"] == pytest.approx(skm.f1_score(labels, preds, pos_label=positive))
  assert classification_metrics(labels, logits, 2)["positive_class"] == 1  # unchanged default
  with pytest.raises(ValueError, match="positive_class=2 must be 0 or 1"):
    classification_metrics(labels, logits, 2, positive_class=2)


@pytest.mark.parametrize("counts, requested, expected", [
    ([10, 90], -1, 0), ([90, 10], -1, 1), ([50, 50], -1, 1), ([10, 90], 1, 1),
    ([10, 20, 30], -1, None)])
def test_evaluator_resolves_the_positive_class(counts, requested, expected):
  rng = np.random.default_rng(6)
  num_classes = len(counts)
  x = rng.normal(size=(60, 3)).astype(np.float32)
  labels = np.arange(60) % num_classes
  model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(num_classes)])
  evaluator = Evaluator(model, 32, np.array(counts), transform=InputTransform((3,)),
                        positive_class=requested)
  metrics = evaluator.evaluate(Split(x, labels))
  assert metrics.get("positive_class") == expected
  if expected is not None:
    z = model.predict(x, verbose=0).astype(np.float64)
    score = z[:, expected] - z[:, 1 - expected]
    assert metrics["pr_auc"] == pytest.approx(
        skm.average_precision_score(labels == expected, score), rel=1e-6)


def test_predictions_are_named_after_the_input_without_its_extension(tmp_path):
  (tmp_path / "photos.v2").mkdir()
  assert output_name(str(tmp_path / "new.csv")) == "predictions-new.csv"
  assert output_name("features.npz") == "predictions-features.csv"
  assert output_name(str(tmp_path / "photos.v2") + "/") == "predictions-photos.v2.csv"
