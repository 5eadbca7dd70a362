"""A report over finished runs: `python -m framework.report --runs=DIRS_OR_GLOBS --out=DIR`.

Writes the table (mean ± std over seeds by variant and setting) and the figures in DIR
(see `framework.report.output`) and prints the table. Bad input (nothing matched, a folder
that neither is nor holds a run, no finished run) is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import sys

from framework.errors import ConfigError
from framework.report.output import write_report


def main(argv: list[str] | None = None) -> int:
  parser = argparse.ArgumentParser(prog="python -m framework.report",
                                   description=__doc__.splitlines()[0])
  parser.add_argument("--runs", required=True, nargs="+", action="extend",
                      help="run workdirs, folders holding runs, or globs (quote them), "
                           "separated by commas or spaces")
  parser.add_argument("--out", required=True, help="folder the report is written to")
  args = parser.parse_args(argv)
  names = [name for value in args.runs for name in value.split(",")]
  try:
    report = write_report(names, args.out)
  except ConfigError as e:
    print(f"report: {e}", file=sys.stderr)
    return 2
  print(report.table.to_markdown())
  for note in report.notes:
    print(f"note: {note}", file=sys.stderr)
  drawn = f"; figures: {', '.join(report.figures)}" if report.figures else ""
  print(f"Report in {args.out}/report.md{drawn}")
  return 0


if __name__ == "__main__":
  sys.exit(main())
