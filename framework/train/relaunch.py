"""A relaunch in a workdir that holds a run: which config changes it may make, that its data
is the run's, and its record."""

from __future__ import annotations

import json
import math

import ml_collections

from framework.config import fields
from framework.data.bundle import DataBundle
from framework.data.fingerprint import data_fingerprint, fingerprint_changes
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
  learning rate would silently switch methods mid-run. A field the run's config.json lacks
  (declared after the run started) counts as its default.
  """
  if not rundir.exists(files.CONFIG):
    return {}
  try:
    before = _flat(rundir.read_json(files.CONFIG))
  except (ValueError, UnicodeDecodeError, AttributeError) as e:
    raise ConfigError(f"--workdir={rundir.path!r}: its {rundir.file(files.CONFIG)} is not the "
                      f"JSON of a run's config ({type(e).__name__}); restore it, or use a new "
                      "--workdir") from None
  now = _flat(json.loads(config.to_json_best_effort()))
  declared = _flat(json.loads(fields.defaults().to_json_best_effort()))
  before.update({k: v for k, v in declared.items() if k not in before and k in now})
  changed = {k: [before.get(k), now.get(k)] for k in sorted(set(before) | set(now))
             if before.get(k) != now.get(k)}
  refused = [k for k in changed if not k.startswith(RESUMABLE)]
  if refused:
    shown = ", ".join(f"{k} ({changed[k][0]!r} -> {changed[k][1]!r})" for k in refused[:4])
    raise ConfigError(f"--workdir={rundir.path!r} holds a run with a different config: "
                      f"{shown}{' ...' if len(refused) > 4 else ''}; only train.epochs, "
                      "logging.*, eval.* and strategy.* may change on a relaunch: relaunch "
                      "with the run's config to resume it, or start the changed run in a new "
                      "--workdir")
  bound = laid_out_over_the_run(config)
  if "train.epochs" in changed and bound:
    raise ConfigError(f"train.epochs {changed['train.epochs'][0]} -> "
                      f"{changed['train.epochs'][1]}: the run is laid out over its epochs "
                      f"({', '.join(bound)}), so its length cannot change on a relaunch; start "
                      "a new workdir")
  return changed


def trained_steps(rundir: RunDir) -> int:
  """The step of the run's newest checkpoint (the controller numbers them by step); 0 when
  there is none."""
  return max((step for step, _ in files.numbered_checkpoints(rundir.checkpoints)),
             default=0)


def check_length(config: ml_collections.ConfigDict, rundir: RunDir, steps_per_epoch: int,
                 total_steps: int) -> None:
  """Refuses a relaunch whose train.epochs ends before the steps the run already trained:
  its model is past that point, so results.json would report an epoch the config has not."""
  done = trained_steps(rundir)
  if done > total_steps:
    epochs = done / steps_per_epoch
    shown = f"{epochs:g}" if epochs.is_integer() else f"{epochs:.2f}"
    raise ConfigError(f"train.epochs={config.train.epochs}: --workdir={rundir.path!r} already "
                      f"trained {shown} epochs (step {done}); relaunch with train.epochs >= "
                      f"{math.ceil(epochs)} to continue it, or train the shorter run in a new "
                      "--workdir")


def check_data(data: DataBundle, rundir: RunDir) -> None:
  """Refuses, in one line saying what changed, a relaunch on data other than the run's (the
  fingerprint it recorded when it started; a run from before fingerprints is not checked).

  A run cannot continue on changed data: the input stream, every per-sample table row and
  the tracked samples are keyed by an example's index, which the protocol derives from the
  data (the seeded permutation of the pool, the validation split, the long tail), so added
  or removed rows hand the old indices to other examples, and relabelled ones keep state
  learnt under their old label. New data is a new run.
  """
  if not (rundir.exists(files.CONFIG) and rundir.exists(files.DATA_FINGERPRINT)):
    return
  changes = fingerprint_changes(rundir.read_json(files.DATA_FINGERPRINT), data_fingerprint(data))
  if changes:
    raise ConfigError(f"the data of --workdir={rundir.path!r} changed since the run started: "
                      f"{changes}; relaunch on the data it started with to resume, or train "
                      "on the new data in a new --workdir (model.init_from can start it from "
                      "this run's final model)")


def record_relaunch(config: ml_collections.ConfigDict, rundir: RunDir, changes: dict) -> None:
  """Appends the changes to relaunches.jsonl and makes `config` the run's config.json."""
  rundir.append_record(files.RELAUNCHES, {"changed": changes})
  rundir.write_text(files.CONFIG, config.to_json_best_effort(indent=1))
