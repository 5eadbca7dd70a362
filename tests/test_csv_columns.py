"""csv feature columns as people have them: text categories, blanks in numeric and
categorical columns, an id column to drop; the exported model and predict take the raw
rows of the same file."""

import csv
import importlib.util
import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from framework import data as data_lib
from framework.config import base_config
from framework.errors import ConfigError
from tests.test_launch import ROOT

CITIES = ("oslo", "paris", "rome")
NOTICE = ("csv: 2 numeric, 2 categorical (city: 3 values, color: 3 values), 2 with missing "
          "values, dropped: id")


def write_mixed(path, n=120):
  """id, amount (blank every 7th row), city, age, color (blank every 5th row), label; the
  label follows amount and color. Returns the data rows as lists of str cells."""
  rng = np.random.default_rng(0)
  rows = []
  for i in range(n):
    y = i % 4 == 0
    amount = "" if i % 7 == 3 else f"{rng.normal(3.0 * y, 1.0):.3f}"
    color = "" if i % 5 == 1 else ("red" if y else "blue")
    rows.append([f"u{i:03d}", amount, CITIES[i % 3], str(20 + i % 30), color,
                 "fraud" if y else "ok"])
  with open(path, "w", newline="") as f:
    csv.writer(f).writerows([["id", "amount", "city", "age", "color", "label"]] + rows)
  return rows


def build(path, **fields):
  config = base_config()
  config.data.source, config.data.path = "csv", str(path)
  config.data.update(fields)
  return data_lib.build(config.data)


def one_hot(value, vocabulary):
  """The expected one-hot block: slot 0 for unseen values, then the sorted vocabulary."""
  block = [0.0] * (1 + len(vocabulary))
  block[1 + vocabulary.index(value) if value in vocabulary else 0] = 1.0
  return block


def expected_encoding(rows, training_rows):
  """amount (training median where blank), its missing flag, city, age, color: by hand."""
  amounts = [float(rows[i][1]) for i in training_rows if rows[i][1]]
  median = float(np.median(amounts))
  colors = sorted({rows[i][4] for i in training_rows})
  return np.array([[float(r[1]) if r[1] else median, float(not r[1])]
                   + one_hot(r[2], list(CITIES)) + [float(r[3])] + one_hot(r[4], colors)
                   for r in rows])


def raw_encoding(bundle, split):
  return split.features * bundle.info["feature_std"] + bundle.info["feature_mean"]


def test_kinds_missing_values_and_a_dropped_id_are_announced_and_encoded(tmp_path, capsys):
  rows = write_mixed(tmp_path / "mixed.csv")
  bundle = build(tmp_path / "mixed.csv", drop_columns=("id",))
  assert capsys.readouterr().out.splitlines() == [NOTICE]
  assert bundle.info["feature_names"] == ("amount", "city", "age", "color")
  test_rows = set((bundle.test.source_rows - 2).tolist())  # line 2 is data row 0
  training_rows = [i for i in range(len(rows)) if i not in test_rows]
  expected = expected_encoding(rows, training_rows)
  for split in (bundle.train, bundle.test):
    np.testing.assert_allclose(raw_encoding(bundle, split), expected[split.source_rows - 2],
                               atol=1e-4)


def test_a_category_the_training_file_lacks_takes_the_unseen_slot(tmp_path):
  write_mixed(tmp_path / "mixed.csv")
  with open(tmp_path / "test.csv", "w") as f:
    f.write("label,color,city,age,amount,id\nok,blue,berlin,30,,x\nfraud,,oslo,,2.5,y\n")
  bundle = build(tmp_path / "mixed.csv", test_path=str(tmp_path / "test.csv"),
                 drop_columns=("id",))
  raw = raw_encoding(bundle, bundle.test)
  np.testing.assert_allclose(raw[:, 2:6], [[1, 0, 0, 0], [0, 1, 0, 0]], atol=1e-5)  # city
  assert np.isnan(raw).sum() == 0
  np.testing.assert_allclose(raw[:, 1], [1, 0], atol=1e-5)  # amount's missing flag


def test_declared_columns(tmp_path):
  rows = write_mixed(tmp_path / "mixed.csv")
  bundle = build(tmp_path / "mixed.csv", feature_columns=("age", "amount"),
                 categorical_columns=("age",))
  assert bundle.info["feature_names"] == ("amount", "age")
  ages = {rows[line - 2][3] for line in bundle.train.source_rows}
  assert bundle.input_shape == (2 + 1 + len(ages),)  # amount, its flag; unseen, age codes


@pytest.mark.parametrize("fields, message", [
    ({}, "column 'id' has 120 distinct values in 120 rows"),
    ({"drop_columns": ("id", "ID")}, "data.drop_columns=['id', 'ID'] names ID, not columns"),
    ({"feature_columns": ("amount", "label")}, "lists label, the label / importance column"),
])
def test_column_errors_are_one_line(tmp_path, fields, message):
  write_mixed(tmp_path / "mixed.csv")
  with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
    build(tmp_path / "mixed.csv", **fields)


def serving_inputs(rows):
  """The exported model's inputs for raw rows, read without the framework."""
  def column(j, text):
    cells = [[r[j].strip()] for r in rows]
    if text:
      return tf.constant(cells)
    return np.array([[float(c[0]) if c[0] else np.nan] for c in cells], np.float32)
  return {"amount": column(1, False), "city": column(2, True), "age": column(3, False),
          "color": column(4, True)}


@pytest.mark.slow
def test_trains_from_the_csv_command_and_the_export_and_predict_take_raw_rows(tmp_path, capsys):
  from framework.evaluation.evaluator import Evaluator  # pylint: disable=g-import-not-at-top
  from framework.tools.predict import main as predict_main  # pylint: disable=g-import-not-at-top
  spec = importlib.util.spec_from_file_location("launcher", os.path.join(ROOT, "launch.py"))
  launcher = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(launcher)
  rows = write_mixed(tmp_path / "mixed.csv")
  workdir = tmp_path / "run"
  experiment = os.path.join(ROOT, "experiments", "tabular.py")
  status = launcher.main(["launch.py", f"--config={experiment}",
                          f"--config.data.path={tmp_path / 'mixed.csv'}",
                          "--config.data.drop_columns=('id',)", "--config.train.epochs=2",
                          f"--workdir={workdir}"])
  captured = capsys.readouterr()
  assert status == 0, captured.err[-3000:]
  assert NOTICE in captured.out.splitlines()

  results = json.loads((workdir / "results.json").read_text())
  bundle = build(tmp_path / "mixed.csv", drop_columns=("id",))
  serving = keras.saving.load_model(workdir / "model.keras")
  in_training = Evaluator(serving.layers[-1], 1000, bundle.class_counts,
                          transform=bundle.transform).logits(bundle.test)
  test_rows = [rows[line - 2] for line in bundle.test.source_rows]
  np.testing.assert_allclose(serving.predict(serving_inputs(test_rows), verbose=0),
                             in_training, rtol=1e-4, atol=1e-5)
  assert results["class_names"] == ["fraud", "ok"]

  new = [list(r) for r in rows[:6]]
  new[0][2], new[1][1], new[1][4] = "berlin", "", ""  # an unseen city; blanks
  with open(tmp_path / "new.csv", "w", newline="") as f:
    csv.writer(f).writerows([["id", "amount", "city", "age", "color", "label"]] + new)
  assert predict_main([str(workdir), f"--data={tmp_path / 'new.csv'}"]) == 0
  with open(workdir / "predictions-new.csv") as f:
    predicted = list(csv.DictReader(f))
  probabilities = np.array([[float(r["p_fraud"]), float(r["p_ok"])] for r in predicted])
  expected = keras.ops.softmax(serving.predict(serving_inputs(new), verbose=0)).numpy()
  assert np.isfinite(expected).all()
  np.testing.assert_allclose(probabilities, expected, atol=2e-6)


def test_text_in_a_numeric_column_of_a_test_file_names_the_column(tmp_path):
  write_mixed(tmp_path / "mixed.csv")
  with open(tmp_path / "test.csv", "w") as f:
    f.write("label,color,city,age,amount,id\nok,blue,rome,thirty,1.5,x\n")
  with pytest.raises(ConfigError, match="column 'age' holds 'thirty', but it is numeric in "
                     "the training file"):
    build(tmp_path / "mixed.csv", test_path=str(tmp_path / "test.csv"), drop_columns=("id",))
