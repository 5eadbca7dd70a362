"""A tiny metric-writer interface and its TensorBoard implementation (after clu's writers).

The controller calls a writer from eager code between compiled training loops, never from
inside a `tf.function`. It opens the writer once and closes it in a `finally` block (or uses
it as a context manager), so a crash still flushes what was written; `close` flushes.
"""

from __future__ import annotations

import abc
from typing import Any, Mapping, Sequence

import numpy as np
import tensorflow as tf
from tensorboard.plugins.hparams import api as hparams_api
from tensorboard.plugins.histogram import metadata as histogram_metadata
from tensorboard.plugins.scalar import metadata as scalar_metadata

from tensorflow.core.framework import summary_pb2, types_pb2

_SCALAR_METADATA, _HISTOGRAM_METADATA = (
    summary_pb2.SummaryMetadata.FromString(plugin.create_summary_metadata(
        display_name=None, description=None).SerializeToString())
    for plugin in (scalar_metadata, histogram_metadata))
BUCKETS = 30  # TensorBoard's default number of histogram buckets

HParamValue = bool | int | float | str


class MetricWriter(abc.ABC):
  """Writes summaries keyed by tag at an integer step; implementations decide where to."""

  @abc.abstractmethod
  def write_scalars(self, step: int, scalars: Mapping[str, float]) -> None:
    """Writes one scalar per tag."""

  @abc.abstractmethod
  def write_histograms(self, step: int, arrays: Mapping[str, Any],
                       num_buckets: int | None = None) -> None:
    """Writes a histogram of each array's finite values (any shape, flattened)."""

  @abc.abstractmethod
  def write_images(self, step: int, images: Mapping[str, Any],
                   descriptions: Mapping[str, str] | None = None) -> None:
    """Writes images [H, W, C] or a batch [N, H, W, C], C in {1, 3, 4}.

    uint8 in [0, 255] or float in [0, 1] (floats outside are clipped). `descriptions`
    (Markdown) go in the summaries' metadata, shown under the image in TensorBoard.
    """

  @abc.abstractmethod
  def write_texts(self, step: int, texts: Mapping[str, str]) -> None:
    """Writes text (TensorBoard renders it as Markdown)."""

  @abc.abstractmethod
  def write_hparams(self, hparams: Mapping[str, Any],
                    metrics: Mapping[str, float] | None = None) -> None:
    """Records the run's hyperparameters (nested ones flattened) and its final metrics."""

  @abc.abstractmethod
  def write_summaries(self, step: int, values: Mapping[str, Any],
                      metadata: Mapping[str, bytes] | None = None) -> None:
    """Writes raw tensors with their serialized `SummaryMetadata` (a plugin's data, such
    as a custom-scalars layout); as clu's `write_summaries`."""

  @abc.abstractmethod
  def flush(self) -> None:
    """Makes everything written so far visible to readers."""

  @abc.abstractmethod
  def close(self) -> None:
    """Flushes and releases the writer; call it in a `finally` block."""

  def __enter__(self) -> MetricWriter:
    return self

  def __exit__(self, *exc_info: Any) -> None:
    self.close()


def flatten_hparams(hparams: Mapping[str, Any], prefix: str = "") -> dict[str, HParamValue]:
  """Flattens nested mappings (dicts, ConfigDicts) to {'a.b': value} with scalar values.

  Bools, ints, floats and strings are kept (NumPy scalars become Python ones); anything else
  (None, lists, tuples, objects) is recorded as its `str`, since TensorBoard's hparams
  plugin only stores those three kinds of value.
  """
  if hasattr(hparams, "to_dict"):  # ml_collections.ConfigDict / FrozenConfigDict
    hparams = hparams.to_dict()
  flat: dict[str, HParamValue] = {}
  for key, value in hparams.items():
    name = f"{prefix}{key}"
    if isinstance(value, Mapping) or hasattr(value, "to_dict"):
      flat.update(flatten_hparams(value, prefix=f"{name}."))
      continue
    if isinstance(value, np.generic):
      value = value.item()
    flat[name] = value if isinstance(value, (bool, int, float, str)) else str(value)
  return flat


def _as_image_batch(tag: str, image: Any) -> tf.Tensor:
  image = tf.convert_to_tensor(image)
  if image.shape.rank == 3:
    image = image[tf.newaxis]
  if image.shape.rank != 4 or image.shape[-1] not in (1, 3, 4):
    raise ValueError(f"image {tag!r} has shape {image.shape}; allowed: [H, W, C] or "
                     "[N, H, W, C] with C in {1, 3, 4}")
  if image.dtype != tf.uint8:
    image = tf.clip_by_value(tf.cast(image, tf.float32), 0.0, 1.0)
  return image


def histogram_buckets(values: Any, bucket_count: int = BUCKETS) -> np.ndarray:
  """float64 [bucket_count, 3], (left edge, right edge, count) per bucket: TensorBoard's
  histogram of the finite values (as `tf.summary.histogram` buckets them, in NumPy, without
  its one-hot of values x buckets): equal widths from the minimum to the maximum, all
  values in the last bucket when they are equal, all zeros when there are none."""
  values = np.asarray(values, np.float64).reshape(-1)
  values = values[np.isfinite(values)]
  if not values.size:
    return np.zeros((bucket_count, 3))
  low, high = values.min(), values.max()
  if low == high:
    counts = np.zeros(bucket_count)
    counts[-1] = values.size
    return np.stack([np.full(bucket_count, high), np.full(bucket_count, high), counts], 1)
  index = np.minimum(((values - low) / ((high - low) / bucket_count)).astype(np.int64),
                     bucket_count - 1)
  edges = np.linspace(low, high, bucket_count + 1)
  edges[-1] = high
  counts = np.bincount(index, minlength=bucket_count).astype(np.float64)
  return np.stack([edges[:-1], edges[1:], counts], 1)


class SummaryWriter(MetricWriter):
  """Writes TensorBoard event files in `logdir` through `tf.summary`.

  Final metrics given to `write_hparams` are written as scalars at the largest step this
  writer has seen, so they end the curves and show as columns in the HParams dashboard.
  """

  def __init__(self, logdir: str):
    self.logdir = str(logdir)
    self._writer = tf.summary.create_file_writer(self.logdir)
    self._last_step = 0
    self._closed = False

  def _check_open(self) -> None:
    if self._closed:
      raise RuntimeError(f"SummaryWriter({self.logdir!r}) is closed")

  def _at(self, step: int) -> int:
    self._check_open()
    step = int(step)
    self._last_step = max(self._last_step, step)
    return step

  def write_scalars(self, step: int, scalars: Mapping[str, float]) -> None:
    """All tags in one summary proto, written by a single op (one op per tag costs ~0.4 ms)."""
    step = self._at(step)
    summary = summary_pb2.Summary()
    for tag, value in scalars.items():
      entry = summary.value.add(tag=tag, metadata=_SCALAR_METADATA)
      entry.tensor.dtype = types_pb2.DT_FLOAT  # a float32 scalar, built without conversion
      entry.tensor.float_val.append(np.float32(value))
    with self._writer.as_default():
      tf.summary.experimental.write_raw_pb(summary.SerializeToString(), step=step)

  def write_histograms(self, step: int, arrays: Mapping[str, Any],
                       num_buckets: int | None = None) -> None:
    """All tags in one summary proto (`histogram_buckets`), written by a single op."""
    step = self._at(step)
    summary = summary_pb2.Summary()
    for tag, values in arrays.items():
      entry = summary.value.add(tag=tag, metadata=_HISTOGRAM_METADATA)
      entry.tensor.CopyFrom(tf.make_tensor_proto(
          histogram_buckets(values, num_buckets or BUCKETS)))
    with self._writer.as_default():
      tf.summary.experimental.write_raw_pb(summary.SerializeToString(), step=step)

  def write_images(self, step: int, images: Mapping[str, Any],
                   descriptions: Mapping[str, str] | None = None) -> None:
    step = self._at(step)
    batches = {tag: _as_image_batch(tag, image) for tag, image in images.items()}
    with self._writer.as_default():
      for tag, batch in batches.items():
        tf.summary.image(tag, batch, step=step, max_outputs=int(batch.shape[0]),
                         description=(descriptions or {}).get(tag))

  def write_texts(self, step: int, texts: Mapping[str, str]) -> None:
    step = self._at(step)
    with self._writer.as_default():
      for tag, text in texts.items():
        tf.summary.text(tag, tf.constant(str(text)), step=step)

  def write_hparams(self, hparams: Mapping[str, Any],
                    metrics: Mapping[str, float] | None = None) -> None:
    self._check_open()
    with self._writer.as_default():
      hparams_api.hparams(flatten_hparams(hparams))
    if metrics:
      self.write_scalars(self._last_step, metrics)

  def write_summaries(self, step: int, values: Mapping[str, Any],
                      metadata: Mapping[str, bytes] | None = None) -> None:
    step = self._at(step)
    with self._writer.as_default():
      for tag, value in values.items():
        tf.summary.write(tag, tf.convert_to_tensor(value), step=step,
                         metadata=(metadata or {}).get(tag))

  def flush(self) -> None:
    if not self._closed:
      self._writer.flush()

  def close(self) -> None:
    if not self._closed:
      self._closed = True
      self._writer.close()  # flushes


class MultiWriter(MetricWriter):
  """Fans every call out to several writers (e.g. TensorBoard plus a console writer)."""

  def __init__(self, writers: Sequence[MetricWriter]):
    self.writers = tuple(writers)

  def write_scalars(self, step: int, scalars: Mapping[str, float]) -> None:
    for writer in self.writers:
      writer.write_scalars(step, scalars)

  def write_histograms(self, step: int, arrays: Mapping[str, Any],
                       num_buckets: int | None = None) -> None:
    for writer in self.writers:
      writer.write_histograms(step, arrays, num_buckets=num_buckets)

  def write_images(self, step: int, images: Mapping[str, Any],
                   descriptions: Mapping[str, str] | None = None) -> None:
    for writer in self.writers:
      writer.write_images(step, images, descriptions)

  def write_texts(self, step: int, texts: Mapping[str, str]) -> None:
    for writer in self.writers:
      writer.write_texts(step, texts)

  def write_hparams(self, hparams: Mapping[str, Any],
                    metrics: Mapping[str, float] | None = None) -> None:
    for writer in self.writers:
      writer.write_hparams(hparams, metrics)

  def write_summaries(self, step: int, values: Mapping[str, Any],
                      metadata: Mapping[str, bytes] | None = None) -> None:
    for writer in self.writers:
      writer.write_summaries(step, values, metadata)

  def flush(self) -> None:
    for writer in self.writers:
      writer.flush()

  def close(self) -> None:
    """Closes every writer even if one fails, then re-raises the first failure."""
    first_error = None
    for writer in self.writers:
      try:
        writer.close()
      except Exception as e:  # pylint: disable=broad-except
        first_error = first_error or e
    if first_error is not None:
      raise first_error


class NullWriter(MetricWriter):
  """Discards everything; for tests and for non-chief workers."""

  def write_scalars(self, step: int, scalars: Mapping[str, float]) -> None:
    pass

  def write_histograms(self, step: int, arrays: Mapping[str, Any],
                       num_buckets: int | None = None) -> None:
    pass

  def write_images(self, step: int, images: Mapping[str, Any],
                   descriptions: Mapping[str, str] | None = None) -> None:
    pass

  def write_texts(self, step: int, texts: Mapping[str, str]) -> None:
    pass

  def write_hparams(self, hparams: Mapping[str, Any],
                    metrics: Mapping[str, float] | None = None) -> None:
    pass

  def write_summaries(self, step: int, values: Mapping[str, Any],
                      metadata: Mapping[str, bytes] | None = None) -> None:
    pass

  def flush(self) -> None:
    pass

  def close(self) -> None:
    pass
