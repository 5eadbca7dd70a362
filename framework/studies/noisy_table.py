r"""The README's noisy-label table: variants of experiments/fmnist_noisy.py x seeds.

  python -m framework.studies.noisy_table --seeds=0,1,2 --epochs=40 --workdir=/tmp/noisy_runs

Each (variant, seed) trains through `framework.train.run` in WORKDIR/<variant>-e<E>/seed<s>
(config.seed and data.seed both s, evaluation and a weight snapshot every epoch). Prints a
markdown row per variant: final and best (over the per-epoch evaluations) test accuracy,
and the AUROC with which the per-sample weights rank the noisy labels (score = -weight;
"-" for CE, whose weights are all 1) for the final signal the rule declares (l2rw's
`kept` table, ELR's `agreement`, the others' `weight` table) and for the `weight` table
averaged over the epoch snapshots; mean ± std over seeds. A finished run is re-read, not
retrained.
"""

from __future__ import annotations

import os
import time

from absl import app, flags, logging

from framework.runs.reader import FinishedRun
from framework.studies import common
from framework.tools.inspect_run import noise_auroc

_VARIANTS = flags.DEFINE_list("variants", None, "Variants to run (default: all).")
_SEEDS = common.define_seeds_flag(["0"])
_EPOCHS = flags.DEFINE_integer("epochs", 40, "train.epochs (the protocol's is 40).",
                               lower_bound=1)
_WORKDIR = flags.DEFINE_string("workdir", "/tmp/noisy_runs", "Root of the runs' workdirs.")


def summary(run: FinishedRun) -> dict:
  """Final and best accuracy (percent), best epoch, and the weights' noise AUROCs."""
  results = run.results
  best = max(results["history"], key=lambda r: r["accuracy"])
  return {"final": 100 * results["final"]["accuracy"], "best": 100 * best["accuracy"],
          "best_epoch": best["epoch"], **noise_auroc(run)}


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  logging.set_verbosity(logging.WARNING)
  module, variants = common.experiment_variants("fmnist_noisy", _VARIANTS.value)
  seeds, epochs = [int(s) for s in _SEEDS.value], _EPOCHS.value
  rows = {}
  for variant in variants:
    for seed in seeds:
      workdir = os.path.join(_WORKDIR.value, f"{variant}-e{epochs}", f"seed{seed}")
      start = time.time()
      _, reused = common.train_variant(module, variant, seed, workdir, epochs)
      s = summary(FinishedRun(workdir))
      rows.setdefault(variant, []).append(s)
      print(f"{variant} seed {seed}: final {s['final']:.1f}, best {s['best']:.1f} "
            f"(epoch {s['best_epoch']:.0f}), noise AUROC {s['auroc']:.3f} "
            f"(epoch-averaged {s['auroc_averaged']:.3f}) "
            f"({'reused' if reused else f'{time.time() - start:.0f} s'})", flush=True)
  lines = ["| method | final test acc | best test acc | noise AUROC, final weights | "
           "noise AUROC, weights averaged over epochs | seeds |", "|---|---:|---:|---:|---:|---:|"]
  for variant, runs in rows.items():
    lines.append(f"| {variant} | {common.cell([r['final'] for r in runs])} | "
                 f"{common.cell([r['best'] for r in runs])} | "
                 f"{common.cell([r['auroc'] for r in runs], '{:.3f}')} | "
                 f"{common.cell([r['auroc_averaged'] for r in runs], '{:.3f}')} | {len(runs)} |")
  table = "\n".join(lines)
  print(f"Fashion-MNIST, 50% symmetric noise, {epochs} epochs\n" + table, flush=True)
  os.makedirs(_WORKDIR.value, exist_ok=True)
  with open(os.path.join(_WORKDIR.value, f"table-e{epochs}.md"), "w") as f:
    f.write(table + "\n")


if __name__ == "__main__":
  app.run(main)
