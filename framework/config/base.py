"""The base experiment config, and loading experiments and their variants.

Experiments in `experiments/` start from `base_config()` and change what they need;
`--config.a.b=value` on the command line overrides any field. A field not declared in
`framework.config.fields` is rejected, so a typo never silently does nothing.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import types

import ml_collections

from framework.config import fields


def base_config() -> ml_collections.ConfigDict:
  """Every field with its default, as declared in `framework.config.fields`."""
  return fields.defaults()


def with_variant(config: ml_collections.ConfigDict, variants: dict[str, dict],
                 variant: str | None, default: str) -> ml_collections.ConfigDict:
  """Applies a named variant: a dict of dotted field -> value overrides of `config`."""
  from framework.errors import ConfigError  # pylint: disable=g-import-not-at-top
  name = variant or default
  if name not in variants:
    raise ConfigError(f"config variant {name!r} is not known; known: {', '.join(variants)}")
  for dotted, value in variants[name].items():
    try:
      set_field(config, dotted, value)
    except KeyError:
      raise ConfigError(f"variant {name!r} sets unknown field {dotted!r}") from None
  config.variant = name
  return config


def set_fields(config: ml_collections.ConfigDict, fields: dict) -> None:
  """`set_field` for keyword-style paths: {"train__epochs": 3} sets train.epochs."""
  for path, value in fields.items():
    set_field(config, path.replace("__", "."), value)


def set_field(config: ml_collections.ConfigDict, dotted: str, value) -> None:
  """Sets the existing field `dotted` ("a.b.c") of `config`; KeyError when there is none."""
  *path, field = dotted.split(".")
  node = config
  for key in path:
    node = node[key]
  if field not in node:
    raise KeyError(f"config has no field {dotted!r}")
  node[field] = value


def load_experiment(spec: str) -> types.ModuleType:
  """The experiment module (get_config, VARIANTS) of `spec`: a path to a config file, or
  the name of one shipped in `framework.experiments` ('fmnist_lt')."""
  if spec.endswith(".py") or os.sep in spec:
    name = os.path.splitext(os.path.basename(spec))[0]
    loader_spec = importlib.util.spec_from_file_location(f"experiment_{name}", spec)
    module = importlib.util.module_from_spec(loader_spec)
    loader_spec.loader.exec_module(module)
    return module
  return importlib.import_module(f"framework.experiments.{spec}")


def experiment_config(spec: str) -> ml_collections.ConfigDict:
  """The config of `spec`, an experiment as `load_experiment` takes it with an optional
  ':VARIANT' ('fmnist_lt:ce'; none: the experiment's default variant)."""
  name, _, variant = spec.partition(":")
  return load_experiment(name).get_config(variant or None)


def resolve_extra_modules(modules, experiment_file: str) -> tuple[str, ...]:
  """`extra_modules` with each relative .py path made absolute: found next to the experiment
  file first, then in the current directory. Module names, and paths found in neither place
  (the import then names them as given), are unchanged."""
  bases = (os.path.dirname(os.path.abspath(experiment_file)), os.getcwd())
  resolved = []
  for name in modules:
    if name.endswith(".py") and not os.path.isabs(name):
      found = [os.path.join(base, name) for base in bases
               if os.path.isfile(os.path.join(base, name))]
      name = os.path.normpath(found[0]) if found else name
    resolved.append(name)
  return tuple(resolved)


def choose_variants(module: types.ModuleType, requested) -> list[str]:
  """The requested variants of an experiment module (all when none), checked by name."""
  from framework.errors import ConfigError  # pylint: disable=g-import-not-at-top
  variants = list(requested) or list(module.VARIANTS)
  unknown = [v for v in variants if v not in module.VARIANTS]
  if unknown:
    raise ConfigError(f"--variants={','.join(unknown)} not known; "
                      f"known: {', '.join(module.VARIANTS)}")
  return variants
