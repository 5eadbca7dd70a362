r"""Finding the wrong labels: the framework's label-issue ranking beside cleanlab's.

  python -m framework.studies.label_issues --seeds=0,1,2 --workdir=/tmp/noisy_runs

On the noisy Fashion-MNIST protocol (experiments/fmnist_noisy.py: 10,000 training images,
about 45% of the labels wrong), for each seed:
* the framework: the runs of the variants below (trained, or re-read from the noisy study's
  workdirs), each ranked by `framework.tools.label_issues` (the rule's signal and the final
  model's in-sample probability of the given label, combined);
* cleanlab (confident learning): out-of-sample predicted probabilities from 5-fold
  cross-validation of the same model and recipe (MLP 784-512-512-10, Adam 1e-3, batch 128,
  the protocol's epochs) trained through `framework.fit`, ranked by cleanlab's label
  quality score (self-confidence).
Prints AUROC (score vs the true noise mask), precision at the true number of noisy
labels, and the share of truly noisy labels in the top 5%; mean ± std over seeds.
cleanlab is an optional dependency of this study only (`pip install cleanlab`).
"""

from __future__ import annotations

import os
import sys

from absl import app, flags, logging
import numpy as np

from framework.evaluation.metrics import auroc
from framework.runs.reader import FinishedRun
from framework.studies import common

VARIANTS = ("ce", "l2rw", "elr", "mwnet")
_VARIANTS = flags.DEFINE_list("variants", list(VARIANTS), "Variants whose ranking is shown.")
_SEEDS = common.define_seeds_flag(["0"])
_EPOCHS = flags.DEFINE_integer("epochs", 40, "train.epochs of every run (the protocol's 40).",
                               lower_bound=1)
_FOLDS = flags.DEFINE_integer("folds", 5, "cross-validation folds for cleanlab.", lower_bound=2)
_WORKDIR = flags.DEFINE_string("workdir", "/tmp/noisy_runs", "Root of the runs' workdirs.")


def ranking_quality(score: np.ndarray, noisy: np.ndarray) -> dict:
  """AUROC, precision at k = #noisy, and the noisy share of the top 5% (high score first)."""
  order = np.argsort(-score, kind="stable")
  k = int(noisy.sum())
  return {"auroc": auroc(score, noisy), "precision_at_k": float(noisy[order[:k]].mean()),
          "top5": float(noisy[order[:max(1, len(order) // 20)]].mean())}


def cleanlab_scores(module, seed: int, epochs: int, folds: int) -> tuple[np.ndarray, np.ndarray]:
  """(-label quality from cleanlab on out-of-sample probabilities, the noise mask)."""
  from cleanlab.rank import get_label_quality_scores  # pylint: disable=g-import-not-at-top
  from framework import api, data as data_lib  # pylint: disable=g-import-not-at-top
  config = module.get_config("ce")
  config.seed = config.data.seed = seed
  bundle = data_lib.build(config.data)
  x, y = bundle.train.features, bundle.train.labels
  probabilities = np.zeros((len(y), bundle.num_classes))
  fold_of = np.random.default_rng(seed).permutation(len(y)) % folds
  for fold in range(folds):
    held = fold_of == fold
    result = api.fit("mlp", (x[~held], y[~held], x[held], y[held]), epochs=epochs,
                     batch_size=128, seed=seed,
                     config={"model.kwargs": {"hidden": (512, 512)},
                             "logging.snapshot_every_epochs": 0,
                             "logging.summary_every_loops": 0,
                             "train.eval_every_epochs": epochs})
    probabilities[held] = result.predict(x[held])
  quality = get_label_quality_scores(y, probabilities, method="self_confidence")
  return -quality, bundle.train.noise_mask


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  logging.set_verbosity(logging.WARNING)
  try:
    import cleanlab  # noqa: F401  pylint: disable=g-import-not-at-top,unused-import
  except ImportError:
    sys.exit("error: this study needs cleanlab: pip install cleanlab")
  from framework.tools.label_issues import write_label_issues  # pylint: disable=g-import-not-at-top
  module, variants = common.experiment_variants("fmnist_noisy", _VARIANTS.value)
  rows: dict[str, list[dict]] = {}
  for seed in (int(s) for s in _SEEDS.value):
    for variant in variants:
      workdir = os.path.join(_WORKDIR.value, f"{variant}-e{_EPOCHS.value}", f"seed{seed}")
      common.train_variant(module, variant, seed, workdir, _EPOCHS.value)
      run = FinishedRun(workdir)
      summary = write_label_issues(run, os.path.join(workdir, "label_issues.csv"))
      row = ranking_quality(summary["score"], run.noise_mask)
      rows.setdefault(f"framework: {variant}", []).append(row)
      print(f"seed {seed} {variant}: {row}", flush=True)
    score, mask = cleanlab_scores(module, seed, _EPOCHS.value, _FOLDS.value)
    row = ranking_quality(score, mask)
    rows.setdefault(f"cleanlab ({_FOLDS.value}-fold CV, self-confidence)", []).append(row)
    print(f"seed {seed} cleanlab: {row}", flush=True)
  lines = ["| ranking | AUROC | precision at k = #noisy | noisy share of the top 5% | seeds |",
           "|---|---:|---:|---:|---:|"]
  for name, runs in rows.items():
    lines.append(f"| {name} | {common.cell([r['auroc'] for r in runs], '{:.3f}')} | "
                 f"{common.cell([r['precision_at_k'] for r in runs], '{:.3f}')} | "
                 f"{common.cell([r['top5'] for r in runs], '{:.3f}')} | {len(runs)} |")
  table = "\n".join(lines)
  print(table, flush=True)
  os.makedirs(_WORKDIR.value, exist_ok=True)
  with open(os.path.join(_WORKDIR.value, f"label_issues-e{_EPOCHS.value}.md"), "w") as f:
    f.write(table + "\n")


if __name__ == "__main__":
  app.run(main)
