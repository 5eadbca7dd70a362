"""Which image files the input pipeline cannot decode, found once at load and remembered.

Every file is decoded in full by the pipeline's own decoder (`examples.decode_image`, in a
parallel `tf.data` map), so a file that passes here decodes in training. A file that fails
is named with a reason read from its bytes: its format by magic number (JPEG, PNG, GIF,
BMP, WebP) and whether its end is missing (`truncated JPEG`), or `not an image: text`.

The verdicts are cached, one small npz per folder or list file, in
`$XDG_CACHE_HOME/framework/image_checks/` (default `~/.cache/...`), never in the data
folder: each file is keyed by a 64-bit digest of (TensorFlow version, path, size, mtime),
so a relaunch decodes only files added or changed since, and the cache costs 8 bytes a
file on disk and in memory. A cache that cannot be read or written is ignored.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import tempfile
from typing import Iterator, Sequence

import numpy as np
import tensorflow as tf

from framework.data.examples import decode_image

# (name, how its files start, offset of that mark); WebP is RIFF....WEBP.
_FORMATS = (("JPEG", b"\xff\xd8\xff", 0), ("PNG", b"\x89PNG\r\n\x1a\n", 0),
            ("GIF", b"GIF87a", 0), ("GIF", b"GIF89a", 0), ("BMP", b"BM", 0),
            ("WebP", b"WEBP", 8))
_END_MARKS = {"JPEG": b"\xff\xd9", "PNG": b"IEND\xaeB`\x82", "GIF": b";"}
_SIZE_FIELDS = {"BMP": (2, 0), "WebP": (4, 8)}  # offset of the little-endian uint32, + bytes


def bad_images(paths: Sequence[str], location: str, channels: int) -> dict[int, str]:
  """{row: reason} of the files in `paths` that do not decode to `channels` channels;
  verdicts are cached under the name of `location` (the folder or list file)."""
  digests = np.array([_digest(path) for path in paths], dtype=np.uint64)
  cache = _cache_file(location)
  good, bad = _read_cache(cache)
  known = np.isin(digests, good) | np.isin(digests, np.fromiter(bad, np.uint64, len(bad)))
  fresh = np.flatnonzero(~known)
  decoded = _decodes([paths[row] for row in fresh], channels)
  found = {int(row): _reason(paths[row]) for row in fresh[~decoded]}
  reasons = {}
  for row, digest in enumerate(digests.tolist()):
    if reason := found.get(row) or bad.get(digest):
      reasons[row] = reason
  passed = np.ones(len(paths), bool)
  passed[list(reasons)] = False
  now_good = np.unique(digests[passed & (digests != 0)])  # 0: not stat'ed, never cached
  now_bad = {int(digests[row]): reason for row, reason in reasons.items() if digests[row]}
  if len(fresh) or len(good) + len(bad) != len(now_good) + len(now_bad):
    _write_cache(cache, now_good, now_bad)
  return reasons


def _digest(path: str) -> int:
  """64 bits of (TensorFlow version, absolute path, size, mtime); 0 when `path` cannot be
  stat'ed, which no cached verdict has."""
  try:
    stat = os.stat(path)
  except OSError:
    return 0
  key = f"{tf.__version__}\0{os.path.abspath(path)}\0{stat.st_size}\0{stat.st_mtime_ns}"
  return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "little") or 1


def _decodes(paths: list[str], channels: int) -> np.ndarray:
  """bool per path: whether the pipeline's decoder reads the file without error."""
  ok = np.zeros(len(paths), bool)
  if not paths:
    return ok
  rows = tf.data.Dataset.from_tensor_slices((np.arange(len(paths)), paths)).map(
      lambda row, path: (row, tf.shape(decode_image(path, channels))),
      num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
  with _stderr_silenced():
    for decoded, _ in rows.ignore_errors().batch(4096).as_numpy_iterator():
      ok[decoded] = True
  return ok


@contextlib.contextmanager
def _stderr_silenced() -> Iterator[None]:
  """libjpeg prints a line to the process's stderr for each corrupt JPEG; the error that
  names every bad file says it better."""
  sys.stderr.flush()
  saved = os.dup(2)
  try:
    with open(os.devnull, "wb") as null:
      os.dup2(null.fileno(), 2)
    yield
  finally:
    os.dup2(saved, 2)
    os.close(saved)


def _reason(path: str) -> str:
  """Why a file that failed to decode fails, from its bytes."""
  try:
    with open(path, "rb") as f:
      head = f.read(512)
      size = os.fstat(f.fileno()).st_size
      f.seek(max(size - 64, 0))
      tail = f.read()
  except OSError as e:
    return f"cannot be read: {e.strerror}"
  if not head:
    return "empty file"
  kind = next((name for name, mark, at in _FORMATS if head[at:at + len(mark)] == mark), None)
  if kind is None:
    return "not an image: " + ("text" if _is_text(head) else "unknown format")
  return f"truncated {kind}" if _truncated(kind, head, tail, size) else f"corrupt {kind}"


def _is_text(head: bytes) -> bool:
  try:
    return b"\0" not in head and bool(head.decode("utf-8", errors="strict").strip())
  except UnicodeDecodeError:
    return False


def _truncated(kind: str, head: bytes, tail: bytes, size: int) -> bool:
  """Whether the file stops before its end: its end mark is missing (JPEG, PNG, GIF) or it
  is shorter than its header says (BMP, WebP)."""
  if kind in _END_MARKS:
    return not tail.rstrip(b"\0").endswith(_END_MARKS[kind])
  offset, extra = _SIZE_FIELDS[kind]
  declared = int.from_bytes(head[offset:offset + 4], "little") + extra
  return len(head) < offset + 4 or size < declared


def cache_dir() -> str:
  """Where verdicts are cached: $XDG_CACHE_HOME (default ~/.cache)/framework/image_checks."""
  root = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
  return os.path.join(root, "framework", "image_checks")


def _cache_file(location: str) -> str:
  name = hashlib.sha256(os.path.abspath(location).encode()).hexdigest()[:20]
  return os.path.join(cache_dir(), name + ".npz")


def _read_cache(path: str) -> tuple[np.ndarray, dict[int, str]]:
  """(digests of good files, {digest: reason} of bad ones); empty when there is none."""
  try:
    with np.load(path, allow_pickle=False) as stored:
      return stored["good"], dict(zip(stored["bad"].tolist(), stored["reasons"].tolist()))
  except (OSError, ValueError, KeyError):
    return np.zeros(0, np.uint64), {}


def _write_cache(path: str, good: np.ndarray, bad: dict[int, str]) -> None:
  """Replaces the cache atomically, so concurrent launches read a whole one."""
  try:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".npz")
  except OSError:
    return
  try:
    with os.fdopen(handle, "wb") as f:
      np.savez(f, good=good, bad=np.fromiter(bad, np.uint64, len(bad)),
               reasons=np.array(list(bad.values()), dtype=str))
    os.replace(temporary, path)
  except OSError:
    with contextlib.suppress(OSError):
      os.remove(temporary)
