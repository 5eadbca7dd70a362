"""`inspect.noise_auroc`: AUROC of a run's snapshotted weights, against scikit-learn."""

import os

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from framework.tools.inspect_run import noise_auroc


def _fake_run(workdir, epochs=3, n=200, seed=0):
  rng = np.random.default_rng(seed)
  mask = rng.random(n) < 0.4
  os.makedirs(os.path.join(workdir, "weights"))
  np.savez(os.path.join(workdir, "noise.npz"), noise_mask=mask)
  weights, kept = [], []
  for epoch in range(1, epochs + 1):
    w = np.where(mask, rng.random(n), rng.random(n) + 0.3).astype(np.float32)
    k = np.where(mask, rng.random(n), rng.random(n) + 0.1).astype(np.float32)
    np.savez(os.path.join(workdir, "weights", f"step_{epoch * 10:08d}.npz"), step=epoch * 10,
             **{"per_sample/weight": w, "per_sample/kept": k})
    weights.append(w)
    kept.append(k)
  junk = os.path.join(workdir, "weights", f"step_{(epochs + 1) * 10:08d}.npz.tmp.npz")
  np.savez(junk, **{"per_sample/weight": np.zeros(n), "per_sample/kept": np.zeros(n)})  # leftover
  return mask, weights, kept


@pytest.mark.parametrize("table", ["per_sample/weight", "per_sample/kept"])
def test_final_and_epoch_averaged_auroc(tmp_path, table):
  mask, weights, kept = _fake_run(str(tmp_path))
  final = {"per_sample/weight": weights, "per_sample/kept": kept}[table][-1]
  got = noise_auroc(str(tmp_path), table)
  np.testing.assert_allclose(got["auroc"], roc_auc_score(mask, -final), rtol=1e-12)
  np.testing.assert_allclose(got["auroc_averaged"], roc_auc_score(mask, -np.mean(weights, 0)),
                             rtol=1e-12)
  assert got["auroc"] != got["auroc_averaged"]


def test_constant_weights_have_no_auroc(tmp_path):
  os.makedirs(tmp_path / "weights")
  np.savez(tmp_path / "noise.npz", noise_mask=np.array([True, False, False]))
  np.savez(tmp_path / "weights" / "step_00000010.npz", step=10, **{"per_sample/weight": np.ones(3)})
  got = noise_auroc(str(tmp_path))
  assert np.isnan(got["auroc"]) and np.isnan(got["auroc_averaged"])
