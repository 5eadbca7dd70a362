r"""The README's noisy-label Fashion-MNIST tables, over the runs of a sweep.

  python -m framework.sweeps.run --sweep=fmnist_noisy_table --root=/tmp/noisy_runs --workers=2
  python -m framework.studies.noisy_table --root=/tmp/noisy_runs

The runs are those of the sweep experiments/sweeps/fmnist_noisy_table.py (or --sweep) that
have finished in ROOT. Prints a markdown row per variant, written also to ROOT/table.md:
final and best (over the per-epoch evaluations) test accuracy, and the AUROC with which
the per-sample weights rank the noisy labels (score = -weight; "-" for CE, whose weights
are all 1) for the final signal the rule declares (l2rw's `kept` table, ELR's `agreement`,
the others' `weight` table) and for the `weight` table averaged over the epoch snapshots;
mean ± std over seeds.
"""

from __future__ import annotations

from absl import app, flags

from framework.runs.reader import FinishedRun
from framework.studies import common
from framework.tools.inspect_run import noise_auroc

_SWEEP = flags.DEFINE_string("sweep", "fmnist_noisy_table",
                             "The sweep (a path or a shipped name).")
_ROOT = flags.DEFINE_string("root", "/tmp/noisy_runs", "The sweep's root.")


def summary(run: FinishedRun) -> dict:
  """Final and best accuracy (percent), best epoch, and the weights' noise AUROCs."""
  results = run.results
  best = max(results["history"], key=lambda r: r["accuracy"])
  return {"final": 100 * results["final"]["accuracy"], "best": 100 * best["accuracy"],
          "best_epoch": best["epoch"], **noise_auroc(run)}


def format_table(rows: dict[str, list[dict]]) -> str:
  """Markdown: method | final | best | noise AUROC (final, epoch-averaged) | seeds."""
  lines = ["| method | final test acc | best test acc | noise AUROC, final weights | "
           "noise AUROC, weights averaged over epochs | seeds |", "|---|---:|---:|---:|---:|---:|"]
  for variant, runs in rows.items():
    lines.append(f"| {variant} | {common.cell([r['final'] for r in runs])} | "
                 f"{common.cell([r['best'] for r in runs])} | "
                 f"{common.cell([r['auroc'] for r in runs], '{:.3f}')} | "
                 f"{common.cell([r['auroc_averaged'] for r in runs], '{:.3f}')} | {len(runs)} |")
  return "\n".join(lines)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
  runs = common.finished_by_variant(_SWEEP.value, _ROOT.value)
  rows = {v: [summary(r) for r in done] for v, done in runs.items()}
  common.write_table(_ROOT.value, "table.md", format_table(rows))


if __name__ == "__main__":
  app.run(main)
