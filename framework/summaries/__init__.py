"""TensorBoard: a clu-style metric writer on `tf.summary`, the run's board, figures, summaries
and what they read of the weight state."""

from __future__ import annotations

from framework.summaries.board import Board, tag_name
from framework.summaries.images import confusion_matrix_image, heatmap
from framework.summaries.moving import OnlyMoving
from framework.summaries.reading import WeightReader, WeightReading, summary_sample
from framework.summaries.writer import (MetricWriter, MultiWriter, NullWriter, SummaryWriter,
                                      flatten_hparams)

__all__ = [
    "Board",
    "OnlyMoving",
    "WeightReader",
    "WeightReading",
    "summary_sample",
    "tag_name",
    "MetricWriter",
    "MultiWriter",
    "NullWriter",
    "SummaryWriter",
    "confusion_matrix_image",
    "flatten_hparams",
    "heatmap",
]
