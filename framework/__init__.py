"""A TensorFlow 2 / Keras 3 framework for imbalanced and noisy-label classification.

Per-sample weights and per-class alpha are trainable state beside the model's variables,
updated by pluggable rules inside a compiled, distributed custom training loop.
"""

import os as _os

_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from framework.errors import ConfigError
from framework.registry import Registry
from framework.weights import (ALPHA, RULES, WEIGHT, Batch, MetaContext, Modulation, Rule,
                               StepResult, Tables, WeightState, register_rule)
from framework.losses import LOSSES
from framework.models import MODELS
from framework.trainer import Trainer
from framework.config import base_config
