"""Splits the CPU into two logical devices before TensorFlow initialises.

Tests compare one device ("/cpu:0") with two replicas (MirroredStrategy over
"/cpu:0" and "/cpu:1") in the same process.
"""

import framework  # pylint: disable=unused-import  (before TensorFlow: a silent start-up)
import tensorflow as tf

_cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(_cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
TWO_CPUS = ["/cpu:0", "/cpu:1"]
