"""Offline inspection of a run's learned per-sample weights: `python -m framework.tools.inspect_run WORKDIR`.

Reads the latest snapshot `WORKDIR/weights/step_<step>.npz`, the training labels
(`labels.npy`, else `noise.npz`), the class names (`tracked.json`, else `results.json`) and,
when noise was injected, the noise mask (`noise.npz`). Prints the K lowest- and
highest-weighted samples, weight statistics per class and, with a noise mask, the AUROC of
the weights as a noise detector (score = -weight: a low weight flags a noisy label).
A workdir without snapshots is a one-line error with exit code 2. `noise_auroc` scores a
run's final and epoch-averaged weights for the studies.
"""

from __future__ import annotations

import argparse
import sys
import zipfile

import numpy as np

from framework.errors import ConfigError, one_line
from framework.tools.label_issues import BEST_TABLE
from framework.evaluation.metrics import auroc
from framework.runs.rundir import RunDir
from framework.runs import files

WEIGHT, ALPHA = "per_sample/weight", "per_class/alpha"
EFFECTIVE, CLASS_WEIGHT = "effective/weight", "effective/class_weight"  # weights.effective


class InspectError(Exception):
  """A workdir that cannot be inspected (reported in one line, exit code 2)."""


def snapshots(workdir: str) -> list[tuple[int, str]]:
  """(step, path) of every snapshot in `workdir/weights`, by step (at least one)."""
  found = RunDir(workdir).snapshots()
  if not found:
    raise InspectError(f"no weight snapshots (weights/step_*.npz) in {workdir!r}; "
                       "allowed: the workdir of a run of framework.train")
  return found


def noise_auroc(workdir: str, final_table: str = WEIGHT) -> dict:
  """AUROC of -weight against the run's noise mask, nan for constant weights.

  "auroc": the latest snapshot's `final_table`; "auroc_averaged": the `weight` table
  averaged over all snapshots.
  """
  mask = RunDir.read_arrays(RunDir(workdir).file(files.NOISE), ("noise_mask",))["noise_mask"]
  paths = [path for _, path in snapshots(workdir)]
  averaged = np.mean([RunDir.read_arrays(p, (WEIGHT,))[WEIGHT] for p in paths], axis=0)
  final = RunDir.read_arrays(paths[-1], (final_table,))[final_table]
  score = lambda weight: float("nan") if np.ptp(weight) == 0 else auroc(-weight, mask)
  return {"auroc": score(final), "auroc_averaged": score(averaged)}


def load_run(workdir: str, table: str | None = None) -> dict:
  """The latest snapshot's tables and what is known of the samples (labels, names, noise);
  `weights` is `table`, else the rule's best-ranking table (see label_issues.BEST_TABLE),
  else the effective weight (class weight x importance x rule)."""
  rundir = RunDir(workdir)
  step, path = snapshots(workdir)[-1]
  tables = rundir.read_arrays(path)
  if table is None and rundir.exists(files.CONFIG):
    rule = rundir.read_json(files.CONFIG)["rule"]["name"]
    table = BEST_TABLE.get(rule, (None,))[0]
  table = table or (EFFECTIVE if EFFECTIVE in tables else WEIGHT)
  if table not in tables:
    raise InspectError(f"--table={table!r} is not in {path!r}; tables: "
                       f"{', '.join(k for k in tables if k.startswith('per_sample/'))}")
  noise = rundir.read_arrays(rundir.file(files.NOISE)) if rundir.exists(files.NOISE) else None
  labels = None
  if rundir.exists(files.LABELS):
    labels = np.load(rundir.file(files.LABELS))
  elif noise is not None:
    labels = noise["labels"]
  class_names = None
  for name in (files.TRACKED, files.RESULTS):
    if class_names is None and rundir.exists(name):
      class_names = rundir.read_json(name).get("class_names")
  weights = tables[table]
  if labels is not None and labels.shape != weights.shape:
    raise InspectError(f"labels of shape {labels.shape} do not match the {weights.size} "
                       f"weights of {path!r}")
  num_classes = tables[ALPHA].size
  return {"step": step, "path": path, "weights": weights, "alpha": tables[ALPHA], "table": table,
          "labels": labels, "noise": noise, "rule_weights": tables[WEIGHT],
          "class_weight": tables.get(CLASS_WEIGHT, np.ones(num_classes)),
          "class_names": list(class_names or map(str, range(num_classes)))}


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
  """The text `python -m framework.tools.inspect_run` prints."""
  w, labels, noise = run["weights"], run["labels"], run["noise"]
  order = np.lexsort((np.arange(w.size), w))  # by weight, ties by index
  k = min(top, w.size)
  what = (" (class weight x importance x rule weight x alpha)" if run["table"] == EFFECTIVE
          else "")
  lines = [f"Snapshot: {run['path']} (step {run['step']}); weight: {run['table']}{what}",
           f"Samples: {w.size}   classes: {len(run['class_names'])}   noisy: "
           + ("unknown (no noise.npz)" if noise is None else
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
    lines.append("Noise detection: no noise mask in this run (noise.npz absent)")
  else:
    mask = noise["noise_mask"].astype(bool)
    lines.append(f"Noise detection: AUROC(score=-weight, positives=noisy) = "
                 f"{auroc(-w.astype(np.float64), mask):.6f}  "
                 f"({int(mask.sum())} noisy of {mask.size}; 0.5 = chance, 1 = perfect)")
  return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(prog="python -m framework.tools.inspect_run",
                                   description=__doc__.splitlines()[0])
  parser.add_argument("workdir", help="the workdir of a run of framework.train")
  parser.add_argument("--top", type=int, default=10, help="samples listed at each end")
  parser.add_argument("--table", default=None,
                      help="per-sample table to rank by (default: the rule's best, e.g. "
                           "per_sample/kept for l2rw)")
  parser.add_argument("--label_issues", default=None, metavar="FILE.csv",
                      help="write every training example ranked by how likely its label is "
                           "wrong")
  args = parser.parse_args(argv)
  if args.top < 0:
    parser.error(f"--top={args.top} must be >= 0")
  try:
    if args.label_issues:
      from framework.tools.label_issues import write_label_issues  # pylint: disable=g-import-not-at-top
      load_run(args.workdir, args.table)  # a missing snapshot or table: one line, at once
      summary = write_label_issues(args.workdir, args.label_issues, args.table)
      share = summary.get("noisy_in_top_5_percent")
      print(f"Wrote {summary['rows']} training examples, most suspect first, to "
            f"{args.label_issues} (rule signal: {summary['signal']})"
            + ("" if share is None else f"; known-noisy labels in the top 5%: {share:.1%}"))
      return 0
    print(report(load_run(args.workdir, args.table), args.top))
  except (InspectError, ConfigError) as e:
    print(f"inspect: {e}", file=sys.stderr)
    return 2
  except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as e:
    print(f"inspect: {args.workdir!r} has a damaged or incomplete file "
          f"({type(e).__name__}: {one_line(e, 160)})", file=sys.stderr)
    return 2
  return 0


if __name__ == "__main__":
  sys.exit(main())
