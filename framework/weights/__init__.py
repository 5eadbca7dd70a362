"""Per-sample weights and per-class alpha: state, the rule interface, row optimisers, rules."""

from framework.weights import optim
from framework.weights.rule import (ALPHA, RULES, WEIGHT, EpochPass, PassResult, Rule, Signal,
                                    product_modulation, register_rule)
from framework.weights.state import WeightState
from framework.weights.tables import (Batch, MetaContext, Modulation, Objective, StepResult,
                                      Tables, check_update)

from framework.weights import meta as _meta, rules as _rules  # registers the built-in rules
