"""A sweep's runs: each one's name (its workdir under the root) and config, built and
checked before any run starts, and the disjoint share of them a shard runs.

Planning loads no TensorFlow (a worker plans again before it trains); checking does, for
the registered names and the relaunch rules of `framework.train`.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import re
import tempfile
from typing import Any

import ml_collections

from framework.config import fields, load_experiment, resolve_extra_modules, set_field
from framework.errors import ConfigError, one_line
from framework.runs import files
from framework.runs.rundir import RunDir
from framework.sweeps.declaration import Sweep, experiment_spec

_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


@dataclasses.dataclass(frozen=True)
class PlannedRun:
  """One run of a sweep: `name` ("ldam_drw/imbalance_ratio=10/seed0") is its workdir under
  the sweep's root; `starts_from` names the run whose final model it starts from."""
  name: str
  workdir: str
  config: ml_collections.ConfigDict
  starts_from: str | None = None


def plan(sweep: Sweep, sweep_path: str, root: str) -> list[PlannedRun]:
  """Every run of the sweep, seed-major (a sweep cut short has all variants at equal seeds),
  a run started from another after it; one-line ConfigError for an unknown variant or field."""
  spec = experiment_spec(sweep, sweep_path)
  try:
    module = load_experiment(spec)
  except Exception as e:  # pylint: disable=broad-except  (the user's file may fail anyhow)
    raise ConfigError(f"experiment={sweep.experiment!r} does not load "
                      f"({type(e).__name__}: {one_line(e)})") from None
  variants, varied = _variants(sweep, module), set(sweep.product) | set(sweep.together)
  root, by_name = os.path.abspath(root), {}
  for seed in sweep.seeds:
    for settings in _settings(sweep):
      for variant in variants:
        name = _name(variant, settings, seed, varied)
        if name in by_name:
          raise ConfigError(f"two runs of the sweep are both named {name!r}; give settings "
                            "whose values differ in letters, digits or . _ + -")
        config = module.get_config(*([variant] if variant else []))
        _set(config, _rooted(sweep.fixed, root), "fixed")
        _set(config, _rooted(settings, root), "settings")
        _set(config, {f: seed for f in sweep.seed_fields}, "seed_fields")
        config.extra_modules = resolve_extra_modules(config.extra_modules, module.__file__)
        starts_from = None
        if variant in sweep.starts_from:
          starts_from = _name(sweep.starts_from[variant], settings, seed, varied)
          config.model.init_from = os.path.join(root, starts_from)
        by_name[name] = PlannedRun(name, os.path.join(root, name), config, starts_from)
  return list(by_name.values())


def check(runs: list[PlannedRun], root: str) -> None:
  """Every field value of every run, the root writable, and each workdir that already holds
  a run holding this one (a relaunch may change only what resuming allows)."""
  from framework.train.relaunch import relaunch_changes  # pylint: disable=g-import-not-at-top
  check_root(root)
  for run in runs:
    try:
      fields.check_fields(run.config)
      relaunch_changes(run.config, RunDir(run.workdir))
    except ConfigError as e:
      raise ConfigError(f"run {run.name}: {e}") from None


def check_root(root: str) -> None:
  """The root exists (made if needed) and takes files."""
  try:
    os.makedirs(root, exist_ok=True)
    with tempfile.TemporaryFile(dir=root):
      pass
  except OSError as e:
    raise ConfigError(f"--root={root!r} is not writable ({e.strerror or one_line(e)})"
                      ) from None


def shard(runs: list[PlannedRun], index: int, count: int) -> list[PlannedRun]:
  """Shard `index` of `count`: a deterministic disjoint share of the runs, every run in the
  shard of the run it starts from (the shards together hold every run once)."""
  if not 0 <= index < count:
    raise ConfigError(f"--shard={index} with --num_shards={count}: give 0 <= shard < "
                      "num_shards")
  chains = list(dict.fromkeys(run.starts_from or run.name for run in runs))
  mine = set(chains[index::count])
  return [run for run in runs if (run.starts_from or run.name) in mine]


def _variants(sweep: Sweep, module) -> list[str | None]:
  """The sweep's variants (None: the experiment's one config), each run-from one first."""
  known = list(getattr(module, "VARIANTS", {}))
  variants = list(sweep.variants) if sweep.variants is not None else (known or [None])
  for variant in variants:
    if variant is not None and variant not in known:
      raise ConfigError(f"variants: {variant!r} is not a variant of the experiment "
                        f"{sweep.experiment!r}; known: {', '.join(known) or 'none'}")
  for variant in [*sweep.starts_from, *sweep.starts_from.values()]:
    if variant not in variants:
      raise ConfigError(f"starts_from: {variant!r} is not one of the sweep's variants")
  chained = [v for v in sweep.starts_from.values() if v in sweep.starts_from]
  if chained:
    raise ConfigError(f"starts_from: {chained[0]!r} starts from another variant itself; a "
                      "run may start only from one that starts afresh")
  return [v for v in variants if v not in sweep.starts_from] + [
      v for v in variants if v in sweep.starts_from]


def _settings(sweep: Sweep) -> list[dict[str, Any]]:
  """product values x together rows, in declaration order."""
  combos = [dict(zip(sweep.product, values))
            for values in itertools.product(*sweep.product.values())]
  rows = [dict(zip(sweep.together, values)) for values in zip(*sweep.together.values())]
  return [{**combo, **row} for combo in combos for row in (rows or [{}])]


def _name(variant: str | None, settings: dict[str, Any], seed: int, varied: set[str]) -> str:
  """variant/field=value,.../seed<s>: readable, stable, safe as a path (a field by its last
  name unless two varied fields share it, a path value by its file's stem)."""
  parts = [f"{_label(_short(f, varied))}={_label(_text(v))}" for f, v in settings.items()]
  return "/".join([_label(variant or "default"), *([",".join(parts)] if parts else []),
                   f"seed{seed}"])


def _short(field: str, varied: set[str]) -> str:
  leaf = field.rsplit(".", 1)[-1]
  return leaf if [f.rsplit(".", 1)[-1] for f in varied].count(leaf) == 1 else field


def _text(value: Any) -> str:
  if isinstance(value, str) and "/" in value:  # a path: its file's name without extension
    return os.path.splitext(os.path.basename(value))[0]
  if isinstance(value, (list, tuple)):
    return "_".join(_text(v) for v in value)
  if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
    return str(int(value))
  return str(value)


def _label(text: str) -> str:
  return _UNSAFE.sub("_", text).strip("._") or "_"


def _rooted(values: dict[str, Any], root: str) -> dict[str, Any]:
  """`values` with "{root}" in a string value replaced by the sweep's root (a file a study
  wrote there, say)."""
  return {k: v.replace("{root}", root) if isinstance(v, str) else v for k, v in values.items()}


def _set(config: ml_collections.ConfigDict, values: dict[str, Any], where: str) -> None:
  for dotted, value in values.items():
    try:
      set_field(config, dotted, value)
    except (KeyError, AttributeError):
      raise ConfigError(f"{where}: the experiment's config has no field {dotted!r}") from None
    except (TypeError, ValueError) as e:
      raise ConfigError(f"{where}: {dotted}={value!r} ({one_line(e)})") from None


def finished(run: PlannedRun) -> bool:
  """The run's results are written and its config is the planned one (a run extended by
  a larger train.epochs, say, is relaunched to resume)."""
  from framework.train.relaunch import relaunch_changes  # pylint: disable=g-import-not-at-top
  rundir = RunDir(run.workdir)
  return rundir.exists(files.RESULTS) and not relaunch_changes(run.config, rundir)
