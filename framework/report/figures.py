"""The report's figures, drawn with matplotlib (the optional extra `pip install -e ".[report]"`).

Each figure compares the groups (one colour each, named by `Group.label`):
* `recall_by_count`: final per-class test recall against the class's training count (log
  x), the classes named;
* `history`: the test metrics at each evaluation against the epoch (mean, ± std band);
* `noise_weights`: the mean learned per-sample weight of the clean and of the noisy
  training examples at each weight snapshot, for runs with injected label noise;
* `reliability`: the reliability diagram of each group, its runs' bins pooled.
A figure whose data no run recorded is not drawn. Figures are `matplotlib.figure.Figure`
objects, never pyplot's global state, and are saved as PNG and SVG.
"""

from __future__ import annotations

import os
import textwrap
from typing import TYPE_CHECKING, Callable, Sequence

import numpy as np

from framework.report import curves
from framework.report.groups import Group

if TYPE_CHECKING:
  from matplotlib.figure import Figure

INSTALL = 'pip install -e ".[report]"'
HISTORY_METRICS = (("accuracy", "accuracy"), ("balanced_accuracy", "balanced accuracy"),
                   ("macro_f1", "macro-F1"), ("min_recall", "min recall"), ("ece", "ECE"))
_MAX_NAMED_CLASSES = 30  # more classes than this: no class names on the recall figure
_PANEL = (4.2, 3.2)      # inches per panel of a figure of panels
_SINGLE = (7.5, 4.8)     # inches of a figure of one plot


def _figure(panels: int, columns: int = 3) -> tuple[Figure, list]:
  """A figure of `panels` plots, `columns` to a row."""
  from matplotlib.figure import Figure  # pylint: disable=g-import-not-at-top
  columns = min(columns, panels)
  rows = -(-panels // columns)
  size = _SINGLE if panels == 1 else (_PANEL[0] * columns, _PANEL[1] * rows)
  figure = Figure(figsize=size, layout="constrained")
  axes = figure.subplots(rows, columns, squeeze=False).ravel()
  for unused in axes[panels:]:
    unused.set_visible(False)
  return figure, list(axes[:panels])


def _colour(i: int):
  from matplotlib import colormaps  # pylint: disable=g-import-not-at-top
  return colormaps["tab10"](i % 10)


def _legend(figure: Figure, ax) -> None:
  """The legend of `ax`'s lines below the figure, where long group names do not cover data."""
  handles, labels = ax.get_legend_handles_labels()
  figure.legend(handles, labels, loc="outside lower center", fontsize=7)


def _band(ax, curve: curves.Curve, colour, label: str, scale: float = 1.0, **style) -> None:
  """The mean line and, with two or more runs, a ± std band."""
  ax.plot(curve.x, scale * curve.mean, color=colour, label=label, marker=".", **style)
  if not np.isnan(curve.std).all():
    ax.fill_between(curve.x, scale * (curve.mean - curve.std),
                    scale * (curve.mean + curve.std), color=colour, alpha=0.15, linewidth=0)


def recall_by_count(groups: Sequence[Group]) -> Figure | None:
  """Per-class test recall (%) against training examples of the class (log x)."""
  drawn = [(i, g, curves.class_recall(g)) for i, g in enumerate(groups)]
  drawn = [(i, g, r) for i, g, r in drawn if r is not None]
  if not drawn:
    return None
  figure, (ax,) = _figure(1)
  first = drawn[0][2].counts
  same_counts = all(r.counts.shape == first.shape and np.allclose(r.counts, first)
                    for _, _, r in drawn)
  for i, group, recall in drawn:
    x = recall.counts[recall.recall.x.astype(int)]
    ax.errorbar(x, 100 * recall.recall.mean, yerr=np.nan_to_num(100 * recall.recall.std),
                color=_colour(i), marker="o", linestyle="none", capsize=3, label=group.label)
    if not same_counts and len(x) <= _MAX_NAMED_CLASSES:
      for name, xi, yi in zip(recall.names, x, 100 * recall.recall.mean):
        ax.annotate(name, (xi, yi), fontsize=7, xytext=(3, 3), textcoords="offset points")
  ax.set_xscale("log")
  for axis_ticks in (ax.xaxis.set_major_formatter, ax.xaxis.set_minor_formatter):
    axis_ticks("{x:g}")  # counts as numbers (20, 30), not powers of ten
  ax.set_xlabel("training examples of the class")
  ax.set_ylabel("test recall (%)")
  ax.set_ylim(-5, 105)
  names = drawn[0][2]
  if same_counts and len(names.names) <= _MAX_NAMED_CLASSES:
    _name_classes_on_top(ax, names.names, names.counts)
  _legend(figure, ax)
  ax.set_title("per-class recall against training count")
  return figure


def _name_classes_on_top(ax, names: Sequence[str], counts: np.ndarray) -> None:
  """Class names as ticks of a top axis at their counts (classes of equal count share one)."""
  at: dict[float, list[str]] = {}
  for name, count in zip(names, counts):
    at.setdefault(float(count), []).append(str(name))
  top = ax.secondary_xaxis("top")
  top.set_xticks(list(at), [", ".join(n) for n in at.values()], rotation=90, fontsize=7)
  top.set_xticks([], minor=True)
  top.set_xlabel("class")


def history(groups: Sequence[Group]) -> Figure | None:
  """Each recorded test metric (%) against the epoch."""
  panels = [(key, name, [curves.metric_history(g, key) for g in groups])
            for key, name in HISTORY_METRICS]
  panels = [p for p in panels if any(c is not None for c in p[2])]
  if not panels:
    return None
  figure, axes = _figure(len(panels))
  for ax, (_, name, group_curves) in zip(axes, panels):
    for i, (group, curve) in enumerate(zip(groups, group_curves)):
      if curve is not None:
        _band(ax, curve, _colour(i), group.label, scale=100.0)
    ax.set_xlabel("epoch")
    ax.set_ylabel(f"test {name} (%)")
  _legend(figure, axes[0])
  figure.suptitle("test metrics during training")
  return figure


def noise_weights(groups: Sequence[Group]) -> Figure | None:
  """Mean learned weight of clean and noisy training examples against the epoch."""
  if not any(run.noise_mask is not None for group in groups for run in group.runs):
    return None
  from framework.weights import Signal  # pylint: disable=g-import-not-at-top (TensorFlow)
  table = Signal().table  # the rule's per-sample weight
  drawn = [(i, g, curves.noise_weights(g, table)) for i, g in enumerate(groups)]
  drawn = [(i, g, c) for i, g, c in drawn if c is not None]
  if not drawn:
    return None
  figure, (ax,) = _figure(1)
  for i, group, (clean, noisy) in drawn:
    _band(ax, clean, _colour(i), f"{group.label}: clean labels")
    _band(ax, noisy, _colour(i), f"{group.label}: noisy labels", linestyle="--")
  ax.set_xlabel("epoch")
  ax.set_ylabel(f"mean learned weight ({table})")
  _legend(figure, ax)
  ax.set_title("learned weight of clean and noisy training examples")
  return figure


def reliability(groups: Sequence[Group]) -> Figure | None:
  """Each group's reliability diagram: accuracy per confidence bin against the diagonal."""
  drawn = [(g, curves.pooled_reliability(g)) for g in groups]
  drawn = [(g, b) for g, b in drawn if b is not None]
  if not drawn:
    return None
  figure, axes = _figure(len(drawn))
  for ax, (group, bins) in zip(axes, drawn):
    edges = bins.edges
    filled = bins.count > 0
    ax.bar(edges[:-1][filled], bins.accuracy[filled], width=np.diff(edges)[filled],
           align="edge", color=_colour(0), edgecolor="white", label="accuracy")
    low = np.minimum(bins.accuracy, bins.confidence)
    ax.bar(edges[:-1][filled], np.abs(bins.confidence - bins.accuracy)[filled],
           bottom=low[filled], width=np.diff(edges)[filled], align="edge", fill=False,
           hatch="///", edgecolor="tab:red", linewidth=0.5, label="gap to confidence")
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="calibrated")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("confidence (largest softmax probability)")
    ax.set_ylabel("accuracy")
    pooled = f"ECE {100 * bins.ece:.1f}% ({len(group.runs)} runs pooled)"
    ax.set_title(f"{textwrap.fill(group.label, 50)}\n{pooled}", fontsize=9)
  _legend(figure, axes[0])
  figure.suptitle("reliability (test)")
  return figure


FIGURES: dict[str, Callable[[Sequence[Group]], Figure | None]] = {
    "recall_by_count": recall_by_count, "history": history,
    "noise_weights": noise_weights, "reliability": reliability}


def have_matplotlib() -> bool:
  try:
    import matplotlib  # noqa: F401  pylint: disable=g-import-not-at-top,unused-import
  except ImportError:
    return False
  return True


def write_figures(groups: Sequence[Group], folder: str) -> list[str]:
  """Draws every figure the runs have data for into `folder` as <name>.png and <name>.svg;
  returns the names drawn."""
  os.makedirs(folder, exist_ok=True)
  written = []
  for name, draw in FIGURES.items():
    figure = draw(groups)
    if figure is None:
      continue
    for extension in ("png", "svg"):
      figure.savefig(os.path.join(folder, f"{name}.{extension}"), dpi=110)
    written.append(name)
  return written
