"""The launcher's sweep of bad inputs: the cases, and how a launch on one of them ended
(the files they point at: tests/bad_input_files.py).

Each case is what a new user gets wrong (an unknown name, a wrong type, a value out of
range, a missing, empty or unreadable file, a file of the wrong shape); the launcher must
answer it with one line on stderr starting "error:", a non-zero exit status, no traceback,
and no workdir. `tests/test_bad_inputs.py` asserts it case by case; `python -m
tests.bad_input_totals` counts how the cases end.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import os

from tests.test_launch import FAST, ROOT

CSV = ["--config=experiments/tabular.py"]


def load_launcher():
  """launch.py as a module, so its `main` runs in this process (no TensorFlow start-up per
  case)."""
  spec = importlib.util.spec_from_file_location("launcher", os.path.join(ROOT, "launch.py"))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


CASES = {  # name -> (arguments, a piece of the one line); {key}: a file of
           # tests.bad_input_files.write_files
    # the command line
    "unknown field": (["--config.foo=1"], "no field 'foo'"),
    "typo": (["--config.optimizer.learning_rat=1"], "did you mean 'optimizer.learning_rate'"),
    "unknown flag": (["--wrkdir=x"], "Did you mean: workdir"),
    "stray positional argument": (["my_run"], "unexpected argument 'my_run'"),
    "positional argument as workdir": (FAST + ["runs/x"], "pass --workdir=runs/x"),
    "wrong type": (["--config.train.epochs=abc"], "--config.train.epochs=abc"),
    "fractional epochs": (["--config.train.epochs=1.5"], "train.epochs must be an integer"),
    "boolean as text": (["--config.deterministic=maybe"], "deterministic must be true or false"),
    "learning rate as text": (["--config.optimizer.learning_rate=fast"],
                              "learning_rate=fast: optimizer.learning_rate must be a number > 0"),
    # the experiment file
    "unknown variant": (["--config=experiments/default.py:nope"], "variant 'nope'"),
    "missing experiment": (["--config=nope.py"], "no such file"),
    "experiment is a folder": (["--config=experiments"], "no such file"),
    "experiment is not python": (["--config=README.md"], "is not an experiment file"),
    "experiment syntax error": (["--config={syntax}"], "does not load (SyntaxError"),
    "experiment without get_config": (["--config={no_get_config}"], "get_config"),
    "get_config returns None": (["--config={none}"], "returned NoneType"),
    "get_config raises": (["--config={raises}"], "does not load (RuntimeError"),
    # names of components
    "unknown source": (["--config.data.source=nope"], "data.source='nope'"),
    "unknown loss": (["--config.loss.name=nope"], "loss.name='nope'"),
    "unknown rule": (["--config.rule.name=nope"], "rule.name='nope'"),
    "unknown model": (["--config.model.name=nope"], "model.name='nope'"),
    "unknown strategy": (["--config.strategy.name=nope"], "strategy.name='nope'"),
    "unknown optimizer": (["--config.optimizer.name=nope"], "optimizer.name='nope'"),
    "unknown scheme": (["--config.class_weights.scheme=nope"], "class_weights.scheme='nope'"),
    "unknown schedule": (["--config.optimizer.schedule=nope"], "schedule='nope'"),
    "unknown precision": (["--config.precision=float8"], "precision='float8'"),
    "unknown long-tail profile": (["--config.data.long_tail.profile=nope"], "profile='nope'"),
    "unknown noise kind": (["--config.data.noise.kind=nope"], "kind='nope'"),
    "unknown augment": (["--config.data.augment=flip"], "data.augment='flip'"),
    "unknown jit mode": (["--config.train.jit_compile=yes"], "jit_compile='yes'"),
    "unknown weight decay mode": (["--config.optimizer.weight_decay_mode=nope"],
                                  "weight_decay_mode='nope'"),
    "unknown selection metric": (["--config.data.val_per_class=5",
                                  "--config.eval.select_best=loss"], "select_best='loss'"),
    "nonfinite policy": (["--config.train.on_nonfinite=maybe"], "on_nonfinite='maybe'"),
    # values out of range
    "imbalance ratio": (["--config.data.long_tail.imbalance_ratio=0.5"], "imbalance_ratio=0.5"),
    "noise rate": (["--config.data.noise.kind=symmetric", "--config.data.noise.rate=1.5"],
                   "rate=1.5"),
    "negative noise rate": (["--config.data.noise.kind=symmetric",
                             "--config.data.noise.rate=-0.1"], "rate=-0.1"),
    "negative seed": (["--config.seed=-5"], "seed=-5 must be an integer in [0, 4294967295]"),
    "seed beyond 32 bits": (["--config.seed=1099511627776"], "seed=1099511627776 must be"),
    "infinite lr": (["--config.optimizer.learning_rate=inf"], "learning_rate=inf"),
    "negative lr": (["--config.optimizer.learning_rate=-1.0"], "learning_rate=-1.0"),
    "zero batch": (["--config.train.batch_size=0"], "train.batch_size=0"),
    "negative batch": (["--config.train.batch_size=-1"], "train.batch_size=-1"),
    "zero epochs": (["--config.train.epochs=0"], "train.epochs=0"),
    "zero eval batch": (["--config.eval.batch_size=0"], "eval.batch_size=0"),
    "test fraction 1": (["--config.data.test_fraction=1.0"], "test_fraction=1.0"),
    "negative image size": (["--config.data.image_size=-1"], "image_size=-1"),
    "heatmap": (["--config.logging.heatmap_max_columns=0"], "heatmap_max_columns=0"),
    "tracked index": (["--config.logging.tracked_indices=(5000,)"], "tracked_indices has 5000"),
    "negative tracked index": (["--config.logging.tracked_indices=(-1,)"], "tracked_indices"),
    "mean channels": (["--config.data.mean=(0.1,0.2)"], "data.mean has 2 values"),
    "decay epochs out of order": (["--config.optimizer.schedule=step",
                                   "--config.optimizer.decay_epochs=(10,5)"], "decay_epochs"),
    "decay epochs without a step schedule": (["--config.optimizer.decay_epochs=(5,6)"],
                                             "decay_epochs=(5, 6) has no effect with "
                                             "optimizer.schedule='constant'"),
    "step schedule without decay epochs": (["--config.optimizer.schedule=step"],
                                           "needs optimizer.decay_epochs"),
    "decay factors count": (["--config.optimizer.schedule=step",
                             "--config.optimizer.decay_epochs=(5,)",
                             "--config.optimizer.decay_factors=(0.1,0.01)"],
                            "one multiplier for each"),
    "weight decay twice": (["--config.optimizer.name=adamw", "--config.optimizer.weight_decay=0.1",
                            "--config.optimizer.kwargs.weight_decay=0.1"], "both set"),
    "tau norm out of range": (["--config.eval.tau_norm=2"], "tau_norm='2'"),
    "shot thresholds reversed": (["--config.eval.shot_thresholds=(5,10)"], "shot_thresholds"),
    "positive class below -1": (["--config.eval.positive_class=-2"], "positive_class=-2"),
    "empty test split": (FAST + ["--config.data.test_fraction=0.0001"], "no test examples"),
    "validation too large": (["--config.data.val_per_class=1000"], "val_per_class=1000"),
    "select best without validation": (["--config.eval.select_best=macro_f1"],
                                       "needs a clean validation split"),
    # component kwargs
    "unknown kwarg": (["--config.rule.name=loss_ema", "--config.rule.kwargs.rat=0.5"],
                      "allowed: rate, temperature"),
    "bad kwarg value": (["--config.loss.name=focal", "--config.loss.kwargs.gamma=-1"],
                        "gamma=-1.0"),
    "kwarg as text": (["--config.loss.name=focal", "--config.loss.kwargs.gamma=strong"],
                      "gamma=strong"),
    "boolean kwarg as text": (["--config.rule.name=exp_gradient",
                               "--config.rule.kwargs.per_sample=maybe"], "per_sample=maybe"),
    "scheme kwarg out of range": (["--config.class_weights.scheme=effective_number",
                                   "--config.class_weights.kwargs.beta=1.5"], "beta"),
    "optimizer kwarg type": (["--config.optimizer.name=sgd",
                              "--config.optimizer.kwargs.momentum=fast"], "momentum=fast"),
    "model kwarg type": (FAST + ["--config.model.name=mlp", "--config.model.kwargs.hidden=wide"],
                         "model.kwargs.hidden='wide' must be a list, each item an integer"),
    "boolean kwarg as text in a file": (["--config={per_sample_text}"],
                                        "rule.kwargs.per_sample='no' must be true or false"),
    "number kwarg as text in a file": (["--config={eta_text}"],
                                       "rule.kwargs.eta='0.1' must be a number"),
    "optimizer kwarg as text in a file": (["--config={beta_text}"],
                                          "optimizer.kwargs.beta_1='0.9' must be a number"),
    "optional optimizer kwarg as text": (["--config={clipnorm_text}"],
                                         "optimizer.kwargs.clipnorm='1' must be a number"),
    "integer kwarg as a fraction": (["--config={dense_float}"],
                                    "model.kwargs.dense=64.5 must be an integer"),
    # extra modules
    "missing extra module": (["--config.extra_modules=('missing.py',)"], "missing.py"),
    "extra modules unquoted": (["--config.extra_modules=(mine.py,)"],
                               "quote each item: --config.extra_modules="),
    "extra modules unquoted, by path": (["--config.extra_modules=(/lib/mine.py,)"],
                                        "quote each item: --config.extra_modules="),
    "extra module exits": (["--config.extra_modules=('{exits}',)"], "calls sys.exit(0)"),
    "extra module raises": (["--config.extra_modules=('{module_raises}',)"],
                            "does not import (ImportError"),
    # csv files
    "csv without path": (["--config.data.source=csv"], "data.path=''"),
    "csv is a folder": (CSV + ["--config.data.path={images}"], "is not a readable file"),
    "csv is an npz": (CSV + ["--config.data.path={short_labels}"], "data.source=npz"),
    "csv without label": (CSV + ["--config.data.path={no_label}"], "label_column"),
    "csv id column": (CSV + ["--config.data.path={text}"],
                      "column 'a' has 40 distinct values in 40 rows"),
    "csv overflow": (CSV + ["--config.data.path={huge}"], "beyond the float32 range"),
    "csv huge label": (CSV + ["--config.data.path={label_1e9}", "--config.data.remap_labels=False"],
                       "leave class ids 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, ... (999999998 in all)"),
    "csv duplicate column": (CSV + ["--config.data.path={dup}"], "names column 'a' twice"),
    "csv duplicate label column": (CSV + ["--config.data.path={dup_label}"],
                                   "names column 'label' twice"),
    "csv blank column name": (CSV + ["--config.data.path={blank_header}"],
                              "column 2 of the header has no name"),
    "csv empty file": (CSV + ["--config.data.path={empty_csv}"], "needs a header row"),
    "csv header only": (CSV + ["--config.data.path={header_only}"], "at least one data row"),
    "csv ragged row": (CSV + ["--config.data.path={ragged}"], "line 3 has 2 cells"),
    "csv not utf-8": (CSV + ["--config.data.path={latin1_csv}"], "is not UTF-8 text"),
    "csv only a label column": (CSV + ["--config.data.path={only_label}"], "no feature columns"),
    "csv infinite value": (CSV + ["--config.data.path={infinite_value}"],
                           "column 'a' has infinite values"),
    "csv one class": (CSV + ["--config.data.path={one_class}"], "holds one label"),
    "csv empty label": (CSV + ["--config.data.path={empty_label}"], "has no label"),
    "csv fractional label": (CSV + ["--config.data.path={fraction_label}"], "is not an integer"),
    "csv mixed labels": (CSV + ["--config.data.path={mixed_labels}"], "mixes numbers and names"),
    "csv unlisted class name": (CSV + ["--config.data.path={one_class}",
                                       "--config.data.class_names=('neg','other')"],
                                "does not list"),
    "csv missing importance": (CSV + ["--config.data.path={two_features}",
                                      "--config.data.importance_column=w"],
                               "importance_column='w' is not a column"),
    "csv test columns differ": (CSV + ["--config.data.path={two_features}",
                                       "--config.data.test_path={other_features}"],
                                "lacks the training feature columns"),
    # npz files
    "npz nan pixel": (["--config.data.source=npz", "--config.data.path={nan}"], "non-finite"),
    "npz zero columns": (["--config.data.source=npz", "--config.data.path={empty_features}"],
                         "no values per example"),
    "npz keys": (["--config.data.source=npz", "--config.data.path={no_keys}"], "lacks"),
    "npz is not npz": (["--config.data.source=npz", "--config.data.path={not_npz}"],
                       "is not an .npz archive"),
    "npz fewer labels": (["--config.data.source=npz", "--config.data.path={short_labels}"],
                         "40 feature rows but 39 labels"),
    "npz text features": (["--config.data.source=npz", "--config.data.path={text_features}"],
                          "must be numeric"),
    "npz 5-d features": (["--config.data.source=npz", "--config.data.path={five_d}"],
                         "features of shape (40, 2, 2, 2, 2)"),
    "npz pixels beyond 1": (["--config.data.source=npz", "--config.data.path={pixels_255}"],
                            "store uint8 or floats in [0, 1]"),
    "npz fractional labels": (["--config.data.source=npz", "--config.data.path={float_labels}"],
                              "labels"),
    "npz test shape": (["--config.data.source=npz", "--config.data.path={test_shape}"],
                       "test features have shape"),
    # image folders and list files
    "folder without classes": (["--config.data.source=image_folder",
                                "--config.data.path={no_classes}"], "no class sub-folders"),
    "folder is a file": (["--config.data.source=image_folder", "--config.data.path={a_file}"],
                         "is not a folder"),
    "folder without images": (["--config.data.source=image_folder",
                               "--config.data.path={no_images}"], "no image files"),
    "test folder with other classes": (["--config.data.source=image_folder",
                                        "--config.data.path={two_classes}",
                                        "--config.data.test_path={images}"],
                                       "class folders bird that the training folder has not"),
    "list line": (["--config.data.source=image_list", "--config.data.path={list}"],
                  "line 1: image 'a.jpg' not found"),
    "list text label": (["--config.data.source=image_list", "--config.data.path={list_label}"],
                        "line 1 does not parse"),
    "list without images": (["--config.data.source=image_list",
                             "--config.data.path={list_empty}"], "lists no images"),
    "list not utf-8": (["--config.data.source=image_list", "--config.data.path={list_latin1}"],
                       "is not UTF-8 text (line 1"),
    "list is missing": (["--config.data.source=image_list", "--config.data.path=nope.txt"],
                        "is not a readable list file"),
    # where it runs
    # (a batch the CPU's replicas cannot split is tests/test_launch.py's, in a fresh
    # process: once TensorFlow is initialised, the CPU cannot be split)
    "workdir is a file": (FAST + ["--workdir={a_file}"], "is a file"),
    "workdir under /proc": (FAST + ["--workdir=/proc/framework/run"], "cannot be created"),
}


def launch(launcher, args: list[str], workdir) -> tuple[object, str, str]:
  """(exit status, stdout, stderr) of the launcher's `main` on `args` (with --workdir=
  `workdir` unless given); an exception that escapes `main` is its status."""
  if not any(a.startswith("--workdir") for a in args):
    args = [*args, f"--workdir={workdir}"]
  out, err = io.StringIO(), io.StringIO()
  with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
    try:
      status = launcher.main(["launch.py", *args])
    except BaseException as e:  # pylint: disable=broad-except  (a SystemExit counts too)
      status = e
  return status, out.getvalue(), err.getvalue()


def outcome(status, out: str, err: str, workdir_exists: bool) -> str:
  """How a launch on a bad input ended: "clean" (non-zero, one line "error: ...", no
  traceback, no workdir), "traceback", "accepted" (exit status 0: nothing said) or "other"
  (several lines, an escaped exception, or a workdir created)."""
  lines = [line for line in err.splitlines() if line.strip()]
  if "Traceback" in out + err:
    return "traceback"
  if status == 0 or (isinstance(status, SystemExit) and not status.code):
    return "accepted"
  if (isinstance(status, int) and len(lines) == 1 and lines[0].startswith("error: ")
      and not workdir_exists):
    return "clean"
  return "other"
