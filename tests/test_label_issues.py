"""`python -m framework.tools.inspect_run WORKDIR --label_issues=FILE.csv` on a noisy run: every
training example once, most suspect first, the columns a person acts on, a score that is
the re-derived mean of two rank percentiles, and the noisy labels concentrated at the top."""

import csv
import os

import numpy as np
import pytest
from scipy.stats import rankdata

from framework.tools import inspect_run as inspect_lib
from framework.tools import label_issues
from framework import train
from framework.evaluation.metrics import auroc
from tests.tensorboard_run import noisy_config

COLUMNS = ["rank", "index", "given_label", "given_class", "predicted_label", "predicted_class",
           "rule_signal", "p_given", "score"]


@pytest.fixture(scope="module")
def listed(tmp_path_factory):
  """4 synthetic classes, 30% symmetric noise, the built-in loss_ema, trained to fit."""
  workdir = str(tmp_path_factory.mktemp("issues") / "run")
  train.run(noisy_config(train__epochs=20, rule__name="loss_ema",
                         optimizer__learning_rate=1e-2), workdir, verbose=False)
  path = os.path.join(workdir, "issues.csv")
  assert inspect_lib.main([workdir, f"--label_issues={path}"]) == 0
  with open(path, newline="", encoding="utf-8") as f:
    rows = list(csv.reader(f))
  return workdir, rows[0], rows[1:]


@pytest.mark.slow
def test_every_example_once_most_suspect_first(listed):
  workdir, header, rows = listed
  labels = np.load(os.path.join(workdir, "labels.npy"))
  assert header == COLUMNS
  assert [int(r[0]) for r in rows] == list(range(1, len(labels) + 1))
  index = np.array([int(r[1]) for r in rows])
  assert sorted(index) == list(range(len(labels)))
  np.testing.assert_array_equal([int(r[2]) for r in rows], labels[index])
  scores = np.array([float(r[8]) for r in rows])
  assert (np.diff(scores) <= 1e-6).all()
  assert all(0.0 <= float(r[7]) <= 1.0 for r in rows)


@pytest.mark.slow
def test_noisy_labels_rank_high(listed):
  workdir, _, rows = listed
  with np.load(os.path.join(workdir, "noise.npz")) as f:
    mask = f["noise_mask"].astype(bool)
  index = np.array([int(r[1]) for r in rows])
  score = np.empty(len(index))
  score[index] = [float(r[8]) for r in rows]
  assert auroc(score, mask) > 0.8, auroc(score, mask)
  top = index[:len(index) // 10]
  assert mask[top].mean() > 2 * mask.mean()


def test_score_is_the_mean_of_the_two_rank_percentiles():
  p_given = np.array([0.9, 0.1, 0.5, 0.5])
  signal = np.array([2.0, 0.5, 1.0, 3.0])
  n = len(p_given)
  by_p = (rankdata(-p_given) - 1) / (n - 1)      # low probability of the given label: high
  by_signal = (rankdata(-signal) - 1) / (n - 1)  # low rule weight: high
  np.testing.assert_allclose(label_issues.suspicion(p_given, -signal), (by_p + by_signal) / 2)
  # a constant signal (a plain run) leaves the probability alone
  np.testing.assert_allclose(label_issues.suspicion(p_given, np.ones(n)), by_p)
