"""Figures for TensorBoard's Images dashboard, drawn with Pillow (no plotting stack).

A heatmap figure is the viridis grid of `images.heatmap` with a title, row and column
labels, the value of each cell when cells are large enough, separator lines between row
groups (e.g. clean / noisy) and a colour scale with its end values. Labels shrink (down to
`_MIN_LABEL_FONT`) to fit their rows, so every row is labelled once rows are that tall. The reliability
diagram draws calibration bins as bars against the diagonal of perfect calibration.
"""

from __future__ import annotations

import functools
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from framework.evaluation.calibration import Reliability
from framework.summaries.images import heatmap

_FONT_SIZE = 11
_MIN_LABEL_FONT = 8  # row and column labels shrink to this size to fit their cells
_MIN_LABELLED_ROW = 12  # pixels: a trajectory row this tall holds its label
_PAD = 6
_SCALE_WIDTH = 12
_MIN_TEXT_CELL = (14, 24)  # (height, width) a cell needs to hold its value
_WHITE, _BLACK, _GREY = (255, 255, 255), (0, 0, 0), (110, 110, 110)
_ACCURACY_BAR = (59, 82, 139)    # viridis blue
_GAP_BAR = (236, 112, 99)        # red: the gap between accuracy and confidence
_COUNT_BAR = (170, 170, 170)
_PLOT_SIDE, _COUNT_HEIGHT = 240, 40


@functools.lru_cache(maxsize=None)
def _font(size: int = _FONT_SIZE) -> ImageFont.ImageFont:
  """Pillow's default font at `size`, loaded once (loading it costs ~1 ms)."""
  return ImageFont.load_default(size=size)


def _label_font(cell: int) -> ImageFont.ImageFont:
  """The font of labels along cells `cell` pixels apart: 3 pixels smaller than the cell,
  between `_MIN_LABEL_FONT` and the figure's font size."""
  return _font(int(np.clip(cell - 3, _MIN_LABEL_FONT, _FONT_SIZE)))


def _text_size(font, text: str) -> tuple[int, int]:
  left, top, right, bottom = font.getbbox(text)
  return int(right - left), int(bottom - min(top, 0))


def _fmt(value: float) -> str:
  if not np.isfinite(value):
    return "nan" if np.isnan(value) else ("inf" if value > 0 else "-inf")
  return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"


def labelled_heatmap(matrix: np.ndarray, title: str, row_labels: Sequence[str],
                     column_labels: Sequence[str] = (), vertical_columns: bool = True,
                     vmin: float | None = None, vmax: float | None = None,
                     cell: tuple[int, int] = (16, 16), cell_text: np.ndarray | None = None,
                     row_breaks: Sequence[int] = (), scale_label: str = "") -> np.ndarray:
  """uint8 [H, W, 3]: `matrix` [R, S] as a heatmap with labels and a colour scale.

  column_labels: S labels (drawn vertically under the grid) or, with
  vertical_columns=False, a few labels spread left to right under it. cell_text: strings
  [R, S] drawn in the cells when they are at least 14 x 24 pixels. row_breaks: row indices
  above which a white separator line is drawn.
  """
  matrix = np.asarray(matrix, np.float32)
  rows, cols = matrix.shape
  finite = matrix[np.isfinite(matrix)]
  low = float(finite.min()) if vmin is None and finite.size else (vmin or 0.0)
  high = float(finite.max()) if vmax is None and finite.size else (vmax or 1.0)
  high = max(high, low)
  grid = heatmap(matrix, vmin=low, vmax=high if high > low else None, cell=cell).numpy()
  font, ch, cw = _font(), cell[0], cell[1]
  row_font, column_font = _label_font(ch), _label_font(cw)
  line = _text_size(font, "Ag")[1] + 2
  label_w = max([_text_size(row_font, str(t))[0] for t in row_labels] + [0]) + _PAD
  if vertical_columns and column_labels:
    columns_h = max(_text_size(column_font, str(t))[0] for t in column_labels) + _PAD
  else:
    columns_h = line + _PAD if column_labels else 0
  scale_texts = [_fmt(high), _fmt(low), scale_label]
  scale_w = _SCALE_WIDTH + _PAD + max(_text_size(font, t)[0] for t in scale_texts) + _PAD
  title_h = line + _PAD
  width = max(label_w + grid.shape[1] + _PAD + scale_w, _text_size(font, title)[0] + 2 * _PAD)
  height = title_h + grid.shape[0] + columns_h + _PAD
  canvas = Image.new("RGB", (width + _PAD, height + _PAD), _WHITE)
  draw = ImageDraw.Draw(canvas)
  draw.text((_PAD, _PAD // 2), title, fill=_BLACK, font=font)
  x0, y0 = _PAD + label_w, title_h
  canvas.paste(Image.fromarray(grid), (x0, y0))
  every = -(-_text_size(row_font, "Ag")[1] // ch)  # rows thinner than the smallest text
  for r, text in enumerate(row_labels):
    if r % every:
      continue
    w, h = _text_size(row_font, str(text))
    draw.text((x0 - _PAD - w, y0 + r * ch + (ch - h) // 2), str(text), fill=_BLACK,
              font=row_font)
  for r in row_breaks:
    draw.line([(x0, y0 + r * ch), (x0 + cols * cw - 1, y0 + r * ch)], fill=_WHITE, width=2)
  if cell_text is not None and ch >= _MIN_TEXT_CELL[0] and cw >= _MIN_TEXT_CELL[1]:
    span = high - low if high > low else 1.0
    for (r, s), text in np.ndenumerate(np.asarray(cell_text, object)):
      w, h = _text_size(font, text)
      bright = np.isfinite(matrix[r, s]) and (matrix[r, s] - low) / span > 0.6
      draw.text((x0 + s * cw + (cw - w) // 2, y0 + r * ch + (ch - h) // 2), text,
                fill=_BLACK if bright else _WHITE, font=font)
  _draw_columns(canvas, draw, column_font if vertical_columns else font, column_labels,
                vertical_columns, x0, y0 + rows * ch, cw, cols * cw)
  _draw_scale(canvas, draw, font, x0 + cols * cw + _PAD, y0, rows * ch, low, high, scale_label)
  return np.asarray(canvas)


def _vertical_text(font, text: str) -> Image.Image:
  """`text` in black on white, turned to read upwards."""
  w, h = _text_size(font, text)
  strip = Image.new("RGB", (w + 2, h + 2), _WHITE)
  ImageDraw.Draw(strip).text((1, 1), text, fill=_BLACK, font=font)
  return strip.rotate(90, expand=True)


def _draw_columns(canvas, draw, font, labels, vertical, x0, y0, cell_w, grid_w) -> None:
  if not labels:
    return
  if vertical:
    for s, text in enumerate(labels):
      strip = _vertical_text(font, str(text))
      canvas.paste(strip, (x0 + s * cell_w + (cell_w - strip.width) // 2, y0 + 2))
    return
  for k, text in enumerate(labels):  # spread: first at the left edge, last at the right
    w, _ = _text_size(font, str(text))
    x = x0 + (grid_w - w) * k // max(1, len(labels) - 1)
    draw.text((x, y0 + 2), str(text), fill=_GREY, font=font)


def _draw_scale(canvas, draw, font, x, y, height, low, high, label) -> None:
  ramp = np.linspace(1.0, 0.0, max(height, 2), dtype=np.float32)[:, None]
  bar = heatmap(ramp, vmin=0.0, vmax=1.0, cell=(1, _SCALE_WIDTH)).numpy()
  canvas.paste(Image.fromarray(bar[:height]), (x, y))
  tx = x + _SCALE_WIDTH + 3
  draw.text((tx, y), _fmt(high), fill=_BLACK, font=font)
  _, h = _text_size(font, _fmt(low))
  draw.text((tx, y + height - h), _fmt(low), fill=_BLACK, font=font)
  if label and height > 4 * h:
    draw.text((tx, y + (height - h) // 2), label, fill=_GREY, font=font)


def confusion_figure(confusion: np.ndarray, class_names: Sequence[str]) -> np.ndarray:
  """The confusion matrix, rows normalised (the diagonal is per-class recall), each cell
  showing its share of the row in percent; rows true class, columns predicted."""
  counts = np.asarray(confusion, np.float64)
  totals = counts.sum(axis=1, keepdims=True)
  share = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
  c = counts.shape[0]
  side = int(np.clip(480 // max(c, 1), _MIN_LABELLED_ROW, 40))
  text = np.vectorize(lambda v: f"{100 * v:.0f}")(share)
  return labelled_heatmap(share, "confusion (test): rows true class, columns predicted, % of "
                          "row", list(class_names), list(class_names), True, 0.0, 1.0,
                          (side, side), text, scale_label="recall")


def trajectory_figure(matrix: np.ndarray, row_labels: Sequence[str], steps: Sequence[int],
                      row_breaks: Sequence[int] = ()) -> np.ndarray:
  """Tracked examples' effective weights [T, S] over the summary steps (columns); every row
  labelled (rows at least `_MIN_LABELLED_ROW` pixels tall)."""
  rows, cols = np.asarray(matrix).shape
  cell = (int(np.clip(400 // max(rows, 1), _MIN_LABELLED_ROW, 16)),
          int(np.clip(480 // max(cols, 1), 1, 24)))
  ticks = [f"step {steps[0]}", f"step {steps[-1]}"] if len(steps) > 1 else [f"step {steps[0]}"]
  return labelled_heatmap(matrix, "effective weight of tracked examples over training",
                          row_labels, ticks, False, cell=cell, row_breaks=row_breaks,
                          scale_label="weight")


def reliability_figure(bins: Reliability, title: str = "reliability (test)") -> np.ndarray:
  """uint8 [H, W, 3]: the reliability diagram of `bins` (see evaluation.calibration).

  Per confidence bin, a blue bar up to the bin's accuracy and a narrower red bar over the
  gap between it and the bin's mean confidence, with the dashed diagonal of perfect
  calibration; under it a grey strip of the bins' example counts (relative to the fullest
  bin). Empty bins stay blank. The title carries the ECE.
  """
  font = _font()
  line = _text_size(font, "Ag")[1] + 2
  tick_w = _text_size(font, "0.5")[0]
  x0 = _PAD + line + _PAD + tick_w + _PAD           # left of the plot: axis label, ticks
  y0 = _PAD + 2 * line + _PAD                       # top of the plot: title, legend
  side, bottom = _PLOT_SIDE, y0 + _PLOT_SIDE
  strip_top = bottom + line + _PAD                  # the counts strip, under the x ticks
  height = strip_top + _COUNT_HEIGHT + line + _PAD
  width = x0 + side + 2 * _PAD
  canvas = Image.new("RGB", (width, height), _WHITE)
  draw = ImageDraw.Draw(canvas)
  draw.text((_PAD, _PAD // 2), f"{title}: ECE {_fmt(bins.ece)}, {int(bins.count.sum())} "
            "examples", fill=_BLACK, font=font)
  draw.text((_PAD, _PAD // 2 + line), "blue accuracy, red gap to mean confidence",
            fill=_GREY, font=font)

  def x_at(value: float) -> int:
    return x0 + int(round(value * side))

  def y_at(value: float) -> int:
    return bottom - int(round(value * side))

  edges, most = bins.edges, max(int(bins.count.max()), 1)
  for b in np.flatnonzero(bins.count):
    left, right = x_at(edges[b]) + 1, x_at(edges[b + 1]) - 1
    accuracy, confidence = bins.accuracy[b], bins.confidence[b]
    if accuracy > 0:
      draw.rectangle([left, y_at(accuracy), right, bottom], fill=_ACCURACY_BAR)
    if np.isfinite(confidence) and y_at(confidence) != y_at(accuracy):
      quarter = (right - left) // 4  # narrower, so the accuracy bar shows beside it
      draw.rectangle([left + quarter, min(y_at(accuracy), y_at(confidence)), right - quarter,
                      max(y_at(accuracy), y_at(confidence))], fill=_GAP_BAR)
    top = strip_top + _COUNT_HEIGHT - int(round(_COUNT_HEIGHT * bins.count[b] / most))
    draw.rectangle([left, top, right, strip_top + _COUNT_HEIGHT], fill=_COUNT_BAR)
  for start in range(0, side, 8):  # the dashed diagonal, 4 pixels on, 4 off
    draw.line([(x0 + start, bottom - start), (x0 + start + 4, bottom - start - 4)], fill=_GREY)
  draw.rectangle([x0, y0, x0 + side, bottom], outline=_BLACK)
  for value in (0.0, 0.5, 1.0):
    text = f"{value:g}"
    w, h = _text_size(font, text)
    draw.text((x_at(value) - w // 2, bottom + 2), text, fill=_BLACK, font=font)
    draw.text((x0 - _PAD - w, y_at(value) - h // 2), text, fill=_BLACK, font=font)
  draw.text((x0, strip_top + _COUNT_HEIGHT + 2), "confidence; grey: examples per bin",
            fill=_BLACK, font=font)
  label = _vertical_text(font, "accuracy")
  canvas.paste(label, (_PAD, y0 + (side - label.height) // 2))
  return np.asarray(canvas)
