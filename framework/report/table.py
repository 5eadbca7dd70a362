"""The report's table: each group's metrics as mean ± sample std over its seeds.

The metrics are those the field reports (see `METRICS`), read from each run's results.json:
the final evaluation's, and the best and last test accuracy over the run's evaluations; a
run that also recorded a post-hoc evaluation (`POST_HOC`) has a row for it as well. A run
with label noise and weight snapshots also has the AUROC with which its per-sample weights
find the noisy labels (`noise_detection`). A column is shown when some run recorded its
metric; a run that did not record it (or recorded NaN, as a shot group without a class or
the AUROC of constant weights) is left out of that cell, and a cell with no value is '-'.
Test metrics are in percent, AUROCs from 0 to 1. The spread is the sample standard
deviation (ddof 1), omitted for a single seed, as in the README's tables.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from typing import Any, Mapping, NamedTuple, Sequence

import numpy as np

from framework.report.groups import Group
from framework.runs.reader import FinishedRun
from framework.tools.inspect_run import noise_auroc

NOISE = "noise"  # the section of `noise_detection`, computed from the run's snapshots


class Metric(NamedTuple):
  """A column: its heading, where a run holds it (results[section][key], or the `NOISE`
  section) and whether it is shown in percent (else as it is, from 0 to 1)."""

  heading: str
  section: str
  key: str
  percent: bool = True


METRICS = (
    Metric("balanced accuracy", "final", "balanced_accuracy"),
    Metric("macro-F1", "final", "macro_f1"),
    Metric("min recall", "final", "min_recall"),
    Metric("many-shot", "final", "many_shot_accuracy"),
    Metric("medium-shot", "final", "medium_shot_accuracy"),
    Metric("few-shot", "final", "few_shot_accuracy"),
    Metric("ECE", "final", "ece"),
    Metric("best accuracy", "best_last", "best_accuracy"),
    Metric("last accuracy", "best_last", "last_accuracy"),
    Metric("noise AUROC, final weights", NOISE, "noise_auroc", percent=False),
    Metric("noise AUROC, weights averaged over epochs", NOISE, "noise_auroc_averaged",
           percent=False),
)


# The evaluations a run can record besides its plain one: post-hoc logit adjustment
# (eval.posthoc_tau) and tau-normalised classifier weights (eval.tau_norm), each under its
# prefix in the final metrics. A run recording one gets a row for it too.
POST_HOC = ("posthoc", "taunorm")
PLAIN = "plain"


def noise_detection(run: FinishedRun) -> dict[str, float]:
  """The `NOISE` section of a run with a noise mask and weight snapshots ({} otherwise):
  the AUROC of its rule's final signal and of its weights averaged over the snapshots
  against the mask (`framework.tools.inspect_run.noise_auroc`; NaN for constant weights)."""
  if run.noise_mask is None or not run.rundir.snapshots():
    return {}
  scores = noise_auroc(run)
  return {"noise_auroc": scores["auroc"], "noise_auroc_averaged": scores["auroc_averaged"]}


def run_metrics(sections: Mapping[str, Any], evaluation: str = PLAIN) -> dict[str, float]:
  """{metric key: value} of the `METRICS` a run records for `evaluation` (PLAIN or one of
  POST_HOC; None read as NaN); `sections` are its results and its `NOISE` section."""
  values = {}
  for metric in METRICS:
    section = sections.get(metric.section) or {}
    name = metric.key
    if evaluation != PLAIN:
      if metric.section != "final":
        continue
      name = f"{evaluation}/{name}"
    if name in section:
      values[metric.key] = float("nan") if section[name] is None else float(section[name])
  return values


class Cell(NamedTuple):
  """Mean and sample std (NaN: fewer than two values) over `count` values, in percent when
  `percent` (one decimal), else as they are (three decimals)."""

  mean: float
  std: float
  count: int
  percent: bool = True

  def text(self) -> str:
    if not self.count:
      return "-"
    number = "{:.1f}" if self.percent else "{:.3f}"
    mean = number.format(self.mean)
    return mean if self.count == 1 else f"{mean} ± {number.format(self.std)}"


def cell(values: Sequence[float], percent: bool = True) -> Cell:
  """The `Cell` of fractions `values` (NaN values left out)."""
  scaled = (100.0 if percent else 1.0) * np.asarray(values, np.float64)
  scaled = scaled[~np.isnan(scaled)]
  if not scaled.size:
    return Cell(float("nan"), float("nan"), 0, percent)
  std = float(scaled.std(ddof=1)) if scaled.size > 1 else float("nan")
  return Cell(float(scaled.mean()), std, int(scaled.size), percent)


class Row(NamedTuple):
  """A group's cells (by metric key) for one of its evaluations."""

  group: Group
  evaluation: str
  cells: dict[str, Cell]


@dataclasses.dataclass
class Table:
  """One row per group and evaluation: its cells for the metrics some run recorded. The
  evaluation column is shown when some run recorded a post-hoc evaluation."""

  setting_fields: list[str]
  metrics: list[Metric]
  groups: list[Group]
  rows: list[Row]

  @property
  def _evaluation_column(self) -> list[str]:
    return ["evaluation"] if any(row.evaluation != PLAIN for row in self.rows) else []

  def to_markdown(self) -> str:
    """The table in markdown, numbers right-aligned."""
    keys = ["variant", *self.setting_fields, *self._evaluation_column]
    headings = keys + [f"{m.heading} (%)" if m.percent else m.heading
                       for m in self.metrics] + ["seeds"]
    lines = ["| " + " | ".join(headings) + " |",
             "|" + "---|" * len(keys) + "---:|" * (len(self.metrics) + 1)]
    for row in self.rows:
      cells = ([row.group.variant or "-", *row.group.setting.values()]
               + [row.evaluation] * len(self._evaluation_column)
               + [row.cells[m.key].text() for m in self.metrics] + [str(len(row.group.runs))])
      lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)

  def to_csv(self) -> str:
    """The table as CSV: <metric>_mean and <metric>_std as the table shows them, unrounded
    (empty: no value)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["variant", *self.setting_fields, *self._evaluation_column, "seeds"]
                    + [f"{m.key}_{part}" for m in self.metrics for part in ("mean", "std")])
    number = lambda value: "" if np.isnan(value) else repr(value)
    for row in self.rows:
      writer.writerow([row.group.variant, *row.group.setting.values()]
                      + [row.evaluation] * len(self._evaluation_column)
                      + [len(row.group.runs)]
                      + [number(v) for m in self.metrics
                         for v in (row.cells[m.key].mean, row.cells[m.key].std)])
    return out.getvalue()


def _evaluations(group: Group) -> list[str]:
  """PLAIN and the post-hoc evaluations some run of the group recorded."""
  finals = [run.results.get("final") or {} for run in group.runs]
  return [PLAIN] + [e for e in POST_HOC
                    if any(f"{e}/{METRICS[0].key}" in final for final in finals)]


def summary_table(groups: Sequence[Group]) -> Table:
  """The `Table` of the groups (see the module doc)."""
  measured = []
  for group in groups:
    sections = [{**run.results, NOISE: noise_detection(run)} for run in group.runs]
    measured += [(group, evaluation, [run_metrics(s, evaluation) for s in sections])
                 for evaluation in _evaluations(group)]
  recorded = {key for _, _, runs in measured for values in runs for key in values}
  metrics = [m for m in METRICS if m.key in recorded]
  rows = [Row(group, evaluation,
              {m.key: cell([values[m.key] for values in runs if m.key in values], m.percent)
               for m in metrics})
          for group, evaluation, runs in measured]
  fields = list(groups[0].setting) if groups else []
  return Table(fields, metrics, list(groups), rows)
