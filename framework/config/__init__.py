"""Config: every field an experiment may set, declared once with its default, check and doc
(fields.py), the checks (checks.py), and the registries components are chosen from.

Importing this package does not load TensorFlow (the launcher's --help and config errors
stay fast).
"""

from framework.config.base import (base_config, choose_variants, experiment_config,
                                   load_experiment, resolve_extra_modules, set_field,
                                   set_fields, with_variant)
from framework.config.registry import Registry

__all__ = ["Registry", "base_config", "choose_variants", "experiment_config", "load_experiment",
           "resolve_extra_modules", "set_field", "set_fields", "with_variant"]
