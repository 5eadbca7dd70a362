"""Every run leaves a deployable model: model.keras and a SavedModel that equal the final
evaluation; `framework.tools.predict` and `framework.tools.evaluate` read them back."""

import csv
import os

import keras
import ml_collections
import numpy as np
import pytest
import tensorflow as tf

from framework import data as data_lib
from framework import train
from framework.runs import export
from framework.runs.reader import FinishedRun
from framework.tools.evaluate import evaluate
from framework.evaluation.evaluator import Evaluator
from framework.tools.predict import main as predict_main
from tests.helpers import synthetic_config

pytestmark = pytest.mark.slow  # every test trains or starts a process


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
  """A short run on uint8 images (npz), so the exported model must scale its inputs."""
  root = tmp_path_factory.mktemp("export")
  rng = np.random.default_rng(0)
  x = rng.integers(0, 256, (120, 8, 8, 3), dtype=np.uint8)
  y = np.arange(120) % 3
  x[y == 1, :4] //= 3  # a learnable signal
  np.savez(root / "train.npz", x=x, y=y)
  config = synthetic_config(data__source="npz", data__path=str(root / "train.npz"),
                            data__long_tail={"profile": "none", "imbalance_ratio": 1.0},
                            data__mean=(0.5,), data__std=(0.25,), model__name="small_cnn",
                            model__kwargs={"filters": (4,), "dense": 8},
                            train__batch_size=16, train__epochs=2)
  workdir = str(root / "run")
  return workdir, train.run(config, workdir, verbose=False), x


def test_model_keras_equals_the_final_evaluation(image_run):
  workdir, results, _ = image_run
  bundle = data_lib.build(ml_collections.ConfigDict(results["config"]).data)
  serving = FinishedRun(workdir).model()
  raw = bundle.test.features.astype(np.float32)
  logits = serving.predict(raw, verbose=0)
  trained = serving.layers[-1]
  reference = Evaluator(trained, 1000, bundle.class_counts, transform=bundle.transform)
  np.testing.assert_allclose(logits, reference.logits(bundle.test), rtol=1e-5, atol=1e-5)
  accuracy = np.mean(np.argmax(logits, 1) == bundle.test.labels)
  assert accuracy == pytest.approx(results["final"]["accuracy"])


def test_saved_model_serves(image_run):
  workdir, _, x = image_run
  served = tf.saved_model.load(os.path.join(workdir, export.SAVED_MODEL))
  batch = x[:5].astype(np.float32)
  np.testing.assert_allclose(served.serve(batch).numpy(),
                             FinishedRun(workdir).model().predict(batch, verbose=0), rtol=1e-5,
                             atol=1e-5)


def test_evaluate_rebuilds_the_test_split(image_run):
  workdir, results, _ = image_run
  metrics = evaluate(FinishedRun(workdir))
  assert metrics["accuracy"] == pytest.approx(results["final"]["accuracy"])


def test_predict_on_an_npz_and_an_image_folder(image_run, tmp_path):
  from PIL import Image  # pylint: disable=g-import-not-at-top
  workdir, _, x = image_run
  np.savez(tmp_path / "new.npz", x=x[:7])
  assert predict_main([workdir, f"--data={tmp_path / 'new.npz'}",
                       f"--output={tmp_path / 'a.csv'}"]) == 0
  rows = list(csv.DictReader(open(tmp_path / "a.csv")))
  assert len(rows) == 7 and set(rows[0]) >= {"item", "predicted", "probability", "p_0"}
  probabilities = np.array([[float(r[f"p_{c}"]) for c in range(3)] for r in rows])
  np.testing.assert_allclose(probabilities.sum(1), 1.0, atol=1e-5)
  expected = keras.ops.softmax(FinishedRun(workdir).model().predict(x[:7].astype(np.float32),
                                                                   verbose=0)).numpy()
  np.testing.assert_allclose(probabilities, expected, atol=2e-6)
  os.makedirs(tmp_path / "images" / "any")
  for i in range(4):  # PNG is lossless: the folder's predictions equal the arrays'
    Image.fromarray(x[i]).save(tmp_path / "images" / "any" / f"{i}.png")
  assert predict_main([workdir, f"--data={tmp_path / 'images'}",
                       f"--output={tmp_path / 'b.csv'}"]) == 0
  rows = list(csv.DictReader(open(tmp_path / "b.csv")))
  assert [os.path.basename(r["item"]) for r in rows] == ["0.png", "1.png", "2.png", "3.png"]
  np.testing.assert_allclose([[float(r[f"p_{c}"]) for c in range(3)] for r in rows],
                             expected[:4], atol=2e-6)


def test_predict_on_a_csv(tmp_path):
  rng = np.random.default_rng(1)
  x = rng.normal(size=(90, 3)) * [1.0, 10.0, 100.0] + [0.0, 5.0, -50.0]
  y = (x[:, 0] > 0).astype(int)
  with open(tmp_path / "d.csv", "w") as f:
    f.write("a,b,c,label\n" + "".join(f"{r[0]},{r[1]},{r[2]},{l}\n" for r, l in zip(x, y)))
  config = synthetic_config(data__source="csv", data__path=str(tmp_path / "d.csv"),
                            data__long_tail={"profile": "none", "imbalance_ratio": 1.0},
                            train__batch_size=16, train__epochs=2)
  results = train.run(config, str(tmp_path / "run"), verbose=False)
  with open(tmp_path / "new.csv", "w") as f:  # other column order, an extra column
    f.write("c,extra,a,b\n" + "".join(f"{r[2]},9,{r[0]},{r[1]}\n" for r in x[:5]))
  assert predict_main([str(tmp_path / "run"), f"--data={tmp_path / 'new.csv'}",
                       f"--output={tmp_path / 'p.csv'}"]) == 0
  rows = list(csv.DictReader(open(tmp_path / "p.csv")))
  serving = FinishedRun(str(tmp_path / "run")).model()
  expected = keras.ops.softmax(serving.predict(x[:5], verbose=0)).numpy()
  np.testing.assert_allclose([[float(r["p_0"]), float(r["p_1"])] for r in rows], expected,
                             atol=2e-6)
  # the exported model standardises raw columns itself, as the loader did in training
  bundle = data_lib.build(ml_collections.ConfigDict(results["config"]).data)
  raw_test = x[bundle.info["test_origin"]]
  np.testing.assert_allclose(serving.predict(raw_test, verbose=0),
                             serving.layers[-1](bundle.test.features).numpy(), rtol=1e-4,
                             atol=1e-5)


def test_predict_errors_are_one_line(image_run, tmp_path, capsys):
  workdir, _, _ = image_run
  assert predict_main([workdir, f"--data={tmp_path / 'missing.npz'}"]) == 2
  assert predict_main([str(tmp_path), f"--data={tmp_path}"]) == 2
  err = capsys.readouterr().err.strip().splitlines()
  assert len(err) == 2 and all(line.startswith("predict: ") for line in err)
