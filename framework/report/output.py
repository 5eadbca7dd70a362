"""The report folder: the table (markdown and CSV), the figures, and report.md tying them.

    OUT/report.md      the table, which runs each row holds, the runs left out, the figures
    OUT/table.md       the table alone (markdown)
    OUT/table.csv      the table, each metric's mean and std unrounded
    OUT/figures/<name>.png, .svg   (with matplotlib; see `framework.report.figures`)
"""

from __future__ import annotations

import dataclasses
import os
from typing import Iterable

from framework.errors import ConfigError
from framework.report import figures
from framework.report.collect import collect_runs
from framework.report.groups import group_runs
from framework.report.table import Table, summary_table

FIGURES_DIR = "figures"


@dataclasses.dataclass
class Report:
  """What `write_report` wrote: the table, the figures drawn, and notes for the reader."""

  table: Table
  figures: list[str]
  notes: list[str]


def _runs_section(table: Table) -> list[str]:
  lines = ["## Runs", ""]
  for group in table.groups:
    lines.append(f"- {group.label}: " + ", ".join(f"`{run.path}`" for run in group.runs))
  return lines


def write_report(names: Iterable[str], out: str) -> Report:
  """Reads the runs `names` (paths or globs) stand for and writes their report in `out`."""
  if os.path.exists(out) and not os.path.isdir(out):
    raise ConfigError(f"--out={out!r} is a file; allowed: a folder (made if missing)")
  collected = collect_runs(names)
  table = summary_table(group_runs(collected.runs))
  notes = list(collected.notes)
  os.makedirs(out, exist_ok=True)
  markdown = table.to_markdown()
  with open(os.path.join(out, "table.md"), "w") as f:
    f.write(markdown + "\n")
  with open(os.path.join(out, "table.csv"), "w") as f:
    f.write(table.to_csv())
  drawn = []
  if figures.have_matplotlib():
    drawn = figures.write_figures(table.groups, os.path.join(out, FIGURES_DIR))
  else:
    notes.append(f"figures skipped: matplotlib is not installed ({figures.INSTALL})")
  lines = ["# Report", "", "Mean ± sample std over seeds; test metrics in percent, noise "
           "AUROCs from 0 to 1.", "",
           markdown, ""]
  lines += _runs_section(table) + [""]
  if notes:
    lines += ["## Notes", ""] + [f"- {note}" for note in notes] + [""]
  if drawn:
    lines += ["## Figures", ""] + [f"![{name}]({FIGURES_DIR}/{name}.png)" for name in drawn]
  with open(os.path.join(out, "report.md"), "w") as f:
    f.write("\n".join(lines) + "\n")
  return Report(table, drawn, notes)
