"""A report over finished runs: the table by variant and setting over seeds, and figures.

    python -m framework.report --runs='runs/*' --out=report
"""

from framework.report.collect import Collected, collect_runs
from framework.report.groups import PER_RUN_FIELDS, Group, group_runs
from framework.report.output import Report, write_report
from framework.report.table import METRICS, Metric, Table, summary_table

__all__ = ["METRICS", "PER_RUN_FIELDS", "Collected", "Group", "Metric", "Report", "Table",
           "collect_runs", "group_runs", "summary_table", "write_report"]
