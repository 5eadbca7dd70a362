"""The report's table: each group's metrics as mean ± sample std over its seeds, in percent.

The metrics are those the field reports (see `METRICS`), read from each run's results.json:
the final evaluation's, and the best and last test accuracy over the run's evaluations; a
run that also recorded a post-hoc evaluation (`POST_HOC`) has a row for it as well. A
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


# The evaluations a run can record besides its plain one: post-hoc logit adjustment
# (eval.posthoc_tau) and tau-normalised classifier weights (eval.tau_norm), each under its
# prefix in the final metrics. A run recording one gets a row for it too.
POST_HOC = ("posthoc", "taunorm")
PLAIN = "plain"


def run_metrics(results: Mapping[str, Any], evaluation: str = PLAIN) -> dict[str, float]:
  """{metric key: value} of the `METRICS` a run's results record for `evaluation` (PLAIN or
  one of POST_HOC; None read as NaN)."""
  values = {}
  for metric in METRICS:
    section = results.get(metric.section) or {}
    name = metric.key
    if evaluation != PLAIN:
      if metric.section != "final":
        continue
      name = f"{evaluation}/{name}"
    if name in section:
      values[metric.key] = float("nan") if section[name] is None else float(section[name])
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
    headings = keys + [f"{m.heading} (%)" for m in self.metrics] + ["seeds"]
    lines = ["| " + " | ".join(headings) + " |",
             "|" + "---|" * len(keys) + "---:|" * (len(self.metrics) + 1)]
    for row in self.rows:
      cells = ([row.group.variant or "-", *row.group.setting.values()]
               + [row.evaluation] * len(self._evaluation_column)
               + [row.cells[m.key].text() for m in self.metrics] + [str(len(row.group.runs))])
      lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)

  def to_csv(self) -> str:
    """The table as CSV: <metric>_mean and <metric>_std in percent (empty: no value)."""
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
  measured = [(group, evaluation, [run_metrics(run.results, evaluation) for run in group.runs])
              for group in groups for evaluation in _evaluations(group)]
  recorded = {key for _, _, runs in measured for values in runs for key in values}
  metrics = [m for m in METRICS if m.key in recorded]
  rows = [Row(group, evaluation,
              {m.key: cell([values[m.key] for values in runs if m.key in values])
               for m in metrics})
          for group, evaluation, runs in measured]
  fields = list(groups[0].setting) if groups else []
  return Table(fields, metrics, list(groups), rows)
