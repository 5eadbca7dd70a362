"""The user's own modules (`config.extra_modules`), imported so their registrations run."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys

from framework.errors import ConfigError, one_line

_LOADED_FILES: set[str] = set()


def import_extra_modules(modules) -> None:
  """Imports the user's modules (by dotted name or .py path) so their registrations run.

  A file is executed once per process, like an imported module.
  """
  for name in modules:
    if name[:1] in "([":  # the shell kept the parentheses and dropped the quotes
      raise ConfigError(f"extra_modules: {name!r} is a list written without quotes; quote "
                        f"each item: --config.extra_modules=\"('mine.py',)\"")
    if name.endswith(".py") and os.path.abspath(name) in _LOADED_FILES:
      continue
    try:
      if name.endswith(".py"):
        spec = importlib.util.spec_from_file_location(
            os.path.splitext(os.path.basename(name))[0], name)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules.setdefault(spec.name, module)
        _LOADED_FILES.add(os.path.abspath(name))
      else:
        importlib.import_module(name)
    except SystemExit as e:  # a script's exit would end the launch with nothing run
      raise ConfigError(f"extra_modules: {name!r} calls sys.exit({e.code!r}) when imported; "
                        "a module of extra_modules must only define and register components "
                        "(guard a script's code with `if __name__ == '__main__':`)") from None
    except Exception as e:  # pylint: disable=broad-except
      raise ConfigError(f"extra_modules: {name!r} does not import "
                        f"({type(e).__name__}: {one_line(e)})") from None
