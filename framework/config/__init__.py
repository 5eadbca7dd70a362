"""Config: every field an experiment may set, the checks on them, and the registries.

Importing this package does not load TensorFlow (the launcher's --help and config errors
stay fast).
"""

from framework.config.base import (base_config, choose_variants, load_experiment,
                                   resolve_extra_modules, set_field, set_fields, with_variant)
from framework.config.registry import Registry

__all__ = ["Registry", "base_config", "choose_variants", "load_experiment",
           "resolve_extra_modules", "set_field", "set_fields", "with_variant"]
