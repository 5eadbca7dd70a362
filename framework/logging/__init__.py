"""Logging and inspection: a clu-style metric writer on `tf.summary`, images, summaries."""

from __future__ import annotations

from framework.logging.images import confusion_matrix_image, heatmap
from framework.logging.writer import (MetricWriter, MultiWriter, NullWriter, SummaryWriter,
                                      flatten_hparams)

__all__ = [
    "MetricWriter",
    "MultiWriter",
    "NullWriter",
    "SummaryWriter",
    "confusion_matrix_image",
    "flatten_hparams",
    "heatmap",
]
