"""The report's noise-detection columns: the AUROC of a run's final and epoch-averaged
weights against its noise mask, mean ± sample std over seeds, equal to scikit-learn's."""

import glob
import os

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from framework.config import load_experiment
from tests.test_report import _final, _report, _rows, fake_run

FINAL, AVERAGED = "noise AUROC, final weights", "noise AUROC, weights averaged over epochs"


def _by_hand(mask, snapshots):
  """(final, averaged) AUROC of -weight against the mask, from the weights as stored."""
  weights = [np.asarray(w, np.float32).astype(np.float64) for _, w in snapshots]
  return roc_auc_score(mask, -weights[-1]), roc_auc_score(mask, -np.mean(weights, axis=0))


def _cell(values):
  return f"{np.mean(values):.3f} ± {np.std(values, ddof=1):.3f}"


def test_noise_auroc_columns_equal_scikit_learn(tmp_path):
  rng = np.random.default_rng(0)
  mask = rng.random(60) < 0.4
  expected = []
  for seed in (0, 1, 2):
    snapshots = [(10 * epoch, np.where(mask, rng.random(60), rng.random(60) + 0.3))
                 for epoch in (1, 2, 3)]
    fake_run(tmp_path / "weighted" / f"s{seed}", "weighted", seed, _final(0.5),
             noise_mask=mask, snapshots=snapshots)
    expected.append(_by_hand(mask, snapshots))
  fake_run(tmp_path / "ce" / "s0", "ce", 0, _final(0.4), noise_mask=mask,
           snapshots=[(10, np.ones(60)), (20, np.ones(60))])  # constant weights: no AUROC
  fake_run(tmp_path / "clean" / "s0", "clean", 0, _final(0.3))  # no noise mask
  status, out, err = _report(tmp_path, str(tmp_path))
  assert status == 0, err
  lines = (tmp_path / "report" / "table.md").read_text().splitlines()
  assert lines[0].endswith(f"| {FINAL} | {AVERAGED} | seeds |")  # from 0 to 1, not percent
  final, averaged = zip(*expected)
  assert lines[-1] == (f"| weighted | 50.0 ± 0.0 | 50.0 ± 0.0 | 10.0 ± 0.0 | {_cell(final)} | "
                       f"{_cell(averaged)} | 3 |")
  assert "| ce | 40.0 | 50.0 | 10.0 | - | - | 1 |" in lines
  assert "| clean | 30.0 | 50.0 | 10.0 | - | - | 1 |" in lines
  rows = {row["variant"]: row for row in _rows(tmp_path / "report" / "table.csv")}
  weighted = rows["weighted"]
  assert float(weighted["noise_auroc_mean"]) == pytest.approx(np.mean(final), abs=1e-12)
  assert float(weighted["noise_auroc_std"]) == pytest.approx(np.std(final, ddof=1), abs=1e-12)
  assert float(weighted["noise_auroc_averaged_mean"]) == pytest.approx(np.mean(averaged),
                                                                      abs=1e-12)
  assert rows["ce"]["noise_auroc_mean"] == "" and rows["clean"]["noise_auroc_averaged_mean"] == ""


def test_runs_without_noise_have_no_auroc_columns(tmp_path):
  fake_run(tmp_path / "run", final=_final(0.5), snapshots=[(10, [1.0, 0.5])])
  status, out, err = _report(tmp_path, str(tmp_path))
  assert status == 0, err
  assert "AUROC" not in out and "auroc" not in (tmp_path / "report" / "table.csv").read_text()


@pytest.mark.slow
def test_a_real_noisy_run_reports_the_auroc_of_its_snapshots(tmp_path):
  from framework import train  # pylint: disable=g-import-not-at-top
  config = load_experiment("digits_noisy").get_config("loss_ema")
  config.train.epochs = 3
  workdir = str(tmp_path / "runs" / "loss_ema")
  train.run(config, workdir, verbose=False)
  mask = np.load(os.path.join(workdir, "noise.npz"))["noise_mask"].astype(bool)
  snapshots = [(path, np.load(path)["per_sample/weight"])
               for path in sorted(glob.glob(os.path.join(workdir, "weights", "step_*.npz")))]
  assert len(snapshots) == 3  # one a epoch
  final, averaged = _by_hand(mask, snapshots)
  status, out, err = _report(tmp_path, str(tmp_path / "runs"))
  assert status == 0, err
  row = _rows(tmp_path / "report" / "table.csv")[0]
  assert float(row["noise_auroc_mean"]) == pytest.approx(final, abs=1e-12)
  assert float(row["noise_auroc_averaged_mean"]) == pytest.approx(averaged, abs=1e-12)
  assert f"| {final:.3f} | {averaged:.3f} | 1 |" in out
