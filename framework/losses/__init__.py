"""Losses for imbalanced and noisy-label classification, and class-weight schemes.

Each loss is declared once in its module: a pure per-example function (from logits with
stable log-odds / softplus forms; `from_logits=False` takes probabilities, clipped like
Keras) and one `keras.losses.Loss` class with Keras's signature and defaults, registered
in `LOSSES` by the name a config uses (`base.py` shows how to add one). Dtypes: float16 /
bfloat16 inputs are computed in float32; the functions return float32 for them, the
classes the loss's dtype.
"""

from framework.losses.base import (LOSSES, PerExampleLoss, build_loss, output_scale,
                                   per_example, register_loss)
from framework.losses.class_weights import (CLASS_WEIGHTS, ClassWeighting,
                                            build_class_weighting, custom, effective_number,
                                            inverse_frequency, inverse_sqrt, inverse_square,
                                            uniform)
from framework.losses.cross_entropy import (CategoricalCrossEntropyLoss,
                                            SparseCrossEntropyLoss, binary_cross_entropy,
                                            categorical_cross_entropy, sparse_cross_entropy)
from framework.losses.focal import (BinaryFocalLoss, CategoricalFocalLoss, SparseFocalLoss,
                                    binary_focal, categorical_focal, sparse_focal)
from framework.losses.gce import GeneralizedCrossEntropyLoss, generalized_cross_entropy
from framework.losses.margin import (BalancedSoftmaxLoss, LDAMLoss, LogitAdjustedLoss,
                                     balanced_softmax, ldam, ldam_margins, log_prior,
                                     logit_adjusted, post_hoc_adjust)
from framework.losses.robust import (BootstrapLoss, SymmetricCrossEntropyLoss, bootstrap,
                                     symmetric_cross_entropy)
from framework.losses.sigmoid_focal import SigmoidFocalLoss, sigmoid_focal
from framework.losses.smoothing import (LabelAwareSmoothingLoss, SoftmaxBinaryCrossEntropyLoss,
                                        label_aware_epsilons, label_aware_smoothing,
                                        softmax_binary_cross_entropy)
from framework.losses.weighted import WeightedCrossEntropyLoss, weighted_cross_entropy

__all__ = [
    "BalancedSoftmaxLoss", "BinaryFocalLoss", "BootstrapLoss", "CLASS_WEIGHTS",
    "CategoricalCrossEntropyLoss", "CategoricalFocalLoss", "ClassWeighting",
    "GeneralizedCrossEntropyLoss", "LDAMLoss", "LabelAwareSmoothingLoss",
    "SoftmaxBinaryCrossEntropyLoss",
    "LOSSES", "LogitAdjustedLoss", "PerExampleLoss", "SigmoidFocalLoss", "SparseCrossEntropyLoss",
    "SparseFocalLoss", "SymmetricCrossEntropyLoss", "WeightedCrossEntropyLoss",
    "balanced_softmax", "bootstrap", "symmetric_cross_entropy",
    "binary_cross_entropy", "binary_focal", "build_class_weighting", "build_loss",
    "categorical_cross_entropy", "categorical_focal", "custom", "effective_number",
    "generalized_cross_entropy", "label_aware_epsilons", "label_aware_smoothing",
    "softmax_binary_cross_entropy",
    "inverse_frequency", "inverse_sqrt", "inverse_square", "ldam", "ldam_margins",
    "log_prior", "logit_adjusted", "output_scale", "per_example", "post_hoc_adjust", "register_loss",
    "sigmoid_focal",
    "sparse_cross_entropy", "sparse_focal", "uniform", "weighted_cross_entropy",
]
