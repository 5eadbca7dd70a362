"""The report's table: each group's metrics as mean ± sample std over its seeds, in percent.

The metrics are those the field reports (see `METRICS`), read from each run's results.json:
the final evaluation's, and the best and last test accuracy over the run's evaluations. A
column is shown when some run recorded its metric; a run that did not record it (or
recorded NaN, as a shot group without a class) is left out of that cell, and a cell with
no value is '-'. The spread is the sample standard deviation (ddof 1), omitted for a
single seed, as in the README's tables.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from typing import Any, Mapping, NamedTuple, Sequence

import numpy as np

from framework.report.groups import Group


class Metric(NamedTuple):
  """A column: its heading and where results.json holds it (results[section][key])."""

  heading: str
  section: str
  key: str


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
)


def run_metrics(results: Mapping[str, Any]) -> dict[str, float]:
  """{metric key: value} of the `METRICS` a run's results record (None read as NaN)."""
  values = {}
  for metric in METRICS:
    section = results.get(metric.section) or {}
    if metric.key in section:
      value = section[metric.key]
      values[metric.key] = float("nan") if value is None else float(value)
  return values


class Cell(NamedTuple):
  """Mean and sample std (NaN: fewer than two values) in percent, over `count` values."""

  mean: float
  std: float
  count: int

  def text(self) -> str:
    if not self.count:
      return "-"
    return f"{self.mean:.1f}" if self.count == 1 else f"{self.mean:.1f} ± {self.std:.1f}"


def cell(values: Sequence[float]) -> Cell:
  """The `Cell` of fractions `values` (NaN values left out)."""
  percent = 100.0 * np.asarray(values, np.float64)
  percent = percent[~np.isnan(percent)]
  if not percent.size:
    return Cell(float("nan"), float("nan"), 0)
  std = float(percent.std(ddof=1)) if percent.size > 1 else float("nan")
  return Cell(float(percent.mean()), std, int(percent.size))


@dataclasses.dataclass
class Table:
  """One row per group: its cells for the metrics some run recorded (`metrics`)."""

  setting_fields: list[str]
  metrics: list[Metric]
  groups: list[Group]
  cells: list[dict[str, Cell]]

  def to_markdown(self) -> str:
    """The table in markdown, numbers right-aligned."""
    headings = (["variant", *self.setting_fields]
                + [f"{m.heading} (%)" for m in self.metrics] + ["seeds"])
    lines = ["| " + " | ".join(headings) + " |",
             "|" + "---|" * (1 + len(self.setting_fields)) + "---:|" * (len(self.metrics) + 1)]
    for group, cells in zip(self.groups, self.cells):
      row = ([group.variant or "-", *group.setting.values()]
             + [cells[m.key].text() for m in self.metrics] + [str(len(group.runs))])
      lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)

  def to_csv(self) -> str:
    """The table as CSV: <metric>_mean and <metric>_std in percent (empty: no value)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["variant", *self.setting_fields, "seeds"]
                    + [f"{m.key}_{part}" for m in self.metrics for part in ("mean", "std")])
    number = lambda value: "" if np.isnan(value) else repr(value)
    for group, cells in zip(self.groups, self.cells):
      writer.writerow([group.variant, *group.setting.values(), len(group.runs)]
                      + [number(v) for m in self.metrics
                         for v in (cells[m.key].mean, cells[m.key].std)])
    return out.getvalue()


def summary_table(groups: Sequence[Group]) -> Table:
  """The `Table` of the groups (see the module doc)."""
  per_run = [[run_metrics(run.results) for run in group.runs] for group in groups]
  recorded = {key for runs in per_run for values in runs for key in values}
  metrics = [m for m in METRICS if m.key in recorded]
  cells = [{m.key: cell([values[m.key] for values in runs if m.key in values])
            for m in metrics} for runs in per_run]
  fields = list(groups[0].setting) if groups else []
  return Table(fields, metrics, list(groups), cells)
