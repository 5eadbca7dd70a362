"""csv files as people have them: label names ("pos" / "neg", the Pima diabetes table),
integer labels that skip ids (the Glass table's types 1, 2, 3, 5, 6, 7), data.class_names,
data.remap_labels, and each example's line in the file."""

import csv
import importlib.util
import json
import math
import os

import numpy as np
import pytest

from framework import data as data_lib
from framework.config import base_config
from framework.errors import ConfigError
from tests.test_launch import ROOT

PIMA_COLUMNS = ["Pregnancies", "Glucose", "BloodPressure", "SkinThickness", "Insulin", "BMI",
                "DiabetesPedigreeFunction", "Age"]
GLASS_COLUMNS = ["RI", "Na", "Mg", "Al", "Si", "K", "Ca", "Ba", "Fe"]
GLASS_COUNTS = {1: 70, 2: 76, 3: 17, 5: 13, 6: 9, 7: 29}  # the Glass table's 214 rows
GLASS_NOTICE = "data: labels 1, 2, 3, 5, 6, 7 in column 'Type' mapped to class ids 0-5"


def write_table(path, features, label_column, labels, seed):
  """A csv of `features` numeric columns plus the label column (last), rows shuffled, one
  blank line after the header (so line numbers and data-row numbers differ by 2)."""
  rng = np.random.default_rng(seed)
  labels = [labels[i] for i in rng.permutation(len(labels))]
  x = rng.normal(size=(len(labels), len(features))).round(4)
  with open(path, "w") as f:
    f.write(",".join(features + [label_column]) + "\n\n")
    f.writelines(",".join(map(str, row)) + f",{label}\n" for row, label in zip(x, labels))
  return str(path)


def file_lines(path):
  """line number -> (feature values, label text), read back without the framework."""
  with open(path) as f:
    lines = f.read().splitlines()
  return {n: (np.array(line.split(",")[:-1], float), line.split(",")[-1])
          for n, line in enumerate(lines, start=1) if n > 1 and line}


def pima(tmp_path, name="pima.csv", neg=60, pos=32):
  return write_table(tmp_path / name, PIMA_COLUMNS, "Outcome", ["neg"] * neg + ["pos"] * pos,
                     seed=1)


def glass(tmp_path):
  labels = [t for t, n in GLASS_COUNTS.items() for _ in range(n)]
  return write_table(tmp_path / "glass.csv", GLASS_COLUMNS, "Type", labels, seed=2)


def build(path, label_column, **fields):
  config = base_config()
  config.data.source, config.data.path = "csv", path
  config.data.label_column = label_column
  config.data.update(fields)
  return data_lib.build(config.data)


def held_out(n, fraction=0.25):
  """Test rows of a class of n under the stratified split: n * fraction, rounded half up."""
  return math.floor(n * fraction + 0.5)


def assert_rows_found_back(bundle, split, path):
  """Each example's source row is the file line holding its features and label text."""
  lines = file_lines(path)
  raw = split.features * bundle.info["feature_std"] + bundle.info["feature_mean"]
  for i, row in enumerate(split.source_rows):
    values, text = lines[row]
    np.testing.assert_allclose(raw[i], values, atol=1e-4)
    assert bundle.label_texts(split)[i] == text
    assert bundle.class_names[split.labels[i]] == text


def test_pima_names_sorted_into_class_ids(tmp_path, capsys):
  path = pima(tmp_path)
  bundle = build(path, "Outcome")
  assert bundle.class_names == ("neg", "pos")
  assert bundle.class_counts.tolist() == [60 - held_out(60), 32 - held_out(32)]
  assert np.bincount(bundle.test.labels).tolist() == [held_out(60), held_out(32)]
  assert_rows_found_back(bundle, bundle.train, path)
  assert_rows_found_back(bundle, bundle.test, path)
  all_rows = np.concatenate([bundle.train.source_rows, bundle.test.source_rows])
  assert sorted(all_rows) == list(range(3, 3 + 92))  # header, blank line, 92 rows
  assert capsys.readouterr().out == ""  # names need no notice


def test_class_names_give_the_order(tmp_path):
  path = pima(tmp_path)
  bundle = build(path, "Outcome", class_names=("pos", "neg"))
  assert bundle.class_names == ("pos", "neg")
  assert bundle.class_counts.tolist() == [32 - held_out(32), 60 - held_out(60)]
  assert_rows_found_back(bundle, bundle.train, path)
  # a declared class without examples is the user's choice
  bundle = build(path, "Outcome", class_names=("neg", "pos", "unsure"))
  assert bundle.num_classes == 3 and bundle.class_counts[2] == 0


def test_a_label_missing_from_class_names_is_one_line(tmp_path):
  path = pima(tmp_path)
  first_pos = min(n for n, (_, text) in file_lines(path).items() if text == "pos")
  with pytest.raises(ConfigError) as error:
    build(path, "Outcome", class_names=("neg", "positive"))
  assert str(error.value) == (
      f"data.label_column='Outcome' has labels 'pos' that data.class_names does not list "
      f"(first on line {first_pos} of data.path={path!r}); allowed: 'neg', 'positive'")


def test_a_test_file_shares_the_training_coding(tmp_path):
  train_path = pima(tmp_path)
  test_path = pima(tmp_path, "pima_test.csv", neg=0, pos=10)  # holds only "pos"
  bundle = build(train_path, "Outcome", test_path=test_path)
  assert bundle.class_names == ("neg", "pos")
  assert bundle.test.labels.tolist() == [1] * 10
  assert sorted(bundle.test.source_rows) == list(range(3, 13))  # lines of the test file
  assert_rows_found_back(bundle, bundle.test, test_path)


def test_glass_types_remapped_with_a_notice(tmp_path, capsys):
  path = glass(tmp_path)
  bundle = build(path, "Type")
  assert capsys.readouterr().out.splitlines() == [GLASS_NOTICE]
  assert bundle.class_names == ("1", "2", "3", "5", "6", "7")
  assert bundle.class_counts.tolist() == [n - held_out(n) for n in GLASS_COUNTS.values()]
  assert np.bincount(bundle.test.labels).tolist() == [held_out(n) for n in
                                                      GLASS_COUNTS.values()]
  assert_rows_found_back(bundle, bundle.train, path)
  assert_rows_found_back(bundle, bundle.test, path)


def test_glass_with_remapping_off_names_the_missing_ids(tmp_path):
  with pytest.raises(ConfigError) as error:
    build(glass(tmp_path), "Type", remap_labels=False)
  assert str(error.value) == (
      "data.remap_labels=False but the labels 1, 2, 3, 5, 6, 7 in column 'Type' leave class "
      "ids 0, 4 without examples; allowed: labels 0..C-1 each present, "
      "data.remap_labels=True (class ids 0-5) or data.num_classes=8 (classes without "
      "examples)")


def test_declared_num_classes_keeps_the_ids(tmp_path, capsys):
  bundle = build(glass(tmp_path), "Type", num_classes=8)
  assert capsys.readouterr().out == ""
  assert bundle.class_names == tuple("01234567")
  counts = bundle.class_counts.tolist()
  assert counts == [0] + [GLASS_COUNTS[t] - held_out(GLASS_COUNTS[t]) if t in GLASS_COUNTS
                          else 0 for t in range(1, 8)]


def test_ids_zero_to_c_minus_1_are_kept_as_written(tmp_path, capsys):
  path = write_table(tmp_path / "ids.csv", GLASS_COLUMNS, "Type", [0] * 20 + [1] * 8 + [2] * 12,
                     seed=3)
  bundle = build(path, "Type")
  assert capsys.readouterr().out == ""
  assert bundle.class_names == ("0", "1", "2")
  assert bundle.class_counts.tolist() == [20 - held_out(20), 8 - held_out(8), 12 - held_out(12)]
  assert_rows_found_back(bundle, bundle.train, path)


@pytest.mark.parametrize("labels, message", [
    (["?"] + ["1"] * 6 + ["2"] * 6, "mixes numbers and names ('?' on line "),
    (["1", "2", "2.5"] + ["1"] * 10, "label '2.5' on line "),
    (["pos"] * 10, "holds one label ('pos'); at least 2 classes are needed"),
])
def test_label_errors_name_the_column_and_line(tmp_path, labels, message):
  path = write_table(tmp_path / "bad.csv", PIMA_COLUMNS, "Outcome", labels, seed=4)
  with pytest.raises(ConfigError, match=r"^data.label_column='Outcome'") as error:
    build(path, "Outcome")
  assert message in str(error.value) and "\n" not in str(error.value)


@pytest.mark.slow
@pytest.mark.parametrize("table", ["glass", "pima"])
def test_trains_from_the_csv_command_and_the_label_issues_name_the_rows(tmp_path, capsys, table):
  """The README's csv command on each table as it is, then the label-issue export: each
  listed example's `row` is the file line holding its label text."""
  from framework.runs import FinishedRun  # pylint: disable=g-import-not-at-top
  from framework.tools.label_issues import write_label_issues  # pylint: disable=g-import-not-at-top
  spec = importlib.util.spec_from_file_location("launcher", os.path.join(ROOT, "launch.py"))
  launcher = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(launcher)
  workdir = tmp_path / "run"
  path, column = ((glass(tmp_path), "Type") if table == "glass"  # 20% of its pool validates:
                  else (pima(tmp_path, neg=100, pos=50), "Outcome"))  # > a batch left
  experiment = os.path.join(ROOT, "experiments", "tabular.py")
  status = launcher.main(["launch.py", f"--config={experiment}", f"--config.data.path={path}",
                          f"--config.data.label_column={column}", "--config.train.epochs=1",
                          f"--workdir={workdir}"])
  out = capsys.readouterr().out
  assert status == 0, out
  results = json.loads((workdir / "results.json").read_text())
  if table == "glass":
    assert GLASS_NOTICE in out.splitlines()
    assert results["class_names"] == ["1", "2", "3", "5", "6", "7"]
    assert results["final"]["support"] == [held_out(n) for n in GLASS_COUNTS.values()]
  else:
    assert results["class_names"] == ["neg", "pos"]
  assert json.loads((workdir / "data.json").read_text())["class_names"] == results["class_names"]

  output = tmp_path / "issues.csv"
  summary = write_label_issues(FinishedRun(str(workdir)), str(output))
  with open(output) as f:
    listed = list(csv.DictReader(f))
  assert len(listed) == summary["rows"] == sum(results["class_counts"])
  lines = file_lines(path)
  assert len({r["row"] for r in listed}) == len(listed)
  for r in listed:
    assert lines[int(r["row"])][1] == r["label_text"] == r["given_class"]
