"""Heatmap and confusion-matrix images: shapes, dtype, colormap, normalisation."""

from __future__ import annotations

import numpy as np
import pytest

from framework.summaries import confusion_matrix_image
from framework.summaries import heatmap

# Published viridis colours (matplotlib / viridisLite) at 0, 0.5 and 1.
VIRIDIS_LOW, VIRIDIS_MID, VIRIDIS_HIGH = (68, 1, 84), (33, 144, 140), (253, 231, 37)


def _luminance(rgb):
  """Relative luminance (Rec. 709) of sRGB uint8 colours [..., 3]."""
  c = np.asarray(rgb, np.float64) / 255.0
  linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
  return linear @ np.array([0.2126, 0.7152, 0.0722])


def test_heatmap_shape_dtype_and_nearest_neighbour_cells():
  matrix = np.random.default_rng(0).permutation(15).reshape(3, 5).astype(np.float32)
  image = heatmap(matrix, cell=(4, 6)).numpy()
  assert image.shape == (12, 30, 3) and image.dtype == np.uint8
  pixels = heatmap(matrix, cell=(1, 1)).numpy()
  assert pixels.shape == (3, 5, 3)
  np.testing.assert_array_equal(image, np.repeat(np.repeat(pixels, 4, axis=0), 6, axis=1))
  assert len({tuple(p) for p in pixels.reshape(-1, 3)}) == 15   # distinct values, colours


@pytest.mark.parametrize("shape, expected", [((10, 10), (250, 250, 3)),
                                             ((2, 2), (256, 256, 3)),
                                             ((50, 200), (50, 200, 3)),
                                             ((1, 7), (36, 252, 3))])
def test_heatmap_default_cell_makes_small_matrices_visible(shape, expected):
  assert heatmap(np.ones(shape)).shape == expected


def test_colormap_is_viridis_and_monotone_in_luminance():
  ramp = heatmap(np.linspace(0.0, 1.0, 65)[None], cell=(1, 1)).numpy()[0]
  assert tuple(ramp[0]) == VIRIDIS_LOW and tuple(ramp[-1]) == VIRIDIS_HIGH
  np.testing.assert_allclose(ramp[32], VIRIDIS_MID, atol=1)
  luminance = _luminance(ramp)
  assert np.all(np.diff(luminance) > 0)
  assert luminance[-1] > 10 * luminance[0]


def test_heatmap_value_range():
  matrix = np.array([[-5.0, 0.0, 0.5, 1.0, 7.0]])
  clipped = heatmap(matrix, vmin=0.0, vmax=1.0, cell=(1, 1)).numpy()[0]
  assert tuple(clipped[0]) == tuple(clipped[1]) == VIRIDIS_LOW
  assert tuple(clipped[3]) == tuple(clipped[4]) == VIRIDIS_HIGH
  auto = heatmap(matrix, cell=(1, 1)).numpy()[0]     # default range: [min, max]
  assert tuple(auto[0]) == VIRIDIS_LOW and tuple(auto[4]) == VIRIDIS_HIGH
  assert tuple(auto[1]) != VIRIDIS_LOW
  # Rescaling the data and the range together changes nothing.
  np.testing.assert_array_equal(heatmap(matrix * 3 + 1, vmin=1.0, vmax=4.0, cell=(1, 1)),
                                clipped[None])


def test_heatmap_constant_and_non_finite_entries():
  constant = heatmap(np.full((2, 3), 4.0), cell=(1, 1)).numpy()
  assert np.all(constant == np.array(VIRIDIS_LOW, np.uint8))
  image = heatmap(np.array([[0.0, np.nan, 1.0, np.inf]]), cell=(1, 1)).numpy()[0]
  assert tuple(image[1]) == (128, 128, 128)          # NaN: grey, off the colormap
  assert tuple(image[0]) == VIRIDIS_LOW and tuple(image[3]) == VIRIDIS_HIGH


@pytest.mark.parametrize("kwargs", [dict(matrix=np.zeros(4)), dict(matrix=np.zeros((0, 3))),
                                    dict(matrix=np.zeros((2, 2)), cell=(0, 1)),
                                    dict(matrix=np.zeros((2, 2)), cell=(2,)),
                                    dict(matrix=np.zeros((2, 2)), vmin=1.0, vmax=1.0)])
def test_heatmap_rejects_bad_input(kwargs):
  with pytest.raises(ValueError):
    heatmap(**kwargs)


def test_confusion_of_diagonal_matrix_is_bright_on_the_diagonal():
  image = confusion_matrix_image(np.diag([50, 3, 700]), cell=(8, 8)).numpy()
  assert image.shape == (24, 24, 3) and image.dtype == np.uint8
  centres = image[4::8, 4::8]                        # one pixel per cell, [3, 3, 3]
  luminance = _luminance(centres)
  diagonal = np.eye(3, dtype=bool)
  assert luminance[diagonal].min() > 5 * luminance[~diagonal].max()
  assert all(tuple(centres[i, i]) == VIRIDIS_HIGH for i in range(3))


def test_confusion_rows_are_normalised_by_support():
  confusion = np.array([[90, 10], [1, 9]])           # recall 0.9 for both classes
  cells = confusion_matrix_image(confusion, cell=(1, 1)).numpy()
  np.testing.assert_array_equal(cells[0, 0], cells[1, 1])
  np.testing.assert_array_equal(cells[0, 1], cells[1, 0])
  np.testing.assert_array_equal(cells, heatmap(confusion / confusion.sum(1, keepdims=True),
                                               vmin=0.0, vmax=1.0, cell=(1, 1)))
  raw = confusion_matrix_image(confusion, normalize=None, cell=(1, 1)).numpy()
  assert tuple(raw[0, 0]) == VIRIDIS_HIGH and not np.array_equal(raw[0, 0], raw[1, 1])
  by_column = confusion_matrix_image(confusion, normalize="pred", cell=(1, 1)).numpy()
  np.testing.assert_array_equal(by_column, heatmap(confusion / confusion.sum(0),
                                                   vmin=0.0, vmax=1.0, cell=(1, 1)))
  by_all = confusion_matrix_image(confusion, normalize="all", cell=(1, 1)).numpy()
  np.testing.assert_array_equal(by_all, heatmap(confusion / 110, vmin=0.0, vmax=1.0,
                                                cell=(1, 1)))


def test_confusion_with_an_absent_class_draws_zeros():
  cells = confusion_matrix_image(np.array([[5, 0], [0, 0]]), cell=(1, 1)).numpy()
  assert tuple(cells[0, 0]) == VIRIDIS_HIGH
  assert all(tuple(cells[i, j]) == VIRIDIS_LOW for i, j in ((0, 1), (1, 0), (1, 1)))


@pytest.mark.parametrize("confusion, normalize", [(np.zeros((2, 3)), "true"),
                                                   (np.zeros((2, 2)), "rows")])
def test_confusion_rejects_bad_input(confusion, normalize):
  with pytest.raises(ValueError):
    confusion_matrix_image(confusion, normalize=normalize)


def _count(pixels, colour):
  return int(np.all(pixels == np.array(colour, np.uint8), axis=-1).sum())


def test_confusion_figure_has_the_cells_a_scale_and_room_for_the_names():
  from framework.summaries.figures import confusion_figure
  names = list("abcdef")
  short = confusion_figure(np.eye(6) * 5, names)
  long = confusion_figure(np.eye(6) * 5, ["a much longer class name"] + names[1:])
  assert short.dtype == np.uint8 and short.shape[2] == 3
  assert long.shape[1] > short.shape[1] and long.shape[0] > short.shape[0]  # both axes
  bright, dark = (253, 231, 37), (68, 1, 84)  # viridis at 1 (recall 100%) and 0
  cells = 0.8 * 6 * 40 * 40  # six 40-pixel cells of each colour, less the numbers in them
  assert _count(short, bright) > cells and _count(short, dark) > cells
  assert _count(short, (0, 0, 0)) > 0  # text on the white margins


def test_trajectory_figure_separates_groups_and_labels_every_row():
  from framework.summaries.figures import trajectory_figure
  matrix = np.array([[0.0, 1.0], [0.0, 1.0], [1.0, 0.0]])
  plain = trajectory_figure(matrix, ["a #0", "a #1", "a #2 (noisy)"], [10, 20])
  split = trajectory_figure(matrix, ["a #0", "a #1", "a #2 (noisy)"], [10, 20], row_breaks=[2])
  assert plain.shape == split.shape
  assert _count(split, (255, 255, 255)) > _count(plain, (255, 255, 255))  # the white line


@pytest.mark.parametrize("rows", [4, 51, 120])
def test_trajectory_figure_labels_every_row_of_many(rows):
  from framework.summaries.figures import trajectory_figure
  labels = [f"Ankle_boot #{1000 + r} (noisy, was T-shirt_top)" for r in range(rows)]
  image = trajectory_figure(np.zeros((rows, 30)), labels, [10, 300])
  grid = np.all(image == np.array(VIRIDIS_LOW, np.uint8), axis=-1)  # all cells darkest
  ys, xs = np.nonzero(grid)
  top, height, left = ys.min(), ys.max() + 1 - ys.min(), xs.min()
  assert height % rows == 0
  row_height = height // rows
  text = image[:, :left].min(axis=-1) < 100  # dark text left of the grid
  for r in range(rows):
    band = text[top + r * row_height: top + (r + 1) * row_height]
    assert band.sum() > 40, f"row {r} of {rows} has no label"
