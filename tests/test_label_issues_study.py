"""The label-issue study's pieces: ranking quality, the flagged sets as leave-out files, the
retrained runs read by their flagged set, the tables, and the out-of-sample probabilities
assembled from cross-validation runs."""

import json
import os

import numpy as np
import pytest

from framework import data as data_lib
from framework import train
from framework.data.folds import fold_of
from framework.data.leave_out import leave_out_rows
from framework.errors import ConfigError
from framework.runs.reader import FinishedRun
from framework.studies import label_issues_steps as study
from tests.helpers import synthetic_config


def test_ranking_quality_against_a_hand_count():
  noisy = np.array([1, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1], bool)
  score = np.arange(20, 0, -1.0)  # example 0 the most suspect
  quality = study.ranking_quality(score, noisy)
  assert quality["precision_at_k"] == 0.5  # the top 4 hold examples 0 and 2
  assert quality["top5"] == 1.0  # the top one, example 0
  # AUROC: of the 4 x 16 (noisy, clean) pairs, the noisy one ranks higher in
  # 16 (example 0) + 15 (2) + 13 (5) + 0 (19)
  assert quality["auroc"] == pytest.approx(44 / 64)
  given = study.ranking_quality(score, noisy, order=np.array([1, 3, 5, 19, 0, 2, 4,
                                                               *range(6, 19)]))
  assert (given["precision_at_k"], given["top5"]) == (0.5, 0.0)  # a clean one first
  assert given["auroc"] == quality["auroc"]


def test_a_flagged_set_is_a_leave_out_file(tmp_path):
  path = str(tmp_path / "flagged" / "seed2" / "cleanlab.csv")
  study.write_flagged(path, np.array([9, 3, 4]))
  read, rows = leave_out_rows(str(tmp_path / "flagged" / "seed{seed}" / "cleanlab.csv"), 0,
                              2, 10)
  assert read == path and rows.tolist() == [9, 3, 4]


def test_the_retrained_runs_are_read_by_their_flagged_set(tmp_path):
  for name, accuracy in (("ce/file=cleanlab/seed0", 0.75), ("ce/file=oracle/seed0", 0.8),
                         ("ce/file=cleanlab/seed1", 0.7)):
    workdir = tmp_path / name
    os.makedirs(workdir)
    stem = name.split("/")[1][len("file="):]
    (workdir / "config.json").write_text(json.dumps(
        {"data": {"leave_out": {"file": f"{tmp_path}/flagged/seed{{seed}}/{stem}.csv"}}}))
    (workdir / "results.json").write_text(json.dumps({"final": {"accuracy": accuracy}}))
  os.makedirs(tmp_path / "ce/file=l2rw/seed0")  # started, not finished
  assert study.retrained_accuracy(str(tmp_path)) == {"cleanlab": [75.0, 70.0],
                                                     "oracle": [80.0]}


def test_the_tables_hold_every_ranking_and_every_score():
  ranked = {"auroc": 0.9, "precision_at_k": 0.8, "top5": 1.0, "flagged": 30,
            "flagged_precision": 0.7}
  rows = {"framework: l2rw": [{**ranked, "score": "signal", "run_accuracy": 84.0,
                               "aurocs": {"probability": 0.6, "signal": 0.9,
                                          "combined": 0.8}}] * 2,
          "cleanlab": [ranked, {**ranked, "auroc": 0.7}]}
  table = study.format_tables(rows, {"framework: l2rw": [80.0, 82.0]}, [60.0, 62.0],
                              "prune_by_noise_rate")
  lines = table.splitlines()
  assert lines[2] == ("| framework: l2rw | signal | 0.900 ± 0.000 | 0.800 ± 0.000 | "
                      "1.000 ± 0.000 | 30 ± 0 | 0.700 ± 0.000 | 81.0 ± 1.4 | 84.0 ± 0.0 | 2 |")
  assert lines[3].startswith("| cleanlab | self-confidence; flagged by prune_by_noise_rate "
                             "| 0.800 ± 0.141 |")
  assert lines[3].endswith("| - | - | 2 |")
  assert lines[4] == "| ce, no pruning | | | | | 0 | | 61.0 ± 1.4 | | 2 |"
  assert lines[-1] == "| framework: l2rw | 0.900 ± 0.000 | 0.600 ± 0.000 | 0.800 ± 0.000 |"


@pytest.mark.slow
def test_each_example_is_predicted_by_the_run_that_held_its_fold_out(tmp_path):
  runs = []
  for held_out in (0, 1):
    config = synthetic_config(data__folds={"count": 2, "held_out": held_out},
                              train__epochs=1, data__noise={"kind": "symmetric", "rate": 0.3})
    train.run(config, str(tmp_path / f"fold{held_out}"), verbose=False)
    runs.append(FinishedRun(str(tmp_path / f"fold{held_out}")))
  probabilities, labels, noisy = study.out_of_sample_probabilities(runs)
  whole = data_lib.build({**config.data.to_dict(), "folds": {"count": 0, "held_out": 0}})
  np.testing.assert_array_equal(labels, whole.train.labels)
  np.testing.assert_array_equal(noisy, whole.train.noise_mask)
  fold = fold_of(whole.train.labels, config.data.seed, 2)
  for held_out, run in enumerate(runs):
    rows = fold == held_out
    logits = run.trained_model()(whole.train.features[rows]).numpy()
    expected = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    np.testing.assert_allclose(probabilities[rows], expected, rtol=1e-5, atol=1e-6)
  with pytest.raises(ConfigError, match=r"folds \[1\] finished; all 2 are needed"):
    study.out_of_sample_probabilities(runs[1:])
