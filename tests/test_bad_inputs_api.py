"""A sweep of bad inputs through the Python API (`framework.fit`) and the `python -m
framework.tools.*` commands (evaluate, predict, inspect_run with and without
--label_issues, check_rule).

A command case is clean when the command exits non-zero with one line on stderr holding
the expected words, no traceback, and the workdir byte-identical; an API case when `fit`
raises the expected exception type in one line holding the expected words (the argument's
name). Every case is tallied as clean, traceback (an exception escaped, or a traceback was
printed), silent (it succeeded) or other (e.g. two lines, or the wrong words);
`test_totals` prints the tally of the cases run (`python -m pytest -o addopts="" -q
tests/test_bad_inputs_api.py`, totals printed at the end).
"""

import collections
import hashlib
import os
import re
import shutil
import traceback

import keras
import numpy as np
import pytest

import framework
from framework.errors import ConfigError
from framework.tools import check_rule, evaluate, inspect_run, predict

TALLY: dict[str, str] = {}  # case -> outcome, for test_totals
COMMANDS = {"evaluate": evaluate.main, "predict": predict.main, "inspect": inspect_run.main,
            "check_rule": check_rule.main}


def _digest(path):
  if not os.path.isdir(path):
    return None
  return {os.path.join(d, f): hashlib.sha256(open(os.path.join(d, f), "rb").read()).hexdigest()
          for d, _, names in os.walk(path) for f in names}


def _edited(tmp, name, finished_run, edit):
  """A copy of the finished run named `name`, changed by `edit(workdir)`."""
  workdir = shutil.copytree(finished_run, tmp / name)
  edit(workdir)
  return str(workdir)


def _truncate(path, size):
  with open(path, "rb") as f:
    head = f.read(size)
  with open(path, "wb") as f:
    f.write(head)


def _remove(*names):
  def edit(workdir):
    for name in names:
      path = os.path.join(workdir, name)
      shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
  return edit


def _config_edit(change):
  def edit(workdir):
    path = os.path.join(workdir, "config.json")
    with open(path) as f:
      text = f.read()
    with open(path, "w") as f:
      f.write(change(text))
  return edit


def _latest_snapshot(workdir):
  snapshots = sorted(os.listdir(os.path.join(workdir, "weights")))
  return os.path.join(workdir, "weights", snapshots[-1])


@pytest.fixture(scope="module")
def paths(tmp_path_factory, finished_run):
  """Workdirs (a copy of the finished run, and damaged or unfinished variants of it) and
  bad data and rule files, by name."""
  tmp = tmp_path_factory.mktemp("bad_api")
  p = {"run": _edited(tmp, "run", finished_run, lambda w: None)}
  variants = {
      "unfinished": _remove("results.json", "model.keras", "saved_model"),
      "truncated_model": lambda w: _truncate(os.path.join(w, "model.keras"), 3000),
      "empty_model": lambda w: _truncate(os.path.join(w, "model.keras"), 0),
      "no_config": _remove("config.json"),
      "bad_config": _config_edit(lambda text: text[:len(text) // 2]),
      "list_config": _config_edit(lambda text: "[1, 2]"),
      "python_run": _config_edit(lambda t: t.replace('"source": "synthetic"',
                                                     '"source": "python"')),
      "changed_data": _config_edit(lambda t: t.replace('"num_samples": 512',
                                                       '"num_samples": 600')),
      "no_data_json": _remove("data.json"),
      "no_snapshots": _remove("weights"),
      "bad_snapshot": lambda w: _truncate(_latest_snapshot(w), 100),
  }
  for name, edit in variants.items():
    p[name] = _edited(tmp, name, finished_run, edit)
  os.makedirs(tmp / "empty")
  os.makedirs(tmp / "images")
  (tmp / "images" / "broken.png").write_text("not an image")
  (tmp / "a_file").write_text("not a workdir")
  rows = np.random.default_rng(0).normal(size=(6, 16)).astype(np.float32)
  nan_rows = rows.copy()
  nan_rows[1], nan_rows[4, 3] = np.nan, np.inf
  arrays = {"good": rows, "nan_rows": nan_rows, "zero_rows": rows[:0],
            "wide": np.zeros((6, 8), np.float32), "text": np.array([["a"] * 16] * 3),
            "image_arrays": np.zeros((3, 4, 4), np.float32), "one_row_vector": rows[0]}
  for name, x in arrays.items():
    np.savez(tmp / f"{name}.npz", x=x)
  np.savez(tmp / "no_x.npz", labels=np.zeros(3))
  (tmp / "not_zip.npz").write_text("not an npz")
  (tmp / "features.csv").write_text("a,b\n1,2\n")
  (tmp / "syntax.py").write_text("def broken(:\n")
  (tmp / "no_rule.py").write_text("X = 1\n")
  p.update({os.path.splitext(f)[0]: str(tmp / f) for f in os.listdir(tmp)
            if os.path.splitext(f)[0] not in p})
  p["missing"] = str(tmp / "missing")
  p["out"] = str(tmp / "out.csv")
  return p


def _npz(name):
  return f"--data={{{name}}}"


CASES = {  # name -> (command, arguments, words of the one line); {key} is a path of `paths`
    # evaluate
    "evaluate: no workdir": ("evaluate", [], "the following arguments are required"),
    "evaluate: missing": ("evaluate", ["{missing}"], "does not exist"),
    "evaluate: a file": ("evaluate", ["{a_file}"], "is not a directory"),
    "evaluate: empty folder": ("evaluate", ["{empty}"], "has no model.keras"),
    "evaluate: no config": ("evaluate", ["{no_config}"], "has no config.json"),
    "evaluate: truncated config": ("evaluate", ["{bad_config}"], "config.json is unreadable"),
    "evaluate: config a list": ("evaluate", ["{list_config}"], "holds no config"),
    "evaluate: unfinished": ("evaluate", ["{unfinished}"], "has no model.keras"),
    "evaluate: truncated model": ("evaluate", ["{truncated_model}"], "damaged or truncated"),
    "evaluate: empty model": ("evaluate", ["{empty_model}"], "damaged or truncated"),
    "evaluate: python arrays": ("evaluate", ["{python_run}"], "arrays passed from Python"),
    "evaluate: changed data": ("evaluate", ["{changed_data}"], "changed since the run"),
    "evaluate: no best model": ("evaluate", ["{run}", "--model=best.keras"],
                                "has no best.keras"),
    "evaluate: model not keras": ("evaluate", ["{run}", "--model=config.json"],
                                  "config.json is damaged or truncated"),
    "evaluate: unknown flag": ("evaluate", ["{run}", "--modle=model.keras"],
                               "unrecognized arguments"),
    # predict
    "predict: no --data": ("predict", ["{run}"], "--data"),
    "predict: missing data": ("predict", ["{run}", "--data={missing}"], "does not exist"),
    "predict: missing workdir": ("predict", ["{missing}", "--data={wide}"], "does not exist"),
    "predict: nan rows": ("predict", ["{run}", _npz("nan_rows"), "--output={out}"],
                          "rows 1, 4 (2 of 6) hold NaN or infinity"),
    "predict: zero rows": ("predict", ["{run}", _npz("zero_rows"), "--output={out}"],
                           "holds no rows"),
    "predict: too wide": ("predict", ["{run}", _npz("wide"), "--output={out}"],
                          "examples of shape [8]; the run takes feature vectors [16]"),
    "predict: text": ("predict", ["{run}", _npz("text"), "--output={out}"], "<U1 values"),
    "predict: images for vectors": ("predict", ["{run}", _npz("image_arrays"),
                                    "--output={out}"],
                                    "shape [4, 4, 1]"),
    "predict: one vector": ("predict", ["{run}", _npz("one_row_vector"), "--output={out}"],
                            "shape []"),
    "predict: no x in npz": ("predict", ["{run}", _npz("no_x"), "--output={out}"],
                             "no x / features / x_test"),
    "predict: not an npz": ("predict", ["{run}", _npz("not_zip"), "--output={out}"],
                            "not_zip.npz' is not a readable .npz"),
    "predict: csv for arrays": ("predict", ["{run}", _npz("features"), "--output={out}"],
                                "not trained on a csv"),
    "predict: image folder for vectors": ("predict", ["{run}", "--data={images}",
                                                      "--output={out}"],
                                          "neither an .npz nor a .csv"),
    "predict: empty folder": ("predict", ["{run}", "--data={empty}", "--output={out}"],
                              "neither an .npz nor a .csv"),
    "predict: npy file": ("predict", ["{run}", "--data={run}/labels.npy", "--output={out}"],
                          "neither an .npz nor a .csv"),
    "predict: output in /proc": ("predict", ["{run}", _npz("good"), "--output=/proc/x/o.csv"],
                                 "/proc/x/o.csv"),
    "predict: output is a folder": ("predict", ["{run}", _npz("good"), "--output={empty}"],
                                    "Is a directory"),
    "predict: truncated model": ("predict", ["{truncated_model}", _npz("good"),
                                             "--output={out}"], "damaged or truncated"),
    "predict: unfinished": ("predict", ["{unfinished}", _npz("good"), "--output={out}"],
                            "has no model.keras"),
    "predict: no data.json": ("predict", ["{no_data_json}", _npz("wide"), "--output={out}"],
                              "has no data.json"),
    # inspect_run
    "inspect: missing": ("inspect", ["{missing}"], "does not exist"),
    "inspect: a file": ("inspect", ["{a_file}"], "is not a directory"),
    "inspect: empty folder": ("inspect", ["{empty}"], "no weight snapshots"),
    "inspect: no snapshots": ("inspect", ["{no_snapshots}"], "no weight snapshots"),
    "inspect: truncated snapshot": ("inspect", ["{bad_snapshot}"], "damaged or incomplete"),
    "inspect: unknown table": ("inspect", ["{run}", "--table=per_sample/nope"],
                               "table 'per_sample/nope' is not in the snapshots"),
    "inspect: negative top": ("inspect", ["{run}", "--top=-1"], "--top=-1 must be >= 0"),
    "inspect: top not a number": ("inspect", ["{run}", "--top=ten"], "invalid int value"),
    "inspect: no config": ("inspect", ["{no_config}", "--label_issues={out}"],
                           "has no config.json"),
    "inspect: issues to /proc": ("inspect", ["{run}", "--label_issues=/proc/x/issues.csv"],
                                 "the label issues file '/proc/x/issues.csv' cannot be written"),
    "inspect: issues to a folder": ("inspect", ["{run}", "--label_issues={empty}"],
                                    "cannot be written"),
    "inspect: issues, unfinished": ("inspect", ["{unfinished}", "--label_issues={out}"],
                                    "has no model.keras"),
    "inspect: issues, truncated model": ("inspect", ["{truncated_model}",
                                                     "--label_issues={out}"],
                                         "damaged or truncated"),
    "inspect: issues, changed data": ("inspect", ["{changed_data}", "--label_issues={out}"],
                                      "changed since the run"),
    "inspect: issues, python arrays": ("inspect", ["{python_run}", "--label_issues={out}"],
                                       "arrays passed from Python"),
    "inspect: issues, no snapshots": ("inspect", ["{no_snapshots}", "--label_issues={out}"],
                                      "no weight snapshots"),
    # check_rule (the bad ones that fail before any training)
    "check_rule: no rule": ("check_rule", [], "the following arguments are required"),
    "check_rule: no colon": ("check_rule", ["example_focal_weights"], "is not FILE_OR_MODULE"),
    "check_rule: missing file": ("check_rule", ["{missing}.py:r"], "no such file"),
    "check_rule: syntax error": ("check_rule", ["{syntax}:broken"], "syntax.py"),
    "check_rule: no such rule": ("check_rule", ["{no_rule}:nope"], "no rule 'nope'"),
    "check_rule: bad pair": ("check_rule", ["tests/example_rule.py:example_focal_weights",
                                            "--kwargs", "gamma"], "is not KEY=VALUE"),
    "check_rule: unknown kwarg": ("check_rule", ["tests/example_rule.py:example_focal_weights",
                                                 "--kwargs", "gama=1"], "allowed: gamma"),
    "check_rule: kwarg type": ("check_rule", ["tests/example_rule.py:example_focal_weights",
                                              "--kwargs", "gamma=high"], "gamma=high"),
}


def _command_outcome(command, args, needle, workdirs, capsys):
  before = {w: _digest(w) for w in workdirs}
  try:
    status = COMMANDS[command](args)
  except SystemExit as e:
    status = e.code
  except Exception:  # pylint: disable=broad-except
    return "traceback", traceback.format_exc()
  out = capsys.readouterr()
  lines = [line for line in out.err.splitlines() if line.strip()]
  if "Traceback" in out.err + out.out:
    return "traceback", out.err
  if status == 0:
    return "silent", out.out
  changed = [w for w in workdirs if _digest(w) != before[w]]
  if len(lines) != 1 or needle not in lines[0] or changed:
    return "other", f"status {status}, changed {changed}, stderr: {out.err}"
  return "clean", lines[0]


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_command(name, paths, capsys, monkeypatch):
  monkeypatch.chdir(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
  command, args, needle = CASES[name]
  args = [a.format(**paths) for a in args]
  workdirs = [a for a in args if a.startswith(os.path.dirname(paths["run"]))
              and os.path.isdir(a)]
  outcome, detail = _command_outcome(command, args, needle, workdirs, capsys)
  TALLY[name] = outcome
  assert outcome == "clean", detail


# The Python API: tiny arrays (64 examples, 4 features, 2 classes); no case gets to train.
X = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
Y = np.arange(64) % 2


def _dense(units=2, activation=None, features=4):
  return keras.Sequential([keras.Input((features,)), keras.layers.Dense(units, activation)])


def _with_nan(x, row):
  x = x.copy()
  x[row, 0] = np.nan
  return x


def _broken_factory(input_shape, num_classes):
  raise ValueError("the factory broke")


API_CASES = {  # name -> (fit's arguments but the model, the model, exception, words)
    "loss an int": (dict(loss=3), None, TypeError, "loss=3 (int); allowed"),
    "loss None": (dict(loss=None), None, TypeError, "loss=None"),
    "loss a class": (dict(loss=keras.losses.SparseCategoricalCrossentropy), None, TypeError,
                     "loss=<class"),
    "loss regression": (dict(loss=keras.losses.MeanSquaredError()), None, ValueError,
                        "loss=MeanSquaredError() is not a classification loss"),
    "loss huber": (dict(loss=keras.losses.Huber()), None, ValueError, "loss=Huber()"),
    "loss probabilities": (dict(loss=keras.losses.SparseCategoricalCrossentropy()), None,
                           ValueError, "from_logits=False"),
    "loss unknown name": (dict(loss="nope"), None, ConfigError, "loss.name='nope'"),
    "rule an int": (dict(rule=5), None, TypeError, "rule=5 (int)"),
    "rule unknown name": (dict(rule="nope"), None, ConfigError, "rule.name='nope'"),
    "rule needs validation": (dict(rule="l2rw"), None, ConfigError, "needs a clean validation"),
    "optimizer a float": (dict(optimizer=1.0), None, TypeError, "optimizer=1.0 (float)"),
    "optimizer unknown name": (dict(optimizer="nope"), None, ConfigError, "optimizer.name"),
    "strategy an int": (dict(strategy=3), None, TypeError, "strategy=3 (int)"),
    "config no field": (dict(config={"no.such": 1}), None, ValueError, "no field 'no.such'"),
    "config typo": (dict(config={"train.epoch": 1}), None, ValueError,
                    "did you mean 'train.epochs'"),
    "config key an int": (dict(config={1: 2}), None, TypeError, "config key 1"),
    "config a list": (dict(config=[("train.epochs", 1)]), None, TypeError, "config=[("),
    "config wrong type": (dict(config={"train.epochs": "abc"}), None, TypeError,
                          "config['train.epochs']='abc'"),
    "config bad value": (dict(config={"train.on_nonfinite": "maybe"}), None, ConfigError,
                         "on_nonfinite='maybe'"),
    "config rule kwarg": (dict(config={"rule.kwargs": {"nope": 1}}), None, ConfigError,
                          "rule.kwargs.nope"),
    "epochs a string": (dict(epochs="3"), None, TypeError, "epochs='3' (str)"),
    "epochs zero": (dict(epochs=0), None, ConfigError, "train.epochs=0"),
    "batch size negative": (dict(batch_size=-1), None, ConfigError, "batch_size=-1"),
    "batch size too large": (dict(batch_size=1000), None, ConfigError, "batch_size=1000"),
    "learning rate negative": (dict(learning_rate=-1.0), None, ConfigError,
                               "learning_rate=-1.0"),
    "seed negative": (dict(seed=-1), None, ConfigError, "seed=-1"),
    "class weights missing a class": (dict(class_weights={1: 2.0}), None, ValueError,
                                      "class_weights has no weight for classes 0"),
    "class weights text key": (dict(class_weights={0: 1.0, "a": 2.0}), None, ValueError,
                               "class_weights has key 'a'"),
    "class weights an int": (dict(class_weights=5), None, TypeError, "class_weights=5"),
    "class weights text value": (dict(class_weights={0: 1.0, 1: "x"}), None, TypeError,
                                 "class_weights has the weight 'x'"),
    "class weights too few": (dict(class_weights=[1.0]), None, ConfigError,
                              "class_weights (custom): weights=[1.0] has length 1"),
    "class weights negative": (dict(class_weights=[1.0, -1.0]), None, ConfigError,
                               "class_weights (custom): weights[1]=-1.0"),
    "class weights unknown scheme": (dict(class_weights="nope"), None, ConfigError,
                                     "class_weights.scheme='nope'"),
    "model softmax": ({}, _dense(activation="softmax"), ConfigError, "ends in a softmax"),
    "model sigmoid": ({}, _dense(activation="sigmoid"), ConfigError, "ends in a sigmoid"),
    "model softmax layer": ({}, keras.Sequential([keras.Input((4,)), keras.layers.Dense(2),
                                                  keras.layers.Softmax()]),
                            ConfigError, "ends in a softmax"),
    "model unbuilt, softmax": ({}, keras.Sequential([keras.layers.Dense(2, "softmax")]),
                               ConfigError, "ends in a softmax"),
    "model one output": ({}, _dense(1), ConfigError, "outputs [1] per example; the data has 2"),
    "model three outputs": ({}, _dense(3), ConfigError, "outputs [3] per example"),
    "model input width": ({}, _dense(features=5), ConfigError, "takes feature vectors [5]"),
    "model an int": ({}, 5, ConfigError, "model=5"),
    "model unknown name": ({}, "nope", ConfigError, "model.name='nope'"),
    "model factory fails": ({}, _broken_factory, ConfigError, "the model factory failed"),
    "data an int": (dict(data=5), None, TypeError, "data must be (x, y)"),
    "data three arrays": (dict(data=(X, Y, X)), None, TypeError, "data must be (x, y)"),
    "data unknown source": (dict(data="nope"), None, ConfigError, "data.source='nope'"),
    "data nan in x": (dict(data=(_with_nan(X, 7), Y)), None, ValueError,
                      "data: x has NaN or infinity in rows 7"),
    "data inf in x_test": (dict(data=(X, Y, np.full((4, 4), np.inf, np.float32), Y[:4])), None,
                           ValueError, "data: x_test has NaN or infinity in rows 0, 1, 2, 3"),
    "data x_test too narrow": (dict(data=(X, Y, X[:, :3], Y)), None, ValueError,
                               "data: x_test has examples of shape [3], x of shape [4]"),
    "data text x": (dict(data=(np.array([["a"] * 4] * 64), Y)), None, ValueError,
                    "data: x is <U1"),
    "data ragged x": (dict(data=([[1.0], [1.0, 2.0]], [0, 1])), None, ValueError,
                      "data: x is not an array"),
    "data no rows": (dict(data=(X[:0], Y[:0])), None, ValueError, "data: x has no rows"),
    "data labels short": (dict(data=(X, Y[:60])), None, ConfigError, "64 examples and 60 labels"),
    "data fractional labels": (dict(data=(X, Y + 0.5)), None, ConfigError, "not an integer"),
    "data negative labels": (dict(data=(X, Y - 1)), None, ConfigError, "label -1"),
    "data one class": (dict(data=(X, np.zeros(64, np.int64))), None, ConfigError,
                       "at least 2 classes"),
}


def _api_outcome(kwargs, model, error, needle, tmp_path):
  arguments = dict(dict(data=(X, Y), epochs=1, batch_size=16,
                        workdir=str(tmp_path / "run")), **kwargs)
  try:
    framework.fit(_dense() if model is None else model, arguments.pop("data"), **arguments)
  except error as e:
    text = str(e)
    if "\n" in text or needle not in text or "Traceback" in text:
      return "other", f"{type(e).__name__}: {text}"
    return "clean", text
  except Exception:  # pylint: disable=broad-except
    return "traceback", traceback.format_exc()
  return "silent", "fit returned"


@pytest.mark.parametrize("name", list(API_CASES))
def test_api(name, tmp_path):
  outcome, detail = _api_outcome(*API_CASES[name], tmp_path)
  TALLY[name] = outcome
  assert outcome == "clean", detail
  assert not (tmp_path / "run").exists()  # nothing written


@pytest.mark.slow
def test_fit_refuses_an_update_returning_twice_the_rows(tmp_path):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  def update(view, batch, result):
    weight = view.per_sample["weight"]
    return view.replace(per_sample={"weight": tf.concat([weight, weight], 0)})
  with pytest.raises(ValueError) as raised:
    framework.fit(_dense(), (X, Y), rule=framework.Rule(update=update), epochs=1,
                  batch_size=16, workdir=str(tmp_path / "run"))
  assert str(raised.value) == (
      "the rule's update returned per_sample/weight of shape (32,) float32; the view it was "
      "given holds (16,) float32; allowed: every table with its shape (one row per example "
      "of the batch for per-sample tables) and dtype")


@pytest.mark.slow
def test_result_predict_refuses_rows_it_cannot_score(tmp_path):
  result = framework.fit(_dense(), (X, Y), epochs=1, batch_size=16,
                         workdir=str(tmp_path / "run"))
  assert result.predict(X[:3]).shape == (3, 2)
  with pytest.raises(ValueError, match=re.escape("x has NaN or infinity in rows 2 (1 of 3)")):
    result.predict(_with_nan(X[:3], 2))
  with pytest.raises(ValueError, match="x has no rows"):
    result.predict(X[:0])


def test_totals(capsys):
  """The tally of the cases run before this test (all of them in a full run of the file)."""
  if not TALLY:
    pytest.skip("no case of the sweep ran")
  counts = collections.Counter(TALLY.values())
  with capsys.disabled():
    print(f"\nbad-input sweep (API and tools): tried {len(TALLY)} of "
          f"{len(CASES) + len(API_CASES)}, clean {counts['clean']}, traceback "
          f"{counts['traceback']}, silent {counts['silent']}, other {counts['other']}")
  assert counts["clean"] == len(TALLY), {k: v for k, v in TALLY.items() if v != "clean"}
