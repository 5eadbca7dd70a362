"""A sweep of bad inputs through the launcher (tests/bad_input_cases.py): each is one line
on stderr starting with "error:", a non-zero exit status, no traceback, and the workdir
absent (or, when it held a run, byte-identical). The launcher's `main` runs in this process,
so the sweep is quick; `python -m tests.bad_input_totals` counts how the cases end."""

import errno
import hashlib
import json
import os
import shutil

import pytest

from framework.runs import files as run_files
from framework.runs.rundir import RunDir
from framework.tools import cli
from tests.bad_input_cases import CASES, FAST, launch, load_launcher, outcome
from tests.bad_input_files import write_files

launcher = load_launcher()


def _digest(folder):
  """{path: sha256} of every file under `folder` but the lock (a launch takes it)."""
  out = {}
  for dirpath, _, names in os.walk(folder):
    for name in names:
      if name != ".lock":
        with open(os.path.join(dirpath, name), "rb") as f:
          out[os.path.join(dirpath, name)] = hashlib.sha256(f.read()).hexdigest()
  return out


@pytest.fixture(scope="module")
def files(tmp_path_factory):
  return write_files(tmp_path_factory.mktemp("bad"))


def _run(args, workdir, env=None):
  """(status, one line list of stderr's lines, out + err) of a launch in this process."""
  old = {k: os.environ.get(k) for k in (env or {})}
  os.environ.update(env or {})
  try:
    status, out, err = launch(launcher, args, workdir)
  finally:
    for k, v in old.items():
      os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
  return status, [line for line in err.splitlines() if line.strip()], out + err


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_one_line(name, files, tmp_path):
  args, needle = CASES[name]
  workdir = tmp_path / "run"
  status, out, err = launch(launcher, [a.format(**files) for a in args], workdir)
  assert outcome(status, out, err, workdir.exists()) == "clean", (status, out, err)
  assert needle in err, err


def test_bad_tf_config_for_multi_worker(tmp_path):
  status, lines, _ = _run(["--config.strategy.name=multi_worker"], tmp_path / "run",
                          env={"TF_CONFIG": "{not json"})
  assert status == 1 and len(lines) == 1 and "TF_CONFIG is not valid" in lines[0]
  assert not (tmp_path / "run").exists()


def test_a_garbage_config_json_is_named_and_left_as_it_was(tmp_path):
  workdir = tmp_path / "run"
  os.makedirs(workdir)
  (workdir / run_files.CONFIG).write_text("{half written")
  before = _digest(workdir)
  status, lines, _ = _run(FAST + ["--config.train.epochs=1"], workdir)
  assert status == 1 and len(lines) == 1, lines
  assert f"{workdir / run_files.CONFIG} is not the JSON of a run's config" in lines[0]
  assert "new --workdir" in lines[0]
  assert _digest(workdir) == before


def test_switching_a_component_drops_the_experiment_kwargs_for_the_old_one(tmp_path):
  """default.py:cb sets class_weights.kwargs.beta for effective_number; switching the
  scheme on the command line must not hand beta to inverse_frequency."""
  _, experiment = cli.load_config("experiments/default.py:cb")
  config = experiment.copy_and_resolve_references()
  config.class_weights.scheme = "inverse_frequency"
  notices = cli.drop_stale_kwargs(experiment, config,
                                  ["--config.class_weights.scheme=inverse_frequency"])
  assert dict(config.class_weights.kwargs) == {} and len(notices) == 1
  assert "class_weights.kwargs {'beta': 0.999} (for 'effective_number') are dropped" in notices[0]
  kept = experiment.copy_and_resolve_references()  # the whole mapping given: kept
  kept.class_weights.scheme = "inverse_frequency"
  assert not cli.drop_stale_kwargs(experiment, kept, [
      "--config.class_weights.scheme=inverse_frequency", "--config.class_weights.kwargs={}"])
  assert dict(kept.class_weights.kwargs) == {"beta": 0.999}
  assert "drops\nthe experiment's kwargs of that section" in launcher.__doc__  # in --help


def test_a_full_disk_is_one_line_naming_the_path(capsys):
  status = cli.report(OSError(errno.ENOSPC, "No space left on device", "/runs/x/results.json"))
  err = capsys.readouterr().err
  assert status == 1 and err == "error: /runs/x/results.json: No space left on device\n"
  status = cli.report(OSError(errno.ENOSPC, "No space left on device"), "runs/x")
  err = capsys.readouterr().err
  assert err == "error: No space left on device (writing in --workdir='runs/x')\n"


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
def test_a_write_to_a_full_disk_names_its_file(tmp_path):
  """A write to an open file fails without a file name; the run directory's writes add it
  (and leave no temporary file). /dev/full fails every write with ENOSPC."""
  run = RunDir(tmp_path)
  os.symlink("/dev/full", tmp_path / "results.json.tmp")
  with pytest.raises(OSError) as error:
    run.write_json("results.json", {"accuracy": 0.5})
  assert error.value.errno == errno.ENOSPC
  assert error.value.filename == str(tmp_path / "results.json")
  assert not os.path.lexists(tmp_path / "results.json.tmp")


def test_temporaries_of_unfinished_writes_are_removed(tmp_path):
  run = RunDir(tmp_path)
  hex32 = "0123456789abcdef" * 2
  left = [tmp_path / "checkpoints" / f"checkpoint.tmp{hex32}",
          tmp_path / "saved_model" / f"saved_model.pb.tmp{hex32}", tmp_path / "results.json.tmp",
          tmp_path / "saved_model" / "variables" / f"variables.index.tmp{hex32}"]
  kept = [tmp_path / "checkpoints" / "ckpt-8.index", tmp_path / "notes.tmp.txt",
          tmp_path / "saved_model" / "saved_model.pb", tmp_path / "mine" / "draft.tmp"]
  for path in left + kept:
    os.makedirs(path.parent, exist_ok=True)
    path.write_text("x")
  assert not run.remove_temporaries()  # no config.json: not a run's folder, left alone
  (tmp_path / run_files.CONFIG).write_text("{}")
  assert sorted(run.remove_temporaries()) == sorted(str(p) for p in left)
  assert [p.exists() for p in left + kept] == [False] * len(left) + [True] * len(kept)


@pytest.mark.slow
def test_a_failed_start_leaves_an_existing_run_untouched(tmp_path, finished_run):
  workdir = shutil.copytree(finished_run, tmp_path / "run")  # 2 epochs
  before = _digest(workdir)
  for args in (["--config.loss.name=nope"], ["--config.loss.name=focal"],
               ["--config.seed=-1"], ["--config.train.epochs=1"],
               ["--config.optimizer.learning_rate=0.5"]):
    status, lines, _ = _run(FAST + ["--config.train.epochs=2"] + args, workdir)
    assert status == 1 and len(lines) == 1, lines
  with RunDir(workdir).lock():  # a live run holds the workdir
    status, lines, _ = _run(FAST + ["--config.train.epochs=2"], workdir)
    assert status == 1 and "in use by a running run" in lines[0]
  assert _digest(workdir) == before


@pytest.mark.slow
def test_a_relaunch_shorter_than_the_run_is_refused(tmp_path, finished_run):
  workdir = shutil.copytree(finished_run, tmp_path / "run")  # 2 epochs
  before = _digest(workdir)
  status, lines, _ = _run(FAST + ["--config.train.epochs=1"], workdir)
  assert status == 1 and len(lines) == 1, lines
  assert "train.epochs=1: --workdir=" in lines[0] and "already trained 2 epochs" in lines[0]
  assert "train.epochs >= 2 to continue it" in lines[0] and "new --workdir" in lines[0]
  assert _digest(workdir) == before


@pytest.mark.slow
def test_a_relaunch_removes_temporaries_and_keeps_the_results(tmp_path, finished_run):
  workdir = shutil.copytree(finished_run, tmp_path / "run")
  stale = [workdir / "checkpoints" / f"checkpoint.tmp{'ab' * 16}",
           workdir / "saved_model" / f"saved_model.pb.tmp{'cd' * 16}"]
  for path in stale:
    path.write_text("half")
  results = json.loads((workdir / run_files.RESULTS).read_text())
  status, lines, _ = _run(FAST + ["--config.train.epochs=2"], workdir)
  assert status == 0, lines
  assert not any(p.exists() for p in stale)
  assert json.loads((workdir / run_files.RESULTS).read_text())["step"] == results["step"]


ALWAYS_NAN = '''
import framework, tensorflow as tf

@framework.register_rule("always_nan")
def always_nan():
  """Every step's loss is NaN: a run that skipping cannot save."""
  def modulate(view, batch):
    return framework.Modulation(weight=float("nan") * tf.ones_like(view.per_sample["weight"]))
  return framework.Rule(modulate=modulate)
'''


@pytest.mark.slow
def test_skip_mode_at_its_limit_advises_what_helps_and_a_new_workdir(tmp_path):
  (tmp_path / "always_nan.py").write_text(ALWAYS_NAN)
  args = FAST + ["--config.train.epochs=2", "--config.rule.name=always_nan",
                 f"--config.extra_modules=('{tmp_path / 'always_nan.py'}',)",
                 "--config.train.on_nonfinite=skip", "--config.train.max_skipped=2"]
  status, lines, _ = _run(args, tmp_path / "run")
  assert status == 3 and len(lines) == 1, lines
  assert "train.max_skipped=2" in lines[0] and "lower the learning rate" in lines[0]
  assert "set train.on_nonfinite=skip" not in lines[0] and "new --workdir" in lines[0]
  status, lines, _ = _run(args + ["--config.optimizer.learning_rate=1e-4"],
                          tmp_path / "run")  # the advice, in the same workdir
  assert status == 1 and len(lines) == 1 and "new --workdir" in lines[0], lines


def test_a_list_file_with_a_byte_order_mark_is_read(tmp_path):
  """Windows editors start UTF-8 files with a byte-order mark; it is not part of the first
  path."""
  from framework.data.images import load_image_list  # pylint: disable=g-import-not-at-top
  from tests.test_data_images import make_cfg, write_image_folder  # pylint: disable=g-import-not-at-top
  written = sorted(write_image_folder(tmp_path, ("a", "b"), 2))
  lines = "".join(f"{os.path.relpath(p, tmp_path)} {i % 2}\n" for i, p in enumerate(written))
  (tmp_path / "list.txt").write_bytes(b"\xef\xbb\xbf" + lines.encode())
  source = load_image_list(make_cfg(source="image_list", path=str(tmp_path / "list.txt")))
  assert list(source.pool.y) == [0, 1, 0, 1] and list(source.pool.x.paths) == written
