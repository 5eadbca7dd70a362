r"""The README's long-tailed Fashion-MNIST table, over the runs of a sweep.

  python -m framework.sweeps.run --sweep=fmnist_lt_table --root=/tmp/lt_runs --workers=2
  python -m framework.studies.lt_table --root=/tmp/lt_runs

The runs are those of the sweep experiments/sweeps/fmnist_lt_table.py (or --sweep) that
have finished in ROOT. Prints one markdown row per variant, written also to ROOT/table.md:
mean ± sample std (ddof 1) over seeds, in percent; the `posthoc` and `tau_norm` variants
report their post-hoc metrics (`posthoc/...`, `taunorm/...`).
"""

from __future__ import annotations

from typing import Sequence

from absl import app, flags
import numpy as np

from framework.studies import common

METRICS = (("balanced accuracy", "balanced_accuracy"), ("macro-F1", "macro_f1"),
           ("min recall", "min_recall"))
PREFIXES = {"posthoc": "posthoc/", "tau_norm": "taunorm/"}  # post-hoc variants' metrics

_SWEEP = flags.DEFINE_string("sweep", "fmnist_lt_table", "The sweep (a path or a shipped name).")
_ROOT = flags.DEFINE_string("root", "/tmp/lt_runs", "The sweep's root.")


def metric_prefix(variant: str) -> str:
  return PREFIXES.get(variant, "")


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
  runs = common.finished_by_variant(_SWEEP.value, _ROOT.value)
  finals = {v: [r.results["final"] for r in done] for v, done in runs.items()}
  rows = {v: summarize(f, metric_prefix(v)) for v, f in finals.items()}
  common.write_table(_ROOT.value, "table.md",
                     format_table(rows, {v: len(f) for v, f in finals.items()}))


if __name__ == "__main__":
  app.run(main)
