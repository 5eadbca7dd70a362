"""The CIFAR ResNets of He et al. 2016 (section 4.2): ResNet-20/32/44/56/110, depth 6n + 2.

A 3x3 conv of 16 filters, then three stages of n basic blocks (two 3x3 convs, each with
batch norm, ReLU after the first and after the sum) of widths 16, 32 and 64, the first
block of stages 2 and 3 with stride 2; global average pooling and the head. Shortcuts are
"option A": the identity, subsampled by the stride and zero-padded in channels, so they
add no parameters (ResNet-32 with 10 classes: 464,154 trainable parameters). LDAM-DRW
trains ResNet-32 with the cosine head.
"""

from __future__ import annotations

from typing import Sequence

import keras

from framework.models.heads import check_head
from framework.models.layers import batch_norm, classifier, conv, relu
from framework.models.registry import MODELS

WIDTHS = (16, 32, 64)


@keras.saving.register_keras_serializable(package="framework")
class ShortcutA(keras.layers.Layer):
  """The parameter-free shortcut: x[:, ::stride, ::stride], zero-padded to `filters` channels
  (half the new channels before, half after, as in the reference code)."""

  def __init__(self, filters: int, stride: int, **kwargs):
    super().__init__(**kwargs)
    self.filters, self.stride = filters, stride

  def call(self, x):
    if self.stride > 1:
      x = x[:, ::self.stride, ::self.stride, :]
    extra = self.filters - x.shape[-1]
    return keras.ops.pad(x, [[0, 0], [0, 0], [0, 0], [extra // 2, extra - extra // 2]])

  def compute_output_shape(self, input_shape):
    def sub(n):
      return None if n is None else -(-n // self.stride)
    return (input_shape[0], sub(input_shape[1]), sub(input_shape[2]), self.filters)

  def standard_layers(self, input_shape: tuple) -> list[keras.layers.Layer]:
    """The same shortcut in Keras's own layers (for export): a 1x1 max pool of stride
    `stride` keeps x[:, ::stride, ::stride], and ZeroPadding2D read channels-first pads the
    last two axes, here width by nothing and the channels as `call` does."""
    extra = self.filters - input_shape[-1]
    padding = keras.layers.ZeroPadding2D(((0, 0), (extra // 2, extra - extra // 2)),
                                         data_format="channels_first", name=f"{self.name}_pad",
                                         dtype=self.dtype_policy)
    if self.stride == 1:
      return [padding]
    return [keras.layers.MaxPooling2D(1, self.stride, name=f"{self.name}_subsample",
                                      dtype=self.dtype_policy), padding]

  def get_config(self):
    return {**super().get_config(), "filters": self.filters, "stride": self.stride}


def _block(x, filters: int, stride: int, name: str):
  y = relu(batch_norm(conv(x, filters, 3, stride, f"{name}_conv1"), f"{name}_bn1"),
           f"{name}_relu1")
  y = batch_norm(conv(y, filters, 3, 1, f"{name}_conv2"), f"{name}_bn2")
  if stride > 1 or x.shape[-1] != filters:
    x = ShortcutA(filters, stride, name=f"{name}_shortcut")(x)
  return relu(keras.layers.Add(name=f"{name}_add")([y, x]), f"{name}_out")


@MODELS.register("resnet_cifar")
def resnet_cifar(input_shape: Sequence[int], num_classes: int, depth: int = 32,
                 head: str = "linear") -> keras.Model:
  """The CIFAR ResNet of `depth` = 6n + 2 layers (n basic blocks a stage)."""
  if not (isinstance(depth, int) and depth >= 8 and (depth - 2) % 6 == 0):
    raise ValueError(f"depth={depth!r} must be 6n + 2 for an integer n >= 1 (20, 32, 44, ...)")
  check_head(head)
  inputs = keras.Input(tuple(input_shape), name="image")
  x = relu(batch_norm(conv(inputs, WIDTHS[0], 3, 1, "stem_conv"), "stem_bn"), "stem_relu")
  for stage, filters in enumerate(WIDTHS, start=1):
    for block in range(1, (depth - 2) // 6 + 1):
      stride = 2 if stage > 1 and block == 1 else 1
      x = _block(x, filters, stride, f"stage{stage}_block{block}")
  return classifier(inputs, x, num_classes, head, f"resnet{depth}")


@MODELS.register("resnet20")
def resnet20(input_shape: Sequence[int], num_classes: int, head: str = "linear") -> keras.Model:
  """ResNet-20 (n = 3)."""
  return resnet_cifar(input_shape, num_classes, 20, head)


@MODELS.register("resnet32")
def resnet32(input_shape: Sequence[int], num_classes: int, head: str = "linear") -> keras.Model:
  """ResNet-32 (n = 5): the LDAM-DRW backbone on CIFAR-LT."""
  return resnet_cifar(input_shape, num_classes, 32, head)


@MODELS.register("resnet44")
def resnet44(input_shape: Sequence[int], num_classes: int, head: str = "linear") -> keras.Model:
  """ResNet-44 (n = 7)."""
  return resnet_cifar(input_shape, num_classes, 44, head)


@MODELS.register("resnet56")
def resnet56(input_shape: Sequence[int], num_classes: int, head: str = "linear") -> keras.Model:
  """ResNet-56 (n = 9)."""
  return resnet_cifar(input_shape, num_classes, 56, head)


@MODELS.register("resnet110")
def resnet110(input_shape: Sequence[int], num_classes: int, head: str = "linear") -> keras.Model:
  """ResNet-110 (n = 18)."""
  return resnet_cifar(input_shape, num_classes, 110, head)
