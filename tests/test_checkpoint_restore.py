"""Restoring a run's checkpoints: one that cannot be read is set aside, one that reads but
does not fit the model (a shape, a dtype, a missing variable) is refused in one line with
nothing renamed, and a folder of damaged checkpoints never silently restarts from step 0."""

import glob
import hashlib
import os
import re

import pytest
import tensorflow as tf

from framework.errors import ConfigError
from framework.train.controller import restore_newest_readable
from tests.test_data_fingerprint import ARGS, csv_data
from tests.test_launch import launch, launch_here


def _checkpoint(n=44, dtype=tf.float32, extra=False):
  """A checkpoint of a per-sample table of `n` rows and a step (and an extra variable)."""
  variables = {"table": tf.Variable(tf.zeros([n], dtype), name="table"),
               "step": tf.Variable(0, tf.int64, name="step")}
  if extra:
    variables["bias"] = tf.Variable(tf.zeros([3]), name="bias")
  return tf.train.Checkpoint(**variables)


def _save(folder, steps=(5, 10)):
  checkpoint = _checkpoint()
  manager = tf.train.CheckpointManager(checkpoint, str(folder), max_to_keep=3)
  for step in steps:
    checkpoint.step.assign(step)
    manager.save(checkpoint_number=step)


def _files(folder):
  return {os.path.basename(p): hashlib.sha256(open(p, "rb").read()).hexdigest()
          for p in glob.glob(os.path.join(folder, "*"))}


@pytest.mark.parametrize("model, what", [
    ({"n": 50}, "variable 'table' has shape (44,) in the checkpoint and (50,) in the model"),
    ({"dtype": tf.float64}, "variable 'table' has dtype float in the checkpoint and double in "
                            "the model"),
    ({"extra": True}, "variable 'bias' (shape (3,)) of the model is not in the checkpoint"),
])
def test_a_checkpoint_that_does_not_fit_is_refused_with_nothing_renamed(tmp_path, model, what):
  _save(tmp_path)
  before = _files(tmp_path)
  with pytest.raises(ConfigError) as error:
    restore_newest_readable(_checkpoint(**model), str(tmp_path))
  assert str(error.value) == (
      f"checkpoint {tmp_path / 'ckpt-10'} does not fit this model: {what}; the model or the "
      "data changed since it was saved (nothing renamed): relaunch with the code and data "
      "the run started with, or use a new --workdir")
  assert _files(tmp_path) == before


def test_a_truncated_newest_checkpoint_is_set_aside_and_the_previous_restored(tmp_path, capsys):
  _save(tmp_path)
  data = tmp_path / "ckpt-10.data-00000-of-00001"
  with open(data, "r+b") as f:
    f.truncate(os.path.getsize(data) // 2)
  model = _checkpoint()
  assert restore_newest_readable(model, str(tmp_path)) == [str(tmp_path / "ckpt-5")]
  assert int(model.step.numpy()) == 5
  assert re.match(r"warning: checkpoint .*ckpt-10 does not read .*set aside as "
                  r"ckpt-10\.\*\.damaged$", capsys.readouterr().err.strip())
  assert sorted(_files(tmp_path)) == ["checkpoint", "ckpt-10.data-00000-of-00001.damaged",
                                      "ckpt-10.index.damaged", "ckpt-5.data-00000-of-00001",
                                      "ckpt-5.index"]


def test_when_none_reads_every_launch_says_so(tmp_path):
  _save(tmp_path)
  for index in glob.glob(str(tmp_path / "ckpt-*.index")):
    with open(index, "r+b") as f:
      f.truncate(10)
  for _ in range(2):  # the second launch finds only the set-aside ones: no restart from 0
    with pytest.raises(ConfigError, match=r"^no checkpoint in .* reads \(2 set aside as "
                                          r"damaged\); remove the folder to start over$"):
      restore_newest_readable(_checkpoint(), str(tmp_path))


@pytest.mark.slow
def test_a_run_from_before_fingerprints_refuses_changed_data_at_its_checkpoint(tmp_path):
  """A workdir without a data fingerprint, its csv grown: the per-sample table no longer
  fits; one stderr line (no warning of TensorFlow's at exit), checkpoints untouched, and
  the next relaunch says the same instead of training from step 0."""
  train, test = csv_data(tmp_path)
  args = ARGS + ["--config.data.source=csv", f"--config.data.path={train}",
                 f"--config.data.test_path={test}", "--config.train.epochs=1"]
  assert launch_here(*args, workdir=tmp_path / "run").returncode == 0
  os.remove(tmp_path / "run" / "data_fingerprint.json")
  with open(train, "a") as f:
    f.write("0.5,0.5,0.5,1\n" * 6)
  checkpoints = _files(tmp_path / "run" / "checkpoints")
  for relaunch in (launch, launch_here):  # a real process first: what it prints up to its exit
    result = relaunch(*args, workdir=tmp_path / "run")
    lines = [l for l in result.stderr.splitlines() if l.strip()]
    assert result.returncode == 1 and len(lines) == 1, result.stderr
    assert re.match(r"error: checkpoint .*ckpt-5 does not fit this model: variable "
                    r"'sample_\w+' has shape \(40,\) in the checkpoint and \(46,\) in the "
                    r"model; ", lines[0]), lines[0]
    assert _files(tmp_path / "run" / "checkpoints") == checkpoints
