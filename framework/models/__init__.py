"""Model zoo by name: factories `(input_shape, num_classes, ..., head=...)` -> Keras models.

Importing the package imports every backbone module, so all of them are registered in
`MODELS`; the custom layers (CosineDense, ShortcutA) register as Keras serialisables,
and the export writes them as Keras's own layers (`framework.models.standard`).
"""

from framework.models import (keras_app, preact_resnet, resnet_bottleneck_cifar, resnet_cifar,
                              small, wide_resnet)
from framework.models.bias_init import prior_bias, set_classifier_bias
from framework.models.heads import CosineDense, head_layer, head_of
from framework.models.peers import PeerModel
from framework.models.registry import MODELS

__all__ = ["MODELS", "CosineDense", "PeerModel", "head_layer", "head_of", "prior_bias",
           "set_classifier_bias"]
