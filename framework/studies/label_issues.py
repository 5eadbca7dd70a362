r"""Finding the wrong labels, and what dropping them buys: the framework's rankings beside
cleanlab's, on finished sweeps (this module trains nothing).

  python -m framework.sweeps.run --sweep=fmnist_label_issues --root=R --workers=2
  python -m framework.sweeps.run --sweep=fmnist_label_issues_cv --root=R/cv --workers=2
  python -m framework.studies.label_issues --root=R      # rankings; writes R/retrain/flagged
  python -m framework.sweeps.run --sweep=fmnist_label_issues_retrain --root=R/retrain \
      --workers=2
  python -m framework.studies.label_issues --root=R      # the table, with the retrained runs

Fashion-MNIST-noisy at 40% symmetric noise (experiments/fmnist_noisy.py: 10,000 training
images, about 36% of the labels wrong), per seed:
* the framework: each run of stage 1 (ce, elr, l2rw, mwnet) ranked by
  `framework.tools.label_issues` with --score (default auto: the rule's signal, the
  probability of the given label for ce); every score's AUROC is printed too;
* cleanlab (confident learning): out-of-sample probabilities from the 5-fold
  cross-validation runs (ce trained on four folds, `framework.data.folds`; each predicts
  its held-out fold), ranked by `cleanlab.rank.get_label_quality_scores`
  (self-confidence); its flagged set is `cleanlab.filter.find_label_issues` with
  filter_by=--filter_by (default prune_by_noise_rate);
* flagged sets, written as leave-out files ROOT/retrain/flagged/seed<s>/<name>.csv:
  cleanlab's, each framework ranking's top k with k = cleanlab's count for that seed (the
  same budget, so the precisions compare), and `oracle`, the truly wrong labels;
* prune and retrain: ce on the data minus each flagged set (the sweep
  fmnist_label_issues_retrain, `data.leave_out.file`), beside ce without pruning.
The table (mean ± std over seeds) is printed and written to ROOT/label_issues.md; the
ranked csv of each stage-1 run to ROOT/label_issues/<variant>_seed<s>.csv.
cleanlab is an optional dependency of this study (`pip install cleanlab`, or the extra
`.[studies]`).
"""

from __future__ import annotations

import csv
import os
import sys

from absl import app, flags, logging
import numpy as np

from framework.errors import ConfigError
from framework.evaluation.metrics import auroc
from framework.runs import files
from framework.runs.reader import FinishedRun
from framework.runs.rundir import RunDir
from framework.studies import common
from framework.sweeps import load_sweep, plan
from framework.sweeps.declaration import sweep_file
from framework.tools.label_issues import SCORES

_ROOT = flags.DEFINE_string("root", "/tmp/label_issues", "The root of the stage-1 sweep.")
_CV_ROOT = flags.DEFINE_string("cv_root", "", "The root of the cross-validation sweep "
                               "('': ROOT/cv).")
_RETRAIN_ROOT = flags.DEFINE_string("retrain_root", "", "The root of the prune-and-retrain "
                                    "sweep, where the flagged sets are written ('': "
                                    "ROOT/retrain).")
_SCORE = flags.DEFINE_enum("score", "auto", list(SCORES), "The framework's ranking score.")
_FILTER_BY = flags.DEFINE_enum("filter_by", "prune_by_noise_rate",
                               ["prune_by_noise_rate", "prune_by_class", "both",
                                "confident_learning", "predicted_neq_given"],
                               "cleanlab's find_label_issues filter.")

STAGE1, CV, RETRAIN = ("fmnist_label_issues", "fmnist_label_issues_cv",
                       "fmnist_label_issues_retrain")
CLEANLAB, ORACLE = "cleanlab", "oracle"


def ranking_quality(score: np.ndarray, noisy: np.ndarray) -> dict:
  """AUROC, precision at k = #noisy, and the noisy share of the top 5% (high score first,
  ties by index)."""
  order = np.argsort(-score, kind="stable")
  k = int(noisy.sum())
  return {"auroc": auroc(score, noisy), "precision_at_k": float(noisy[order[:k]].mean()),
          "top5": float(noisy[order[:max(1, len(order) // 20)]].mean())}


def finished_runs(sweep: str, root: str) -> list[FinishedRun]:
  """The finished runs of a sweep (a shipped name) in `root`, in the sweep's order."""
  path = sweep_file(sweep)
  return [FinishedRun(run.workdir) for run in plan(load_sweep(path), path, root)
          if RunDir(run.workdir).exists(files.RESULTS)]


def framework_ranking(run: FinishedRun, output: str, score: str) -> dict:
  """The run's label-issue ranking (written to `output`): every score's AUROC, the
  chosen score's quality and order."""
  from framework.tools.label_issues import write_label_issues  # pylint: disable=g-import-not-at-top
  summary = write_label_issues(run, output, score=score)
  noisy = run.noise_mask
  return {**ranking_quality(summary["scores"][summary["score"]], noisy),
          "score": summary["score"], "order": summary["order"],
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
  for run in finished_runs(RETRAIN, root):
    name = os.path.splitext(os.path.basename(run.config.data.leave_out.file))[0]
    by_set.setdefault(name, []).append(100 * run.results["final"]["accuracy"])
  return by_set


def format_tables(rows: dict[str, list[dict]], retrained: dict[str, list[float]],
                  unpruned: list[float], filter_by: str) -> str:
  """Markdown: the rankings with their flagged sets and retrained accuracy, then every
  framework score's AUROC."""
  lines = ["| ranking | score | AUROC | precision at k = #noisy | noisy share of the top 5% | "
           "flagged | precision of the flagged | test acc after prune and retrain | seeds |",
           "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
  for name, runs in rows.items():
    what = {CLEANLAB: f"self-confidence; flagged by {filter_by}", ORACLE: "the noise mask"}
    lines.append(
        f"| {name} | {what.get(name, runs[0].get('score', ''))} | "
        + " | ".join(common.cell([r[key] for r in runs], "{:.3f}")
                     for key in ("auroc", "precision_at_k", "top5"))
        + f" | {common.cell([r['flagged'] for r in runs], '{:.0f}')} | "
        f"{common.cell([r['flagged_precision'] for r in runs], '{:.3f}')} | "
        f"{common.cell(retrained.get(name, [np.nan]))} | {len(runs)} |")
  lines.append(f"| ce, no pruning | | | | | 0 | | {common.cell(unpruned)} | {len(unpruned)} |")
  lines += ["", "| framework ranking | " + " | ".join(f"AUROC, {s}" for s in SCORES[1:])
            + " |", "|---|" + "---:|" * (len(SCORES) - 1)]
  for name, runs in rows.items():
    if "aurocs" in runs[0]:
      lines.append(f"| {name} | " + " | ".join(
          common.cell([r["aurocs"].get(s, np.nan) for r in runs], "{:.3f}")
          for s in SCORES[1:]) + " |")
  return "\n".join(lines)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  logging.set_verbosity(logging.WARNING)
  try:
    import cleanlab  # noqa: F401  pylint: disable=g-import-not-at-top,unused-import
  except ImportError:
    sys.exit("error: this study needs cleanlab: pip install cleanlab")
  root = _ROOT.value
  cv_root = _CV_ROOT.value or os.path.join(root, "cv")
  retrain_root = _RETRAIN_ROOT.value or os.path.join(root, "retrain")
  try:
    stage1, folds = finished_runs(STAGE1, root), finished_runs(CV, cv_root)
    rows: dict[str, list[dict]] = {}
    unpruned = []
    for seed in sorted({run.config.data.seed for run in stage1}):
      cv = [run for run in folds if run.config.data.seed == seed]
      if not cv:
        print(f"seed {seed}: no cross-validation runs in {cv_root}; left out", flush=True)
        continue
      clean = cleanlab_ranking(cv, _FILTER_BY.value)
      noisy, k = clean["noisy"], len(clean["flagged"])
      flagged = {}
      for run in (r for r in stage1 if r.config.data.seed == seed):
        variant = run.config.variant
        output = os.path.join(root, "label_issues", f"{variant}_seed{seed}.csv")
        os.makedirs(os.path.dirname(output), exist_ok=True)
        ranking = framework_ranking(run, output, _SCORE.value)
        flagged[variant] = (ranking, ranking["order"][:k])
        if variant == "ce":
          unpruned.append(100 * run.results["final"]["accuracy"])
      flagged[CLEANLAB] = (clean, clean["flagged"])
      flagged[ORACLE] = (ranking_quality(noisy.astype(float), noisy), np.flatnonzero(noisy))
      for name, (ranking, rows_out) in flagged.items():
        write_flagged(os.path.join(retrain_root, "flagged", f"seed{seed}", f"{name}.csv"),
                      rows_out)
        row = {**ranking, "flagged": len(rows_out),
               "flagged_precision": float(noisy[rows_out].mean())}
        rows.setdefault(name if name in (CLEANLAB, ORACLE) else f"framework: {name}",
                        []).append(row)
        print(f"seed {seed} {name}: AUROC {row['auroc']:.3f}, flagged {row['flagged']} "
              f"(precision {row['flagged_precision']:.3f})", flush=True)
    retrained = retrained_accuracy(retrain_root)
  except ConfigError as e:
    sys.exit(f"error: {e}")
  if not retrained:
    print(f"next: python -m framework.sweeps.run --sweep={RETRAIN} --root={retrain_root} "
          "--workers=2, then this command again", flush=True)
  retrained = {(k if k in (CLEANLAB, ORACLE) else f"framework: {k}"): v
               for k, v in retrained.items()}
  common.write_table(root, "label_issues.md",
                     format_tables(rows, retrained, unpruned, _FILTER_BY.value))


if __name__ == "__main__":
  app.run(main)
