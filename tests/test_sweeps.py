"""Sweeps: a declaration's runs (names, settings, shards), the checks before any run starts,
and real sweeps of experiments/fmnist_lt.py: parallel workers stopped by SIGTERM and re-run,
two shard processes, each run's results equal to the same run launched alone."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest

from framework.errors import ConfigError
from framework.sweeps import PlannedRun, devices, load_sweep, plan, shard
from framework.sweeps import run as sweep_run
from framework.sweeps.declaration import sweep_file
from framework.sweeps.pool import Pool

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RATIOS = os.path.join(REPO, "experiments", "sweeps", "fmnist_lt_ratios.py")
NAMES = [f"{variant}/imbalance_ratio={ratio}/seed{seed}" for seed in (0, 1)
         for ratio in (10, 100) for variant in ("ce", "ldam_drw")]
ONE_THREAD = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}


def _write_sweep(tmp_path, body: str) -> str:
  path = tmp_path / "sweep.py"
  path.write_text("from framework.sweeps import Sweep\n\ndef get_sweep():\n  return " + body)
  return str(path)


def test_runs_are_named_by_variant_settings_and_seed(tmp_path):
  runs = plan(load_sweep(RATIOS), RATIOS, str(tmp_path))
  assert [r.name for r in runs] == NAMES
  ldam = runs[7].config
  assert (ldam.variant, ldam.seed, ldam.data.seed) == ("ldam_drw", 1, 1)
  assert ldam.data.long_tail.imbalance_ratio == 100.0 and ldam.train.epochs == 2
  assert runs[7].workdir == os.path.join(str(tmp_path), *NAMES[7].split("/"))


def test_together_fields_vary_in_step_and_share_a_name_only_when_ambiguous(tmp_path):
  path = _write_sweep(tmp_path, "Sweep(experiment='fmnist_lt', variants=['focal'], "
                      "together={'loss.kwargs.gamma': [1.0, 2.5], 'optimizer.learning_rate': "
                      "[0.1, 0.01]}, product={'train.batch_size': [64]})")
  runs = plan(load_sweep(path), path, str(tmp_path))
  assert [r.name for r in runs] == [
      "focal/batch_size=64,gamma=1,learning_rate=0.1/seed0",
      "focal/batch_size=64,gamma=2.5,learning_rate=0.01/seed0"]
  assert runs[1].config.loss.kwargs["gamma"] == 2.5
  assert runs[1].config.optimizer.learning_rate == 0.01


def test_a_path_value_names_its_runs_by_its_stem_and_root_is_the_sweeps_root(tmp_path):
  path = _write_sweep(tmp_path, "Sweep(experiment='fmnist_noisy', variants=['ce'], product="
                      "{'data.leave_out.file': ['{root}/flagged/seed{seed}/cleanlab.csv', "
                      "'/elsewhere/oracle.txt']}, fixed={'model.init_from': '{root}/start'})")
  root = str(tmp_path / "root")
  runs = plan(load_sweep(path), path, root)
  assert [r.name for r in runs] == ["ce/file=cleanlab/seed0", "ce/file=oracle/seed0"]
  assert [r.config.data.leave_out.file for r in runs] == [
      f"{root}/flagged/seed{{seed}}/cleanlab.csv", "/elsewhere/oracle.txt"]
  assert runs[0].config.model.init_from == f"{root}/start"


def test_shards_are_disjoint_cover_the_sweep_and_keep_a_run_with_its_start(tmp_path):
  path = _write_sweep(tmp_path, "Sweep(experiment='fmnist_lt', variants=['crt', 'ce', "
                      "'focal'], seeds=[0, 1, 2], starts_from={'crt': 'ce'})")
  runs = plan(load_sweep(path), path, str(tmp_path))
  assert [r.name for r in runs[:3]] == ["ce/seed0", "focal/seed0", "crt/seed0"]
  assert runs[2].config.model.init_from == os.path.join(str(tmp_path), "ce", "seed0")
  shards = [shard(runs, i, 4) for i in range(4)]
  names = [r.name for s in shards for r in s]
  assert sorted(names) == sorted(r.name for r in runs)
  for s in shards:
    for run in s:
      assert run.starts_from is None or run.starts_from in {r.name for r in s}
  assert [r.name for r in shard(runs, 1, 4)] == [r.name for r in shards[1]]  # deterministic


def test_a_subset_of_variants_keeps_what_it_starts_from(tmp_path):
  path = sweep_file("fmnist_lt_table")
  assert os.path.samefile(path, os.path.join(REPO, "experiments", "sweeps", "fmnist_lt_table.py"))
  sweep = load_sweep(path)
  runs = plan(sweep.only(["crt", "ce"]), path, str(tmp_path))
  assert [r.name for r in runs[:2]] == ["ce/seed0", "crt/seed0"] and len(runs) == 6
  assert [r.name for r in plan(sweep.only(["focal"]), path, str(tmp_path))] == [
      "focal/seed0", "focal/seed1", "focal/seed2"]
  with pytest.raises(ConfigError, match="starts_from: 'ce' is not one of the sweep's variants"):
    plan(sweep.only(["crt"]), path, str(tmp_path))


def test_a_workdir_holding_another_run_stops_the_sweep_before_it_starts(tmp_path, capsys):
  run = plan(load_sweep(RATIOS), RATIOS, str(tmp_path))[3]
  other = run.config.copy_and_resolve_references()
  other.optimizer.learning_rate = 0.5
  os.makedirs(run.workdir)
  with open(os.path.join(run.workdir, "config.json"), "w") as f:
    f.write(other.to_json_best_effort())
  status = sweep_run.main(["run", f"--sweep={RATIOS}", f"--root={tmp_path}"])
  err = capsys.readouterr().err.strip()
  assert status == 1 and len(err.splitlines()) == 1, err
  assert err.startswith(f"error: run {run.name}: --workdir=") and \
      "optimizer.learning_rate (0.5 -> 0.001)" in err, err
  assert sorted(os.listdir(tmp_path)) == ["ldam_drw"]  # nothing else was started


@pytest.mark.parametrize("body,message", [
    ("Sweep(experiment='fmnist_lt', variants=['ce', 'nope'])",
     "variants: 'nope' is not a variant of the experiment 'fmnist_lt'; known: ce, focal"),
    ("Sweep(experiment='fmnist_lt', variants=['ce'], product={'data.long_tail.ratio': [1]})",
     "settings: the experiment's config has no field 'data.long_tail.ratio'"),
    ("Sweep(experiment='fmnist_lt', variants=['ce'], fixed={'train.epoch': 1})",
     "fixed: the experiment's config has no field 'train.epoch'"),
    ("Sweep(experiment='fmnist_lt', variants=['ce'], seeds=[-1])",
     "seeds=[-1]: give one or more integers >= 0"),
    ("Sweep(experiment='fmnist_lt', product={'train.epochs': 3})",
     "product['train.epochs']=3: give a non-empty list of values"),
    ("Sweep(experiment='fmnist_lt', variants=['ce'], "
     "product={'data.long_tail.imbalance_ratio': [10.0, 0.5]})",
     "run ce/imbalance_ratio=0.5/seed0: data.long_tail.imbalance_ratio=0.5"),
])
def test_a_bad_sweep_fails_in_one_line_before_any_run(tmp_path, capsys, body, message):
  root = tmp_path / "root"
  status = sweep_run.main(["run", f"--sweep={_write_sweep(tmp_path, body)}", f"--root={root}"])
  err = capsys.readouterr().err.strip()
  assert status == 1 and len(err.splitlines()) == 1 and message in err, err
  assert not root.exists() or not os.listdir(root)


def test_an_unwritable_root_fails_in_one_line(tmp_path, capsys):
  (tmp_path / "file").write_text("")
  status = sweep_run.main(["run", f"--sweep={RATIOS}", f"--root={tmp_path / 'file' / 'x'}"])
  err = capsys.readouterr().err.strip()
  assert status == 1 and err.startswith("error: --root=") and "is not writable" in err, err


def test_a_bad_declaration_file_fails_in_one_line(tmp_path):
  path = tmp_path / "sweep.py"
  path.write_text("def get_sweep():\n  return {'experiment': 'fmnist_lt'}\n")
  with pytest.raises(ConfigError, match="get_sweep.. returned dict, not a framework.sweeps"):
    load_sweep(str(path))


@pytest.mark.slow  # starts processes
def test_a_failed_run_is_reported_with_its_last_line_and_the_others_go_on(tmp_path, capsys):
  runs = [PlannedRun(name, str(tmp_path / name), None, start)
          for name, start in (("a", None), ("b", "a"), ("c", None))]
  script = ("import sys; print('loading'); print('error: data.source: no such file'); "
            "sys.exit(1)")

  def command(run):
    return [sys.executable, "-c", script if run.name == "a" else "pass"]

  outcomes = Pool(runs, set(), command, lambda slot: dict(os.environ), 2).run()
  assert outcomes["a"].status == "failed"
  assert outcomes["a"].message == "error: data.source: no such file"
  assert (outcomes["b"].status, outcomes["b"].message) == ("failed", "starts from a, which failed")
  assert outcomes["c"].status == "done"
  assert "FAILED a after" in capsys.readouterr().out


# Real sweeps: small runs of experiments/fmnist_lt.py, one a seed (SMALL.format(seeds=...)):
# 2 epochs on 6,000 images at imbalance ratio 10, 19 steps an epoch. The sweep's settings
# are unlike the experiment's defaults (the variant, seeds 1 and 2, the ratio, the fixed
# fields), so that a run missing one differs from the same run launched alone.
SMALL = ("Sweep(experiment='fmnist_lt', variants=('ldam_drw',), seeds={seeds}, "
         "product={{'data.long_tail.imbalance_ratio': (10.0,)}}, fixed={{'train.epochs': 2, "
         "'train.eval_every_epochs': 2, 'data.train_size': 6000}})")
SMALL_NAMES = [f"ldam_drw/imbalance_ratio=10/seed{seed}" for seed in (0, 1, 2)]
EPOCH = 19


def _sweep(sweep, root, *flags, env=None) -> subprocess.Popen:
  return subprocess.Popen(
      [sys.executable, "-m", "framework.sweeps.run", f"--sweep={sweep}", f"--root={root}",
       *flags], cwd=REPO, env=dict(os.environ, **(env or {})), stdout=subprocess.PIPE,
      stderr=subprocess.STDOUT, text=True)


def _results(root, name) -> dict:
  with open(os.path.join(root, name, "results.json")) as f:
    results = json.load(f)
  return {"final": results["final"], "history": results["history"]}


def _mid_run(root) -> bool:
  """A run has checkpointed its first epoch (of 2) and not finished."""
  return any(os.path.exists(os.path.join(root, n, "checkpoints", f"ckpt-{EPOCH}.index"))
             and not os.path.exists(os.path.join(root, n, "results.json")) for n in SMALL_NAMES)


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
  """A sweep with 2 workers stopped by SIGTERM mid-run, then re-run to the end: (its
  root, the runs the first sweep stopped, the outputs of both sweeps)."""
  sweep = _write_sweep(tmp_path_factory.mktemp("declaration"), SMALL.format(seeds=(0, 1, 2)))
  root = str(tmp_path_factory.mktemp("swept"))
  assert [r.name for r in plan(load_sweep(sweep), sweep, root)] == SMALL_NAMES
  first = _sweep(sweep, root, "--workers=2")
  deadline = time.time() + 600
  while not _mid_run(root) and first.poll() is None and time.time() < deadline:
    time.sleep(0.05)
  first.send_signal(signal.SIGTERM)
  out_first = first.communicate(timeout=300)[0]
  assert first.returncode == 75, out_first
  stopped = re.findall(r"\| stopped (\S+) after", out_first)
  second = _sweep(sweep, root, "--workers=2")
  out_second = second.communicate(timeout=900)[0]
  assert second.returncode == 0, out_second
  return root, stopped, out_first, out_second


@pytest.mark.slow
def test_a_stopped_sweep_completes_when_re_run(swept):
  root, stopped, out_first, out_second = swept
  assert stopped and "stopping on SIGTERM" in out_first and "sweep stopped" in out_first
  assert "3 of 3 runs finished" in out_second, out_second
  resumed = []
  for name in stopped:
    with open(os.path.join(root, name, "sweep.log")) as f:
      resumed += re.findall(r"Resuming from step (\d+)", f.read())
  assert any(0 < int(step) < 2 * EPOCH for step in resumed), (resumed, out_first)  # mid-run
  assert all(os.path.exists(os.path.join(root, n, "results.json")) for n in SMALL_NAMES)


# The launcher's main on each argv in turn, in one process (one TensorFlow start-up).
LAUNCH_EACH = "import json, sys, launch; sys.exit(max(launch.main(['launch.py', *argv]) " \
              "for argv in json.loads(sys.argv[1])))"


@pytest.mark.slow
def test_sweep_runs_equal_the_same_runs_launched_alone(swept, tmp_path):
  root, stopped, _, _ = swept
  names = [*stopped, *[n for n in SMALL_NAMES if n not in stopped][:1]]
  argvs = []
  for name in names:
    variant, ratio, seed = name.split("/")
    seed = seed[len("seed"):]
    argvs.append([f"--config=experiments/fmnist_lt.py:{variant}", f"--workdir={tmp_path / name}",
                  f"--config.seed={seed}", f"--config.data.seed={seed}",
                  f"--config.data.long_tail.imbalance_ratio={ratio.split('=')[1]}",
                  "--config.train.epochs=2", "--config.train.eval_every_epochs=2",
                  "--config.data.train_size=6000"])
  done = subprocess.run([sys.executable, "-c", LAUNCH_EACH, json.dumps(argvs)], cwd=REPO,
                        env=dict(os.environ, **ONE_THREAD), capture_output=True, text=True,
                        timeout=600)
  assert done.returncode == 0, done.stderr[-2000:]
  for name in names:
    assert _results(tmp_path, name) == _results(root, name), name


@pytest.mark.slow
def test_two_shards_write_one_sweep(swept, tmp_path):
  """The sweep of seeds 1 and 2 in two shards: a run each, equal to the swept ones."""
  root, _, _, _ = swept
  sweep = _write_sweep(tmp_path, SMALL.format(seeds=(1, 2)))
  shards = [_sweep(sweep, tmp_path / "root", f"--shard={i}", "--num_shards=2", "--threads=1")
            for i in (0, 1)]
  outputs = [s.communicate(timeout=900)[0] for s in shards]
  assert [s.returncode for s in shards] == [0, 0], outputs
  assert all("(shard" in out and "1 of 1 runs finished" in out for out in outputs), outputs
  for name in SMALL_NAMES[1:]:
    assert _results(tmp_path / "root", name) == _results(root, name), name


def test_each_worker_gets_a_gpu_or_a_share_of_the_cores(monkeypatch):
  monkeypatch.delenv("TF_NUM_INTEROP_THREADS", raising=False)
  monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "3")  # the caller's choice is kept
  assert devices.worker_env(3, ["4", "6"], 2)["CUDA_VISIBLE_DEVICES"] == "6"
  cpu = devices.worker_env(1, [], 2)
  assert (cpu["TF_NUM_INTRAOP_THREADS"], cpu["TF_NUM_INTEROP_THREADS"]) == ("3", "2")
  monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
  assert devices.visible_gpus() == []
  monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "2,5")
  assert devices.visible_gpus() == ["2", "5"]
  assert devices.cpu_threads(workers=64) == 1 and devices.cpu_threads(4, requested=7) == 7


def test_the_tables_read_the_finished_runs_of_a_sweep_by_variant(tmp_path):
  from framework.studies import common  # pylint: disable=g-import-not-at-top
  for i, name in enumerate((NAMES[0], NAMES[2], NAMES[5])):
    os.makedirs(tmp_path / name)
    (tmp_path / name / "results.json").write_text(json.dumps({"final": {"accuracy": i}}))
  os.makedirs(tmp_path / NAMES[1])  # started, not finished
  runs = common.finished_by_variant(RATIOS, str(tmp_path))
  assert {v: [r.results["final"]["accuracy"] for r in done] for v, done in runs.items()} == {
      "ce": [0, 1], "ldam_drw": [2]}
