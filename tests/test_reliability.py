"""Reliability through launch.py: divergence never reaches a checkpoint, signals stop with a
checkpoint and resume identically, one run per workdir, damaged checkpoints are skipped,
relaunches with another config are refused, kwargs come from the command line."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from framework.config import set_field
from framework.errors import ConfigError
from framework.data.stream import index_batches
from framework.runs.rundir import RunDir
from framework.train.relaunch import relaunch_changes
from tests.helpers import synthetic_config
from tests.test_launch import FAST, ROOT, _checkpoint_values, _stderr_lines, launch, launch_here

POISON = '''
import framework, tensorflow as tf

@framework.register_rule("poison_example")
def poison_example(index: int = 7):
  """The loss is NaN in every step whose batch holds example `index`."""
  def modulate(view, batch):
    bad = tf.reduce_any(tf.equal(batch.index, index))
    return framework.Modulation(weight=tf.where(bad, float("nan"), 1.0) * tf.ones_like(
        view.per_sample["weight"]))
  return framework.Rule(modulate=modulate)
'''


N = 169  # FAST's training examples: 512 synthetic, a quarter held out, the default long tail
_EARLY = np.concatenate(list(index_batches(N, 32, 0).take(6).as_numpy_iterator()))
POISONED = int(next(i for i in next(iter(index_batches(N, 32, 0, 6))).numpy()
                    if i not in _EARLY))  # first seen at step 6 (dropped from epoch 0)


def _poison(tmp_path, *extra):
  (tmp_path / "poison.py").write_text(POISON)
  return FAST + ["--config.rule.name=poison_example", "--config.train.steps_per_loop=4",
                 f"--config.rule.kwargs.index={POISONED}",
                 f"--config.extra_modules=('{tmp_path / 'poison.py'}',)", *extra]


def _steps_with(index, steps, n=N, batch=32, seed=0):
  stream = index_batches(n, batch, seed).take(steps).as_numpy_iterator()
  return [s for s, rows in enumerate(stream) if index in rows]


@pytest.mark.slow
def test_divergence_stops_with_one_line_and_only_finite_checkpoints(tmp_path):
  result = launch_here(*_poison(tmp_path), workdir=tmp_path / "run")
  lines = _stderr_lines(result)
  assert result.returncode == 3 and len(lines) == 1, result.stderr
  assert len(np.load(tmp_path / "run" / "labels.npy")) == N
  assert _steps_with(POISONED, 7) == [6]
  assert lines[0].startswith("error: step 6: the loss went non-finite")
  checkpoints = tf.io.gfile.glob(str(tmp_path / "run" / "checkpoints" / "ckpt-*.index"))
  assert checkpoints, "the steps before the bad one were checkpointed"
  for index in checkpoints:
    reader = tf.train.load_checkpoint(index[:-len(".index")])
    for key in reader.get_variable_to_shape_map():
      value = reader.get_tensor(key)
      if np.issubdtype(np.asarray(value).dtype, np.floating):
        assert np.isfinite(value).all(), (index, key)
  assert not (tmp_path / "run" / "results.json").exists()


@pytest.mark.slow
def test_a_huge_learning_rate_is_one_line_naming_the_step(tmp_path):
  result = launch_here("--config.optimizer.learning_rate=1e6", "--config.train.epochs=3",
                       workdir=tmp_path / "run")
  lines = _stderr_lines(result)
  assert result.returncode == 3 and len(lines) == 1 and lines[0].startswith("error: step ")


@pytest.mark.slow
def test_skip_mode_finishes_and_counts(tmp_path):
  result = launch_here(*_poison(tmp_path, "--config.train.on_nonfinite=skip",
                                "--config.train.epochs=3"), workdir=tmp_path / "run")
  assert result.returncode == 0, result.stderr[-2000:]
  results = json.load(open(tmp_path / "run" / "results.json"))
  expected = _steps_with(POISONED, results["step"])
  assert results["skipped_steps"] == len(expected) > 1
  assert np.isfinite(results["final"]["accuracy"])


def _wait_for(path, seconds=120):
  deadline = time.time() + seconds
  while time.time() < deadline and not os.path.exists(path):
    time.sleep(0.1)
  assert os.path.exists(path), f"{path} never appeared"


EPOCHS = 1200  # 6,000 steps in one compiled loop: a second or more, to be interrupted in
LONG = FAST + ["--config.deterministic=True", f"--config.train.epochs={EPOCHS}",
               "--config.model.name=mlp", "--config.model.kwargs.hidden=(64,)",
               "--config.train.steps_per_loop=100000",
               f"--config.train.eval_every_epochs={EPOCHS}",
               "--config.logging.snapshot_every_epochs=0"]

LOOP_MARKER = '''
import framework, tensorflow as tf

@framework.register_rule("loop_marker")
def loop_marker(path: str = ""):
  """Appends every step to file `path` from inside the compiled loop (so a test knows when
  a signal lands in it); the weights stay 1."""
  def update(view, batch, result):
    tf.print(result.step, output_stream=f"file://{path}")
    return view
  return framework.Rule(update=update)
'''


def with_loop_marker(args, folder, marker):
  """`args` with the loop_marker rule (written into `folder`) appending to `marker`."""
  module = folder / "loop_marker.py"
  module.write_text(LOOP_MARKER)
  return args + [f"--config.extra_modules=('{module}',)", "--config.rule.name=loop_marker",
                 f"--config.rule.kwargs.path={marker}"]


@pytest.fixture(scope="module")
def whole_long_run(tmp_path_factory):
  """LONG with the loop marker, uninterrupted: the reference of the interrupted runs."""
  folder = tmp_path_factory.mktemp("long")
  args = with_loop_marker(LONG, folder, folder / "steps.txt")
  whole = launch_here(*args, workdir=folder / "whole")
  assert whole.returncode == 0, whole.stderr[-2000:]
  return folder / "whole"


@pytest.mark.parametrize("signal_number", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.slow
def test_a_signal_saves_a_checkpoint_and_the_relaunch_ends_identical(tmp_path, signal_number,
                                                                      whole_long_run):
  args = with_loop_marker(LONG, tmp_path, tmp_path / "steps.txt")
  stopped = tmp_path / "stopped"
  process = launch(*args, workdir=stopped, wait=False)
  _wait_for(tmp_path / "steps.txt")  # inside the (single, whole-run) compiled loop
  process.send_signal(signal_number)
  output, _ = process.communicate(timeout=120)
  assert process.returncode == 75, output[-2000:]
  lines = [l for l in output.splitlines() if l.startswith("error:")]
  assert len(lines) == 1 and "stopped at step" in lines[0] and "Traceback" not in output
  step = int(lines[0].split("stopped at step ")[1].split()[0])
  assert 0 < step < EPOCHS * 5, "stopped inside the loop, before its end"
  assert tf.train.latest_checkpoint(str(stopped / "checkpoints")).endswith(f"ckpt-{step}")
  resumed = launch_here(*args, workdir=stopped)
  assert resumed.returncode == 0 and f"Resuming from step {step}" in resumed.stdout
  a, b = _checkpoint_values(whole_long_run), _checkpoint_values(stopped)
  assert a.keys() == b.keys()
  for key in a:
    np.testing.assert_array_equal(a[key], b[key], err_msg=key)


@pytest.mark.slow
def test_one_run_per_workdir_and_stale_locks_do_not_block(tmp_path):
  very_long = LONG + [f"--config.train.epochs={50 * EPOCHS}"]  # killed long before its end
  first = launch(*very_long, workdir=tmp_path / "run", wait=False)
  _wait_for(tmp_path / "run" / "hparams")
  owner = f"pid {first.pid} on "
  second = launch_here(*very_long, workdir=tmp_path / "run")
  lines = _stderr_lines(second)
  assert second.returncode == 1 and len(lines) == 1 and "is in use by a running run" in lines[0]
  assert owner in lines[0] and second.stdout == "", "refused before building anything"
  assert first.poll() is None, "the first run is still going"
  assert open(tmp_path / "run" / ".lock").read().startswith(owner), "its lock is untouched"
  first.send_signal(signal.SIGKILL)  # leaves the lock file behind, but no lock
  first.wait()
  relaunch = launch_here(*very_long[:-1], "--config.train.epochs=1", workdir=tmp_path / "run")
  assert relaunch.returncode == 0, relaunch.stderr[-2000:]  # fewer epochs: finishes at once


@pytest.mark.slow
def test_a_truncated_newest_checkpoint_falls_back_with_a_warning(tmp_path, finished_run):
  shutil.copytree(finished_run, tmp_path / "run")  # 2 epochs
  newest = tf.train.latest_checkpoint(str(tmp_path / "run" / "checkpoints"))
  data = newest + ".data-00000-of-00001"
  with open(data, "r+b") as f:
    f.truncate(os.path.getsize(data) // 3)
  resumed = launch_here(*FAST, "--config.train.epochs=3", workdir=tmp_path / "run")
  assert resumed.returncode == 0, resumed.stderr[-2000:]
  warnings = [l for l in resumed.stderr.splitlines() if l.startswith("warning:")]
  assert len(warnings) == 1 and os.path.basename(newest) in warnings[0]
  results = json.load(open(tmp_path / "run" / "results.json"))
  assert results["epochs"] == 3 and results["config"]["train"]["epochs"] == 3
  assert json.load(open(tmp_path / "run" / "config.json"))["train"]["epochs"] == 3


@pytest.mark.slow
def test_a_missing_state_file_and_leftover_temp_folders(tmp_path, finished_run):
  shutil.copytree(finished_run, tmp_path / "run")  # 2 epochs
  folder = tmp_path / "run" / "checkpoints"
  os.remove(folder / "checkpoint")
  os.makedirs(folder / "ckpt-99_temp")
  resumed = launch_here(*FAST, "--config.train.epochs=2", workdir=tmp_path / "run")
  assert resumed.returncode == 0 and "Resuming from step" in resumed.stdout
  assert not (folder / "ckpt-99_temp").exists()


@pytest.mark.slow
def test_a_relaunch_with_another_config_is_refused(tmp_path, finished_run):
  shutil.copytree(finished_run, tmp_path / "run")  # 2 epochs
  before = open(tmp_path / "run" / "config.json").read()
  result = launch_here(*FAST, "--config.train.epochs=2", "--config.loss.name=focal",
                       workdir=tmp_path / "run")
  lines = _stderr_lines(result)
  assert result.returncode == 1 and len(lines) == 1 and "loss.name" in lines[0]
  assert open(tmp_path / "run" / "config.json").read() == before


@pytest.mark.parametrize("field, value", [
    ("rule.name", "loss_ema"), ("model.name", "linear"), ("optimizer.learning_rate", 0.5),
    ("data.num_samples", 600)])
def test_relaunch_changes_refuses_a_method_change(tmp_path, field, value):
  rundir = RunDir(str(tmp_path))
  rundir.write_text("config.json", synthetic_config().to_json_best_effort())
  changed = synthetic_config()
  set_field(changed, field, value)
  with pytest.raises(ConfigError, match=re.escape(field)):
    relaunch_changes(changed, rundir)
  longer = synthetic_config(train__epochs=9, logging__summary_every_loops=2)
  assert set(relaunch_changes(longer, rundir)) == {"train.epochs", "logging.summary_every_loops"}


@pytest.mark.parametrize("field, value", [("optimizer.schedule", "cosine"),
                                          ("data.sampler", "progressive")])
def test_a_run_laid_out_over_its_epochs_cannot_be_extended(tmp_path, field, value):
  rundir = RunDir(str(tmp_path))
  first = synthetic_config()
  set_field(first, field, value)
  rundir.write_text("config.json", first.to_json_best_effort())
  longer = synthetic_config(train__epochs=first.train.epochs + 5)
  set_field(longer, field, value)
  with pytest.raises(ConfigError, match="cannot change on a relaunch"):
    relaunch_changes(longer, rundir)


@pytest.mark.slow
def test_any_kwarg_from_the_command_line(tmp_path):
  result = launch_here("--config.loss.name=focal", "--config.loss.kwargs.gamma=1",
                       "--config.rule.name=loss_ema", "--config.rule.kwargs.rate=0.5",
                       "--config.train.epochs=1", workdir=tmp_path / "run")
  assert result.returncode == 0, result.stderr[-2000:]
  config = json.load(open(tmp_path / "run" / "config.json"))
  assert config["loss"]["kwargs"] == {"gamma": 1.0} and config["rule"]["kwargs"] == {"rate": 0.5}
  for args, needle in ((["--config.rule.name=loss_ema", "--config.rule.kwargs.rat=0.5"],
                        "--config.rule.kwargs.rat: not a parameter of rule 'loss_ema'; "
                        "allowed: rate, temperature"),
                       (["--config.loss.name=focal", "--config.loss.kwargs.gamma=-1"],
                        "loss (focal): gamma=-1.0")):
    bad = launch_here(*args, workdir=tmp_path / "bad")
    lines = _stderr_lines(bad)
    assert bad.returncode == 1 and len(lines) == 1 and needle in lines[0]
    assert not (tmp_path / "bad").exists()


@pytest.mark.slow
def test_help_lists_fields_and_variants():
  """(That --help loads no TensorFlow, what makes it fast, is tests/test_launch.py's.)"""
  done = subprocess.run([sys.executable, os.path.join(ROOT, "launch.py"), "--help",
                         "--config=experiments/fmnist_lt.py"], cwd=ROOT, capture_output=True,
                        text=True, timeout=60)
  assert done.returncode == 0
  assert "variants: ce, focal" in done.stdout and "train.batch_size = 128" in done.stdout
  assert "--list" in done.stdout


def test_kwarg_that_also_takes_text_from_the_command_line():
  """`inner_lr: float | str` takes a number or "model"; a float-only kwarg refuses text."""
  from framework.tools.cli import apply_kwargs  # pylint: disable=g-import-not-at-top
  config = synthetic_config(rule__name="mwnet", loss__name="focal")
  apply_kwargs(config, {("rule", "inner_lr"): "model"})
  assert config.rule.kwargs["inner_lr"] == "model"
  apply_kwargs(config, {("rule", "inner_lr"): "0.05"})
  assert config.rule.kwargs["inner_lr"] == 0.05
  with pytest.raises(ConfigError, match=r"--config.loss.kwargs.gamma=fast: could not convert"):
    apply_kwargs(config, {("loss", "gamma"): "fast"})
