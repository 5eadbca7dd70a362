"""Names of a package loaded on first use, so importing it does not load TensorFlow."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any, Callable, Mapping


def lazy_exports(package: str, namespace: dict, exports: Mapping[str, str],
                 submodules: tuple[str, ...] = ()) -> tuple[Callable[[str], Any],
                                                           Callable[[], list[str]]]:
  """`(__getattr__, __dir__)` for `package`: `exports` maps a public name to the module
  (relative to `package`) that defines it; `submodules` are listed by `dir()`, and any
  submodule loads on attribute access, as if the package had imported it. A loaded name
  is cached in the package's `namespace` (its globals())."""
  names = sorted(exports) + list(submodules)

  def getattr_(name: str) -> Any:
    if name not in exports:
      if name in submodules or importlib.util.find_spec(f"{package}.{name}") is not None:
        return importlib.import_module(f"{package}.{name}")
      raise AttributeError(f"module {package!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{package}.{exports[name]}"), name)
    namespace[name] = value
    return value

  return getattr_, lambda: names
