"""A sweep of bad inputs through the launcher: each is one line on stderr starting with
"error:", a non-zero exit status, no traceback, and the workdir absent (or, when it held a
run, byte-identical). The launcher's `main` runs in this process, so the sweep is quick."""

import hashlib
import importlib.util
import os
import shutil

import numpy as np
import pytest

from framework.runs.rundir import RunDir
from tests.test_launch import FAST, ROOT

_spec = importlib.util.spec_from_file_location("launcher", os.path.join(ROOT, "launch.py"))
launcher = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(launcher)


def _files(tmp):
  """The bad data files and experiment files the cases below point at."""
  rng = np.random.default_rng(0)
  def csv(name, text):
    (tmp / name).write_text(text)
    return str(tmp / name)
  rows = "".join(f"{i % 7},{i % 3},{i % 2}\n" for i in range(60))
  images = rng.integers(0, 255, (40, 4, 4), dtype=np.uint8).astype(np.float32) / 255
  images[3, 1, 1] = np.nan
  np.savez(tmp / "nan.npz", x=images, y=np.arange(40) % 2)
  np.savez(tmp / "empty_features.npz", x=np.zeros((40, 0)), y=np.arange(40) % 2)
  np.savez(tmp / "no_keys.npz", a=np.zeros(3))
  (tmp / "a_file").write_text("not a folder")
  (tmp / "none.py").write_text("def get_config(variant=None):\n  return None\n")
  (tmp / "raises.py").write_text("def get_config(variant=None):\n  raise RuntimeError('x')\n")
  os.makedirs(tmp / "no_classes")
  (tmp / "list.txt").write_text("a.jpg 0\nnot a line\n")
  return {
      "no_label": csv("no_label.csv", "a,b,klass\n" + rows),
      "text": csv("text.csv", "a,b,label\n" + "".join(f"u{i},1,{i % 2}\n" for i in range(40))),
      "huge": csv("huge.csv", "a,label\n" + "".join(f"{1e308 * (1 - i % 2)},{i % 2}\n"
                                                     for i in range(40))),
      "label_1e9": csv("label.csv", "a,label\n" + "".join(f"{i},{i % 2}\n" for i in range(39))
                       + "5,1000000000\n"),
      "nan": str(tmp / "nan.npz"), "empty_features": str(tmp / "empty_features.npz"),
      "no_keys": str(tmp / "no_keys.npz"), "a_file": str(tmp / "a_file"),
      "none": str(tmp / "none.py"), "raises": str(tmp / "raises.py"),
      "no_classes": str(tmp / "no_classes"), "list": str(tmp / "list.txt"),
  }


CASES = {  # name -> (arguments, a piece of the one line); {key} is a file of _files
    "unknown field": (["--config.foo=1"], "no field 'foo'"),
    "typo": (["--config.optimizer.learning_rat=1"], "did you mean 'optimizer.learning_rate'"),
    "unknown variant": (["--config=experiments/default.py:nope"], "variant 'nope'"),
    "missing experiment": (["--config=nope.py"], "no such file"),
    "get_config returns None": (["--config={none}"], "returned NoneType"),
    "get_config raises": (["--config={raises}"], "does not load (RuntimeError"),
    "unknown flag": (["--wrkdir=x"], "Did you mean: workdir"),
    "wrong type": (["--config.train.epochs=abc"], "--config.train.epochs=abc"),
    "unknown source": (["--config.data.source=nope"], "data.source='nope'"),
    "unknown loss": (["--config.loss.name=nope"], "loss.name='nope'"),
    "unknown rule": (["--config.rule.name=nope"], "rule.name='nope'"),
    "unknown model": (["--config.model.name=nope"], "model.name='nope'"),
    "unknown strategy": (["--config.strategy.name=nope"], "strategy.name='nope'"),
    "unknown optimizer": (["--config.optimizer.name=nope"], "optimizer.name='nope'"),
    "unknown scheme": (["--config.class_weights.scheme=nope"], "class_weights.scheme='nope'"),
    "unknown precision": (["--config.precision=float8"], "precision='float8'"),
    "imbalance ratio": (["--config.data.long_tail.imbalance_ratio=0.5"], "imbalance_ratio=0.5"),
    "noise rate": (["--config.data.noise.kind=symmetric", "--config.data.noise.rate=1.5"],
                   "rate=1.5"),
    "negative seed": (["--config.seed=-5"], "seed=-5 must be an integer >= 0"),
    "infinite lr": (["--config.optimizer.learning_rate=inf"], "learning_rate=inf"),
    "negative lr": (["--config.optimizer.learning_rate=-1.0"], "learning_rate=-1.0"),
    "zero batch": (["--config.train.batch_size=0"], "train.batch_size=0"),
    "zero epochs": (["--config.train.epochs=0"], "train.epochs=0"),
    "zero eval batch": (["--config.eval.batch_size=0"], "eval.batch_size=0"),
    "heatmap": (["--config.logging.heatmap_max_columns=0"], "heatmap_max_columns=0"),
    "tracked index": (["--config.logging.tracked_indices=(5000,)"], "tracked_indices has 5000"),
    "nonfinite policy": (["--config.train.on_nonfinite=maybe"], "on_nonfinite='maybe'"),
    "unknown augment": (["--config.data.augment=flip"], "data.augment='flip'"),
    "mean channels": (["--config.data.mean=(0.1,0.2)"], "data.mean has 2 values"),
    "empty test split": (FAST + ["--config.data.test_fraction=0.0001"], "no test examples"),
    "validation too large": (["--config.data.val_per_class=1000"], "val_per_class=1000"),
    "select best without validation": (["--config.eval.select_best=macro_f1"],
                                       "needs a clean validation split"),
    "unknown kwarg": (["--config.rule.name=loss_ema", "--config.rule.kwargs.rat=0.5"],
                      "allowed: rate, temperature"),
    "bad kwarg value": (["--config.loss.name=focal", "--config.loss.kwargs.gamma=-1"],
                        "gamma=-1.0"),
    "optimizer kwarg type": (["--config.optimizer.name=sgd",
                              "--config.optimizer.kwargs.momentum=fast"], "momentum=fast"),
    "model kwarg type": (FAST + ["--config.model.name=mlp", "--config.model.kwargs.hidden=wide"],
                         "model (mlp)"),
    "csv without path": (["--config.data.source=csv"], "data.path=''"),
    "csv without label": (["--config.data.source=csv", "--config.data.path={no_label}"],
                          "label_column"),
    "csv id column": (["--config.data.source=csv", "--config.data.path={text}"],
                      "column 'a' has 40 distinct values in 40 rows"),
    "csv overflow": (["--config.data.source=csv", "--config.data.path={huge}",
                      "--config.model.name=mlp"], "overflows when standardised"),
    "csv huge label": (["--config.data.source=csv", "--config.data.path={label_1e9}",
                        "--config.data.remap_labels=False", "--config.model.name=mlp"],
                       "leave class ids 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, ... (999999998 in all)"),
    "npz nan pixel": (["--config.data.source=npz", "--config.data.path={nan}"], "non-finite"),
    "npz zero columns": (["--config.data.source=npz", "--config.data.path={empty_features}"],
                         "no values per example"),
    "npz keys": (["--config.data.source=npz", "--config.data.path={no_keys}"], "lacks"),
    "folder without classes": (["--config.data.source=image_folder",
                                "--config.data.path={no_classes}"], "no class sub-folders"),
    "list line": (["--config.data.source=image_list", "--config.data.path={list}"],
                  "line 1: image 'a.jpg' not found"),
    "missing extra module": (["--config.extra_modules=('missing.py',)"], "missing.py"),
    "mirrored batch": (FAST + ["--config.strategy.name=mirrored", "--config.strategy.cpu_devices=2",
                               "--config.train.batch_size=33"], "divisible by the 2"),
    "workdir is a file": (FAST + ["--workdir={a_file}"], "is a file"),
    "workdir under /proc": (FAST + ["--workdir=/proc/framework/run"], "cannot be created"),
}


def _digest(folder):
  out = {}
  for dirpath, _, files in os.walk(folder):
    for f in files:
      out[os.path.join(dirpath, f)] = hashlib.sha256(open(os.path.join(dirpath, f), "rb")
                                                     .read()).hexdigest()
  return out


@pytest.fixture(scope="module")
def files(tmp_path_factory):
  return _files(tmp_path_factory.mktemp("bad"))


def _run(args, workdir, capsys, env=None):
  old = {k: os.environ.get(k) for k in (env or {})}
  os.environ.update(env or {})
  try:
    status = launcher.main(["launch.py", *args] + ([] if any(a.startswith("--workdir")
                                                              for a in args)
                                                   else [f"--workdir={workdir}"]))
  finally:
    for k, v in old.items():
      os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
  return status, capsys.readouterr()


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_one_line(name, files, tmp_path, capsys):
  args, needle = CASES[name]
  args = [a.format(**files) for a in args]
  status, out = _run(args, tmp_path / "run", capsys)
  lines = [l for l in out.err.splitlines() if l.strip()]
  assert status != 0 and len(lines) == 1 and lines[0].startswith("error: "), out.err
  assert needle in lines[0], lines[0]
  assert "Traceback" not in out.err + out.out
  assert not (tmp_path / "run").exists()


def test_bad_tf_config_for_multi_worker(tmp_path, capsys):
  status, out = _run(["--config.strategy.name=multi_worker"], tmp_path / "run", capsys,
                     env={"TF_CONFIG": "{not json"})
  assert status == 1 and out.err.count("\n") == 1 and "TF_CONFIG is not valid" in out.err
  assert not (tmp_path / "run").exists()


@pytest.mark.slow
def test_a_failed_start_leaves_an_existing_run_untouched(tmp_path, capsys, finished_run):
  workdir = shutil.copytree(finished_run, tmp_path / "run")  # 2 epochs
  before = _digest(workdir)
  for args in (["--config.loss.name=nope"], ["--config.loss.name=focal"],
               ["--config.seed=-1"]):
    status, out = _run(FAST + ["--config.train.epochs=2"] + args, workdir, capsys)
    assert status == 1 and len(out.err.strip().splitlines()) == 1, out.err
  with RunDir(workdir).lock():  # a live run holds the workdir
    status, out = _run(FAST + ["--config.train.epochs=2"], workdir, capsys)
    assert status == 1 and "in use by a running run" in out.err
  after = _digest(workdir)
  assert {k: v for k, v in after.items() if not k.endswith(".lock")} == {
      k: v for k, v in before.items() if not k.endswith(".lock")}


def test_a_full_disk_is_one_line_naming_the_path(capsys):
  import errno  # pylint: disable=g-import-not-at-top
  from framework.tools import cli  # pylint: disable=g-import-not-at-top
  status = cli.report(OSError(errno.ENOSPC, "No space left on device", "/runs/x/results.json"))
  err = capsys.readouterr().err
  assert status == 1 and err == "error: /runs/x/results.json: No space left on device\n"
