"""`python -m framework.tools.inspect_run`: sections, an independently recomputed AUROC, the error case."""

import contextlib
import io
import os
import re
import subprocess
import sys

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from framework.tools import inspect_run as inspect_lib
from framework.evaluation.metrics import auroc
from framework.runs.reader import FinishedRun
from tests.tensorboard_run import noisy_run


@pytest.fixture(scope="module")
def output():
  workdir, _ = noisy_run()
  stdout = io.StringIO()
  with contextlib.redirect_stdout(stdout):
    assert inspect_lib.main([workdir, "--top", "4"]) == 0
  return workdir, stdout.getvalue()


def _latest(workdir):
  """(file name, effective weights = rule weight x alpha[label] (uniform class weights))."""
  names = sorted(os.listdir(os.path.join(workdir, "weights")))
  labels = np.load(os.path.join(workdir, "labels.npy"))
  with np.load(os.path.join(workdir, "weights", names[-1])) as f:
    return names[-1], f["per_sample/weight"] * f["per_class/alpha"][labels]


@pytest.mark.slow
def test_sections_and_latest_snapshot(output):
  workdir, text = output
  name, _ = _latest(workdir)
  assert f"Snapshot: {os.path.join(workdir, 'weights', name)} (step 18)" in text
  for section in ("Lowest-weighted 4 samples", "Highest-weighted 4 samples",
                  "Weight statistics per class (observed labels)", "Noise detection: AUROC"):
    assert section in text


@pytest.mark.slow
def test_auroc_equals_an_independent_recomputation(output):
  workdir, text = output
  _, weights = _latest(workdir)
  mask = np.load(os.path.join(workdir, "noise.npz"))["noise_mask"]
  printed = float(re.search(r"AUROC\(score=-weight, positives=noisy\) = ([0-9.]+)", text)[1])
  assert printed == pytest.approx(auroc(-weights, mask), abs=1e-6)
  assert printed == pytest.approx(roc_auc_score(mask, -weights), abs=1e-6)


@pytest.mark.slow
def test_extremes_and_per_class_rows(output):
  workdir, text = output
  _, weights = _latest(workdir)
  labels = np.load(os.path.join(workdir, "labels.npy"))
  mask = np.load(os.path.join(workdir, "noise.npz"))["noise_mask"]
  lines = text.splitlines()
  start = lines.index("Lowest-weighted 4 samples") + 2
  lowest = [line.split() for line in lines[start:start + 4]]
  order = np.lexsort((np.arange(weights.size), weights))
  assert [int(row[0]) for row in lowest] == order[:4].tolist()
  for row in lowest:
    i = int(row[0])
    assert int(row[1]) == labels[i] and float(row[2]) == pytest.approx(weights[i], abs=1e-3)
    assert row[4] == ("yes" if mask[i] else "no")
  start = lines.index("Highest-weighted 4 samples") + 2
  assert float(lines[start].split()[2]) == pytest.approx(weights.max(), rel=1e-3)
  for c in range(4):
    row = next(l.split() for l in lines if l.startswith(f"  {c} "))
    v = weights[labels == c]
    assert int(row[1]) == v.size
    assert [float(x) for x in row[2:7]] == pytest.approx(
        [v.mean(), v.std(), v.min(), np.median(v), v.max()], rel=1e-3, abs=1e-6)


def test_no_noise_mask_says_so(tmp_path):
  os.makedirs(tmp_path / "weights")
  np.savez(tmp_path / "weights" / "step_00000004.npz", step=4,
           **{"per_sample/weight": np.array([0.5, 2.0, 1.0], np.float32),
              "per_class/alpha": np.ones(2, np.float32)})
  np.save(tmp_path / "labels.npy", np.array([0, 1, 1], np.int32))
  text = inspect_lib.report(inspect_lib.ranking(FinishedRun(str(tmp_path))), top=1)
  assert "no noise mask" in text and "AUROC" not in text
  lines = text.splitlines()
  # an old snapshot without effective weights: ranked by the rule's weight
  assert lines[lines.index("Lowest-weighted 1 samples") + 2].split() == [
      "0", "0", "0.5", "0.5", "-"]
  assert lines[lines.index("Highest-weighted 1 samples") + 2].split() == ["1", "1", "2", "2", "-"]


@pytest.mark.slow
def test_workdir_without_snapshots_is_one_line_and_exit_2(tmp_path, capsys):
  assert inspect_lib.main([str(tmp_path)]) == 2
  captured = capsys.readouterr()
  assert captured.out == ""
  assert len(captured.err.splitlines()) == 1
  assert captured.err.startswith("inspect: no weight snapshots")
  done = subprocess.run([sys.executable, "-m", "framework.tools.inspect_run", str(tmp_path / "nope")],
                        capture_output=True, text=True, timeout=120)
  assert done.returncode == 2 and done.stdout == ""
  assert done.stderr.splitlines()[-1] == (f"inspect: workdir {str(tmp_path / 'nope')!r} does "
                                          "not exist; allowed: the workdir of a finished run")
