"""Logging and inspection: a clu-style metric writer on `tf.summary` and image rendering."""

from __future__ import annotations

from framework.logging.images import confusion_matrix_image
from framework.logging.images import heatmap
from framework.logging.writer import flatten_hparams
from framework.logging.writer import MetricWriter
from framework.logging.writer import MultiWriter
from framework.logging.writer import NullWriter
from framework.logging.writer import SummaryWriter

__all__ = [
    "MetricWriter",
    "MultiWriter",
    "NullWriter",
    "SummaryWriter",
    "confusion_matrix_image",
    "flatten_hparams",
    "heatmap",
]
