"""Strategies by name (STRATEGIES): default, one_device, mirrored, multi_worker, tpu."""

from __future__ import annotations

import json
import os

import tensorflow as tf

from framework.config.registry import Registry
from framework.errors import ConfigError, one_line

# name -> (config.strategy) -> the strategy
STRATEGIES: Registry[tf.distribute.Strategy] = Registry("strategy")


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
    _CACHE[key] = STRATEGIES.get(cfg.name, "strategy.name")(cfg)
  return _CACHE[key]


def _split_cpu_if_asked(cfg) -> list[str] | None:
  """`cfg.cpu_devices` > 1 splits the CPU into that many logical devices, which `mirrored`
  mirrors over when no GPU is present (distribution on a laptop, in tests and demos)."""
  return split_cpu(cfg.cpu_devices) if cfg.cpu_devices > 1 else None


@STRATEGIES.register("default")
def default(cfg) -> tf.distribute.Strategy:
  _split_cpu_if_asked(cfg)
  return tf.distribute.get_strategy()


@STRATEGIES.register("one_device")
def one_device(cfg) -> tf.distribute.Strategy:
  _split_cpu_if_asked(cfg)
  gpus = tf.config.list_logical_devices("GPU")
  return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")


@STRATEGIES.register("mirrored")
def mirrored(cfg) -> tf.distribute.Strategy:
  cpus = _split_cpu_if_asked(cfg)
  gpus = tf.config.list_logical_devices("GPU")
  return tf.distribute.MirroredStrategy(None if gpus or not cpus else cpus)


@STRATEGIES.register("multi_worker")
def multi_worker(cfg) -> tf.distribute.Strategy:
  """The cluster from TF_CONFIG; made before any device is set up (collectives are
  configured at startup), so strategy.cpu_devices does not apply."""
  del cfg
  check_tf_config(os.environ.get("TF_CONFIG", ""))
  return tf.distribute.MultiWorkerMirroredStrategy()


@STRATEGIES.register("tpu")
def tpu(cfg) -> tf.distribute.Strategy:
  _split_cpu_if_asked(cfg)
  try:
    resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=cfg.tpu)
    tf.config.experimental_connect_to_cluster(resolver)
    tf.tpu.experimental.initialize_tpu_system(resolver)
  except (ValueError, tf.errors.NotFoundError) as e:
    raise ConfigError(f"strategy.name='tpu': no TPU found at strategy.tpu={cfg.tpu!r} "
                      f"({str(e).splitlines()[0]})") from None
  return tf.distribute.TPUStrategy(resolver)
