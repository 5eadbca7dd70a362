"""Test-process setup before TensorFlow initialises (two CPU devices, no tf.data
autotuning, caches in a folder of the test run's own), the `image_cache` fixture, a
finished run shared by the tests that only read or copy one, and the order of the files.

Tests compare one device ("/cpu:0") with two replicas (MirroredStrategy over
"/cpu:0" and "/cpu:1") in the same process.

tf.data's autotuning thread can hold up the deletion of an iterator until its next tuning
round, up to a minute later (TensorFlow 2.21); the tests build hundreds of input pipelines
and garbage-collect them at arbitrary moments, which cost minutes of idle waiting. Every
iterator is therefore made with autotuning off: its parallelism and buffers are then fixed,
its elements the same.
"""

import os
import tempfile

import framework  # pylint: disable=unused-import  (before TensorFlow: a silent start-up)
import pytest
import tensorflow as tf
from tensorflow.python.data.ops import dataset_ops  # pylint: disable=g-import-not-at-top

# Caches (image-file verdicts, the component listing) of the whole test run in a folder of
# its own, never ~/.cache.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="framework-tests-cache-")

_cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(_cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
TWO_CPUS = ["/cpu:0", "/cpu:1"]


def _without_autotune(apply_debug_options):
  """Wraps the hook every iterator's dataset passes through (tf.data's own debug mode
  turns autotuning off there too)."""
  options = tf.data.Options()
  options.autotune.enabled = False

  def apply(dataset):
    return apply_debug_options(dataset).with_options(options)
  return apply


dataset_ops.DatasetV2._apply_debug_options = _without_autotune(  # pylint: disable=protected-access
    dataset_ops.DatasetV2._apply_debug_options)  # pylint: disable=protected-access


def pytest_configure(config):
  """pytest-xdist (3.8+) hands out the files of `--dist loadfile` in collection order
  rather than most tests first: see `pytest_collection_modifyitems`."""
  if hasattr(config.option, "loadscopereorder"):
    config.option.loadscopereorder = False


def pytest_collection_modifyitems(items):
  """Files with a slow test first, files of fast tests only last: a worker that finishes
  its share early takes the short files, rather than waiting for the other to finish a
  long one alone. Each file's tests keep their order."""
  slow_files = {item.path for item in items if item.get_closest_marker("slow")}
  items.sort(key=lambda item: item.path not in slow_files)


@pytest.fixture
def image_cache(tmp_path, monkeypatch):
  """The cache of image-file verdicts (framework.data.image_check) in the test's folder, for
  this process and the processes it launches, rather than the user's ~/.cache."""
  monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
  return tmp_path / "cache" / "framework" / "image_checks"


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory) -> str:
  """The workdir of a finished 2-epoch launch of the small synthetic run (tests.test_launch
  FAST), trained once per test process. Read it, or copy it before relaunching on it."""
  from tests.test_launch import FAST, launch_here  # pylint: disable=g-import-not-at-top
  workdir = tmp_path_factory.mktemp("finished") / "run"
  result = launch_here(*FAST, "--config.train.epochs=2", workdir=workdir)
  assert result.returncode == 0, result.stderr[-2000:]
  return str(workdir)
