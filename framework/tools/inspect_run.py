"""Offline inspection of a run's learned per-sample weights: `python -m framework.tools.inspect_run WORKDIR`.

Reads the latest snapshot `WORKDIR/weights/step_<step>.npz`, the training labels, the
class names and, when noise was injected, the noise mask (through `FinishedRun`). Ranks
the samples by the signal the run's rule declares (`framework.weights.Signal`; the
effective weight when that is the rule's weight) or by `--table`. Prints the K lowest- and
highest-weighted samples, weight statistics per class and, with a noise mask, the AUROC of
the weights as a noise detector (score = -weight: a low weight flags a noisy label).
With --label_issues=FILE.csv it writes instead every training example, most suspect first,
by --label_score (auto, signal, probability, combined: `framework.tools.label_issues`).
A workdir without snapshots is a one-line error with exit code 2. `noise_auroc` scores a
run's final signal and epoch-averaged weights for the studies and the report.
"""

from __future__ import annotations

import sys
import zipfile

import numpy as np

from framework.errors import ConfigError, one_line
from framework.tools.arguments import ToolParser
from framework.evaluation.metrics import auroc
from framework.runs import files
from framework.runs.reader import FinishedRun
from framework.tools.label_issues import SCORES


def noise_auroc(run: FinishedRun) -> dict:
  """AUROC of the rule's signal against the run's noise mask, nan for a constant signal.

  "auroc": the signal's table in the latest snapshot; "auroc_averaged": the `weight`
  table averaged over all snapshots (high = clean).
  """
  from framework.weights import Signal  # pylint: disable=g-import-not-at-top
  mask = run.noise_mask
  if mask is None:
    raise ConfigError(f"workdir {run.path!r} has no {files.NOISE}; allowed: a run with label "
                      "noise (data.noise)")
  signal, weight = run.signal, Signal()
  final = signal.suspicion(run.table(signal.table))
  averaged = weight.suspicion(run.table(weight.table, averaged=True))
  score = lambda suspect: float("nan") if np.ptp(suspect) == 0 else auroc(suspect, mask)
  return {"auroc": score(final), "auroc_averaged": score(averaged)}


def ranking(run: FinishedRun, table: str | None = None) -> dict:
  """What `report` shows of the latest snapshot: the per-sample values it ranks by (`table`,
  else the rule's signal, shown as the effective weight (class weight x importance x rule
  weight x alpha) when that signal is the rule's weight) and what is known of the samples."""
  # pylint: disable=g-import-not-at-top (TensorFlow, which the rule's signal needs anyway)
  from framework.weights import ALPHA, WEIGHT, Signal
  from framework.weights.effective import EFFECTIVE_CLASS_WEIGHT, EFFECTIVE_WEIGHT
  from framework.weights.tables import flat_key
  step, path = run.snapshots()[-1]
  tables = run.tables(path)
  signal = Signal(table, averaged=False) if table else run.signal
  if not table and signal.table == Signal().table and EFFECTIVE_WEIGHT in tables:
    signal = signal._replace(table=EFFECTIVE_WEIGHT)
  weights, labels = run.table(signal.table), run.labels
  if labels is not None and labels.shape != weights.shape:
    raise ConfigError(f"labels of shape {labels.shape} do not match the {weights.size} "
                      f"weights of {path!r}")
  alpha = tables[flat_key("per_class", ALPHA)]
  return {"step": step, "path": path, "weights": weights, "alpha": alpha,
          "table": signal.table, "signal": signal, "labels": labels, "noise": run.noise,
          "rule_weights": tables[flat_key("per_sample", WEIGHT)],
          "effective": signal.table == EFFECTIVE_WEIGHT,
          "class_weight": tables.get(EFFECTIVE_CLASS_WEIGHT, np.ones(alpha.size)),
          "class_names": run.class_names or [str(c) for c in range(alpha.size)]}


def _sample_table(title: str, order: np.ndarray, run: dict) -> list[str]:
  noise, labels, names = run["noise"], run["labels"], run["class_names"]
  lines = [title, f"  {'index':>7}  {'label':<14} {'weight':>10} {'rule w':>10}  noisy?"]
  for i in order:
    label = "?" if labels is None else names[labels[i]]
    noisy = "-"
    if noise is not None:
      noisy = (f"yes (clean: {names[noise['clean_labels'][i]]})"
               if noise["noise_mask"][i] else "no")
    lines.append(f"  {i:>7}  {label:<14} {run['weights'][i]:>10.4g} "
                 f"{run['rule_weights'][i]:>10.4g}  {noisy}")
  return lines


def report(run: dict, top: int) -> str:
  """The text `python -m framework.tools.inspect_run` prints, from a `ranking`."""
  w, labels, noise = run["weights"], run["labels"], run["noise"]
  order = np.lexsort((np.arange(w.size), w))  # by weight, ties by index
  k = min(top, w.size)
  what = " (class weight x importance x rule weight x alpha)" if run["effective"] else ""
  lines = [f"Snapshot: {run['path']} (step {run['step']}); weight: {run['table']}{what}",
           f"Samples: {w.size}   classes: {len(run['class_names'])}   noisy: "
           + (f"unknown (no {files.NOISE})" if noise is None else
              f"{int(noise['noise_mask'].sum())}"), ""]
  lines += _sample_table(f"Lowest-weighted {k} samples", order[:k], run) + [""]
  lines += _sample_table(f"Highest-weighted {k} samples", order[::-1][:k], run) + [""]
  lines.append("Weight statistics per class (observed labels)")
  lines.append(f"  {'class':<14} {'count':>6} {'mean':>9} {'std':>9} {'min':>9} "
               f"{'median':>9} {'max':>9} {'alpha':>9} {'class w':>9}")
  groups = [(name, labels == c) for c, name in enumerate(run["class_names"])]
  if labels is None:
    groups = []
  for name, rows in groups + [("all", np.ones(w.size, bool))]:
    v = w[rows].astype(np.float64)
    stats = ([v.mean(), v.std(), v.min(), np.median(v), v.max()] if v.size
             else [float("nan")] * 5)
    per_class = ""
    if name != "all":
      c = run["class_names"].index(name)
      per_class = f" {run['alpha'][c]:>9.4g} {run['class_weight'][c]:>9.4g}"
    lines.append(f"  {name:<14} {v.size:>6} " + " ".join(f"{s:>9.4g}" for s in stats)
                 + per_class)
  lines.append("")
  if noise is None:
    lines.append(f"Noise detection: no noise mask in this run ({files.NOISE} absent)")
  else:
    mask = noise["noise_mask"].astype(bool)
    lines.append(f"Noise detection: AUROC(score=-weight, positives=noisy) = "
                 f"{auroc(run['signal'].suspicion(w.astype(np.float64)), mask):.6f}  "
                 f"({int(mask.sum())} noisy of {mask.size}; 0.5 = chance, 1 = perfect)")
  return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
  parser = ToolParser(prog="python -m framework.tools.inspect_run",
                      description=__doc__.splitlines()[0])
  parser.add_argument("workdir", help="the workdir of a run of framework.train")
  parser.add_argument("--top", type=int, default=10, help="samples listed at each end")
  parser.add_argument("--table", default=None,
                      help="per-sample table to rank by (default: the rule's signal, e.g. "
                           "per_sample/kept for l2rw)")
  parser.add_argument("--label_issues", default=None, metavar="FILE.csv",
                      help="write every training example ranked by how likely its label is "
                           "wrong")
  parser.add_argument("--label_score", default="auto",
                      help="with --label_issues: the ranking score: auto (the rule's signal, "
                           "or the model's probability of the given label for a plain run), "
                           "signal, probability or combined (the mean of their rank "
                           "percentiles)")
  parser.add_argument("--allow_changed_data", action="store_true",
                      help="with --label_issues: use the training data as it is now even if "
                           "it changed since the run (a warning instead of an error)")
  args = parser.parse_args(argv)
  if args.top < 0:
    parser.error(f"--top={args.top} must be >= 0")
  if args.label_score not in SCORES:
    parser.error(f"--label_score={args.label_score} is not a score; allowed: "
                 f"{', '.join(SCORES)}")
  try:
    if args.label_issues:
      from framework.tools.label_issues import write_label_issues  # pylint: disable=g-import-not-at-top
      summary = write_label_issues(FinishedRun(args.workdir, args.allow_changed_data),
                                   args.label_issues, args.table, args.label_score)
      share = summary.get("noisy_in_top_5_percent")
      print(f"Wrote {summary['rows']} training examples, most suspect first, to "
            f"{args.label_issues} (score: {summary['score']}; rule signal: "
            f"{summary['signal']})"
            + ("" if share is None else f"; known-noisy labels in the top 5%: {share:.1%}"))
      return 0
    print(report(ranking(FinishedRun(args.workdir), args.table), args.top))
  except ConfigError as e:
    print(f"inspect: {e}", file=sys.stderr)
    return 2
  except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
    print(f"inspect: {args.workdir!r} has a damaged or incomplete file "
          f"({type(e).__name__}: {one_line(e, 160)})", file=sys.stderr)
    return 2
  return 0


if __name__ == "__main__":
  sys.exit(main())
