"""A TensorFlow 2 / Keras 3 framework for imbalanced and noisy-label classification.

Per-sample weights and per-class alpha are trainable state beside the model's variables,
updated by pluggable rules inside a compiled, distributed custom training loop.

The public names below load on first use, so `import framework.config` (the launcher's
--help, config errors) does not wait for TensorFlow; when TensorFlow does load, its native
start-up lines stay off stderr (framework.startup).
"""

from framework.lazy import lazy_exports as _lazy_exports
from framework.startup import quiet_tensorflow_startup as _quiet_tensorflow_startup

_quiet_tensorflow_startup()

_EXPORTS = {
    "ConfigError": "errors",
    "Registry": "config.registry",
    "base_config": "config",
    "load_experiment": "config",
    "ALPHA": "weights", "WEIGHT": "weights", "RULES": "weights",
    "Batch": "weights", "MetaContext": "weights",
    "Modulation": "weights", "Rule": "weights",
    "StepResult": "weights", "Tables": "weights", "Signal": "weights",
    "EpochPass": "weights", "PassResult": "weights", "Objective": "weights",
    "WeightState": "weights", "register_rule": "weights",
    "optim": "weights",
    "LOSSES": "losses", "PerExampleLoss": "losses",
    "register_loss": "losses",
    "MODELS": "models",
    "DATASETS": "data",
    "Trainer": "train.trainer",
    "Controller": "train.controller",
    "RunDir": "runs", "FinishedRun": "runs",
    "fit": "api",
    "Result": "api",
}

_SUBPACKAGES = ("data", "losses", "models", "weights", "summaries", "runs")

__getattr__, __dir__ = _lazy_exports(__name__, globals(), _EXPORTS, _SUBPACKAGES)
__all__ = __dir__()
