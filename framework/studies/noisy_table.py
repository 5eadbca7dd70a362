r"""The README's noisy-label table: variants of experiments/fmnist_noisy.py x seeds.

  python -m framework.studies.noisy_table --seeds=0,1,2 --epochs=40 --workdir=/tmp/noisy_runs

Each (variant, seed) trains through `framework.train.run` in WORKDIR/<variant>-e<E>/seed<s>
(config.seed and data.seed both s, evaluation and a weight snapshot every epoch). Prints a
markdown row per variant: final and best (over the per-epoch evaluations) test accuracy,
and the AUROC with which the per-sample weights rank the noisy labels (score = -weight;
"-" for CE, whose weights are all 1) for the final weights (l2rw's `kept` table, the
others' `weight` table) and for the `weight` table averaged over the epoch snapshots;
mean ± std over seeds. A run whose summary.json exists is re-read, not retrained.
"""

from __future__ import annotations

import json
import os
import sys
import time

from absl import app, flags, logging
import numpy as np

from framework.config import choose_variants, load_experiment_file
from framework.errors import ConfigError
from framework.inspect import noise_auroc
from framework.studies import define_seeds_flag

_REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_EXPERIMENT = os.path.join(_REPO, "experiments", "fmnist_noisy.py")
FINAL_TABLE = {"l2rw": "sample/kept"}  # the table of the final AUROC; default sample/weight

_VARIANTS = flags.DEFINE_list("variants", None, "Variants to run (default: all).")
_SEEDS = define_seeds_flag(["0"])
_EPOCHS = flags.DEFINE_integer("epochs", 40, "train.epochs (the protocol's is 40).",
                                 lower_bound=1)
_WORKDIR = flags.DEFINE_string("workdir", "/tmp/noisy_runs", "Root of the runs' workdirs.")


def load_experiment(path: str = _EXPERIMENT):
  return load_experiment_file(path)


def run_one(module, variant: str, seed: int, epochs: int, root: str) -> dict:
  workdir = os.path.join(root, f"{variant}-e{epochs}", f"seed{seed}")
  path = os.path.join(workdir, "summary.json")
  if os.path.exists(path):
    with open(path) as f:
      return json.load(f)
  from framework import train  # pylint: disable=g-import-not-at-top
  config = module.get_config(variant)
  config.seed = config.data.seed = seed
  config.train.epochs = epochs
  start = time.time()
  results = train.run(config, workdir, verbose=False)
  summary = {"final": 100 * results["final"]["accuracy"],
             "best": 100 * max(r["accuracy"] for r in results["history"]),
             "best_epoch": max(results["history"], key=lambda r: r["accuracy"])["epoch"],
             "seconds": time.time() - start,
             **noise_auroc(workdir, FINAL_TABLE.get(variant, "sample/weight"))}
  with open(path, "w") as f:
    json.dump(summary, f)
  return summary


def _cell(values, fmt="{:.1f}") -> str:
  values = np.asarray(values, np.float64)
  if np.isnan(values).all():
    return "-"
  mean = fmt.format(np.nanmean(values))
  return mean if len(values) == 1 else f"{mean} ± {fmt.format(np.nanstd(values, ddof=1))}"


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  logging.set_verbosity(logging.WARNING)
  module = load_experiment()
  try:
    variants = choose_variants(module, _VARIANTS.value or ())
  except ConfigError as e:
    sys.exit(f"error: {e}")
  seeds, epochs = [int(s) for s in _SEEDS.value], _EPOCHS.value
  rows = {}
  for variant in variants:
    for seed in seeds:
      s = run_one(module, variant, seed, epochs, _WORKDIR.value)
      rows.setdefault(variant, []).append(s)
      print(f"{variant} seed {seed}: final {s['final']:.1f}, best {s['best']:.1f} "
            f"(epoch {s['best_epoch']:.0f}), noise AUROC {s['auroc']:.3f} "
            f"(epoch-averaged {s['auroc_averaged']:.3f}) "
            f"({s['seconds']:.0f} s)", flush=True)
  lines = ["| method | final test acc | best test acc | noise AUROC, final weights | "
           "noise AUROC, weights averaged over epochs | seeds |", "|---|---:|---:|---:|---:|---:|"]
  for variant, runs in rows.items():
    lines.append(f"| {variant} | {_cell([r['final'] for r in runs])} | "
                 f"{_cell([r['best'] for r in runs])} | "
                 f"{_cell([r['auroc'] for r in runs], '{:.3f}')} | "
                 f"{_cell([r['auroc_averaged'] for r in runs], '{:.3f}')} | {len(runs)} |")
  table = "\n".join(lines)
  print(f"Fashion-MNIST, 50% symmetric noise, {epochs} epochs\n" + table, flush=True)
  os.makedirs(_WORKDIR.value, exist_ok=True)
  with open(os.path.join(_WORKDIR.value, f"table-e{epochs}.md"), "w") as f:
    f.write(table + "\n")


if __name__ == "__main__":
  app.run(main)
