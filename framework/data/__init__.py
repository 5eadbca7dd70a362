"""Data: sources, the long-tail / label-noise protocol, the input transform, the DataBundle.

Names load on first use; `DATASETS` comes with every built-in source registered.
"""

import importlib as _importlib

_EXPORTS = {
    "build": "builder", "check_config": "builder", "resolve_config": "builder",
    "default_data_config": "builder", "DATASETS": "builder",
    "DataBundle": "bundle", "Split": "bundle",
    "FASHION_MNIST_NAMES": "idx", "read_idx": "idx",
    "Arrays": "sources", "Source": "sources",
    "LONG_TAIL": "protocol", "NOISE": "protocol",
    "InputTransform": "augment",
    "ArrayExamples": "examples", "FileExamples": "examples", "LookupExamples": "examples",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
  if name not in _EXPORTS:
    raise AttributeError(f"module 'framework.data' has no attribute {name!r}")
  value = getattr(_importlib.import_module(f"framework.data.{_EXPORTS[name]}"), name)
  globals()[name] = value
  return value


def __dir__():
  return __all__
