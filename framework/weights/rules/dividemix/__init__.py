"""DivideMix (Li et al., ICLR 2020): label noise as semi-supervised learning."""

from framework.weights.rules.dividemix.maths import (clean_probability, co_guess, co_refine,
                                                        lambda_u_ramp, min_max_normalised,
                                                        mixup, sharpen, soft_cross_entropy,
                                                        uniform_prior_penalty, unlabelled_loss)
from framework.weights.rules.dividemix.rule import dividemix
