"""TensorFlow loads without its native start-up lines, on any CPU.

While `import tensorflow` runs, TensorFlow's shared libraries log through C++ absl before
anything can configure that logging: "All log messages before absl::InitializeLog() ...",
"oneDNN custom operations are on ...", CPU-feature notes. TF_CPP_MIN_LOG_LEVEL does not
reach all of them, so file descriptor 2 is pointed at a temporary file for the duration of
that one import. A failed import writes what was held back to stderr, then raises as usual.
oneDNN stays as it is; TF_CPP_MIN_LOG_LEVEL (default 2: errors only) governs the rest of
the run.

`import framework` installs this, before any of its modules can load TensorFlow, so the
launcher, every `python -m framework...` command and user code that imports the framework
first all start quietly; a TensorFlow imported earlier is left alone.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import os
import sys
import tempfile
from typing import Iterator


def quiet_tensorflow_startup() -> None:
  """Makes `import tensorflow` silent on stderr in this process (installed once)."""
  os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
  if "tensorflow" in sys.modules or any(isinstance(f, _QuietImport) for f in sys.meta_path):
    return
  sys.meta_path.insert(0, _QuietImport())


@contextlib.contextmanager
def stderr_held_back() -> Iterator[None]:
  """Whatever is written to file descriptor 2 inside goes to a temporary file, and is
  shown only if the block raises."""
  sys.stderr.flush()
  with tempfile.TemporaryFile() as held:
    saved = os.dup(2)
    os.dup2(held.fileno(), 2)
    failed = False
    try:
      yield
    except Exception:
      failed = True
      raise
    finally:
      sys.stderr.flush()
      os.dup2(saved, 2)
      os.close(saved)
      if failed:
        held.seek(0)
        sys.stderr.write(held.read().decode(errors="replace"))


class _QuietImport(importlib.abc.MetaPathFinder):
  """Finds `tensorflow` as Python would, and loads it under `stderr_held_back` (once
  loaded, it is in sys.modules and never looked for again)."""

  def find_spec(self, name, path=None, target=None):
    if name != "tensorflow":
      return None
    sys.meta_path.remove(self)  # the other finders' answer
    try:
      spec = importlib.util.find_spec(name)
    finally:
      sys.meta_path.insert(0, self)
    if spec is not None and spec.loader is not None:
      spec.loader = _QuietLoader(spec.loader)
    return spec


class _QuietLoader(importlib.abc.Loader):
  """The found loader, executing the module under `stderr_held_back`."""

  def __init__(self, loader: importlib.abc.Loader):
    self.loader = loader

  def create_module(self, spec):
    return self.loader.create_module(spec)

  def exec_module(self, module) -> None:
    module.__spec__.loader = module.__loader__ = self.loader  # as if loaded without us
    with stderr_held_back():
      self.loader.exec_module(module)
