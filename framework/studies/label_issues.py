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

import os
import sys

from absl import app, flags, logging
import numpy as np

from framework.errors import ConfigError
from framework.runs.reader import FinishedRun
from framework.studies import common
from framework.studies.label_issues_steps import (CLEANLAB, ORACLE, RETRAIN, STAGE1, CV,
                                                  cleanlab_ranking, format_tables,
                                                  framework_ranking, ranking_quality,
                                                  retrained_accuracy, write_flagged)
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

def flagged_sets(seed: int, stage1: list[FinishedRun], cv: list[FinishedRun], root: str,
                 score: str, filter_by: str
                 ) -> tuple[dict[str, tuple[dict, np.ndarray]], np.ndarray]:
  """{name: (ranking quality, flagged rows)} of one seed: each framework run's top k (k =
  cleanlab's count), cleanlab's flagged set, the truly wrong labels (`oracle`); and the
  noise mask. Each framework ranking is written to ROOT/label_issues/<variant>_seed<s>.csv."""
  clean = cleanlab_ranking(cv, filter_by)
  noisy, k = clean["noisy"], len(clean["flagged"])
  flagged = {}
  for run in stage1:
    output = os.path.join(root, "label_issues", f"{run.config.variant}_seed{seed}.csv")
    os.makedirs(os.path.dirname(output), exist_ok=True)
    ranking = framework_ranking(run, output, score)
    flagged[run.config.variant] = (ranking, ranking["order"][:k])
  flagged[CLEANLAB] = (clean, clean["flagged"])
  flagged[ORACLE] = (ranking_quality(noisy.astype(float), noisy), np.flatnonzero(noisy))
  return flagged, noisy


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  logging.set_verbosity(logging.ERROR)  # not TensorFlow's retracing notes, one per run
  try:
    import cleanlab  # noqa: F401  pylint: disable=g-import-not-at-top,unused-import
  except ImportError:
    sys.exit("error: this study needs cleanlab: pip install cleanlab")
  root = _ROOT.value
  cv_root = _CV_ROOT.value or os.path.join(root, "cv")
  retrain_root = _RETRAIN_ROOT.value or os.path.join(root, "retrain")
  named = lambda name: name if name in (CLEANLAB, ORACLE) else f"framework: {name}"
  rows: dict[str, list[dict]] = {}
  try:
    stage1, folds = common.finished_runs(STAGE1, root), common.finished_runs(CV, cv_root)
    for seed in sorted({run.config.data.seed for run in stage1}):
      cv = [run for run in folds if run.config.data.seed == seed]
      if not cv:
        print(f"seed {seed}: no cross-validation runs in {cv_root}; left out", flush=True)
        continue
      seeded = [run for run in stage1 if run.config.data.seed == seed]
      flagged, noisy = flagged_sets(seed, seeded, cv, root, _SCORE.value, _FILTER_BY.value)
      for name, (ranking, out) in flagged.items():
        write_flagged(os.path.join(retrain_root, "flagged", f"seed{seed}", f"{name}.csv"), out)
        row = {**ranking, "flagged": len(out), "flagged_precision": float(noisy[out].mean())}
        rows.setdefault(named(name), []).append(row)
        print(f"seed {seed} {name}: AUROC {row['auroc']:.3f}, flagged {row['flagged']} "
              f"(precision {row['flagged_precision']:.3f})", flush=True)
    retrained = retrained_accuracy(retrain_root)
  except ConfigError as e:
    sys.exit(f"error: {e}")
  if not retrained:
    print(f"next: python -m framework.sweeps.run --sweep={RETRAIN} --root={retrain_root} "
          "--workers=2, then this command again", flush=True)
  common.write_table(root, "label_issues.md", format_tables(
      rows, {named(k): v for k, v in retrained.items()},
      [row["run_accuracy"] for row in rows.get(named("ce"), [])], _FILTER_BY.value))


if __name__ == "__main__":
  app.run(main)
