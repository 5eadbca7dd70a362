"""Strategies by name: default, one_device, mirrored, multi_worker, tpu."""

from __future__ import annotations

import json
import os

import tensorflow as tf

from framework.errors import ConfigError, one_line

STRATEGIES = ("default", "one_device", "mirrored", "multi_worker", "tpu")


def split_cpu(num_devices: int) -> list[str]:
  """Splits the CPU into `num_devices` logical devices (before TensorFlow initialises)."""
  cpu = tf.config.list_physical_devices("CPU")[0]
  existing = tf.config.get_logical_device_configuration(cpu)
  if existing is None or len(existing) != num_devices:
    try:
      tf.config.set_logical_device_configuration(
          cpu, [tf.config.LogicalDeviceConfiguration()] * num_devices)
    except RuntimeError:
      have = len(tf.config.list_logical_devices("CPU"))
      if have < num_devices:
        raise ConfigError(
            f"strategy.cpu_devices={num_devices}: TensorFlow is already initialised with "
            f"{have} CPU device(s); split the CPU before any TensorFlow op") from None
  return [d.name for d in tf.config.list_logical_devices("CPU")[:num_devices]]


def check_tf_config(text: str) -> None:
  """TF_CONFIG must be JSON with a cluster of workers and this process's task in it."""
  if not text:
    return  # a single worker
  try:
    spec = json.loads(text)
    workers = spec["cluster"]["worker"]
    task = spec["task"]
    ok = (isinstance(workers, list) and task["type"] == "worker" and
          0 <= int(task["index"]) < len(workers))
  except (ValueError, KeyError, TypeError) as e:
    raise ConfigError(f"strategy.name='multi_worker': TF_CONFIG is not valid ({one_line(e)}); "
                      'expected {"cluster": {"worker": ["host:port", ...]}, "task": '
                      '{"type": "worker", "index": i}}') from None
  if not ok:
    raise ConfigError(f"strategy.name='multi_worker': TF_CONFIG's task {task!r} is not one of "
                      f"its {len(workers)} workers")


_CACHE: dict[tuple, tf.distribute.Strategy] = {}


def make_strategy(cfg) -> tf.distribute.Strategy:
  """The strategy of `cfg`, one instance per process and kind.

  Reusing it matters: every new MirroredStrategy numbers its collective operations from
  the same start, so two of them running different steps in one process would collide.
  """
  key = (cfg.name, cfg.cpu_devices, cfg.tpu)
  if key not in _CACHE:
    _CACHE[key] = _make_strategy(cfg)
  return _CACHE[key]


def _make_strategy(cfg) -> tf.distribute.Strategy:
  """Builds the strategy named by `cfg.name`.

  `cfg.cpu_devices` > 1 splits the CPU into that many logical devices and mirrors over
  them when no GPU is present (tests and demos of distribution on a laptop).
  """
  name = cfg.name
  if name not in STRATEGIES:
    raise ConfigError(f"strategy.name={name!r} is not a known strategy; "
                      f"known: {', '.join(STRATEGIES)}")
  if cfg.cpu_devices < 0:
    raise ConfigError(f"strategy.cpu_devices={cfg.cpu_devices} must be >= 0")
  if name == "multi_worker":  # must come first: collectives are configured at startup
    check_tf_config(os.environ.get("TF_CONFIG", ""))
    return tf.distribute.MultiWorkerMirroredStrategy()  # cluster from TF_CONFIG
  cpus = split_cpu(cfg.cpu_devices) if cfg.cpu_devices > 1 else None
  gpus = tf.config.list_logical_devices("GPU")
  if name == "default":
    return tf.distribute.get_strategy()
  if name == "one_device":
    return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
  if name == "mirrored":
    return tf.distribute.MirroredStrategy(None if gpus or not cpus else cpus)
  try:
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=cfg.tpu)
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
  except (ValueError, tf.errors.NotFoundError) as e:
    raise ConfigError(f"strategy.name='tpu': no TPU found at strategy.tpu={cfg.tpu!r} "
                      f"({str(e).splitlines()[0]})") from None
  return tf.distribute.TPUStrategy(resolver)
