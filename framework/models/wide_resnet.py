"""Wide ResNets (Zagoruyko & Komodakis 2016): WRN-depth-width, WRN-28-10 about 36.5 M
parameters with 10 classes.

A 3x3 conv of 16 filters, three stages of (depth - 4) / 6 pre-activation blocks of widths
16k, 32k, 64k (k = width), stages 2 and 3 starting with stride 2, optional dropout
between a block's convs, a final BN-ReLU, global average pooling and the head.
"""

from __future__ import annotations

from typing import Sequence

import keras

from framework.models.heads import check_head
from framework.models.layers import classifier, conv
from framework.models.preact_resnet import preact_stages
from framework.models.registry import MODELS


@MODELS.register("wrn")
def wrn(input_shape: Sequence[int], num_classes: int, depth: int = 28, width: int = 10,
        dropout: float = 0.0, head: str = "linear") -> keras.Model:
  """WRN-`depth`-`width`; depth = 6n + 4."""
  if not (isinstance(depth, int) and depth >= 10 and (depth - 4) % 6 == 0):
    raise ValueError(f"depth={depth!r} must be 6n + 4 for an integer n >= 1 (10, 16, 28, ...)")
  if not (isinstance(width, int) and width >= 1):
    raise ValueError(f"width={width!r} must be an integer >= 1")
  if not 0.0 <= dropout < 1.0:
    raise ValueError(f"dropout={dropout!r} must lie in [0, 1)")
  check_head(head)
  inputs = keras.Input(tuple(input_shape), name="image")
  x = conv(inputs, 16, 3, 1, "stem_conv")
  x = preact_stages(x, (16 * width, 32 * width, 64 * width), (depth - 4) // 6,
                    dropout=dropout)
  return classifier(inputs, x, num_classes, head, f"wrn{depth}_{width}")


@MODELS.register("wrn28_10")
def wrn28_10(input_shape: Sequence[int], num_classes: int, dropout: float = 0.0,
             head: str = "linear") -> keras.Model:
  """WRN-28-10."""
  return wrn(input_shape, num_classes, 28, 10, dropout, head)
