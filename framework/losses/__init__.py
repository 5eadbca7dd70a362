"""Losses for imbalanced and noisy-label classification, and class-weight schemes.

Per-example functions work from logits with stable log-softmax / softplus forms;
`from_logits=False` accepts probabilities (clipped to [eps, 1 - eps] like Keras).
Dtypes: float16 / bfloat16 inputs are computed in float32 and RETURNED AS FLOAT32;
float32 and float64 keep their dtype. Trainer-facing losses come from the registry
`LOSSES` (always float32 [B]); Keras users take the `...Loss` classes.
"""

from __future__ import annotations

from framework.losses.class_weighting import ClassWeighting, build_class_weighting
from framework.losses.class_weights import (CLASS_WEIGHTS, custom, effective_number,
                                            inverse_frequency, inverse_sqrt,
                                            inverse_square, uniform)
from framework.losses.cross_entropy import (binary_cross_entropy,
                                            categorical_cross_entropy,
                                            sparse_cross_entropy)
from framework.losses.focal import binary_focal, categorical_focal, sparse_focal
from framework.losses.keras_losses import (BalancedSoftmaxLoss, BinaryFocalLoss,
                                           CategoricalCrossEntropyLoss,
                                           CategoricalFocalLoss, LDAMLoss,
                                           LogitAdjustedLoss, SparseCrossEntropyLoss,
                                           SparseFocalLoss, WeightedCrossEntropyLoss)
from framework.losses.margin import (balanced_softmax, ldam, ldam_margins, log_prior,
                                     logit_adjusted, post_hoc_adjust)
from framework.losses.registry import LOSSES, PerExampleLoss
from framework.losses.weighted import weighted_cross_entropy

__all__ = [
    "BalancedSoftmaxLoss", "BinaryFocalLoss", "CLASS_WEIGHTS",
    "CategoricalCrossEntropyLoss", "CategoricalFocalLoss", "ClassWeighting", "LDAMLoss",
    "LOSSES", "LogitAdjustedLoss", "PerExampleLoss", "SparseCrossEntropyLoss",
    "SparseFocalLoss", "WeightedCrossEntropyLoss", "balanced_softmax",
    "binary_cross_entropy", "binary_focal", "build_class_weighting",
    "categorical_cross_entropy", "categorical_focal", "custom", "effective_number",
    "inverse_frequency", "inverse_sqrt", "inverse_square", "ldam", "ldam_margins",
    "log_prior", "logit_adjusted", "post_hoc_adjust", "sparse_cross_entropy",
    "sparse_focal", "uniform", "weighted_cross_entropy",
]
