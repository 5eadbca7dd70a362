"""`python launch.py --list` without loading TensorFlow: the listing is kept on disk.

Building the listing imports every registry, and so TensorFlow (seconds). The text depends
only on the framework's source and the installed TensorFlow / Keras, so it is stored under
a hash of those and read back by later launches; any edit to the framework makes a new one.
Experiments with `extra_modules` are listed afresh (their components are the user's code).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import sys
from typing import Callable

import framework

_PACKAGE = os.path.dirname(os.path.abspath(framework.__file__))


def _key() -> str:
  """Hash of every framework source file, the Python version and the TF / Keras versions."""
  digest = hashlib.sha256(sys.version.encode())
  for dist in ("tensorflow", "keras"):
    try:
      digest.update(f"{dist}={importlib.metadata.version(dist)}".encode())
    except importlib.metadata.PackageNotFoundError:
      digest.update(dist.encode())
  for folder, dirs, files in sorted(os.walk(_PACKAGE)):
    dirs.sort()
    for name in sorted(f for f in files if f.endswith(".py")):
      path = os.path.join(folder, name)
      digest.update(os.path.relpath(path, _PACKAGE).encode())
      with open(path, "rb") as f:
        digest.update(f.read())
  return digest.hexdigest()[:32]


def _cache_file() -> str:
  base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
  return os.path.join(base, "framework", f"listing-{_key()}.txt")


def cached_listing(build: Callable[[], str]) -> str:
  """The stored listing for this framework source, else `build()` (then stored; a cache
  that cannot be written is skipped)."""
  path = _cache_file()
  try:
    with open(path, encoding="utf-8") as f:
      return f.read()
  except OSError:
    pass
  text = build()
  try:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w", encoding="utf-8") as f:
      f.write(text)
    os.replace(temporary, path)
  except OSError:
    pass
  return text
