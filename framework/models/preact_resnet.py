"""PreAct ResNet-18 for CIFAR (He et al. 2016, "Identity Mappings"), as noisy-label papers
(Co-teaching+, DivideMix, ELR, ...) train it: about 11.17 M parameters with 10 classes.

A 3x3 conv of 64 filters at full resolution (no stem pooling), four stages of two
pre-activation basic blocks (BN-ReLU-conv, twice) of widths 64, 128, 256, 512, stages 2-4
starting with stride 2; a 1x1 conv shortcut on the pre-activated input where the shape
changes; a final BN-ReLU, global average pooling and the head.
"""

from __future__ import annotations

from typing import Sequence

import keras

from framework.models.heads import check_head
from framework.models.layers import batch_norm, classifier, conv, relu
from framework.models.registry import MODELS


def preact_block(x, filters: int, stride: int, name: str, dropout: float = 0.0):
  """BN-ReLU-conv(stride)-BN-ReLU-[dropout]-conv plus the shortcut (also used by WRNs)."""
  pre = relu(batch_norm(x, f"{name}_bn1"), f"{name}_relu1")
  shortcut = x
  if stride > 1 or x.shape[-1] != filters:
    shortcut = conv(pre, filters, 1, stride, f"{name}_shortcut")
  y = relu(batch_norm(conv(pre, filters, 3, stride, f"{name}_conv1"), f"{name}_bn2"),
           f"{name}_relu2")
  if dropout > 0:
    y = keras.layers.Dropout(dropout, name=f"{name}_dropout")(y)
  y = conv(y, filters, 3, 1, f"{name}_conv2")
  return keras.layers.Add(name=f"{name}_add")([y, shortcut])


def preact_stages(x, widths: Sequence[int], blocks: int, first_stride: int = 1,
                  dropout: float = 0.0):
  """Stages of `blocks` pre-activation blocks; every stage after the first halves the size."""
  for stage, filters in enumerate(widths, start=1):
    for block in range(1, blocks + 1):
      stride = (first_stride if stage == 1 else 2) if block == 1 else 1
      x = preact_block(x, filters, stride, f"stage{stage}_block{block}", dropout)
  return relu(batch_norm(x, "final_bn"), "final_relu")


@MODELS.register("preact_resnet18")
def preact_resnet18(input_shape: Sequence[int], num_classes: int,
                    head: str = "linear") -> keras.Model:
  """PreAct ResNet-18 (CIFAR variant)."""
  check_head(head)
  inputs = keras.Input(tuple(input_shape), name="image")
  x = conv(inputs, 64, 3, 1, "stem_conv")
  x = preact_stages(x, (64, 128, 256, 512), blocks=2)
  return classifier(inputs, x, num_classes, head, "preact_resnet18")
