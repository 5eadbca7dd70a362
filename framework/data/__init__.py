"""Data: sources, the long-tail / label-noise protocol, and the DataBundle contract."""

from framework.data.build import build, check_config, resolve_config
from framework.data.bundle import DataBundle, Split
from framework.data.defaults import default_data_config
from framework.data.idx import FASHION_MNIST_NAMES, read_idx
from framework.data.sources import DATASETS, Arrays, Source
from framework.data.transforms import LONG_TAIL, NOISE

__all__ = [
    "Arrays", "DATASETS", "DataBundle", "FASHION_MNIST_NAMES", "LONG_TAIL", "NOISE", "Source",
    "Split", "build", "check_config", "default_data_config", "read_idx", "resolve_config",
]
