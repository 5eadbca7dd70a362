"""TensorBoard: a clu-style metric writer on `tf.summary`, the run's board, figures, summaries."""

from __future__ import annotations

from framework.logging.board import Board, tag_name
from framework.logging.images import confusion_matrix_image, heatmap
from framework.logging.moving import OnlyMoving
from framework.logging.writer import (MetricWriter, MultiWriter, NullWriter, SummaryWriter,
                                      flatten_hparams)

__all__ = [
    "Board",
    "OnlyMoving",
    "tag_name",
    "MetricWriter",
    "MultiWriter",
    "NullWriter",
    "SummaryWriter",
    "confusion_matrix_image",
    "flatten_hparams",
    "heatmap",
]
