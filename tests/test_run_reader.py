"""`FinishedRun`: every accessor on a workdir written by hand (no training), the signal each
rule declares, and the one-line errors for a missing or broken workdir."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from framework.config import base_config
from framework.errors import ConfigError
from framework.runs import files
from framework.runs.reader import FinishedRun
from framework.runs.rundir import RunDir

N, CLASSES = 12, ("cat", "dog", "eel")
LABELS = np.arange(N) % 3
MASK = np.arange(N) % 4 == 0
STEPS = (5, 10, 15)


def _weight(step):
  return (np.arange(N, dtype=np.float32) + step) / 10


def _kept(step):
  return np.linspace(0, 1, N, dtype=np.float32) * step


def _config(rule="fixed", **rule_kwargs):
  config = base_config()
  config.rule.name, config.rule.kwargs = rule, rule_kwargs
  return config


def write_run(workdir, config=None):
  """A finished run's files, as the runner names them, with made-up contents."""
  rundir = RunDir(workdir)
  rundir.create()
  rundir.write_text(files.CONFIG, (config or _config()).to_json_best_effort(indent=1))
  rundir.write_json(files.DATA, {"class_names": list(CLASSES), "input_shape": [4]})
  rundir.write_json(files.TRACKED, {"class_names": list(CLASSES), "tracked": [1, 2]})
  rundir.write_json(files.RESULTS, {"final": {"accuracy": 0.75}, "step": STEPS[-1]})
  rundir.write_array(files.LABELS, LABELS)
  rundir.write_arrays(files.NOISE, noise_mask=MASK, labels=LABELS, clean_labels=(LABELS + 1) % 3)
  for step, accuracy in ((5, 0.5), (10, 0.6), (10, 0.7)):  # step 10 evaluated again
    rundir.append_record(files.HISTORY, {"step": step, "accuracy": accuracy})
  for step in reversed(STEPS):
    rundir.write_snapshot(step, {"per_sample/weight": _weight(step),
                                 "per_sample/kept": _kept(step),
                                 "per_class/alpha": np.ones(3, np.float32)})
  return str(workdir)


def test_files_of_the_run(tmp_path):
  run = FinishedRun(write_run(tmp_path / "run"))
  assert run.config.rule.name == "fixed" and run.config.train.batch_size == 128
  assert run.results["final"]["accuracy"] == 0.75
  assert [(r["step"], r["accuracy"]) for r in run.history] == [(5, 0.5), (10, 0.7)]
  assert run.data_info["input_shape"] == [4]
  assert run.class_names == list(CLASSES)
  assert run.tracked["tracked"] == [1, 2]
  np.testing.assert_array_equal(run.labels, LABELS)
  np.testing.assert_array_equal(run.noise_mask, MASK)
  assert run.noise_mask.dtype == bool
  np.testing.assert_array_equal(run.noise["clean_labels"], (LABELS + 1) % 3)
  assert run.has(files.NOISE) and not run.has(files.MODEL)


def test_optional_files_absent(tmp_path):
  rundir = RunDir(str(tmp_path))
  rundir.write_arrays(files.NOISE, noise_mask=MASK, labels=LABELS[::-1])
  run = FinishedRun(str(tmp_path))
  np.testing.assert_array_equal(run.labels, LABELS[::-1])  # no labels.npy: the noise file's
  assert run.tracked is None and run.class_names is None and run.history == []
  os.remove(rundir.file(files.NOISE))
  run = FinishedRun(str(tmp_path))
  assert run.noise is None and run.noise_mask is None and run.labels is None


def test_snapshots_and_tables(tmp_path):
  run = FinishedRun(write_run(tmp_path / "run"))
  snapshots = run.snapshots()
  assert [step for step, _ in snapshots] == list(STEPS)
  assert all(os.path.dirname(p) == os.path.join(run.path, files.SNAPSHOTS) for _, p in snapshots)
  first = run.tables(snapshots[0][1])
  assert sorted(first) == ["per_class/alpha", "per_sample/kept", "per_sample/weight"]
  np.testing.assert_array_equal(first["per_sample/weight"], _weight(STEPS[0]))
  np.testing.assert_array_equal(run.tables()["per_sample/kept"], _kept(STEPS[-1]))
  np.testing.assert_array_equal(run.table("per_sample/weight"), _weight(15))
  np.testing.assert_allclose(run.table("per_sample/weight", averaged=True),
                             (np.arange(N) + 10.0) / 10, rtol=1e-6)  # steps 5, 10, 15: mean 10
  with pytest.raises(ConfigError) as error:
    run.table("per_sample/nope")
  assert str(error.value) == (f"table 'per_sample/nope' is not in the snapshots of {run.path!r}; "
                              "per-sample tables: per_sample/weight, per_sample/kept")


def test_no_snapshots_is_one_line(tmp_path):
  with pytest.raises(ConfigError, match=r"^no weight snapshots \(weights/step_\*\.npz\) in "):
    FinishedRun(str(tmp_path)).snapshots()


@pytest.mark.slow  # a fresh interpreter
def test_reading_files_loads_no_tensorflow(tmp_path):
  workdir = write_run(tmp_path / "run")
  code = textwrap.dedent(f"""
      import sys
      from framework.runs.reader import FinishedRun
      run = FinishedRun({workdir!r})
      run.config, run.results, run.history, run.data_info, run.labels, run.noise_mask
      run.tracked, run.class_names, run.table("per_sample/weight", averaged=True)
      assert "tensorflow" not in sys.modules, "tensorflow was imported"
      """)
  done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                        timeout=120)
  assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.parametrize("rule, table, averaged", [
    ("fixed", "per_sample/weight", True),
    ("co_teaching", "per_sample/weight", True),  # its factory needs steps_per_epoch
    ("l2rw", "per_sample/kept", False),
    ("elr", "per_sample/agreement", False),      # its factory needs num_classes
])
def test_signal_is_the_rules(tmp_path, rule, table, averaged):
  run = FinishedRun(write_run(tmp_path / "run", _config(rule)))
  assert (run.signal.table, run.signal.averaged, run.signal.high_is_clean) == (
      table, averaged, True)


def test_signal_of_a_users_rule_from_extra_modules(tmp_path):
  module = tmp_path / "reader_rule.py"
  module.write_text(textwrap.dedent("""
      import framework

      @framework.register_rule("reader_test_suspect")
      def reader_test_suspect(num_classes: int, table: str = "weight") -> framework.Rule:
        assert num_classes == 3, num_classes
        signal = framework.weights.Signal(f"per_sample/{table}", averaged=False,
                                          high_is_clean=False)
        return framework.Rule(signal=signal)
      """))
  config = _config("reader_test_suspect", table="kept")
  config.extra_modules = (str(module),)
  run = FinishedRun(write_run(tmp_path / "run", config))
  assert run.signal == ("per_sample/kept", False, False)
  values = run.table(run.signal.table, run.signal.averaged)
  np.testing.assert_array_equal(run.signal.suspicion(values), _kept(15))  # high: suspect


def test_default_signal_without_config_or_known_rule(tmp_path):
  run = FinishedRun(write_run(tmp_path / "a", _config("registered_in_a_notebook")))
  assert run.signal == ("per_sample/weight", True, True)
  run = FinishedRun(write_run(tmp_path / "b", _config("l2rw")))
  os.remove(run.rundir.file(files.CONFIG))
  assert run.signal == ("per_sample/weight", True, True)
  np.testing.assert_array_equal(run.signal.suspicion(np.array([1.0, -2.0])), [-1.0, 2.0])


def _synthetic_run(workdir, recorded_seed):
  """A run of synthetic data (data.seed 3) that recorded the fingerprint of the data of
  `recorded_seed` (None: no fingerprint, as a run from before them)."""
  from framework import data as data_lib  # pylint: disable=g-import-not-at-top
  from framework.data.fingerprint import data_fingerprint  # pylint: disable=g-import-not-at-top
  from tests.helpers import synthetic_config  # pylint: disable=g-import-not-at-top
  write_run(workdir, synthetic_config(data__seed=3))
  if recorded_seed is not None:
    recorded = data_lib.build(synthetic_config(data__seed=recorded_seed).data)
    RunDir(workdir).write_json(files.DATA_FINGERPRINT, data_fingerprint(recorded))
  return data_lib.build(synthetic_config(data__seed=3).data)


def test_data_is_rebuilt_from_the_config(tmp_path):
  expected = _synthetic_run(tmp_path / "run", recorded_seed=3)
  run = FinishedRun(str(tmp_path / "run"))
  np.testing.assert_array_equal(run.data.train.labels, expected.train.labels)
  np.testing.assert_array_equal(run.data.test.features, expected.test.features)
  assert run.data is run.data  # built once


def test_data_unlike_the_runs_is_refused_unless_allowed(tmp_path, capsys):
  _synthetic_run(tmp_path / "run", recorded_seed=4)
  workdir = str(tmp_path / "run")
  changed = (f"the data of workdir {workdir!r}, rebuilt from its config.json, changed since "
             "the run: train: labels, values differ; test: labels, values differ")
  with pytest.raises(ConfigError) as error:
    FinishedRun(workdir).data  # pylint: disable=expression-not-assigned
  assert str(error.value) == (f"{changed}; restore the data it was trained on, or pass "
                              "--allow_changed_data to use the data as it is now")
  assert len(FinishedRun(workdir, allow_changed_data=True).data.train) > 0
  assert capsys.readouterr().err == f"warning: {changed}; using the data as it is now\n"


def test_a_run_from_before_fingerprints_has_its_labels_checked(tmp_path):
  _synthetic_run(tmp_path / "run", recorded_seed=None)  # labels.npy: write_run's, not these
  with pytest.raises(ConfigError, match="changed since the run: the training labels differ "
                                        "from its labels.npy; "):
    FinishedRun(str(tmp_path / "run")).data  # pylint: disable=expression-not-assigned


def test_data_of_python_arrays_is_refused(tmp_path):
  config = _config()
  config.data.source = "python"
  run = FinishedRun(write_run(tmp_path / "run", config))
  with pytest.raises(ConfigError, match="trained on arrays passed from Python"):
    run.data  # pylint: disable=pointless-statement


@pytest.mark.parametrize("earlier_export", [False, True])
def test_exported_model_with_and_without_its_normalisation(tmp_path, earlier_export):
  """The export's normalisation in Keras layers, or the layer earlier exports wrote."""
  import keras  # pylint: disable=g-import-not-at-top
  from framework.models.standard import standardization  # pylint: disable=g-import-not-at-top
  from framework.runs.legacy_layers import InputNormalization  # pylint: disable=g-import-not-at-top
  run = FinishedRun(write_run(tmp_path / "run"))
  trained = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, name="logits")])
  normalization = ([InputNormalization(2.0, (0.5,) * 4, (0.25,) * 4)] if earlier_export else
                   standardization(0.0, 2.0, "pixels") + standardization((0.5,) * 4, (0.25,) * 4,
                                                                         "channels"))
  inputs = normalized = keras.Input((4,))
  for layer in normalization:
    normalized = layer(normalized)
  serving = keras.Model(inputs, trained(normalized))
  for name in (files.MODEL, files.BEST_MODEL):
    serving.save(run.rundir.file(name))
  x = np.random.default_rng(0).random((5, 4)).astype(np.float32) * 2
  kernel, bias = trained.get_layer("logits").get_weights()
  for name in (files.MODEL, files.BEST_MODEL):
    np.testing.assert_allclose(run.model(name).predict(x, verbose=0),
                               ((x / 2.0 - 0.5) / 0.25) @ kernel + bias, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(run.trained_model(name).predict(x, verbose=0), x @ kernel + bias,
                               rtol=1e-5, atol=1e-5)


def _one_line_error(action) -> str:
  with pytest.raises(ConfigError) as error:
    action()
  assert "\n" not in str(error.value)
  return str(error.value)


def test_errors_name_the_workdir_in_one_line(tmp_path):
  missing = str(tmp_path / "nope")
  assert _one_line_error(lambda: FinishedRun(missing)) == (
      f"workdir {missing!r} does not exist; allowed: the workdir of a finished run")
  empty = FinishedRun(str(tmp_path))
  assert _one_line_error(lambda: empty.config) == (
      f"workdir {str(tmp_path)!r} has no config.json; allowed: the workdir of a finished run")
  assert _one_line_error(empty.model).startswith(f"workdir {str(tmp_path)!r} has no model.keras")
  (tmp_path / "config.json").write_text('{"rule": {"name": "fixed"\n  oops')
  message = _one_line_error(lambda: FinishedRun(str(tmp_path)).config)
  assert message.startswith(f"workdir {str(tmp_path)!r}: config.json is unreadable (")
  assert message.endswith("; allowed: the workdir of a finished run")
  (tmp_path / "config.json").write_text("[1, 2]")
  assert _one_line_error(lambda: FinishedRun(str(tmp_path)).config) == (
      f"workdir {str(tmp_path)!r}: config.json holds no config; allowed: the workdir of a "
      "finished run")
  (tmp_path / "results.json").write_text("")
  assert "results.json is unreadable" in _one_line_error(
      lambda: FinishedRun(str(tmp_path)).results)
