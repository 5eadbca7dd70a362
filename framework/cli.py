"""Command-line plumbing of launch.py: one-line errors for bad --config flags."""

from __future__ import annotations

import datetime
import os

from framework.config import load_experiment
from framework.errors import ConfigError


def explain_flag_error(error: BaseException, argv: list[str]) -> str:
  """One line for a bad --config: the ConfigError inside, or the override at fault."""
  cause = error
  while cause is not None:
    if isinstance(cause, ConfigError):
      return str(cause)
    cause = cause.__cause__ or cause.__context__
  text = str(error).strip().splitlines()[-1] if str(error).strip() else type(error).__name__
  for arg in argv:
    if arg.startswith("--config."):
      field = arg[len("--config."):].split("=")[0]
      if f"'{field.split('.')[-1]}'" in text:
        return f"{arg}: the config has no field {field!r} (fields: framework/config.py)"
  return f"bad --config ({text})"


def check_config_file(argv: list[str]) -> None:
  """Loads --config=FILE[:VARIANT] once, so a missing file or variant is one line."""
  specs = [a.split("=", 1)[1] for a in argv if a.startswith("--config=")]
  if not specs:
    return
  path, _, variant = specs[-1].partition(":")
  if not os.path.isfile(path):
    raise SystemExit(f"error: --config={specs[-1]}: no such file {path!r}")
  try:
    load_experiment(path).get_config(*([variant] if variant else []))
  except ConfigError as e:
    raise SystemExit(f"error: --config={specs[-1]}: {e}") from None
  except Exception as e:  # pylint: disable=broad-except
    raise SystemExit(f"error: --config={specs[-1]} does not load "
                     f"({type(e).__name__}: {e})") from None


def default_workdir(spec: str) -> str:
  """runs/<experiment>-<variant>-<time> for a --config spec."""
  name = os.path.splitext(os.path.basename(spec.split(":")[0]))[0]
  variant = spec.split(":")[1] if ":" in spec else ""
  stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
  return os.path.join("runs", "-".join(filter(None, (name, variant, stamp))))
