"""Every component a config names, by section: what is registered and what kwargs it takes.

The registries are those the config's fields name (framework.config.fields), so a field
that chooses from a registry is listed here without being written down again.
`--config.<section>.kwargs.<key>=` overrides are checked against `parameters`, and
`python launch.py --list` prints `listing()`.
"""

from __future__ import annotations

import inspect
import re

from framework.config import Registry, fields
from framework.config.checks import Registered

# Arguments the framework passes itself, not a config's kwargs.
_CONTEXT = {"input_shape", "num_classes", "class_counts", "num_samples", "steps_per_epoch",
            "cfg", "kwargs"}
_KERAS = {"from_logits", "reduction", "name", "dtype", "axis", "learning_rate"}
# The sections whose component takes `<section>.kwargs`, and the field that names it.
NAME_FIELDS = {"model": "name", "loss": "name", "rule": "name", "class_weights": "scheme",
               "optimizer": "name"}


def registries() -> dict[str, Registry]:
  """{field: registry} of every field that names a registered component."""
  return {name: field.check.registry() for name, field in fields.FIELDS.items()
          if isinstance(field.check, Registered)}


def registry(section: str) -> Registry:
  """The registry of the component `section` names (model, loss, ..., optimizer)."""
  return fields.FIELDS[f"{section}.{NAME_FIELDS[section]}"].check.registry()


def parameters(section: str, name: str) -> dict:
  """{kwarg: default} of the component `name` of `section` (inspect.Parameter.empty when
  required); the arguments the framework fills in are left out."""
  factory = registry(section).get(name, f"{section}.{NAME_FIELDS[section]}")
  params = inspect.signature(factory).parameters
  internal = _CONTEXT | (_KERAS if section in ("loss", "optimizer") else set())
  return {k: p.default for k, p in params.items() if k not in internal and
          p.kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)}


def number_or_text(section: str, name: str, key: str) -> bool:
  """Whether kwarg `key` of component `name` is annotated to take a number or a string
  (as `inner_lr: float | str` does)."""
  annotation = inspect.signature(registry(section).get(name)).parameters[key].annotation
  words = set(re.findall(r"\w+", str(annotation)))
  return "str" in words and bool(words & {"float", "int"})


def effective_kwargs(config) -> dict[str, dict]:
  """{section: {kwarg: value}}: each chosen component's defaults (unset None ones left
  out) overridden by the config's kwargs, i.e. the arguments it was built with."""
  out = {}
  for section, field in NAME_FIELDS.items():
    node = config[section]
    given = node.get("kwargs", {}) if hasattr(node, "get") else {}
    given = given.to_dict() if hasattr(given, "to_dict") else dict(given)
    known = node[field] in registry(section)  # not e.g. a Keras model given to fit()
    defaults = {k: v for k, v in parameters(section, node[field]).items()
                if v is not inspect.Parameter.empty and v is not None} if known else {}
    out[section] = {**defaults, **given}
  return out


def listing() -> str:
  """Every registered component, by the field that names it; those with kwargs show them
  with their defaults."""
  kwarg_fields = {f"{section}.{field}": section for section, field in NAME_FIELDS.items()}
  lines = []
  for field, components in registries().items():
    lines.append(f"{field} ({components.kind})")
    for name in components.names():
      section = kwarg_fields.get(field)
      if section is None:
        lines.append(f"  {name}")
        continue
      kwargs = ", ".join(k if v is inspect.Parameter.empty else f"{k}={v!r}"
                         for k, v in parameters(section, name).items())
      lines.append(f"  {name}({kwargs})")
    lines.append("")
  return "\n".join(lines).rstrip("\n")
