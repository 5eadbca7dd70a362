"""What the pipeline does to raw examples: augmentation, deterministic evaluation, normalisation.

`data.augment`, a name registered in `AUGMENTATIONS`:
  none               images resized to `data.image_size` if they differ (else untouched);
  crop_flip          the CIFAR recipe: zero-pad by `data.crop_padding`, random crop back to
                     size, random horizontal flip;
  reflect_crop_flip  the same with reflection padding (Meta-Weight-Net's CIFAR scripts);
  resized_crop_flip  the ImageNet recipe: random-resized crop (area 8-100%, aspect 3/4 to
                     4/3) to `data.image_size`, random horizontal flip.
Evaluation is deterministic: a centre crop of 87.5% of the shorter side, resized (the
ImageNet convention), for `resized_crop_flip`; a plain resize otherwise. Then x / pixel_max
(255 for uint8 pixels), (x - mean) / std per channel.

Randomness is stateless: the pipeline draws `NUM_RANDOMS` uniforms per example from a seed
keyed by (seed, step), over the global batch, so an example's augmentation depends on
(seed, step, its place in the batch) only: the same on one device or several replicas, and
after a resume. All ops work on a batch [b, h, w, c]. An augmentation has two stages:
`sized` brings images to the transform's size (what depends on each image's own size; a
file's image goes through it alone, as a batch of one), `batched` does the rest on a batch
at that size, so decoded files are batched before crop, flip and normalisation.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable, NamedTuple, Sequence

import numpy as np
import tensorflow as tf

from framework.config.registry import Registry


class Augmentation(NamedTuple):
  """The two stages of an augmentation, each (transform, images [b, h, w, c], randoms
  [b, NUM_RANDOMS] or None) -> images: random for training, deterministic when randoms is
  None. `sized` takes images of any size to the transform's; `batched` keeps the size.
  `random`: whether training reads the randoms (if not, the stream draws none)."""
  sized: Callable[..., tf.Tensor]
  batched: Callable[..., tf.Tensor]
  random: bool = True


# name -> a factory (no arguments) of its Augmentation
AUGMENTATIONS: Registry[Augmentation] = Registry("augmentation")
NUM_RANDOMS = 5
_SCALE, _RATIO, _EVAL_FRACTION = (0.08, 1.0), (3 / 4, 4 / 3), 0.875


@dataclasses.dataclass(frozen=True)
class InputTransform:
  """Raw examples [b, ...] -> the model's float32 inputs [b, *output_shape]."""
  output_shape: tuple[int, ...]   # what the model sees: (H, W, C) or (D,)
  augment: str = "none"
  crop_padding: int = 4
  pixel_max: float = 1.0          # 255 for uint8 pixels: x / pixel_max is in [0, 1]
  mean: tuple[float, ...] = ()    # per channel (last axis); empty: 0
  std: tuple[float, ...] = ()     # per channel; empty: 1

  @property
  def is_image(self) -> bool:
    return len(self.output_shape) == 3

  def normalize(self, x: tf.Tensor) -> tf.Tensor:
    return normalize(x, self.pixel_max, self.mean, self.std)

  @property
  def random(self) -> bool:
    """Whether training inputs depend on the augmentation uniforms."""
    return self.is_image and self._augmentation().random

  def train(self, images: tf.Tensor, randoms: tf.Tensor) -> tf.Tensor:
    """Augmented, normalised training inputs of a batch, `randoms` [b, NUM_RANDOMS]."""
    return self.finish(self.to_size(images, randoms), randoms)

  def eval(self, images: tf.Tensor) -> tf.Tensor:
    """Deterministic, normalised inputs of a batch (evaluation, validation)."""
    return self.normalize(self.eval_geometry(images))

  def eval_geometry(self, images: tf.Tensor) -> tf.Tensor:
    """The deterministic resize / centre crop alone, float32 in the raw pixel scale (what an
    exported model, which normalises itself, takes)."""
    x = tf.cast(images, tf.float32)
    if not self.is_image:
      return x
    return self._augmentation().batched(self, self.to_size(x, None), None)

  def to_size(self, images: tf.Tensor, randoms: tf.Tensor | None) -> tf.Tensor:
    """Images of any size at the transform's size, the first stage (randoms None: the
    evaluation geometry); the pipeline runs it on each decoded file alone."""
    if not self.is_image:
      return images
    return self._augmentation().sized(self, images, randoms)

  def finish(self, images: tf.Tensor, randoms: tf.Tensor | None) -> tf.Tensor:
    """A batch at the transform's size augmented (randoms given) or not, then normalised:
    the second stage."""
    if self.is_image:
      images = self._augmentation().batched(self, images, randoms)
    return self.normalize(images)

  def _augmentation(self) -> Augmentation:
    return AUGMENTATIONS.get(self.augment, "data.augment")()


def _resize_to(transform: InputTransform, images: tf.Tensor,
               randoms: tf.Tensor | None) -> tf.Tensor:
  """Resized to the transform's size if they differ (else untouched, in any dtype)."""
  del randoms
  return _resize(images, transform.output_shape[:2])


def _unchanged(transform: InputTransform, images: tf.Tensor,
               randoms: tf.Tensor | None) -> tf.Tensor:
  del transform, randoms
  return images


def _pad_crop_flip_batch(mode: str = "CONSTANT"):
  """The batch stage that pads (`mode`: tf.pad's), randomly crops back and flips when
  training; crop and flip pick pixels, so they run on uint8 (4x less memory) when no
  resize was needed."""
  def stage(transform: InputTransform, images: tf.Tensor,
            randoms: tf.Tensor | None) -> tf.Tensor:
    return (images if randoms is None else
            _pad_crop_flip(images, transform.crop_padding, randoms, mode))
  return stage


def _resized_crop(transform: InputTransform, images: tf.Tensor,
                  randoms: tf.Tensor | None) -> tf.Tensor:
  """A random-resized crop when training; the centre crop when evaluating (float32)."""
  x = tf.cast(images, tf.float32)
  size, rows = transform.output_shape[:2], tf.range(tf.shape(x)[0])
  boxes = _central_boxes(tf.shape(x)) if randoms is None else _random_boxes(tf.shape(x), randoms)
  return tf.image.crop_and_resize(x, boxes, rows, size)


def _flip(transform: InputTransform, images: tf.Tensor,
          randoms: tf.Tensor | None) -> tf.Tensor:
  """Flipped horizontally where randoms[:, 4] < 0.5 (training)."""
  del transform
  if randoms is None:
    return images
  return tf.where(randoms[:, 4, None, None, None] < 0.5, tf.reverse(images, axis=[2]), images)


@AUGMENTATIONS.register("none")
def no_augmentation() -> Augmentation:
  """Images resized to the transform's size if they differ (else untouched)."""
  return Augmentation(_resize_to, _unchanged, random=False)


@AUGMENTATIONS.register("crop_flip")
def crop_flip() -> Augmentation:
  """Resized, then padded, randomly cropped back and flipped when training."""
  return Augmentation(_resize_to, _pad_crop_flip_batch())


@AUGMENTATIONS.register("reflect_crop_flip")
def reflect_crop_flip() -> Augmentation:
  """`crop_flip` with the border mirrored, not zeroed (torch's F.pad mode "reflect", the
  edge pixel not repeated)."""
  return Augmentation(_resize_to, _pad_crop_flip_batch("REFLECT"))


@AUGMENTATIONS.register("resized_crop_flip")
def resized_crop_flip() -> Augmentation:
  """A random-resized crop and flip when training; the centre crop when evaluating."""
  return Augmentation(_resized_crop, _flip)


def normalize(x: tf.Tensor, pixel_max: float = 1.0, mean: Sequence[float] = (),
              std: Sequence[float] = ()) -> tf.Tensor:
  """float32 (x / pixel_max - mean) / std, mean and std per entry of the last axis."""
  x = tf.cast(x, tf.float32)
  if pixel_max != 1.0:
    x = x / pixel_max
  if len(mean):
    x = x - _per_channel(mean, x)
  if len(std):
    x = x / _per_channel(std, x)
  return x


def _per_channel(values: Sequence[float], x: tf.Tensor) -> tf.Tensor:
  """`values` as a constant broadcast to one example's shape when it is known: the same
  numbers, but TensorFlow broadcasts [h, w, c] over a batch ~3x faster than [c]."""
  if x.shape.rank is not None and x.shape.rank > 2 and x.shape[1:].is_fully_defined():
    return tf.constant(np.broadcast_to(np.asarray(values, np.float32), x.shape[1:]))
  return tf.constant(values, tf.float32)


def _resize(x: tf.Tensor, size: Sequence[int]) -> tf.Tensor:
  """`x` unchanged (any dtype) at the right size, else resized to float32. A decoded file
  (size known only when it runs) that already has the size is cast to float32 alone:
  the values a resize to its own size gives, without the resize."""
  if x.shape[1:3] == tuple(size):
    return x
  x = tf.cast(x, tf.float32)
  if x.shape[1:3].is_fully_defined():
    return tf.image.resize(x, size)
  same = tf.reduce_all(tf.shape(x)[1:3] == tf.constant(size))
  x = tf.cond(same, lambda: x, lambda: tf.image.resize(x, size))
  return tf.ensure_shape(x, [x.shape[0], *size, x.shape[3]])


def _pad_crop_flip(x: tf.Tensor, padding: int, randoms: tf.Tensor,
                   mode: str = "CONSTANT") -> tf.Tensor:
  """Pads by `padding` (tf.pad's `mode`: zeros or a reflection), crops back to size at
  per-example offsets floor(u * (2p + 1)) (randoms[:, 2:4]) and flips where randoms[:, 4] <
  0.5, as two gathers of pixels."""
  height, width = x.shape[1], x.shape[2]
  padded = tf.pad(x, [[0, 0], [padding, padding], [padding, padding], [0, 0]], mode)
  span = 2 * padding + 1
  oy = tf.minimum(tf.cast(randoms[:, 2] * span, tf.int32), span - 1)
  ox = tf.minimum(tf.cast(randoms[:, 3] * span, tf.int32), span - 1)
  columns = tf.where(randoms[:, 4, None] < 0.5, tf.range(width - 1, -1, -1)[None],
                     tf.range(width)[None])
  x = tf.gather(padded, oy[:, None] + tf.range(height)[None], axis=1, batch_dims=1)
  return tf.gather(x, ox[:, None] + columns, axis=2, batch_dims=1)


def _random_boxes(shape: tf.Tensor, randoms: tf.Tensor) -> tf.Tensor:
  """Normalised boxes [b, 4] of a random-resized crop (torchvision's ranges, clipped)."""
  aspect = tf.cast(shape[2], tf.float32) / tf.cast(shape[1], tf.float32)  # width / height
  area = _SCALE[0] + randoms[:, 0] * (_SCALE[1] - _SCALE[0])
  log_lo, log_hi = math.log(_RATIO[0]), math.log(_RATIO[1])
  ratio = tf.exp(log_lo + randoms[:, 1] * (log_hi - log_lo))
  w = tf.minimum(tf.sqrt(area * ratio / aspect), 1.0)
  h = tf.minimum(tf.sqrt(area / ratio * aspect), 1.0)
  y0, x0 = randoms[:, 2] * (1.0 - h), randoms[:, 3] * (1.0 - w)
  return tf.stack([y0, x0, y0 + h, x0 + w], axis=1)


def _central_boxes(shape: tf.Tensor) -> tf.Tensor:
  """The centred square of 87.5% of the shorter side, as normalised boxes [b, 4]."""
  height, width = tf.cast(shape[1], tf.float32), tf.cast(shape[2], tf.float32)
  side = _EVAL_FRACTION * tf.minimum(height, width)
  h, w = side / height, side / width
  box = tf.stack([(1.0 - h) / 2, (1.0 - w) / 2, (1.0 + h) / 2, (1.0 + w) / 2])
  return tf.tile(box[None], [shape[0], 1])


def randoms_for_step(seed: int, step: tf.Tensor, global_batch: int) -> tf.Tensor:
  """The augmentation uniforms [global_batch, NUM_RANDOMS] of a step (stateless)."""
  key = tf.random.experimental.stateless_fold_in(
      tf.constant([seed, 0x5EED], tf.int64), tf.cast(step, tf.int64))
  return tf.random.stateless_uniform([global_batch, NUM_RANDOMS], key)


def channel_stats(values: Sequence[float], channels: int, field: str) -> tuple[float, ...]:
  """A per-channel statistic given as one value per channel (or one for all)."""
  values = tuple(float(v) for v in np.atleast_1d(values))
  if len(values) == 1:
    return values * channels
  if len(values) != channels:
    raise ValueError(f"{field} has {len(values)} values; the images have {channels} channels")
  return values
