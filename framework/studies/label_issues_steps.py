"""The label-issue study's steps (`framework.studies.label_issues`), each on finished runs:
the quality of a ranking, the framework's and cleanlab's rankings, the flagged sets as
leave-out files, the retrained runs by their flagged set, and the tables."""

from __future__ import annotations

import csv
import os

import numpy as np

from framework.errors import ConfigError
from framework.evaluation.metrics import auroc
from framework.runs.reader import FinishedRun
from framework.studies import common
from framework.tools.label_issues import SCORES

STAGE1, CV, RETRAIN = ("fmnist_label_issues", "fmnist_label_issues_cv",
                       "fmnist_label_issues_retrain")
CLEANLAB, ORACLE = "cleanlab", "oracle"


def ranking_quality(score: np.ndarray, noisy: np.ndarray, order: np.ndarray | None = None
                    ) -> dict:
  """AUROC of `score`, and the precision at k = #noisy and the noisy share of the top 5%
  of `order` (default: high score first, ties by index)."""
  order = np.argsort(-score, kind="stable") if order is None else order
  k = int(noisy.sum())
  return {"auroc": auroc(score, noisy), "precision_at_k": float(noisy[order[:k]].mean()),
          "top5": float(noisy[order[:max(1, len(order) // 20)]].mean())}


def framework_ranking(run: FinishedRun, output: str, score: str) -> dict:
  """The run's label-issue ranking (written to `output`): every score's AUROC, the
  chosen score's quality and order, and the run's own final test accuracy (percent)."""
  from framework.tools.label_issues import write_label_issues  # pylint: disable=g-import-not-at-top
  summary = write_label_issues(run, output, score=score)
  noisy = run.noise_mask
  return {**ranking_quality(summary["scores"][summary["score"]], noisy, summary["order"]),
          "score": summary["score"], "order": summary["order"],
          "run_accuracy": 100 * run.results["final"]["accuracy"],
          "aurocs": {name: auroc(values, noisy) for name, values in summary["scores"].items()}}


def out_of_sample_probabilities(runs: list[FinishedRun]) -> tuple[np.ndarray, np.ndarray,
                                                                  np.ndarray]:
  """(probabilities [N, C], given labels, noise mask) of the unfolded training split, each
  example predicted by the cross-validation run that held its fold out."""
  from framework import data as data_lib  # pylint: disable=g-import-not-at-top
  from framework.data import Split  # pylint: disable=g-import-not-at-top
  from framework.data.folds import fold_of  # pylint: disable=g-import-not-at-top
  from framework.tools.label_issues import predicted_probabilities  # pylint: disable=g-import-not-at-top
  config = runs[0].config.data
  unfolded = data_lib.build({**config.to_dict(), "folds": {"count": 0, "held_out": 0}})
  train = unfolded.train
  fold = fold_of(train.labels, config.seed, config.folds.count)
  held_out = sorted(run.config.data.folds.held_out for run in runs)
  if held_out != list(range(config.folds.count)):
    raise ConfigError(f"data.seed={config.seed}: cross-validation runs of folds {held_out} "
                      f"finished; all {config.folds.count} are needed")
  probabilities = np.zeros((len(train), unfolded.num_classes))
  for run in runs:
    rows = np.flatnonzero(fold == run.config.data.folds.held_out)
    split = Split(train.examples.take(rows), train.labels[rows], train.clean_labels[rows])
    probabilities[rows] = predicted_probabilities(run, split, unfolded)
  return probabilities, train.labels, train.noise_mask


def cleanlab_ranking(runs: list[FinishedRun], filter_by: str) -> dict:
  """cleanlab on the out-of-sample probabilities: its label-quality ranking's quality and
  order, and its flagged set (most suspect first)."""
  from cleanlab.filter import find_label_issues  # pylint: disable=g-import-not-at-top
  from cleanlab.rank import get_label_quality_scores  # pylint: disable=g-import-not-at-top
  probabilities, labels, noisy = out_of_sample_probabilities(runs)
  suspicion = -get_label_quality_scores(labels, probabilities, method="self_confidence")
  flagged = find_label_issues(labels, probabilities, filter_by=filter_by, n_jobs=1)
  order = np.argsort(-suspicion, kind="stable")
  return {**ranking_quality(suspicion, noisy), "order": order, "noisy": noisy,
          "flagged": order[flagged[order]]}


def write_flagged(path: str, rows: np.ndarray) -> None:
  """A leave-out file: an `index` column, most suspect first."""
  os.makedirs(os.path.dirname(path), exist_ok=True)
  with open(path, "w", newline="") as f:
    csv.writer(f).writerows([["index"], *([int(i)] for i in rows)])


def retrained_accuracy(root: str) -> dict[str, list[float]]:
  """Final test accuracy (percent) of each finished prune-and-retrain run, by the stem of
  its leave-out file ('cleanlab', 'l2rw', 'oracle'), seeds in order."""
  by_set: dict[str, list[float]] = {}
  for run in common.finished_runs(RETRAIN, root):
    name = os.path.splitext(os.path.basename(run.config.data.leave_out.file))[0]
    by_set.setdefault(name, []).append(100 * run.results["final"]["accuracy"])
  return by_set


def format_tables(rows: dict[str, list[dict]], retrained: dict[str, list[float]],
                  unpruned: list[float], filter_by: str) -> str:
  """Markdown: the rankings with their flagged sets and retrained accuracy, then every
  framework score's AUROC."""
  lines = ["| ranking | score | AUROC | precision at k = #noisy | noisy share of the top 5% | "
           "flagged | precision of the flagged | test acc after prune and retrain | "
           "test acc of the ranking run | seeds |", "|---|---|" + "---:|" * 8]
  for name, runs in rows.items():
    what = {CLEANLAB: f"self-confidence; flagged by {filter_by}", ORACLE: "the noise mask"}
    lines.append(
        f"| {name} | {what.get(name, runs[0].get('score', ''))} | "
        + " | ".join(common.cell([r[key] for r in runs], "{:.3f}")
                     for key in ("auroc", "precision_at_k", "top5"))
        + f" | {common.cell([r['flagged'] for r in runs], '{:.0f}')} | "
        f"{common.cell([r['flagged_precision'] for r in runs], '{:.3f}')} | "
        f"{common.cell(retrained.get(name, [np.nan]))} | "
        f"{common.cell([r.get('run_accuracy', np.nan) for r in runs])} | {len(runs)} |")
  lines.append(f"| ce, no pruning | | | | | 0 | | {common.cell(unpruned)} | | {len(unpruned)} |")
  lines += ["", "| framework ranking | " + " | ".join(f"AUROC, {s}" for s in SCORES[1:])
            + " |", "|---|" + "---:|" * (len(SCORES) - 1)]
  for name, runs in rows.items():
    if "aurocs" in runs[0]:
      lines.append(f"| {name} | " + " | ".join(
          common.cell([r["aurocs"].get(s, np.nan) for r in runs], "{:.3f}")
          for s in SCORES[1:]) + " |")
  return "\n".join(lines)
