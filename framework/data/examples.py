"""How the rows of a split become tensors: in-memory arrays, image files, random-access sources.

The input pipeline asks for rows by their index and never holds more than a batch: an
`ArrayExamples` gathers rows of an in-memory array (uint8 images stay uint8: CIFAR, the
MNIST family; tabular floats), a `FileExamples` reads and decodes the image file of each
row (`tf.io`, JPEG / PNG / GIF / BMP), so memory holds paths, never pixels, and a
`LookupExamples` calls a Python random-access reader (a TFDS data source) for each row's
encoded image.
`take(rows)` is how the protocol's subsets are cut, without reading anything;
`fingerprint()` names what was read, in digests (see `framework.data.fingerprint`).
"""

from __future__ import annotations

import hashlib
import os
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import tensorflow as tf

SAMPLED_ROWS = 64  # files (or records) whose bytes a fingerprint reads, evenly spaced
SAMPLED_BYTES = 4096  # read from each end of a sampled file


def sha256(chunks: Iterable[Any]) -> str:
  """The hex sha256 of a sequence of bytes-like chunks (bytes, contiguous arrays)."""
  digest = hashlib.sha256()
  for chunk in chunks:
    digest.update(chunk)
  return digest.hexdigest()


def sampled_rows(n: int) -> np.ndarray:
  """Up to SAMPLED_ROWS rows of n evenly spaced, the first and the last included."""
  return np.unique(np.linspace(0, n - 1, min(n, SAMPLED_ROWS)).round().astype(np.int64))


def _file_ends(path: str) -> bytes:
  """The first and last SAMPLED_BYTES of a file (all of it when it is small)."""
  with open(path, "rb") as f:
    head = f.read(SAMPLED_BYTES)
    size = f.seek(0, os.SEEK_END)
    f.seek(max(SAMPLED_BYTES, size - SAMPLED_BYTES))
    return head + f.read()


class ArrayExamples:
  """Rows of an in-memory array [n, ...]: uint8 or float images, float features, or a csv's
  raw str cells (until `build` encodes them)."""

  batched = True  # lookup takes a batch of indices at once

  def __init__(self, array: np.ndarray):
    array = np.asarray(array)
    kept = array.dtype in (np.uint8, np.float32) or array.dtype.kind == "U"
    self.array = array if kept else array.astype(np.float32)

  def __len__(self) -> int:
    return int(self.array.shape[0])

  @property
  def shape(self) -> tuple[int, ...]:
    return tuple(self.array.shape[1:])

  @property
  def dtype(self) -> tf.DType:
    return tf.as_dtype(self.array.dtype)

  def take(self, rows: np.ndarray) -> "ArrayExamples":
    return ArrayExamples(self.array[rows])

  def fingerprint(self) -> dict[str, str]:
    """The digest of the array: its dtype, shape and every byte (sha256, ~1 GB/s)."""
    array = np.ascontiguousarray(self.array)
    return {"values": sha256([f"{array.dtype.str} {array.shape}".encode(), array])}

  def lookup_fn(self) -> Callable[[tf.Tensor], tf.Tensor]:
    table = tf.constant(self.array)
    return lambda index: tf.gather(table, index)


def decode_bytes(raw: tf.Tensor, channels: int) -> tf.Tensor:
  """uint8 [h, w, channels] of an encoded image (the first frame of a GIF). JPEGs use the
  accurate integer IDCT, so pixels equal libjpeg's / Pillow's decode (TF's default, the
  fast IDCT, is off by up to ~7 levels)."""
  return tf.cond(
      tf.io.is_jpeg(raw),
      lambda: tf.io.decode_jpeg(raw, channels=channels, dct_method="INTEGER_ACCURATE"),
      lambda: tf.io.decode_image(raw, channels=channels, expand_animations=False))


def decode_image(path: tf.Tensor, channels: int) -> tf.Tensor:
  """uint8 [h, w, channels] of an image file."""
  return decode_bytes(tf.io.read_file(path), channels)


class FileExamples:
  """Rows that are image files, decoded on the fly; `shape` is the decoded size the
  pipeline brings every image to (the source's `data.image_size`)."""

  batched = False  # lookup decodes one example; images differ in size until resized

  def __init__(self, paths: Sequence[str], shape: tuple[int, int, int]):
    self.paths = np.asarray(paths, dtype=object)
    self.shape = tuple(shape)
    self.dtype = tf.uint8

  def __len__(self) -> int:
    return int(self.paths.shape[0])

  def take(self, rows: np.ndarray) -> "FileExamples":
    return FileExamples(self.paths[rows], self.shape)

  def fingerprint(self) -> dict[str, str]:
    """Digests of the file names, their sizes and modification times, and the ends of a
    sample of them (`sampled_rows`): a stat per file, so cheap for large folders."""
    stats = [os.stat(path) for path in self.paths]
    return {
        "file names": sha256(os.fsencode(path) + b"\0" for path in self.paths),
        "file sizes": sha256([np.array([s.st_size for s in stats], np.int64)]),
        "modification times": sha256([np.array([s.st_mtime_ns for s in stats], np.int64)]),
        "sampled bytes": sha256(_file_ends(self.paths[i]) for i in sampled_rows(len(self))),
    }

  def lookup_fn(self) -> Callable[[tf.Tensor], tf.Tensor]:
    table = tf.constant(self.paths.tolist())
    channels = self.shape[-1]
    return lambda index: decode_image(tf.gather(table, index), channels)


class LookupExamples:
  """Rows whose encoded image bytes come from a Python reader `read(row) -> bytes` (a TFDS
  random-access data source), decoded in the pipeline like files; `shape` is the size the
  pipeline brings them to."""

  batched = False

  def __init__(self, read: Callable[[int], bytes], rows: np.ndarray,
               shape: tuple[int, int, int]):
    self.read, self.rows, self.shape = read, np.asarray(rows, np.int64), tuple(shape)
    self.dtype = tf.uint8

  def __len__(self) -> int:
    return int(self.rows.shape[0])

  def take(self, rows: np.ndarray) -> "LookupExamples":
    return LookupExamples(self.read, self.rows[rows], self.shape)

  def fingerprint(self) -> dict[str, str]:
    """Digests of the rows read and of the bytes of a sample of them (`sampled_rows`)."""
    return {"rows": sha256([np.ascontiguousarray(self.rows)]),
            "sampled bytes": sha256(bytes(self.read(int(self.rows[i])))
                                    for i in sampled_rows(len(self)))}

  def lookup_fn(self) -> Callable[[tf.Tensor], tf.Tensor]:
    channels = self.shape[-1]
    def read(index: np.ndarray) -> bytes:
      return self.read(int(self.rows[index]))
    def lookup(index):
      raw = tf.numpy_function(read, [index], tf.string, stateful=False)
      return decode_bytes(tf.reshape(raw, []), channels)
    return lookup


Examples = ArrayExamples | FileExamples | LookupExamples


def as_examples(x: Any) -> Examples:
  """An Examples object for `x` (arrays are wrapped)."""
  if isinstance(x, (ArrayExamples, FileExamples, LookupExamples)):
    return x
  return ArrayExamples(np.asarray(x))
