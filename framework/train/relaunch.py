"""A relaunch in a workdir that holds a run: which config changes it may make, and its record."""

from __future__ import annotations

import json

import ml_collections

from framework.errors import ConfigError
from framework.runs import files
from framework.runs.rundir import RunDir
from framework.train.schedule import laid_out_over_the_run

RESUMABLE = ("train.epochs", "logging.", "eval.", "strategy.")  # may change on a relaunch


def _flat(tree: dict, prefix: str = "") -> dict:
  out = {}
  for key, value in tree.items():
    if isinstance(value, dict) and key != "kwargs":
      out.update(_flat(value, f"{prefix}{key}."))
    else:
      out[f"{prefix}{key}"] = value
  return out


def relaunch_changes(config: ml_collections.ConfigDict, rundir: RunDir) -> dict:
  """{field: [before, now]} of a relaunch's allowed changes; any other change is refused.

  `train.epochs` (to extend a run), `logging.*`, `eval.*` and `strategy.*` (any number of
  devices trains the same steps) may change; a different loss, rule, model, data or
  learning rate would silently switch methods mid-run.
  """
  if not rundir.exists(files.CONFIG):
    return {}
  before = _flat(rundir.read_json(files.CONFIG))
  now = _flat(json.loads(config.to_json_best_effort()))
  changed = {k: [before.get(k), now.get(k)] for k in sorted(set(before) | set(now))
             if before.get(k) != now.get(k)}
  refused = [k for k in changed if not k.startswith(RESUMABLE)]
  if refused:
    shown = ", ".join(f"{k} ({changed[k][0]!r} -> {changed[k][1]!r})" for k in refused[:4])
    raise ConfigError(f"--workdir={rundir.path!r} holds a run with a different config: "
                      f"{shown}{' ...' if len(refused) > 4 else ''}; only train.epochs, "
                      "logging.*, eval.* and strategy.* may change on a relaunch")
  bound = laid_out_over_the_run(config)
  if "train.epochs" in changed and bound:
    raise ConfigError(f"train.epochs {changed['train.epochs'][0]} -> "
                      f"{changed['train.epochs'][1]}: the run is laid out over its epochs "
                      f"({', '.join(bound)}), so its length cannot change on a relaunch; start "
                      "a new workdir")
  return changed


def record_relaunch(config: ml_collections.ConfigDict, rundir: RunDir, changes: dict) -> None:
  """Appends the changes to relaunches.jsonl and makes `config` the run's config.json."""
  rundir.append_record(files.RELAUNCHES, {"changed": changes})
  rundir.write_text(files.CONFIG, config.to_json_best_effort(indent=1))
