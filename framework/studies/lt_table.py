r"""The README's long-tailed Fashion-MNIST table: variants of experiments/fmnist_lt.py x seeds.

  python -m framework.studies.lt_table --seeds=0,1,2 --workdir=/tmp/lt_runs

Each (variant, seed) trains through `framework.train.run` in WORKDIR/<variant>/seed<s>
(WORKDIR/<variant>-e<E>/seed<s> with --epochs), with config.seed and data.seed both set to
s, so the spread covers the long-tail subsample as well as the initialisation and batch
order. A run whose results.json exists is read, not retrained, and an interrupted run
resumes from its checkpoint: re-running the same command finishes the study. Prints one
markdown row per variant: mean ± sample std (ddof 1) over seeds, in percent; the
`posthoc` and `tau_norm` variants report their post-hoc metrics (`posthoc/...`,
`taunorm/...`); `crt`, `wb` and `mislas` re-train the classifier of the same seed's
first-stage run (`FIRST_STAGE` of experiments/fmnist_lt.py: ce, wb_stage1, mixup).
"""

from __future__ import annotations

import os
import time
from typing import Sequence

from absl import app, flags, logging
import numpy as np

from framework.studies import common

METRICS = (("balanced accuracy", "balanced_accuracy"), ("macro-F1", "macro_f1"),
           ("min recall", "min_recall"))

_VARIANTS = flags.DEFINE_list(
    "variants", None, "Variants of experiments/fmnist_lt.py to run (default: all of them).")
_SEEDS = common.define_seeds_flag(["0", "1", "2"])
_EPOCHS = flags.DEFINE_integer("epochs", None, "Override train.epochs (default: protocol's 10).",
                               lower_bound=1)
_WORKDIR = flags.DEFINE_string("workdir", "/tmp/lt_runs", "Root of the runs' workdirs.")
_DATA_DIR = flags.DEFINE_string("data_dir", "", "data.data_dir (where the idx files are).")


PREFIXES = {"posthoc": "posthoc/", "tau_norm": "taunorm/"}  # post-hoc variants' metrics


def metric_prefix(variant: str) -> str:
  return PREFIXES.get(variant, "")


def run_dir(root: str, variant: str, seed: int, epochs: int | None) -> str:
  name = variant if epochs is None else f"{variant}-e{epochs}"
  return os.path.join(root, name, f"seed{seed}")


def summarize(finals: Sequence[dict], prefix: str = "") -> dict[str, tuple[float, float]]:
  """{metric: (mean, sample std)} in percent over the runs' final metrics (std NaN if 1 run)."""
  out = {}
  for _, key in METRICS:
    values = 100.0 * np.array([f[prefix + key] for f in finals], np.float64)
    std = float(values.std(ddof=1)) if len(values) > 1 else float("nan")
    out[key] = (float(values.mean()), std)
  return out


def format_table(rows: dict[str, dict[str, tuple[float, float]]], seeds: dict[str, int]) -> str:
  """Markdown: method | balanced accuracy | macro-F1 | min recall | seeds."""
  lines = ["| method | " + " | ".join(name for name, _ in METRICS) + " | seeds |",
           "|---|" + "---:|" * (len(METRICS) + 1)]
  for variant, stats in rows.items():
    cells = []
    for _, key in METRICS:
      mean, std = stats[key]
      cells.append(f"{mean:.1f}" if np.isnan(std) else f"{mean:.1f} ± {std:.1f}")
    lines.append(f"| {variant} | " + " | ".join(cells) + f" | {seeds[variant]} |")
  return "\n".join(lines)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  logging.set_verbosity(logging.WARNING)
  module, variants = common.experiment_variants("fmnist_lt", _VARIANTS.value)
  seeds = [int(s) for s in _SEEDS.value]
  total, done = len(variants) * len(seeds), 0
  finals: dict[str, list[dict]] = {v: [] for v in variants}
  fields = {"data__data_dir": _DATA_DIR.value} if _DATA_DIR.value else {}
  for seed in seeds:  # seed-major: a study cut short still has every variant at equal seeds
    for variant in variants:
      start = time.time()
      extra = dict(fields)
      first = module.FIRST_STAGE.get(variant)
      if first:  # re-trains the classifier of this seed's first-stage run (trained first)
        base = run_dir(_WORKDIR.value, first, seed, _EPOCHS.value)
        common.train_variant(module, first, seed, base, _EPOCHS.value, **fields)
        extra["model__init_from"] = base
      results, reused = common.train_variant(
          module, variant, seed, run_dir(_WORKDIR.value, variant, seed, _EPOCHS.value),
          _EPOCHS.value, **extra)
      final = results["final"]
      finals[variant].append(final)
      done += 1
      p = metric_prefix(variant)
      print(f"[{done}/{total}] {variant} seed {seed}: balanced acc "
            f"{100 * final[p + 'balanced_accuracy']:.1f}, macro-F1 {100 * final[p + 'macro_f1']:.1f}"
            f", min recall {100 * final[p + 'min_recall']:.1f} "
            f"({'reused' if reused else f'{time.time() - start:.0f} s'})", flush=True)
  rows = {v: summarize(f, metric_prefix(v)) for v, f in finals.items()}
  table = format_table(rows, {v: len(f) for v, f in finals.items()})
  print(table, flush=True)
  os.makedirs(_WORKDIR.value, exist_ok=True)
  with open(os.path.join(_WORKDIR.value, "table.md"), "w") as f:
    f.write(table + "\n")


if __name__ == "__main__":
  app.run(main)
