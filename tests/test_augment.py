"""The input transform against NumPy re-derivations from the same uniforms, and the
augmented stream: a pure function of (seed, step), the same after a resume and on one
device or two replicas."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

import framework
from framework.data import augment, build, default_data_config
from framework.data.augment import InputTransform, randoms_for_step
from framework.data.bundle import Split
from framework.data.stream import distributed_stream, eval_batches
from framework.train.distribute import make_strategy
from tests.helpers import parameters, synthetic_config, train_steps
from tests.test_data_images import write_image_folder

MEAN, STD = (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)


def _normalise(x):
  return (np.asarray(x, np.float64) / 255.0 - MEAN) / STD


def _bilinear(image, ys, xs):
  """image [h, w, c] sampled at rows `ys` x columns `xs` (clamped to the image)."""
  def weights(pos, n):
    pos = np.clip(pos, 0, n - 1)
    low = np.floor(pos).astype(int)
    return low, np.minimum(low + 1, n - 1), (pos - low)[:, None]
  y0, y1, fy = weights(np.asarray(ys, np.float64), image.shape[0])
  x0, x1, fx = weights(np.asarray(xs, np.float64), image.shape[1])
  img = image.astype(np.float64)
  top = img[y0][:, x0] * (1 - fx[None]) + img[y0][:, x1] * fx[None]
  bottom = img[y1][:, x0] * (1 - fx[None]) + img[y1][:, x1] * fx[None]
  return top * (1 - fy[..., None]) + bottom * fy[..., None]


def _resize(image, size):
  """Bilinear resize with half-pixel centres (what tf.image.resize does)."""
  (h, w), (oh, ow) = image.shape[:2], size
  return _bilinear(image, (np.arange(oh) + 0.5) * h / oh - 0.5,
                   (np.arange(ow) + 0.5) * w / ow - 0.5)


def _crop_resize(image, box, size):
  """Box [y0, x0, y1, x1] in [0, 1] sampled at `size` points from edge to edge of the box
  (the sampling grid of tf.image.crop_and_resize)."""
  (h, w), (oh, ow) = image.shape[:2], size
  ys = box[0] * (h - 1) + np.arange(oh) * (box[2] - box[0]) * (h - 1) / (oh - 1)
  xs = box[1] * (w - 1) + np.arange(ow) * (box[3] - box[1]) * (w - 1) / (ow - 1)
  return _bilinear(image, ys, xs)


def _images(rng, n, h, w):
  return rng.integers(0, 256, (n, h, w, 3), dtype=np.uint8)


def _uniforms(rng, n):
  u = rng.random((n, augment.NUM_RANDOMS)).astype(np.float32)
  u[0, :] = 0.0  # the extremes: offsets 0 and a flip (u < 0.5) ...
  u[1, :] = np.float32(1 - 2 ** -24)  # ... offsets 2p (the largest float32 < 1), no flip
  return u


def _pad_crop_flip(image, r, p):
  """Zero padding p, the crop at offsets floor(u * (2p + 1)), a flip when u < 0.5."""
  span, (h, w) = 2 * p + 1, image.shape[:2]
  oy = min(int(np.floor(r[2] * np.float32(span))), 2 * p)
  ox = min(int(np.floor(r[3] * np.float32(span))), 2 * p)
  padded = np.zeros((h + 2 * p, w + 2 * p, image.shape[2]), np.float64)
  padded[p:p + h, p:p + w] = image
  crop = padded[oy:oy + h, ox:ox + w]
  return crop[:, ::-1] if r[4] < 0.5 else crop


def test_crop_flip_is_pad_crop_flip_from_the_same_uniforms():
  rng = np.random.default_rng(0)
  images, u, p = _images(rng, 16, 8, 8), _uniforms(rng, 16), 3
  t = InputTransform((8, 8, 3), "crop_flip", p, 255.0, MEAN, STD)
  got = t.train(tf.constant(images), tf.constant(u)).numpy()
  for image, r, out in zip(images, u, got):
    np.testing.assert_allclose(out, _normalise(_pad_crop_flip(image, r, p)), atol=1e-5)
  offsets = np.floor(u[:, 2:4] * (2 * p + 1))
  assert offsets.min() == 0 and offsets.max() == 2 * p  # both extremes were exercised
  assert 0 < (u[:, 4] < 0.5).sum() < 16


def test_reflect_crop_flip_mirrors_the_border_without_repeating_the_edge():
  """torch's F.pad(mode="reflect") = NumPy's "reflect": row -1 is row 1, not row 0."""
  rng = np.random.default_rng(1)
  images, u, p = _images(rng, 16, 8, 8), _uniforms(rng, 16), 3
  t = InputTransform((8, 8, 3), "reflect_crop_flip", p, 255.0, MEAN, STD)
  got = t.train(tf.constant(images), tf.constant(u)).numpy()
  for image, r, out in zip(images, u, got):
    span = 2 * p + 1
    oy = min(int(np.floor(r[2] * np.float32(span))), 2 * p)
    ox = min(int(np.floor(r[3] * np.float32(span))), 2 * p)
    padded = np.pad(image.astype(np.float64), ((p, p), (p, p), (0, 0)), mode="reflect")
    crop = padded[oy:oy + 8, ox:ox + 8]
    np.testing.assert_allclose(out, _normalise(crop[:, ::-1] if r[4] < 0.5 else crop),
                               atol=1e-5)
  np.testing.assert_allclose(t.eval(tf.constant(images)).numpy(), _normalise(images),
                             atol=1e-5)  # evaluation: untouched


def test_crop_flip_resizes_first_and_eval_is_a_plain_resize():
  rng = np.random.default_rng(1)
  images, u = _images(rng, 6, 16, 12), _uniforms(rng, 6)
  t = InputTransform((8, 8, 3), "crop_flip", 2, 255.0, MEAN, STD)
  got = t.train(tf.constant(images), tf.constant(u)).numpy()
  for image, r, out in zip(images, u, got):
    expected = _pad_crop_flip(_resize(image, (8, 8)), r, 2)
    np.testing.assert_allclose(out, _normalise(expected), atol=1e-4)
  evaluated = t.eval(tf.constant(images)).numpy()
  np.testing.assert_array_equal(evaluated, t.eval(tf.constant(images)).numpy())
  for image, out in zip(images, evaluated):
    np.testing.assert_allclose(out, _normalise(_resize(image, (8, 8))), atol=1e-4)
  # A known fact of half-pixel bilinear resizing: halving a side averages pixel pairs.
  square = _images(rng, 1, 8, 8)
  halved = InputTransform((4, 4, 3), pixel_max=255.0).eval(tf.constant(square)).numpy()[0]
  pairs = square[0].astype(np.float64).reshape(4, 2, 4, 2, 3).mean(axis=(1, 3)) / 255.0
  np.testing.assert_allclose(halved, pairs, atol=1e-6)


def _torchvision_box(r, height, width):
  """The random-resized-crop box of uniforms r, re-derived: area fraction 0.08 + 0.92 u0,
  log-uniform aspect (width / height of the crop, in pixels) in [3/4, 4/3], clipped."""
  area = 0.08 + r[0] * 0.92
  ratio = math.exp(math.log(3 / 4) + r[1] * (math.log(4 / 3) - math.log(3 / 4)))
  crop_w = min(math.sqrt(area * height * width * ratio), width)
  crop_h = min(math.sqrt(area * height * width / ratio), height)
  y0, x0 = r[2] * (height - crop_h), r[3] * (width - crop_w)
  return np.array([y0 / height, x0 / width, (y0 + crop_h) / height, (x0 + crop_w) / width])


def test_resized_crop_flip_against_numpy_boxes_and_a_centre_crop_for_eval():
  rng = np.random.default_rng(2)
  images, u = _images(rng, 12, 20, 28), _uniforms(rng, 12)
  t = InputTransform((10, 10, 3), "resized_crop_flip", 4, 255.0, MEAN, STD)
  got = t.train(tf.constant(images), tf.constant(u)).numpy()
  for image, r, out in zip(images, u, got):
    expected = _crop_resize(image, _torchvision_box(r.astype(np.float64), 20, 28), (10, 10))
    expected = expected[:, ::-1] if r[4] < 0.5 else expected
    np.testing.assert_allclose(out, _normalise(expected), atol=2e-3)
  side = 0.875 * 20  # eval: the centred square of 87.5% of the shorter side
  box = np.array([(20 - side) / 2 / 20, (28 - side) / 2 / 28, (20 + side) / 2 / 20,
                  (28 + side) / 2 / 28])
  evaluated = t.eval(tf.constant(images)).numpy()
  for image, out in zip(images, evaluated):
    np.testing.assert_allclose(out, _normalise(_crop_resize(image, box, (10, 10))), atol=1e-3)


@pytest.mark.parametrize("height, width", [(32, 32), (20, 40), (50, 18)])
def test_random_resized_boxes_lie_inside_with_area_and_aspect_in_range(height, width):
  u = tf.random.stateless_uniform([4000, augment.NUM_RANDOMS], [3, height])
  shape = tf.constant([4000, height, width, 3])
  boxes = augment._random_boxes(shape, u).numpy().astype(np.float64)  # pylint: disable=W0212
  assert (boxes >= -1e-6).all() and (boxes <= 1 + 1e-6).all()
  h, w = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
  area, aspect = h * w, (w * width) / (h * height)
  assert (area >= 0.08 - 1e-5).all() and (area <= 1 + 1e-5).all()
  # What was asked for: area fraction 0.08 + 0.92 u0, log-uniform aspect in [3/4, 4/3]; a
  # crop wider or taller than the image is clipped to it.
  r = u.numpy().astype(np.float64)
  asked_area = 0.08 + 0.92 * r[:, 0]
  asked_aspect = np.exp(np.log(3 / 4) + r[:, 1] * (np.log(4 / 3) - np.log(3 / 4)))
  too_wide = asked_area * asked_aspect * height / width > 1
  too_tall = asked_area / asked_aspect * width / height > 1
  clipped = too_wide | too_tall
  np.testing.assert_array_equal(clipped, (h > 1 - 1e-6) | (w > 1 - 1e-6))
  np.testing.assert_allclose(area[~clipped], asked_area[~clipped], rtol=1e-4)
  np.testing.assert_allclose(aspect[~clipped], asked_aspect[~clipped], rtol=1e-4)
  assert (aspect[~clipped] >= 3 / 4 - 1e-4).all() and (aspect[~clipped] <= 4 / 3 + 1e-4).all()
  assert aspect[~clipped].min() < 0.8 and aspect[~clipped].max() > 1.25  # the whole range
  assert area[~clipped].min() < 0.1 and (area.max() > 0.9 or height != width)


def test_normalisation_per_channel():
  rng = np.random.default_rng(3)
  images = _images(rng, 3, 5, 6)
  for augment_name in ("none", "crop_flip"):
    t = InputTransform((5, 6, 3), augment_name, 0, 255.0, MEAN, STD)
    np.testing.assert_allclose(t.eval(tf.constant(images)).numpy(), _normalise(images),
                               atol=1e-5)
  plain = InputTransform((5, 6, 3), pixel_max=255.0).eval(tf.constant(images)).numpy()
  np.testing.assert_allclose(plain, images / 255.0, atol=1e-7)


def test_randoms_are_a_pure_function_of_seed_and_step():
  a = randoms_for_step(7, tf.constant(12, tf.int64), 64).numpy()
  assert a.shape == (64, augment.NUM_RANDOMS) and a.dtype == np.float32
  assert (a >= 0).all() and (a < 1).all()
  np.testing.assert_array_equal(a, randoms_for_step(7, 12, 64).numpy())
  for other in (randoms_for_step(7, 13, 64), randoms_for_step(8, 12, 64)):
    assert np.isclose(a, other.numpy()).mean() < 0.01
  steps = np.stack([randoms_for_step(0, s, 32).numpy() for s in range(50)])
  assert abs(steps.mean() - 0.5) < 0.02 and abs((steps[..., 4] < 0.5).mean() - 0.5) < 0.05


def _npz_cfg(tmp_path, **fields):
  rng = np.random.default_rng(4)
  np.savez(tmp_path / "img.npz", x_train=_images(rng, 96, 10, 10),
           y_train=np.arange(96) % 4, x_test=_images(rng, 8, 10, 10), y_test=np.arange(8) % 4)
  cfg = default_data_config()
  cfg.update(dict(source="npz", path=str(tmp_path / "img.npz"), augment="crop_flip",
                  crop_padding=2, mean=MEAN, std=STD, **fields))
  return cfg


def _folder_cfg(tmp_path, **fields):
  write_image_folder(tmp_path / "imgs", ["a", "b", "c"], 12, size=(14, 12))
  cfg = default_data_config()
  cfg.update(dict(source="image_folder", path=str(tmp_path / "imgs"), image_size=10,
                  augment="resized_crop_flip", **fields))
  return cfg


SOURCES = {"npz_uint8": _npz_cfg, "image_folder": _folder_cfg}


def _strategy(name):
  return make_strategy(synthetic_config(name).strategy)


def _batches(stream, strategy, n):
  out = []
  for batch in [next(stream) for _ in range(n)]:
    parts = [strategy.experimental_local_results(batch[k]) for k in ("features", "index")]
    out.append([np.concatenate([p.numpy() for p in part]) for part in parts])
  return out


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_augmented_stream_resumes_and_splits_over_replicas_exactly(tmp_path, source):
  bundle = build(SOURCES[source](tmp_path))
  split, t = bundle.train, bundle.transform
  assert t.augment != "none" and len(split) >= 24
  one, two = _strategy("one_device"), _strategy("mirrored")
  per_epoch = len(split) // 8
  whole = _batches(iter(distributed_stream(one, split, 8, 5, 0, t)), one, per_epoch + 3)
  for start in (2, per_epoch + 1):  # mid-epoch and in the next epoch
    resumed = _batches(iter(distributed_stream(one, split, 8, 5, start, t)), one, 2)
    for a, b in zip(whole[start:start + 2], resumed):
      np.testing.assert_array_equal(a[0], b[0])
      np.testing.assert_array_equal(a[1], b[1])
  halves = _batches(iter(distributed_stream(two, split, 8, 5, 0, t)), two, 4)
  for a, b in zip(whole, halves):
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_array_equal(a[0], b[0])
  plain = np.concatenate(list(eval_batches(split, 16, t).as_numpy_iterator()))
  features, index = whole[0]  # augmentation happened: most rows differ from the eval view
  changed = [not np.allclose(f, plain[i], atol=1e-3) for f, i in zip(features, index)]
  assert np.mean(changed) >= 0.75


@pytest.mark.parametrize("augment", ["none", "crop_flip"])
def test_file_stream_equals_the_in_memory_stream_of_the_decoded_pixels(tmp_path, augment):
  """Files (decoded and sized one at a time, cropped, flipped and normalised as a batch)
  give exactly the batches of the same pixels held in memory, for training and evaluation.
  (resized_crop_flip is left out: its crop, per file or per batch, rounds differently.)"""
  write_image_folder(tmp_path / "imgs", ["a", "b"], 12, size=(10, 10))
  cfg = default_data_config()
  cfg.update(dict(source="image_folder", path=str(tmp_path / "imgs"), image_size=10,
                  augment=augment, mean=MEAN, std=STD))
  bundle = build(cfg)
  files, t = bundle.train, bundle.transform
  pixels = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in files.examples.paths])
  memory = Split(pixels, files.labels)
  one = _strategy("one_device")
  for a, b in zip(_batches(iter(distributed_stream(one, files, 8, 3, 4, t)), one, 4),
                  _batches(iter(distributed_stream(one, memory, 8, 3, 4, t)), one, 4)):
    np.testing.assert_array_equal(a[1], b[1])
    np.testing.assert_array_equal(a[0], b[0])
  np.testing.assert_array_equal(
      np.concatenate(list(eval_batches(files, 16, t).as_numpy_iterator())),
      np.concatenate(list(eval_batches(memory, 16, t).as_numpy_iterator())))


@pytest.mark.slow
def test_one_device_and_two_replicas_train_alike_on_augmented_images(tmp_path):
  _npz_cfg(tmp_path)
  def config(strategy):
    c = synthetic_config(strategy, model__name="small_cnn", train__batch_size=16)
    c.data.update(dict(source="npz", path=str(tmp_path / "img.npz"), augment="crop_flip",
                       crop_padding=2, mean=MEAN, std=STD))
    c.data.long_tail.profile, c.data.long_tail.imbalance_ratio = "none", 1.0
    c.model.kwargs = {"filters": (4,), "dense": 8}
    return c
  one, two = train_steps(config("one_device"), 5), train_steps(config("mirrored"), 5)
  assert two.strategy.num_replicas_in_sync == 2
  for a, b in zip(parameters(one), parameters(two)):
    np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-5)
  start = parameters(train_steps(config("one_device"), 0))
  assert not np.allclose(parameters(one)[0], start[0]), "training changed nothing"
