"""The data fingerprint: what changes it sees (rows, labels, file bytes and times, array
values), that unchanged data gives the same one; a relaunch on changed data is refused in
one line with every checkpoint intact, and resumes bit-identical once the data is back;
evaluate and the label-issue export refuse changed data unless told to use it."""

import glob
import hashlib
import os

import numpy as np
import pytest

from framework import data as data_lib
from framework.data.fingerprint import data_fingerprint, fingerprint_changes
from framework.data.sources import Arrays, Source
from tests.test_data_images import write_image_folder

import launch  # pylint: disable=g-bad-import-order  (the launcher at the repository's root)

FEATURES = ("a", "b", "c")


def write_csv(path, labels, seed=0):
  """A csv of three random feature columns and `labels`; returns its text."""
  rng = np.random.default_rng(seed)
  rows = [",".join(f"{v:.4f}" for v in rng.normal(size=len(FEATURES))) + f",{y}"
          for y in labels]
  text = ",".join(FEATURES) + ",label\n" + "\n".join(rows) + "\n"
  path.write_text(text)
  return text


def csv_data(tmp_path, labels=(0, 1) * 20):
  """The paths of a training csv (20 examples a class by default) and a test csv."""
  write_csv(tmp_path / "train.csv", list(labels))
  write_csv(tmp_path / "test.csv", [0, 1] * 5, seed=1)
  return tmp_path / "train.csv", tmp_path / "test.csv"


def csv_fingerprint(train, test):
  return data_fingerprint(data_lib.build({"source": "csv", "path": str(train),
                                          "test_path": str(test)}))


def image_data(tmp_path):
  """A training folder of 2 classes x 6 images and a test folder of 2 x 2."""
  write_image_folder(tmp_path / "images", ["a", "b"], 6, size=(6, 6))
  write_image_folder(tmp_path / "test_images", ["a", "b"], 2, size=(6, 6), seed=1)
  return tmp_path / "images", tmp_path / "test_images"


def image_fingerprint(train, test):
  return data_fingerprint(data_lib.build({"source": "image_folder", "path": str(train),
                                          "test_path": str(test), "image_size": 4}))


def test_unchanged_data_gives_the_same_fingerprint(tmp_path):
  csv = csv_data(tmp_path)
  assert csv_fingerprint(*csv) == csv_fingerprint(*csv)
  images = image_data(tmp_path)
  assert image_fingerprint(*images) == image_fingerprint(*images)


def test_rows_added_to_a_csv_are_counted_per_class(tmp_path):
  train, test = csv_data(tmp_path)
  before = csv_fingerprint(train, test)
  with open(train, "a") as f:
    f.write("0.5,0.5,0.5,1\n" * 6)
  assert (fingerprint_changes(before, csv_fingerprint(train, test))  # standardised anew:
          == "train 40 -> 46 examples (class 1: 20 -> 26); test: values differ")


def test_a_label_changed_with_the_same_counts(tmp_path):
  train, test = csv_data(tmp_path)
  before = csv_fingerprint(train, test)
  csv_data(tmp_path, labels=(1, 0) + (0, 1) * 19)  # rows 1 and 2 swap labels, features kept
  assert fingerprint_changes(before, csv_fingerprint(train, test)) == "train: labels differ"


def test_an_image_added_to_a_folder(tmp_path):
  train, test = image_data(tmp_path)
  before = image_fingerprint(train, test)
  write_image_folder(tmp_path / "extra", ["b"], 1, size=(6, 6), seed=2)
  os.replace(tmp_path / "extra" / "b" / "img_000.png", train / "b" / "img_new.png")
  assert (fingerprint_changes(before, image_fingerprint(train, test))
          == "train 12 -> 13 examples (class b: 6 -> 7)")


def test_bytes_changed_with_the_same_size_and_time(tmp_path):
  train, test = image_data(tmp_path)
  before = image_fingerprint(train, test)
  path = train / "a" / "img_003.jpg"
  stat = os.stat(path)
  raw = bytearray(path.read_bytes())
  raw[len(raw) // 2] ^= 0xFF
  path.write_bytes(bytes(raw))
  os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
  assert os.stat(path).st_size == stat.st_size
  assert fingerprint_changes(before, image_fingerprint(train, test)) == "train: sampled bytes differ"


def test_a_file_touched_changes_its_time_only(tmp_path):
  train, test = image_data(tmp_path)
  before = image_fingerprint(train, test)
  path = test / "b" / "img_001.jpg"
  stat = os.stat(path)
  os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
  assert (fingerprint_changes(before, image_fingerprint(train, test))
          == "test: modification times differ")


def test_array_values_and_classes():
  x = np.random.default_rng(0).normal(size=(40, 3)).astype(np.float32)
  y = np.arange(40) % 2
  def fingerprint(x, names=None):
    source = Source(Arrays(x, y), Arrays(x[:10], y[:10]), class_names=names)
    return data_fingerprint(data_lib.build({"source": "python"}, source=source))
  before = fingerprint(x)
  assert fingerprint_changes(before, fingerprint(x.copy())) == ""
  changed = x.copy()
  changed[30, 1] += 1e-3  # a training row (the test rows are x[:10], copied before)
  assert fingerprint_changes(before, fingerprint(changed)) == "train: values differ"
  assert (fingerprint_changes(before, fingerprint(x, ("cat", "dog")))
          == "classes ['0', '1'] -> ['cat', 'dog']")


# Training: a relaunch on changed data, then on the data restored; evaluate on changed data.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ARGS = [f"--config={os.path.join(ROOT, 'experiments', 'default.py')}:ce",
        "--config.data.long_tail.profile=none", "--config.data.long_tail.imbalance_ratio=1",
        "--config.model.name=linear", "--config.rule.name=loss_ema",
        "--config.train.batch_size=8", "--config.train.eval_every_epochs=1"]


def _launch(capsys, workdir, *args):
  """(exit status, error lines, stdout) of launch.py run in this process."""
  status = launch.main(["launch.py", *ARGS, *args, f"--workdir={workdir}"])
  captured = capsys.readouterr()
  return status, [l for l in captured.err.splitlines() if l.startswith("error:")], captured.out


def _files(folder):
  """{path: sha256} of every file under `folder`."""
  return {path: hashlib.sha256(open(path, "rb").read()).hexdigest()
          for path in glob.glob(os.path.join(folder, "**"), recursive=True)
          if os.path.isfile(path)}


def _final_state(workdir):
  """The final weight snapshot's tables and the model's final weights."""
  from framework.runs import FinishedRun  # pylint: disable=g-import-not-at-top
  run = FinishedRun(str(workdir))
  return run.tables(), run.trained_model().get_weights()


def _data(tmp_path, kind):
  """The launcher's data arguments and a change of the training data, which returns what
  a refusal names and how to undo it."""
  if kind == "csv":
    train, test = csv_data(tmp_path)
    original = train.read_text()
    def change():
      with open(train, "a") as f:
        f.write("0.5,0.5,0.5,1\n" * 6)
      return ("train 40 -> 46 examples (class 1: 20 -> 26); test: values differ",
              lambda: train.write_text(original))
    args = ["--config.data.source=csv"]
  else:
    train, test = image_data(tmp_path)
    def change():
      write_image_folder(tmp_path / "extra", ["b"], 1, size=(6, 6), seed=2)
      added = train / "b" / "img_new.png"
      os.replace(tmp_path / "extra" / "b" / "img_000.png", added)
      return "train 12 -> 13 examples (class b: 6 -> 7)", lambda: os.remove(added)
    args = ["--config.data.source=image_folder", "--config.data.image_size=4"]
  return args + [f"--config.data.path={train}", f"--config.data.test_path={test}"], change


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["csv", "image_folder"])
def test_a_relaunch_on_changed_data_is_refused_and_resumes_once_it_is_back(tmp_path, capsys,
                                                                          kind):
  data_args, change = _data(tmp_path, kind)
  status, errors, _ = _launch(capsys, tmp_path / "whole", *data_args, "--config.train.epochs=2")
  assert status == 0, errors
  status, errors, _ = _launch(capsys, tmp_path / "run", *data_args, "--config.train.epochs=1")
  assert status == 0, errors

  checkpoints = _files(tmp_path / "run" / "checkpoints")
  assert checkpoints
  expected, undo = change()
  status, errors, _ = _launch(capsys, tmp_path / "run", *data_args, "--config.train.epochs=2")
  workdir = str(tmp_path / "run")
  assert status == 1 and errors == [
      f"error: the data of --workdir={workdir!r} changed since the run started: {expected}; "
      "relaunch on the data it started with to resume, or train on the new data in a new "
      "--workdir (model.init_from can start it from this run's final model)"]
  assert _files(tmp_path / "run" / "checkpoints") == checkpoints, "intact, nothing renamed"

  undo()
  status, errors, out = _launch(capsys, tmp_path / "run", *data_args, "--config.train.epochs=2")
  assert status == 0 and "Resuming from step" in out, errors
  (tables, weights), (whole_tables, whole_weights) = (_final_state(tmp_path / "run"),
                                                       _final_state(tmp_path / "whole"))
  assert tables.keys() == whole_tables.keys() and len(weights) == len(whole_weights)
  for key in tables:
    np.testing.assert_array_equal(tables[key], whole_tables[key], err_msg=key)
  for a, b in zip(weights, whole_weights):
    np.testing.assert_array_equal(a, b)


def _messages(err):
  return [l for l in err.splitlines() if l.startswith(("evaluate:", "inspect:", "warning:"))]


@pytest.mark.slow
def test_evaluate_and_label_issues_refuse_changed_data_unless_allowed(tmp_path, capsys):
  from framework.tools import evaluate, inspect_run  # pylint: disable=g-import-not-at-top
  data_args, change = _data(tmp_path, "csv")
  status, errors, _ = _launch(capsys, tmp_path / "run", *data_args, "--config.train.epochs=1")
  assert status == 0, errors
  workdir = str(tmp_path / "run")
  assert evaluate.main([workdir]) == 0 and _messages(capsys.readouterr().err) == []

  expected, _ = change()
  message = (f"the data of workdir {workdir!r}, rebuilt from its config.json, changed since "
             f"the run: {expected}")
  assert evaluate.main([workdir]) == 2
  captured = capsys.readouterr()
  assert _messages(captured.err) == [
      f"evaluate: {message}; restore the data it was trained on, or pass "
      "--allow_changed_data to use the data as it is now"] and captured.out == ""
  assert inspect_run.main([workdir, f"--label_issues={tmp_path / 'issues.csv'}"]) == 2
  assert _messages(capsys.readouterr().err)[0].startswith(f"inspect: {message}; ")
  assert not (tmp_path / "issues.csv").exists()

  assert evaluate.main([workdir, "--allow_changed_data"]) == 0
  captured = capsys.readouterr()
  assert _messages(captured.err) == [f"warning: {message}; using the data as it is now"]
  assert "accuracy" in captured.out
