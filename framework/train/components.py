"""Every component a config names, by section: what is registered and what kwargs it takes.

`--config.<section>.kwargs.<key>=` overrides are checked against `parameters`, and
`python launch.py --list` prints `listing()`.
"""

from __future__ import annotations

import inspect
import re

from framework.train import optimizers
from framework.data import DATASETS
from framework.errors import ConfigError
from framework.losses import CLASS_WEIGHTS, LOSSES
from framework.models import MODELS
from framework.weights import RULES

# Arguments the framework passes itself, not a config's kwargs.
_CONTEXT = {"input_shape", "num_classes", "class_counts", "num_samples", "steps_per_epoch",
            "cfg", "kwargs"}
_KERAS = {"from_logits", "reduction", "name", "dtype", "axis", "learning_rate"}
REGISTRIES = {"model": MODELS, "loss": LOSSES, "rule": RULES, "class_weights": CLASS_WEIGHTS}


def _factories(section: str) -> dict:
  if section == "optimizer":
    return dict(optimizers._OPTIMIZERS)  # pylint: disable=protected-access
  if section == "data":
    return {n: DATASETS.get(n) for n in DATASETS.names()}
  return {n: REGISTRIES[section].get(n) for n in REGISTRIES[section].names()}


def parameters(section: str, name: str) -> dict:
  """{kwarg: default} of the component `name` of `section` (inspect.Parameter.empty when
  required); the arguments the framework fills in are left out."""
  factories = _factories(section)
  if name not in factories:
    raise ConfigError(f"{section}.name={name!r} is not known; known: {', '.join(factories)}")
  params = inspect.signature(factories[name]).parameters
  internal = _CONTEXT | (_KERAS if section in ("loss", "optimizer") else set())
  return {k: p.default for k, p in params.items() if k not in internal and
          p.kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)}


def number_or_text(section: str, name: str, key: str) -> bool:
  """Whether kwarg `key` of component `name` is annotated to take a number or a string
  (as `inner_lr: float | str` does)."""
  annotation = inspect.signature(_factories(section)[name]).parameters[key].annotation
  words = set(re.findall(r"\w+", str(annotation)))
  return "str" in words and bool(words & {"float", "int"})


NAME_FIELDS = {"model": "name", "loss": "name", "rule": "name", "class_weights": "scheme",
               "optimizer": "name"}


def effective_kwargs(config) -> dict[str, dict]:
  """{section: {kwarg: value}}: each chosen component's defaults (unset None ones left
  out) overridden by the config's kwargs, i.e. the arguments it was built with."""
  out = {}
  for section, field in NAME_FIELDS.items():
    node = config[section]
    given = node.get("kwargs", {}) if hasattr(node, "get") else {}
    given = given.to_dict() if hasattr(given, "to_dict") else dict(given)
    known = node[field] in _factories(section)  # not e.g. a Keras model given to fit()
    defaults = {k: v for k, v in parameters(section, node[field]).items()
                if v is not inspect.Parameter.empty and v is not None} if known else {}
    out[section] = {**defaults, **given}
  return out


def listing() -> str:
  """Every registered component with its kwargs and defaults, by section."""
  lines = []
  for section, title in (("model", "models (model.name)"), ("loss", "losses (loss.name)"),
                         ("rule", "rules (rule.name)"),
                         ("class_weights", "class-weight schemes (class_weights.scheme)"),
                         ("optimizer", "optimizers (optimizer.name)")):
    lines.append(title)
    for name in _factories(section):
      kwargs = ", ".join(k if v is inspect.Parameter.empty else f"{k}={v!r}"
                         for k, v in parameters(section, name).items())
      lines.append(f"  {name}({kwargs})")
    lines.append("")
  lines.append("data sources (data.source; their fields are data.*)")
  lines += [f"  {name}" for name in DATASETS.names()]
  return "\n".join(lines)
