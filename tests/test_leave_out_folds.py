"""The protocol's last two steps: data.leave_out (training examples listed in a file left
out, the rest re-indexed, their noise unchanged) and data.folds (cross-validation folds),
their records and one-line errors, and a relaunch on a changed leave-out file refused."""

import json
import os

import numpy as np
import pytest

from framework import data as data_lib
from framework import train
from framework.data.folds import fold_of
from framework.data.protocol_record import announcement
from framework.errors import ConfigError
from framework.runs.rundir import RunDir
from framework.train.relaunch import check_data, relaunch_changes
from framework.data.fingerprint import data_fingerprint
from framework.runs import files
from tests.helpers import synthetic_config

NOISY = {"source": "digits", "noise": {"kind": "symmetric", "rate": 0.4}, "seed": 3}


@pytest.fixture(scope="module")
def unpruned():
  return data_lib.build(NOISY)


def _build(**fields):
  return data_lib.build({**NOISY, **fields})


def test_listed_examples_leave_and_the_rest_keep_their_labels_and_noise(tmp_path, unpruned):
  path = tmp_path / "issues.csv"  # a label-issues csv: most suspect first, extra columns
  path.write_text("rank,index,score\n1,17,0.9\n2,4,0.8\n3,1000,0.7\n4,0,0.1\n")
  for count, left in ((0, [17, 4, 1000, 0]), (2, [17, 4])):
    data = _build(leave_out={"file": str(path), "count": count})
    kept = np.setdiff1d(np.arange(len(unpruned.train)), left)
    assert len(data.train) == len(unpruned.train) - len(left)
    np.testing.assert_array_equal(data.train.labels, unpruned.train.labels[kept])
    np.testing.assert_array_equal(data.train.clean_labels, unpruned.train.clean_labels[kept])
    np.testing.assert_array_equal(data.train.features, unpruned.train.features[kept])
    np.testing.assert_array_equal(data.info["train_origin"], unpruned.info["train_origin"][kept])
    np.testing.assert_array_equal(data.test.labels, unpruned.test.labels)
  record = data.info["protocol"][-1]
  assert (record["transform"], record["left_out"], record["total"]) == (
      "leave_out", 2, len(unpruned.train))
  assert announcement(record).startswith(f"data: left out 2 training examples listed in {path}")


def test_a_text_file_and_the_seed_in_its_name(tmp_path, unpruned):
  (tmp_path / "out_3.txt").write_text("5\n\n2\n")
  data = _build(leave_out={"file": str(tmp_path / "out_{seed}.txt")})
  np.testing.assert_array_equal(data.info["train_origin"],
                                np.delete(unpruned.info["train_origin"], [2, 5]))


@pytest.mark.parametrize("text, count, message", [
    (None, 0, "cannot be read (No such file or directory)"),
    ("3\nseven\n", 0, "line 2 holds 'seven', not an integer index"),
    ("index\n3\n99999\n", 0, "index 99999 (line 3) is outside the training split's 0..1345"),
    ("-1\n", 0, "index -1 (line 1) is outside"),
    ("4\n8\n4\n", 0, "index 4 is listed twice (lines 1 and 3)"),
    ("4\n8\n", 3, "data.leave_out.count=3 exceeds the 2 indices of data.leave_out.file="),
])
def test_a_bad_leave_out_file_is_one_line_naming_the_field(tmp_path, text, count, message):
  path = tmp_path / "out.txt"
  if text is not None:
    path.write_text(text)
  with pytest.raises(ConfigError) as e:
    _build(leave_out={"file": str(path), "count": count})
  assert message in str(e.value) and "\n" not in str(e.value)
  assert "data.leave_out" in str(e.value)


@pytest.mark.parametrize("fields, message", [
    ({"leave_out": {"count": 2}}, "data.leave_out.count=2 has no effect without"),
    ({"folds": {"count": 1}}, r"data.folds.count=1 must be 0 \(off\) or an integer >= 2"),
    ({"folds": {"count": 5, "held_out": 5}}, "data.folds.held_out=5 must be < "
                                             "data.folds.count=5"),
    ({"folds": {"held_out": 1}}, "data.folds.held_out=1 must be < data.folds.count=0"),
])
def test_bad_settings_are_one_line(fields, message):
  with pytest.raises(ConfigError, match=message):
    _build(**fields)


def test_folds_are_disjoint_cover_are_seeded_and_stratified():
  labels = np.random.default_rng(0).integers(0, 3, 103)
  fold = fold_of(labels, seed=7, count=4)
  assert set(fold) == {0, 1, 2, 3}
  for c in range(3):
    sizes = np.bincount(fold[labels == c], minlength=4)
    assert sizes.max() - sizes.min() <= 1, sizes
  np.testing.assert_array_equal(fold, fold_of(labels, seed=7, count=4))
  assert (fold != fold_of(labels, seed=8, count=4)).any()


def test_each_run_of_a_cross_validation_trains_on_the_other_folds(unpruned):
  fold = fold_of(unpruned.train.labels, NOISY["seed"], 3)
  seen = []
  for held_out in range(3):
    data = _build(folds={"count": 3, "held_out": held_out})
    rest = np.flatnonzero(fold != held_out)
    np.testing.assert_array_equal(data.info["train_origin"], unpruned.info["train_origin"][rest])
    np.testing.assert_array_equal(data.train.labels, unpruned.train.labels[rest])
    seen.append(np.flatnonzero(fold == held_out))
    assert announcement(data.info["protocol"][-1]).startswith(
        f"data: cross-validation fold {held_out} of 3 held out (data.folds): training on "
        f"{len(rest):,} of {len(unpruned.train):,} examples")
  assert sorted(np.concatenate(seen)) == list(range(len(unpruned.train)))


def test_a_changed_leave_out_file_is_changed_data_and_an_old_config_reads_the_defaults(
    tmp_path):
  listed = tmp_path / "out.txt"
  listed.write_text("1\n2\n")
  config = synthetic_config(data__leave_out={"file": str(listed)})
  rundir = RunDir(str(tmp_path / "run"))
  os.makedirs(rundir.path)
  recorded = json.loads(config.to_json_best_effort())
  for field in ("leave_out", "folds"):  # a run from before these fields
    recorded["data"].pop(field)
  recorded["data"]["leave_out"] = {"file": str(listed)}
  rundir.write_text(files.CONFIG, json.dumps(recorded))
  assert relaunch_changes(config, rundir) == {}
  rundir.write_json(files.DATA_FINGERPRINT, data_fingerprint(data_lib.build(config.data)))
  check_data(data_lib.build(config.data), rundir)  # the same data
  listed.write_text("1\n3\n")
  with pytest.raises(ConfigError, match="changed since the run started: train "):
    check_data(data_lib.build(config.data), rundir)


@pytest.mark.slow
def test_a_run_leaves_out_the_listed_examples_and_announces_it(tmp_path, capsys):
  listed = tmp_path / "out.txt"
  listed.write_text("0\n5\n9\n")
  config = synthetic_config(data__leave_out={"file": str(listed)}, train__epochs=1)
  whole = data_lib.build(synthetic_config().data)
  train.run(config, str(tmp_path / "run"), verbose=False)
  assert (f"data: left out 3 training examples listed in {listed} (data.leave_out)"
          in capsys.readouterr().out)
  np.testing.assert_array_equal(np.load(tmp_path / "run" / "labels.npy"),
                                np.delete(whole.train.labels, [0, 5, 9]))
