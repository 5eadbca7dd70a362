"""The model registry: every backbone module registers its factories here by name."""

from __future__ import annotations

import keras

from framework.config.registry import Registry

MODELS: Registry[keras.Model] = Registry("model")
