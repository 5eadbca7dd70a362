"""A TensorFlow 2 / Keras 3 framework for imbalanced and noisy-label classification.

Per-sample weights and per-class alpha are trainable state beside the model's variables,
updated by pluggable rules inside a compiled, distributed custom training loop.

The public names below load on first use, so `import framework.config` (the launcher's
--help, config errors) does not wait for TensorFlow; when TensorFlow does load, its native
start-up lines stay off stderr (framework.startup).
"""

import importlib as _importlib

from framework.startup import quiet_tensorflow_startup as _quiet_tensorflow_startup

_quiet_tensorflow_startup()

_EXPORTS = {
    "ConfigError": "framework.errors",
    "Registry": "framework.config.registry",
    "base_config": "framework.config",
    "load_experiment": "framework.config",
    "ALPHA": "framework.weights", "WEIGHT": "framework.weights", "RULES": "framework.weights",
    "Batch": "framework.weights", "MetaContext": "framework.weights",
    "Modulation": "framework.weights", "Rule": "framework.weights",
    "StepResult": "framework.weights", "Tables": "framework.weights",
    "WeightState": "framework.weights", "register_rule": "framework.weights",
    "optim": "framework.weights",
    "LOSSES": "framework.losses", "PerExampleLoss": "framework.losses",
    "register_loss": "framework.losses",
    "MODELS": "framework.models",
    "DATASETS": "framework.data",
    "Trainer": "framework.train.trainer",
    "Controller": "framework.train.controller",
    "RunDir": "framework.runs.rundir",
    "fit": "framework.api",
    "Result": "framework.api",
}

_SUBPACKAGES = ("data", "losses", "models", "weights", "summaries", "runs")

__all__ = sorted(_EXPORTS) + list(_SUBPACKAGES)


def __getattr__(name: str):
  if name in _SUBPACKAGES:
    return _importlib.import_module(f"framework.{name}")
  if name not in _EXPORTS:
    raise AttributeError(f"module 'framework' has no attribute {name!r}")
  value = getattr(_importlib.import_module(_EXPORTS[name]), name)
  globals()[name] = value
  return value


def __dir__():
  return __all__
