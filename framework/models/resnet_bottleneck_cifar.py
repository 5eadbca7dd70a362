"""The bottleneck CIFAR ResNet-32 that Menon et al.'s logit-adjustment code trains (TensorFlow).

A 3x3 conv of 16 filters on the image zero-padded by 3 (so the maps are 36 x 36), batch
norm, ReLU; three stages of 5 bottleneck blocks (1x1, 3x3, 1x1 convs of equal width 16, 32,
64, each with batch norm), the first block of each stage with a projection shortcut (a 1x1
conv of the block's stride and batch norm), stride 1, 2, 2, the 3x3 conv carrying it; a final
batch norm without ReLU, global average pooling and the head. Convs carry no bias and take
Keras's "same" padding, as that code does. Trainable parameters with a 10-class head:
300,762. That code draws the head's kernel from N(0, 0.01); here the head is the registry's.
"""

from __future__ import annotations

from typing import Sequence

import keras

from framework.models.heads import check_head
from framework.models.layers import batch_norm, classifier, relu
from framework.models.registry import MODELS

STAGES = ((16, 1), (32, 2), (64, 2))  # (width, stride of the first block)
BLOCKS = 5


def _conv(x, filters: int, kernel: int, stride: int, name: str):
  return keras.layers.Conv2D(filters, kernel, stride, padding="same", use_bias=False,
                             kernel_initializer="he_normal", name=name)(x)


def _bottleneck(x, filters: int, stride: int, project: bool, name: str):
  y = relu(batch_norm(_conv(x, filters, 1, 1, f"{name}_conv1"), f"{name}_bn1"), f"{name}_relu1")
  y = relu(batch_norm(_conv(y, filters, 3, stride, f"{name}_conv2"), f"{name}_bn2"),
           f"{name}_relu2")
  y = batch_norm(_conv(y, filters, 1, 1, f"{name}_conv3"), f"{name}_bn3")
  if project:
    x = batch_norm(_conv(x, filters, 1, stride, f"{name}_shortcut"), f"{name}_shortcut_bn")
  return relu(keras.layers.Add(name=f"{name}_add")([y, x]), f"{name}_out")


@MODELS.register("resnet32_bottleneck")
def resnet32_bottleneck(input_shape: Sequence[int], num_classes: int,
                        head: str = "linear") -> keras.Model:
  """The bottleneck ResNet-32 with projection shortcuts (logit adjustment's CIFAR backbone)."""
  check_head(head)
  inputs = keras.Input(tuple(input_shape), name="image")
  x = keras.layers.ZeroPadding2D(3, name="stem_pad")(inputs)
  x = keras.layers.Conv2D(16, 3, padding="valid", use_bias=False,
                          kernel_initializer="he_normal", name="stem_conv")(x)
  x = relu(batch_norm(x, "stem_bn"), "stem_relu")
  for stage, (filters, stride) in enumerate(STAGES, start=1):
    for block in range(1, BLOCKS + 1):
      x = _bottleneck(x, filters, stride if block == 1 else 1, block == 1,
                      f"stage{stage}_block{block}")
  x = batch_norm(x, "final_bn")
  return classifier(inputs, x, num_classes, head, "resnet32_bottleneck")
