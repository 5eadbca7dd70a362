"""The launcher's command line: help, config overrides, kwargs by signature, one-line errors.

    python launch.py --config=experiments/fmnist_lt.py:focal --workdir=runs/x \\
        --config.optimizer.learning_rate=3e-4 --config.loss.kwargs.gamma=1

`--config.<section>.kwargs.<key>=<value>` works for any key of the chosen component
(model, loss, rule, class_weights, optimizer), checked against its factory's signature and
parsed to the type of the factory's default. Switching a component on the command line
(`--config.model.name=mlp`) drops the experiment's kwargs of that section, which were for the
component it had (a notice says so); kwargs given after it apply. `--help` lists the
experiment's fields (value, doc, what is allowed) and variants without loading TensorFlow;
`--list` lists every registered component.
Exit status: 0 done, 1 bad input, 3 diverged (non-finite loss), 75 stopped by a signal
(a checkpoint was saved: relaunch to resume).
"""

from __future__ import annotations

import ast
import datetime
import difflib
import os
import re
import sys

from framework.config import fields, load_experiment
from framework.errors import ConfigError, one_line

DEFAULT_SPEC = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                            "experiments", "default.py")
KWARG_SECTIONS = ("model", "loss", "rule", "class_weights", "optimizer")
_FLAG_VALUE = re.compile(r"flag --config\.([\w.]+)=(.*?): ")  # absl's parse errors
_KWARG = re.compile(r"^--config\.(" + "|".join(KWARG_SECTIONS) + r")\.kwargs\.(\w+)=(.*)$", re.S)


def config_spec(argv: list[str]) -> str:
  specs = [a.split("=", 1)[1] for a in argv if a.startswith("--config=")]
  return specs[-1] if specs else DEFAULT_SPEC


def load_config(spec: str):
  """(experiment module, its config) for FILE[:VARIANT]; one-line errors."""
  path, _, variant = spec.partition(":")
  if not os.path.isfile(path):
    raise ConfigError(f"--config={spec}: no such file {path!r}")
  if not path.endswith(".py"):
    raise ConfigError(f"--config={spec}: {path!r} is not an experiment file; it must be a "
                      ".py file with get_config() (see experiments/)")
  try:
    module = load_experiment(path)
    config = module.get_config(*([variant] if variant else []))
  except ConfigError as e:
    raise ConfigError(f"--config={spec}: {e}") from None
  except Exception as e:  # pylint: disable=broad-except  (the user's file may fail anyhow)
    raise ConfigError(f"--config={spec} does not load ({type(e).__name__}: {one_line(e)})"
                      ) from None
  if not hasattr(config, "to_dict"):
    raise ConfigError(f"--config={spec}: get_config() returned {type(config).__name__}, "
                      "not an ml_collections.ConfigDict")
  return module, config


def flat_fields(config, prefix: str = "") -> dict:
  """{'a.b': value} of a ConfigDict (kwargs mappings kept whole)."""
  out = {}
  for key, value in config.items():
    name = f"{prefix}{key}"
    if hasattr(value, "items") and key != "kwargs":
      out.update(flat_fields(value, name + "."))
    else:
      out[name] = value.to_dict() if hasattr(value, "to_dict") else value
  return out


def split_kwargs(argv: list[str]) -> tuple[list[str], dict]:
  """argv without the `--config.<section>.kwargs.<key>=` overrides, and those overrides."""
  rest, overrides = [], {}
  for arg in argv:
    match = _KWARG.match(arg)
    if match:
      overrides[(match.group(1), match.group(2))] = match.group(3)
    else:
      rest.append(arg)
  return rest, overrides


def check_override_fields(config, argv: list[str]) -> None:
  """A `--config.a.b=` naming no field is one line, with the closest field suggested."""
  known = flat_fields(config)
  for arg in argv:
    if not arg.startswith("--config.") or "=" not in arg:
      continue
    field = arg[len("--config."):].split("=", 1)[0]
    if field in known or any(f.startswith(field + ".") for f in known):
      continue
    close = difflib.get_close_matches(field, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else "; `python launch.py --help` lists them"
    raise ConfigError(f"--config.{field}: the config has no field {field!r}{hint}")


def parse_value(raw: str, default, number_or_text: bool = False):
  """A command-line value parsed to the type of a factory's default; for a parameter that
  takes a number or a string (`number_or_text`, as `inner_lr: float | str`), a number when
  it reads as one, else the text."""
  if number_or_text:
    try:
      number = ast.literal_eval(raw)
    except (ValueError, SyntaxError):
      return raw
    return number if isinstance(number, (int, float)) else raw
  if isinstance(default, bool):
    if raw.lower() in ("true", "1", "yes"):
      return True
    if raw.lower() in ("false", "0", "no"):
      return False
    raise ValueError(f"{raw!r} is not true or false")
  if isinstance(default, int):
    return int(raw)
  if isinstance(default, float):
    return float(raw)
  if isinstance(default, str):
    return raw
  try:
    return ast.literal_eval(raw)
  except (ValueError, SyntaxError):
    return raw


def drop_stale_kwargs(experiment, config, argv: list[str]) -> list[str]:
  """When the command line switches a component (`--config.model.name=mlp`) without giving
  its whole kwargs mapping, drops the experiment's kwargs of that section: they were for the
  component switched from. `--config.<section>.kwargs.<key>=` overrides apply afterwards.
  Returns one notice per section dropped."""
  notices = []
  for section in KWARG_SECTIONS:
    field = "scheme" if section == "class_weights" else "name"
    before, now = experiment[section][field], config[section][field]
    given = any(a.startswith(f"--config.{section}.kwargs=") for a in argv)
    kwargs = experiment[section].kwargs
    stale = kwargs.to_dict() if hasattr(kwargs, "to_dict") else dict(kwargs)
    if now != before and stale and not given:
      with config.unlocked():
        config[section].kwargs = {}
      notices.append(f"note: {section}.{field}={now!r} on the command line: the experiment's "
                     f"{section}.kwargs {stale} (for {before!r}) are dropped")
  return notices


def apply_kwargs(config, overrides: dict) -> None:
  """Sets each kwargs override after checking its key against the chosen factory."""
  if not overrides:
    return
  from framework.train import components  # pylint: disable=g-import-not-at-top (TensorFlow)
  from framework.config.extra_modules import import_extra_modules  # pylint: disable=g-import-not-at-top
  import_extra_modules(config.extra_modules)  # the user's components register there
  for (section, key), raw in overrides.items():
    name = config[section].get("scheme") or config[section].name
    parameters = components.parameters(section, name)
    if key not in parameters:
      raise ConfigError(f"--config.{section}.kwargs.{key}: not a parameter of {section} "
                        f"{name!r}; allowed: {', '.join(parameters) or 'none'}")
    existing = config[section].kwargs.get(key, parameters[key])
    try:
      value = parse_value(raw, existing, components.number_or_text(section, name, key))
    except ValueError as e:
      raise ConfigError(f"--config.{section}.kwargs.{key}={raw}: {one_line(e)}") from None
    kwargs = dict(config[section].kwargs)
    kwargs[key] = value
    with config.unlocked():
      config[section].kwargs = kwargs


def explain_flag_error(error: BaseException) -> str:
  """One line for a flag the parser refused: the ConfigError inside, or its last line."""
  cause = error
  while cause is not None:
    if isinstance(cause, ConfigError):
      return str(cause)
    cause = cause.__cause__ or cause.__context__
  text = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
  value = _FLAG_VALUE.search(" ".join(text))
  if value and value.group(1) in fields.FIELDS:  # a value of the wrong type: say what fits
    field, given = value.groups()
    allowed = fields.FIELDS[field].check.allowed
    quote = (f" (quote each item: --config.{field}=\"('a', 'b')\")"
             if "list" in allowed and "'" not in given else "")
    return f"--config.{field}={given}: {field} must be {allowed}{quote}"
  return " ".join(text[-2:]).replace("\\'", "'") if text else type(error).__name__


def explain_positional(argument: str) -> str:
  """One line for an argument that is not a flag (the launcher takes flags only)."""
  hint = (f"; to choose where the run goes, pass --workdir={argument}" if not
          argument.startswith("-") else "")
  return (f"unexpected argument {argument!r}: the launcher takes only --flags "
          f"(`python launch.py --help` lists them){hint}")


def help_text(argv: list[str], usage: str) -> str:
  """The launcher's help: usage, the experiment's variants, and every field with its value,
  its doc and what it allows (framework.config.fields), in the order of config.json."""
  spec = config_spec(argv)
  try:
    module, config = load_config(spec)
  except ConfigError as e:
    return f"{usage}\n\n(cannot show the fields: {e})"
  variants = ", ".join(getattr(module, "VARIANTS", {})) or "none"
  lines = [usage, "", f"Experiment {spec} (variant {config.get('variant') or '-'}); "
           f"variants: {variants}", "",
           "Fields (override any with --config.FIELD=VALUE; kwargs take any key of the "
           "chosen component):"]
  values, declared = flat_fields(config), fields.FIELDS
  for name in [n for n in declared if n in values] + [n for n in values if n not in declared]:
    field = declared.get(name)
    about = f"  # {field.doc}; {field.check.allowed}" if field else ""
    lines.append(f"  {name} = {values[name]!r}{about}")
  lines += ["", "python launch.py --list   every registered component (models, losses, rules, "
            "schemes, optimizers, schedules, sources, samplers, ...) with kwargs and defaults"]
  return "\n".join(lines)


def default_workdir(spec: str) -> str:
  """runs/<experiment>-<variant>-<time> for a --config spec."""
  name = os.path.splitext(os.path.basename(spec.split(":")[0]))[0]
  variant = spec.split(":")[1] if ":" in spec else ""
  stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
  return os.path.join("runs", "-".join(filter(None, (name, variant, stamp))))


def fail(message: str, status: int = 1) -> int:
  print(f"error: {message}", file=sys.stderr)
  return status


def report(error: Exception, workdir: str | None = None) -> int:
  """Prints one line for a run that failed and returns its exit status; an error about a
  file that names none (a full disk) names the run's `workdir`."""
  from framework.errors import Diverged  # pylint: disable=g-import-not-at-top
  from framework.train.preemption import Preempted  # pylint: disable=g-import-not-at-top
  if isinstance(error, ConfigError):
    return fail(str(error))
  if isinstance(error, Diverged):
    return fail(str(error), 3)
  if isinstance(error, Preempted):
    return fail(str(error), 75)
  where = f" (writing in --workdir={workdir!r})" if workdir else ""
  if isinstance(error, OSError) and error.strerror:
    if error.filename:
      return fail(f"{error.filename}: {error.strerror}")
    return fail(f"{error.strerror}{where}")
  if "No space left on device" in str(error):
    return fail(f"no space left on the device{where} ({one_line(error, 160)})")
  if os.environ.get("FRAMEWORK_TRACEBACK"):
    raise error
  return fail(f"{type(error).__name__}: {one_line(error, 300)} (an unexpected error: set "
              "FRAMEWORK_TRACEBACK=1 for the traceback)")
