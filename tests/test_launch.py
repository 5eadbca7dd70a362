"""The launcher end to end: one-line errors, kill -9 and resume, untouched workdir on failure."""

import contextlib
import hashlib
import io
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.framework import config as tf_config

import launch as launcher

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAST = ["--config.data.source=synthetic", "--config.data.num_samples=512",
        "--config.model.name=linear",
        "--config.train.batch_size=32"]

RULE_MODULE = '''
import framework, tensorflow as tf

@framework.register_rule("visit_counter")
def visit_counter():
  """Per-sample state that changes every step, to check it survives a kill."""
  def update(view, batch, result):
    w = view.per_sample["weight"]
    return view.replace(per_sample={"weight": 0.9 * w + 0.1 * result.loss})
  return framework.Rule(update=update)
'''


def launch(*args, workdir=None, wait=True):
  cmd = [sys.executable, os.path.join(ROOT, "launch.py"), *args]
  if workdir:
    cmd.append(f"--workdir={workdir}")
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=ROOT)
  if not wait:
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
  return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def launch_here(*args, workdir=None):
  """`launch` in this process: the same CompletedProcess (exit status, stdout, stderr) for
  an interpreter and a TensorFlow import less. A subprocess stays for what needs one:
  signals, kills, and what a fresh interpreter prints."""
  argv = ["launch.py", *args] + ([f"--workdir={workdir}"] if workdir else [])
  out, err = io.StringIO(), io.StringIO()
  deterministic = tf_config.is_op_determinism_enabled()
  try:
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
      status = launcher.main(argv)
  finally:
    if not deterministic:  # config.deterministic turns it on for the whole process
      tf_config.disable_op_determinism()
  return subprocess.CompletedProcess(argv, status, out.getvalue(), err.getvalue())


def _stderr_lines(result):
  """Every non-blank stderr line: TensorFlow's start-up lines are silenced, not filtered."""
  return [l for l in result.stderr.splitlines() if l.strip()]


# In a real process (exit status, stderr); the in-process sweep of tests/test_bad_inputs.py
# covers many more kinds of bad input.
@pytest.mark.parametrize("args, expected", [
    (["--config.foo=1"], "no field 'foo'"),
    (["--config.data.source=mnist", "--config.data.data_dir=/nonexistent"], "/nonexistent"),
    (FAST + ["--config.strategy.name=mirrored", "--config.strategy.cpu_devices=3"],
     "batch_size=32 must be divisible by the 3 replicas"),
])
@pytest.mark.slow
def test_bad_input_is_one_line_and_nonzero(tmp_path, args, expected):
  env_home = {"KERAS_HOME": str(tmp_path / "keras")}  # no cached mnist to fall back on
  os.environ.update(env_home)
  try:
    result = launch(*args, workdir=tmp_path / "run")
  finally:
    del os.environ["KERAS_HOME"]
  lines = _stderr_lines(result)
  assert result.returncode != 0
  assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
  assert expected in lines[0]
  assert "Traceback" not in result.stderr + result.stdout
  assert not (tmp_path / "run").exists(), "a failed start must not create the workdir"


def test_help_shows_each_field_with_its_value_and_doc():
  result = launch("--help", "--config=experiments/fmnist_lt.py:focal")
  assert result.returncode == 0, result.stderr
  lines = result.stdout.splitlines()
  assert "  loss.name = 'focal'  # the loss; a registered name (see --list)" in lines
  assert ("  data.noise.rate = 0.0  # share of labels corrupted; a number in [0, 1)"
          in lines)
  assert "helpfull" not in result.stdout


def test_help_does_not_import_tensorflow():
  code = ("import sys; from framework.tools import cli; "
          "cli.help_text(['--config=experiments/cifar10_lt.py'], 'usage'); "
          "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))")
  result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, env=dict(os.environ, PYTHONPATH=ROOT), timeout=60)
  assert result.returncode == 0 and result.stdout.strip() == "[]", result.stderr


def test_a_kwarg_of_the_wrong_type_is_one_line_before_the_workdir(tmp_path):
  """A kwarg of the wrong type (here mlp's hidden widths given as a string) is a one-line
  ConfigError naming it, before the factory is called."""
  (tmp_path / "exp.py").write_text(
      "from framework.config import base_config\n"
      "VARIANTS = {}\n"
      "def get_config(variant=None):\n"
      "  c = base_config()\n"
      "  c.data.source = 'synthetic'\n"
      "  c.model.kwargs = {'hidden': 'wide'}\n"
      "  return c\n")
  result = launch_here(f"--config={tmp_path / 'exp.py'}", workdir=tmp_path / "run")
  lines = _stderr_lines(result)
  assert result.returncode != 0 and len(lines) == 1, result.stderr
  assert lines[0].startswith("error: model.kwargs.hidden='wide' must be a list")
  assert "Traceback" not in result.stderr
  assert not (tmp_path / "run").exists()


def test_csv_without_label_column(tmp_path):
  (tmp_path / "d.csv").write_text("a,b,klass\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(40)))
  result = launch_here("--config.data.source=csv", f"--config.data.path={tmp_path / 'd.csv'}",
                       workdir=tmp_path / "run")
  lines = _stderr_lines(result)
  assert result.returncode != 0 and len(lines) == 1 and "label" in lines[0], result.stderr


def _checkpoint_values(workdir):
  """Every saved tensor by key, but the save counter and the object graph (which spells the
  process's Keras names, e.g. adam_2)."""
  path = tf.train.latest_checkpoint(os.path.join(workdir, "checkpoints"))
  reader = tf.train.load_checkpoint(path)
  return {k: reader.get_tensor(k) for k in reader.get_variable_to_shape_map()
          if "save_counter" not in k and k != "_CHECKPOINTABLE_OBJECT_GRAPH"}


def _digest(folder):
  out = {}
  for dirpath, _, files in os.walk(folder):
    for f in files:
      p = os.path.join(dirpath, f)
      out[p] = hashlib.sha256(open(p, "rb").read()).hexdigest()
  return out


def _kill_and_resume(tmp_path, args):
  """Runs `args` whole, and killed with SIGKILL after 3 checkpoints then relaunched; checks
  that every checkpointed tensor ends bit-identical. Returns the killed run's workdir. Only
  the killed run needs a process of its own."""
  whole = launch_here(*args, workdir=tmp_path / "whole")
  assert whole.returncode == 0, whole.stderr[-2000:]

  killed = tmp_path / "killed"
  process = launch(*args, workdir=killed, wait=False)
  deadline = time.time() + 240
  while time.time() < deadline:
    ckpts = tf.io.gfile.glob(os.path.join(killed, "checkpoints", "ckpt-*.index"))
    if len(ckpts) >= 3:
      break
    time.sleep(0.05)
  process.send_signal(signal.SIGKILL)
  process.wait()
  assert not (killed / "results.json").exists(), "the kill came after the run ended"
  resumed = launch_here(*args, workdir=killed)
  assert resumed.returncode == 0, resumed.stderr[-2000:]
  assert "Resuming from step" in resumed.stdout

  a, b = _checkpoint_values(tmp_path / "whole"), _checkpoint_values(killed)
  assert a.keys() == b.keys()
  assert any("weights/per_sample" in k for k in a) and any("optimizer" in k for k in a)
  for key in a:
    np.testing.assert_array_equal(a[key], b[key], err_msg=key)
  return killed


@pytest.mark.slow
def test_kill_and_resume_matches_uninterrupted_run(tmp_path):
  (tmp_path / "rule_module.py").write_text(RULE_MODULE)
  args = FAST + ["--config.deterministic=True", "--config.train.epochs=20",
                 "--config.train.steps_per_loop=4", "--config.rule.name=visit_counter",
                 f"--config.extra_modules=('{tmp_path / 'rule_module.py'}',)"]
  killed = _kill_and_resume(tmp_path, args)

  before = _digest(killed)  # a failed start leaves an existing workdir untouched
  failed = launch_here(*args, "--config.loss.name=nope", workdir=killed)
  assert failed.returncode != 0 and _digest(killed) == before


@pytest.mark.slow
def test_kill_and_resume_on_augmented_image_files(tmp_path):
  """The same on image files decoded on the fly, resized and augmented (crop_flip): the
  augmentation of a step depends on (seed, step) only, so the resumed run sees the same."""
  from tests.test_data_images import write_image_folder  # pylint: disable=g-import-not-at-top
  write_image_folder(tmp_path / "images", ["a", "b", "c"], 12, size=(10, 12))
  (tmp_path / "rule_module.py").write_text(RULE_MODULE)
  args = ["--config.data.source=image_folder", f"--config.data.path={tmp_path / 'images'}",
          "--config.data.image_size=8", "--config.data.augment=crop_flip",
          "--config.data.crop_padding=2", "--config.data.long_tail.profile=none",
          "--config.data.long_tail.imbalance_ratio=1", "--config.model.name=linear",
          "--config.train.batch_size=8", "--config.deterministic=True",
          "--config.train.epochs=20", "--config.train.steps_per_loop=4",
          "--config.train.eval_every_epochs=10", "--config.logging.snapshot_every_epochs=10",
          "--config.rule.name=visit_counter",
          f"--config.extra_modules=('{tmp_path / 'rule_module.py'}',)"]
  _kill_and_resume(tmp_path, args)
