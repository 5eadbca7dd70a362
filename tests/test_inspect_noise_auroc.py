"""`inspect_run.noise_auroc`: AUROC of a run's snapshotted signal, against scikit-learn."""

import os

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from framework.config import base_config
from framework.runs import files
from framework.runs.reader import FinishedRun
from framework.runs.rundir import RunDir
from framework.tools.inspect_run import noise_auroc


def _fake_run(workdir, rule, epochs=3, n=200, seed=0):
  """Snapshots whose `weight` and `kept` both rank the noisy labels low, differently."""
  rng = np.random.default_rng(seed)
  mask = rng.random(n) < 0.4
  rundir = RunDir(workdir)
  rundir.create()
  config = base_config()
  config.rule.name = rule
  rundir.write_text(files.CONFIG, config.to_json_best_effort(indent=1))
  rundir.write_array(files.LABELS, np.arange(n) % 2)
  rundir.write_arrays(files.NOISE, noise_mask=mask)
  weights, kept = [], []
  for epoch in range(1, epochs + 1):
    w = np.where(mask, rng.random(n), rng.random(n) + 0.3).astype(np.float32)
    k = np.where(mask, rng.random(n), rng.random(n) + 0.1).astype(np.float32)
    rundir.write_snapshot(epoch * 10, {"per_sample/weight": w, "per_sample/kept": k})
    weights.append(w)
    kept.append(k)
  junk = os.path.join(workdir, files.SNAPSHOTS, f"step_{(epochs + 1) * 10:08d}.npz.tmp.npz")
  np.savez(junk, **{"per_sample/weight": np.zeros(n), "per_sample/kept": np.zeros(n)})  # leftover
  return mask, weights, kept


@pytest.mark.parametrize("rule, table", [("fixed", "weight"), ("l2rw", "kept")])
def test_final_signal_and_epoch_averaged_weight(tmp_path, rule, table):
  mask, weights, kept = _fake_run(str(tmp_path), rule)
  final = {"weight": weights, "kept": kept}[table][-1]  # l2rw's signal is its kept table
  got = noise_auroc(FinishedRun(str(tmp_path)))
  np.testing.assert_allclose(got["auroc"], roc_auc_score(mask, -final), rtol=1e-12)
  np.testing.assert_allclose(got["auroc_averaged"], roc_auc_score(mask, -np.mean(weights, 0)),
                             rtol=1e-12)
  assert got["auroc"] != got["auroc_averaged"]


def test_constant_weights_have_no_auroc(tmp_path):
  os.makedirs(tmp_path / "weights")
  np.savez(tmp_path / "noise.npz", noise_mask=np.array([True, False, False]))
  np.savez(tmp_path / "weights" / "step_00000010.npz", step=10, **{"per_sample/weight": np.ones(3)})
  got = noise_auroc(FinishedRun(str(tmp_path)))
  assert np.isnan(got["auroc"]) and np.isnan(got["auroc_averaged"])
