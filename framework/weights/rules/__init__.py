"""Built-in weight-update rules (importing registers them)."""

from framework.weights.rules import combine
from framework.weights.rules.co_teaching import co_teaching
from framework.weights.rules.data_parameters import data_parameters
from framework.weights.rules import dividemix  # the package; registers "dividemix"
from framework.weights.rules.elr import elr
from framework.weights.rules.exp_gradient import exp_gradient
from framework.weights.rules.loss_ema import loss_ema
from framework.weights.rules.sgd import sgd
from framework.weights.rules.superloss import lambert_w0, superloss
from framework.weights.rules.combine import (chain, clip, gathered, log_mean_exp,
                                                masked_mean, mean_one, normalize_mean_one,
                                                project_to_simplex, with_transforms)
