"""`python -m framework.tools.inspect_run WORKDIR --label_issues=FILE.csv` on a noisy run: every
training example once, most suspect first, the columns a person acts on, the score chosen
(each re-derived from its rank percentiles), and the noisy labels concentrated at the top."""

import csv
import os

import numpy as np
import pytest

from framework.tools import inspect_run as inspect_lib
from framework.tools import label_issues
from framework import train
from framework.errors import ConfigError
from framework.evaluation.metrics import auroc
from tests.tensorboard_run import noisy_config

COLUMNS = ["rank", "index", "given_label", "given_class", "predicted_label", "predicted_class",
           "rule_signal", "p_given", "score", "score_by"]


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
def test_every_example_once_most_suspect_first_by_the_rules_signal(listed):
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
  assert {r[9] for r in rows} == {"signal"}  # auto: the rule's signal, not constant here


@pytest.mark.slow
def test_each_score_orders_the_file_and_a_bad_one_is_one_line(listed, tmp_path, capsys):
  workdir, _, rows = listed
  p_given = {int(r[1]): float(r[7]) for r in rows}
  path = tmp_path / "by_p.csv"
  assert inspect_lib.main([workdir, f"--label_issues={path}",
                           "--label_score=probability"]) == 0
  assert "(score: probability; rule signal: " in capsys.readouterr().out
  with open(path, newline="") as f:
    ranked = [int(r["index"]) for r in csv.DictReader(f)]
  assert np.all(np.diff([p_given[i] for i in ranked]) >= -1e-6)  # low probability first
  with pytest.raises(SystemExit) as e:
    inspect_lib.main([workdir, f"--label_issues={path}", "--label_score=mean"])
  assert e.value.code == 2
  err = capsys.readouterr().err
  assert "--label_score=mean is not a score; allowed: auto, signal, probability, combined" in err
  assert err.count("\n") == 1


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


def test_each_score_is_its_rank_percentiles_and_auto_prefers_the_signal():
  p_given = np.array([0.9, 0.1, 0.5, 0.5])
  signal = np.array([2.0, 0.5, 1.0, 3.0])  # the rule's table: low = suspect
  by_p = np.array([0.0, 1.0, 0.5, 0.5])        # low probability of the given label: high
  by_signal = np.array([1 / 3, 1.0, 2 / 3, 0.0])  # low rule weight: high
  scores = label_issues.label_scores(p_given, -signal)
  np.testing.assert_allclose(scores["probability"], by_p)
  np.testing.assert_allclose(scores["signal"], by_signal)
  np.testing.assert_allclose(scores["combined"], (by_p + by_signal) / 2)
  assert label_issues.chosen_score("auto", scores) == "signal"
  assert label_issues.chosen_score("combined", scores) == "combined"
  # a constant signal (a plain run) offers the probability alone
  plain = label_issues.label_scores(p_given, np.ones(4))
  assert list(plain) == ["probability"]
  assert label_issues.chosen_score("auto", plain) == "probability"
  for score, message in (("signal", "the run's rule signal is constant"),
                         ("rank", "is not a score; allowed: auto, signal, probability, "
                                  "combined")):
    with pytest.raises(ConfigError, match=message):
      label_issues.chosen_score(score, plain)
