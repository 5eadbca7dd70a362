"""Building blocks the CIFAR backbones share: bias-free convs padded like the papers' code,
batch norm with PyTorch's constants, global pooling and the head."""

from __future__ import annotations

import keras
import tensorflow as tf

from framework.models.heads import head_layer


def conv(x, filters: int, kernel: int, stride: int, name: str):
  """A bias-free conv (He init) padded by kernel // 2 on every side.

  Keras' 'same' pads a stride-2 conv only at the bottom / right, which would centre its
  outputs on odd pixels while a stride-2 shortcut samples even ones; explicit symmetric
  padding keeps the two aligned, as in the reference PyTorch code.
  """
  padding = "same"
  if stride > 1 and kernel > 1:
    x = keras.layers.ZeroPadding2D(kernel // 2, name=f"{name}_pad")(x)
    padding = "valid"
  return keras.layers.Conv2D(filters, kernel, stride, padding=padding, use_bias=False,
                             kernel_initializer="he_normal", name=name)(x)


def batch_norm(x, name: str):
  """Batch norm with PyTorch's momentum 0.1 and epsilon 1e-5.

  Under a strategy of several replicas the statistics are synchronised across them, so a
  step on two replicas equals a step on one device with the global batch.
  """
  replicas = tf.distribute.get_strategy().num_replicas_in_sync
  return keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, synchronized=replicas > 1,
                                         name=name)(x)


def relu(x, name: str):
  return keras.layers.ReLU(name=name)(x)


def classifier(inputs, features, num_classes: int, head: str, name: str) -> keras.Model:
  """Global average pooling, the head, and the functional model from `inputs`."""
  x = keras.layers.GlobalAveragePooling2D(name="pool")(features)
  return keras.Model(inputs, head_layer(num_classes, head)(x), name=name)
