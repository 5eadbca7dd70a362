"""Splits the CPU into two logical devices before TensorFlow initialises, and shares the
`image_cache` fixture.

Tests compare one device ("/cpu:0") with two replicas (MirroredStrategy over
"/cpu:0" and "/cpu:1") in the same process.
"""

import os
import tempfile

import framework  # pylint: disable=unused-import  (before TensorFlow: a silent start-up)
import pytest
import tensorflow as tf

# Caches (image-file verdicts) of the whole test run in a folder of its own, never ~/.cache.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="framework-tests-cache-")

_cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(_cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
TWO_CPUS = ["/cpu:0", "/cpu:1"]


@pytest.fixture
def image_cache(tmp_path, monkeypatch):
  """The cache of image-file verdicts (framework.data.image_check) in the test's folder, for
  this process and the processes it launches, rather than the user's ~/.cache."""
  monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
  return tmp_path / "cache" / "framework" / "image_checks"
