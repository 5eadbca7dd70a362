"""Matrices rendered as RGB images (NumPy, no plotting library), for `MetricWriter.write_images`.

Heatmaps use viridis, a perceptually uniform colormap whose luminance rises monotonically,
so brighter always means larger (also in greyscale). It is stored as nine anchor colours and
interpolated linearly; cells are upscaled by nearest neighbour so that a 10 x 10 confusion
matrix is a readable image rather than ten pixels.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

# viridis sampled at 0, 1/8, ..., 1 (sRGB, 0-255).
_VIRIDIS_ANCHORS = np.array(
    [[68, 1, 84], [71, 45, 123], [59, 82, 139], [44, 114, 142], [33, 144, 140],
     [39, 173, 129], [93, 200, 99], [170, 220, 50], [253, 231, 37]], np.float32) / 255.0
_NAN_COLOUR = (0.5, 0.5, 0.5)   # grey, outside the colormap
_TARGET_SIDE = 256              # automatic cell size aims at this many pixels per side
_NORMALIZE = ("true", "pred", "all", None)


def _colorize(t: np.ndarray) -> np.ndarray:
  """Maps t in [0, 1] of any shape to float32 RGB [..., 3] by interpolating the anchors."""
  last = len(_VIRIDIS_ANCHORS) - 1
  position = t * np.float32(last)
  lower = np.clip(np.floor(position), np.float32(0), np.float32(last - 1))
  frac = (position - lower)[..., np.newaxis]
  start = _VIRIDIS_ANCHORS[lower.astype(np.int32)]
  end = _VIRIDIS_ANCHORS[lower.astype(np.int32) + 1]
  return start + (end - start) * frac


def _cell_size(cell: Any, rows: int, cols: int) -> tuple[int, int]:
  if cell is None:
    side = max(1, _TARGET_SIDE // max(rows, cols))
    return side, side
  if (len(cell) != 2 or not all(isinstance(v, (int, np.integer)) and v >= 1 for v in cell)):
    raise ValueError(f"cell={cell!r} must be a pair of ints >= 1 (height, width) or None")
  return int(cell[0]), int(cell[1])


def heatmap(matrix: Any, vmin: float | None = None, vmax: float | None = None,
            cell: tuple[int, int] | None = None) -> tf.Tensor:
  """Renders matrix [R, S] as a viridis heatmap, uint8 [R * cell_h, S * cell_w, 3].

  Args:
    matrix: float [R, S]; row r is drawn as the r-th band from the top.
    vmin, vmax: values mapped to the darkest / brightest colour (values beyond are clipped);
      default: the smallest / largest finite entry. A constant matrix is drawn darkest.
    cell: (height, width) in pixels of one entry; default chooses a square cell so the
      longer side is about 256 pixels (at least one pixel per entry).

  NaN entries are drawn grey, +-inf as the brightest / darkest colour.
  """
  values = np.asarray(matrix, np.float32)
  if values.ndim != 2 or values.size == 0:
    raise ValueError(f"matrix shape {values.shape} must be 2-D [rows, columns] and non-empty")
  if vmin is not None and vmax is not None and not vmin < vmax:
    raise ValueError(f"vmin={vmin} must be < vmax={vmax}")
  cell_h, cell_w = _cell_size(cell, values.shape[0], values.shape[1])
  finite = values[np.isfinite(values)]
  low = np.float32(vmin if vmin is not None else finite.min() if finite.size else 0.0)
  high = np.float32(vmax if vmax is not None else finite.max() if finite.size else low)
  span = high - low
  with np.errstate(invalid="ignore"):
    scaled = (values - low) / span if span > 0 else np.zeros_like(values)
    scaled = np.clip(scaled, np.float32(0), np.float32(1))
  is_nan = np.isnan(values)
  rgb = _colorize(np.where(is_nan, np.float32(0), scaled))
  rgb = np.where(is_nan[..., np.newaxis], np.asarray(_NAN_COLOUR, np.float32), rgb)
  pixels = np.round(rgb * np.float32(255.0)).astype(np.uint8)
  return tf.constant(np.repeat(np.repeat(pixels, cell_h, axis=0), cell_w, axis=1))


def confusion_matrix_image(confusion: Any, normalize: str | None = "true",
                           cell: tuple[int, int] | None = None) -> tf.Tensor:
  """Renders a confusion matrix [C, C] (rows = true class) as a uint8 heatmap [H, W, 3].

  Args:
    confusion: counts [C, C], e.g. `classification_metrics(...)["confusion_matrix"]`.
    normalize: 'true' divides each row by its support (the diagonal is per-class recall,
      so a starved class shows as a dark diagonal cell), 'pred' each column (precision),
      'all' by the total; the colour scale is then [0, 1]. None draws raw counts on
      [0, max]. Empty rows / columns are drawn as zeros.
    cell: pixel size of one entry, as in `heatmap`.
  """
  if normalize not in _NORMALIZE:
    raise ValueError(f"normalize={normalize!r} must be one of {_NORMALIZE}")
  counts = tf.convert_to_tensor(confusion, tf.float32)
  if counts.shape.rank != 2 or counts.shape[0] != counts.shape[1] or counts.shape[0] == 0:
    raise ValueError(f"confusion shape {counts.shape} must be square [C, C] with C >= 1")
  if normalize is None:
    return heatmap(counts, vmin=0.0, vmax=None, cell=cell)
  if normalize == "true":
    totals = tf.reduce_sum(counts, axis=1, keepdims=True)
  elif normalize == "pred":
    totals = tf.reduce_sum(counts, axis=0, keepdims=True)
  else:
    totals = tf.reduce_sum(counts)
  return heatmap(tf.math.divide_no_nan(counts, totals), vmin=0.0, vmax=1.0, cell=cell)
