"""Runs grouped as a table compares them: by variant and setting, the seeds of one setting
together.

A run's variant is its config's `variant` (set by an experiment file's `:variant`). Its
setting is the value of every config field that differs between runs of the same variant,
other than the fields that only tell runs apart (`PER_RUN_FIELDS`: the seeds, and the
workdir a run starts from, which follows the seed). Fields that change only with the
variant are the variant itself, so they add no column.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Mapping, Sequence

from framework.runs.reader import FinishedRun
from framework.tools.cli import flat_fields

PER_RUN_FIELDS = frozenset({"seed", "data.seed", "model.init_from"})
_ABSENT = "-"  # a field a run's config does not have (a run from an older version)


def shown_fields(config: Any) -> dict[str, str]:
  """{dotted field: value as the table shows it} (JSON but for strings; a kwargs mapping
  is one field)."""
  return {field: value if isinstance(value, str) else json.dumps(value, sort_keys=True)
          for field, value in flat_fields(config).items()}


@dataclasses.dataclass
class Group:
  """The runs of one variant and setting (one per seed)."""

  variant: str
  setting: dict[str, str]
  runs: list[FinishedRun]

  @property
  def label(self) -> str:
    """'variant' or 'variant, field=value, ...' (the legend of the figures)."""
    return ", ".join([self.variant or _ABSENT]
                     + [f"{field}={value}" for field, value in self.setting.items()])


def setting_fields(flats: Sequence[Mapping[str, str]]) -> list[str]:
  """The fields, sorted, that differ between runs of the same variant (see module doc);
  `flats` are the runs' `shown_fields`."""
  fields = sorted(set().union(*flats) - PER_RUN_FIELDS - {"variant"})
  by_variant: dict[str, list[dict]] = {}
  for flat in flats:
    by_variant.setdefault(flat.get("variant", ""), []).append(flat)
  return [field for field in fields
          if any(len({f.get(field, _ABSENT) for f in same}) > 1 for same in by_variant.values())]


def group_runs(runs: Sequence[FinishedRun]) -> list[Group]:
  """The runs by (variant, setting), in the order each group first appears."""
  flats = [shown_fields(run.config) for run in runs]
  fields = setting_fields(flats)
  groups: dict[tuple, Group] = {}
  for run, flat in zip(runs, flats):
    setting = {field: flat.get(field, _ABSENT) for field in fields}
    variant = flat.get("variant", "")
    key = (variant, tuple(setting.values()))
    groups.setdefault(key, Group(variant, setting, [])).runs.append(run)
  return list(groups.values())
