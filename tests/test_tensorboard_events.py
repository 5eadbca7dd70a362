"""The event files of short runs hold every view, at the right steps and values, only what
moves is charted, and runs side by side stay one TensorBoard run each."""

import json
import os
import re
import shutil

import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer
from tensorboard.plugins.custom_scalar import layout_pb2
from tensorboard.plugins.hparams import plugin_data_pb2

from framework.errors import ConfigError
from framework.summaries import tracking
from tests.tensorboard_run import EPOCHS, RUN, noisy_config, noisy_run

CLASSES = ["0", "1", "2", "3"]  # the synthetic classes' names, so their tags too
# Per-class families of the noisy run: tags "<family>/<class>" in the run itself.
FAMILIES = ("recall", "precision", "classifier_norm", "alpha", "class_tables/visits",
            "mean_weight")


def load_runs(parent: str) -> EventMultiplexer:
  runs = EventMultiplexer(size_guidance={"tensors": 0, "histograms": 0})
  runs.AddRunsFromDirectory(parent)
  runs.Reload()
  return runs


def series(runs, run, tag):
  events = runs.Tensors(run, tag)
  return [e.step for e in events], [tf.make_ndarray(e.tensor_proto) for e in events]


def text(runs, run, tag) -> str:
  return series(runs, run, tag)[1][-1].item().decode()


def per_class_charts(runs, run):
  """{family: {class: values over steps}} of the run's scalar tags "<family>/<class>"."""
  charts = {}
  for tag in runs.Runs()[run]["tensors"]:
    family, _, name = tag.rpartition("/")
    if name in CLASSES and _plugin(runs, run, tag) == "scalars":
      charts.setdefault(family, {})[name] = [float(v) for v in series(runs, run, tag)[1]]
  return charts


def layout(runs, run) -> dict[str, str]:
  """{chart title: tag regex} of the latest custom-scalars layout of `run`."""
  proto = layout_pb2.Layout()
  proto.ParseFromString(series(runs, run, "custom_scalars__config__")[1][-1].item())
  return {c.title: c.multiline.tag[0] for cat in proto.category for c in cat.chart}


@pytest.fixture(scope="module")
def run():
  workdir, results = noisy_run()
  runs = load_runs(os.path.dirname(workdir))
  steps_per_epoch = results["step"] // EPOCHS
  snapshots = {}
  for step in range(steps_per_epoch, results["step"] + 1, steps_per_epoch):
    with np.load(os.path.join(workdir, "weights", f"step_{step:08d}.npz")) as f:
      snapshots[step] = {k: f[k] for k in f.files}
  return workdir, results, runs, snapshots


def _plugin(runs, run, tag):
  return runs.SummaryMetadata(run, tag).plugin_data.plugin_name


@pytest.mark.slow
def test_one_run_holds_every_chart_and_its_hparams_session_the_final_metrics(run):
  _, _, runs, _ = run
  assert sorted(runs.Runs()) == [RUN, f"{RUN}/hparams"]  # no class runs by default


@pytest.mark.slow
def test_every_view_exists_with_its_kind_and_steps(run):
  workdir, _, runs, snapshots = run
  steps = sorted(snapshots)
  main = {"scalars": ["train/loss", "weights/fraction_zero", "tables/seen"]
          + [f"weights/quantile/p{q}" for q in (0, 10, 50, 90, 100)]
          + [f"eval/{m}" for m in ("accuracy", "balanced_accuracy", "macro_f1")]
          + [f"{family}/{c}" for family in FAMILIES for c in CLASSES],
          "images": ["eval/confusion_matrix"],
          "text": ["config", "classes", "constants"]}
  for kind, tags in main.items():
    for tag in tags:
      assert _plugin(runs, RUN, tag) == kind, tag
      if kind != "text":
        assert series(runs, RUN, tag)[0] == steps, tag
  # the heatmap from the first summary at which a tracked weight had moved
  assert series(runs, RUN, "trajectory/heatmap")[0] == steps[1:]
  assert series(runs, RUN, "eval/reliability")[0] == steps[-1:]  # the final evaluation's
  tags = runs.Runs()[RUN]["tensors"]
  assert not [t for t in tags if t.startswith("trajectory/") and t != "trajectory/heatmap"]
  histograms = {t for t in tags if _plugin(runs, RUN, t) == "histograms"}
  assert histograms == {"weights/all", "tables/running"}


@pytest.mark.slow
def test_scalars_are_the_effective_weights_of_the_snapshots(run):
  workdir, results, runs, snapshots = run
  labels = np.load(os.path.join(workdir, "labels.npy"))
  for i, (step, snap) in enumerate(sorted(snapshots.items())):
    np.testing.assert_array_equal(snap["effective/class_weight"], np.ones(4))  # uniform
    w = (snap["per_sample/weight"] * snap["per_class/alpha"][labels]).astype(np.float64)
    np.testing.assert_allclose(snap["effective/weight"], w, rtol=1e-6)
    value = lambda tag, r=RUN: float(series(runs, r, tag)[1][i])
    assert value("weights/quantile/p0") == pytest.approx(w.min(), abs=1e-6)
    assert value("weights/quantile/p100") == pytest.approx(w.max(), abs=1e-6)
    assert value("weights/quantile/p50") == pytest.approx(np.median(w), abs=1e-6)
    assert value("weights/fraction_zero") == pytest.approx(np.mean(w == 0), abs=1e-6)
    for c, name in enumerate(CLASSES):
      assert value(f"mean_weight/{name}") == pytest.approx(w[labels == c].mean(), abs=1e-6)
      assert value(f"alpha/{name}") == pytest.approx(snap["per_class/alpha"][c], abs=1e-6)
      assert value(f"class_tables/visits/{name}") == pytest.approx(snap["per_class/visits"][c])
    assert value("tables/seen") == pytest.approx(step * 32)  # samples seen = steps x batch
  final = results["final"]
  assert float(series(runs, f"{RUN}/hparams", "final/accuracy")[1][0]) == pytest.approx(
      final["accuracy"], 1e-6)
  for c, name in enumerate(CLASSES):
    assert float(series(runs, RUN, f"recall/{name}")[1][-1]) == pytest.approx(
        final["per_class_recall"][c], 1e-6)


@pytest.mark.slow
def test_no_constant_per_class_chart(run):
  _, _, runs, _ = run
  charts = per_class_charts(runs, RUN)
  assert set(charts) == set(FAMILIES)  # uniform class weights never moved: no chart
  for family, lines in charts.items():
    assert sorted(lines) == CLASSES, family
    assert len({v for values in lines.values() for v in values}) > 1, family


@pytest.mark.slow
def test_histograms_count_every_sample(run):
  _, _, runs, snapshots = run
  last = snapshots[max(snapshots)]["effective/weight"]
  buckets = series(runs, RUN, "weights/all")[1][-1]  # [k, 3]: left edge, right edge, count
  assert buckets[:, 2].sum() == pytest.approx(last.size)
  assert buckets[0, 0] == pytest.approx(last.min()) and buckets[-1, 1] == pytest.approx(last.max())
  assert series(runs, RUN, "tables/running")[1][-1][:, 2].sum() == pytest.approx(last.size)


@pytest.mark.slow
def test_images_carry_their_labels(run):
  workdir, results, runs, _ = run
  tracked = json.load(open(os.path.join(workdir, "tracked.json")))["tracked"]
  noise = np.load(os.path.join(workdir, "noise.npz"))
  description = runs.SummaryMetadata(RUN, "trajectory/heatmap").summary_description
  for t in tracked:
    assert f"#{t['index']}" in description
  noisy = next(t for t in tracked if t["noisy"])
  assert f"#{noisy['index']} (noisy, was {noise['clean_labels'][noisy['index']]})" in description
  confusion = runs.SummaryMetadata(RUN, "eval/confusion_matrix").summary_description
  assert "Classes: 0: 0, 1: 1, 2: 2, 3: 3" in confusion
  _, images = series(runs, RUN, "eval/confusion_matrix")
  width, height = int(images[-1][0]), int(images[-1][1])
  pixels = tf.io.decode_png(images[-1][2]).numpy()
  assert pixels.shape == (height, width, 3) and min(width, height) > 4 * 40  # grid + labels
  reliability = runs.SummaryMetadata(RUN, "eval/reliability").summary_description
  assert f"ECE {results['final']['ece']:.4f}" in reliability


@pytest.mark.slow
def test_hparams_session_holds_the_final_metrics_and_every_kwarg(run):
  workdir, _, runs, _ = run
  session = f"{RUN}/hparams"
  scalar_tags = [t for t in runs.Runs()[session]["tensors"]
                 if _plugin(runs, session, t) == "scalars"]
  assert scalar_tags and all(t.startswith("final/") for t in scalar_tags)
  info = plugin_data_pb2.HParamsPluginData()
  info.ParseFromString(runs.SummaryMetadata(session, "_hparams_/session_start_info")
                       .plugin_data.content)
  hp = info.session_start_info.hparams
  assert hp["rule.name"].string_value == "test_loss_ema"
  assert hp["data.noise.rate"].number_value == pytest.approx(0.3)
  assert hp["rule.kwargs.decay"].number_value == 0.5   # defaults of test_loss_ema
  assert hp["rule.kwargs.cutoff"].number_value == 2.0
  assert hp["model.kwargs.hidden"].string_value == "(32,)"  # given in the config


@pytest.mark.slow
def test_config_classes_and_layout(run):
  workdir, results, runs, _ = run
  config = text(runs, RUN, "config")
  assert json.loads(config[8:-4]) == json.load(open(os.path.join(workdir, "config.json")))
  classes = text(runs, RUN, "classes")
  for name, count in zip(CLASSES, results["class_counts"]):
    assert f"| {name} | {count} | 1 |" in classes
  charts = layout(runs, RUN)
  assert charts["test recall per class"] == "^recall(/[^/]+)?$"
  assert charts["alpha per class"] == "^alpha(/[^/]+)?$"
  scalar_tags = [t for t in runs.Runs()[RUN]["tensors"] if _plugin(runs, RUN, t) == "scalars"]
  for title, pattern in charts.items():  # no empty chart: each draws one line per class
    assert len([t for t in scalar_tags if re.search(pattern, t)]) == len(CLASSES), title
  assert len(charts) == len(FAMILIES)  # not the class weight, which never moved


@pytest.mark.slow
def test_constants_are_reported_once_and_a_deferred_switch_is_charted(tmp_path):
  from framework import train
  parent = tmp_path / "runs"
  config = noisy_config(rule__name="fixed", train__epochs=3, data__noise={"kind": "none",
                                                                          "rate": 0.0},
                        class_weights__scheme="inverse_frequency",
                        class_weights__start_epoch=2)
  results = train.run(config, str(parent / "drw"), verbose=False)
  runs = load_runs(str(parent))
  charts = per_class_charts(runs, "drw")
  counts = np.asarray(results["class_counts"], np.float64)
  expected = counts.sum() / (len(counts) * counts)
  steps, _ = series(runs, "drw", "class_weight/3")
  for c in range(4):
    values = charts["class_weight"][str(c)]
    assert values[:2] == [1.0, 1.0]  # epochs 1, 2: before the switch
    assert values[2] == pytest.approx(expected[c], rel=1e-5)  # epoch 3: N / (C n_c)
  assert len(steps) == 3
  assert "alpha" not in charts  # fixed rule: alpha stays 1, reported as a constant
  constants = text(runs, "drw", "constants")
  assert "| alpha | 1 | 1 | 1 | 1 |" in constants
  main_tags = runs.Runs()["drw"]["tensors"]
  assert "train/learning_rate" not in main_tags and "train/learning_rate" in constants
  assert "trajectory/heatmap" in main_tags  # the switch moves the tracked effective weights
  # the layout gains the class weight's chart when it starts to move, at the switch
  assert "class weight in force per class" in layout(runs, "drw")
  assert "alpha per class" not in layout(runs, "drw")


@pytest.mark.slow
def test_results_hold_best_and_last_accuracy(run):
  _, results, _, _ = run
  by_step = sorted((r["step"], r["accuracy"]) for r in results["history"])
  best = max(by_step, key=lambda s_a: (s_a[1], -s_a[0]))  # the earliest of the best
  assert results["best_last"] == {"best_accuracy": best[1], "best_step": best[0],
                                  "last_accuracy": by_step[-1][1], "last_step": by_step[-1][0]}
  assert results["best_last"]["last_accuracy"] == results["final"]["accuracy"]


@pytest.mark.slow
def test_class_runs_are_opt_in_and_share_the_layout(tmp_path):
  from framework import train
  train.run(noisy_config(train__epochs=2, logging__max_class_runs=4), str(tmp_path / "c"),
            verbose=False)
  runs = load_runs(str(tmp_path))
  class_runs = [f"c/classes/{name}" for name in CLASSES]
  assert sorted(runs.Runs()) == sorted(["c", "c/hparams", *class_runs])
  for c, class_run in enumerate(class_runs):
    for family in FAMILIES:  # the value of the class under the family's own tag
      assert series(runs, class_run, family)[1][-1] == series(runs, "c", f"{family}/{c}")[1][-1]
    histogram = series(runs, class_run, "weights")[1][-1]  # the class's effective weights
    labels = np.load(tmp_path / "c" / "labels.npy")
    assert histogram[:, 2].sum() == pytest.approx(np.sum(labels == c))
  for title, pattern in layout(runs, "c").items():  # one chart: the tags and the class runs
    assert all(re.search(pattern, t) is None for t in ("trajectory/heatmap", "train/loss"))
    family = pattern[1:pattern.index("(")]
    assert re.search(pattern, family) and re.search(pattern, f"{family}/0"), title


@pytest.mark.slow
def test_eight_runs_side_by_side_are_eight_tensorboard_runs_and_their_sessions(tmp_path):
  """8 runs (copies of 2 trained ones) in one folder: each is one TensorBoard run with every
  class's charts, plus its HParams session; 16 runs, under the 40 beyond which TensorBoard's
  run selector selects none (tf-multi-checkbox's maxNamesToEnableByDefault)."""
  from framework import train
  workdir, _ = noisy_run()
  other = str(tmp_path / "trained" / "seed1")
  train.run(noisy_config(train__epochs=2, seed=1, rule__name="fixed"), other, verbose=False)
  parent = tmp_path / "side_by_side"
  for i in range(8):
    shutil.copytree(workdir if i % 2 else other, parent / f"run{i}")
  runs = load_runs(str(parent))
  names = [f"run{i}" for i in range(8)]
  assert sorted(runs.Runs()) == sorted(names + [f"{name}/hparams" for name in names])
  assert len(runs.Runs()) <= 40
  for name in names:
    charts = per_class_charts(runs, name)
    assert {"recall", "precision"} <= set(charts), name
    assert all(sorted(lines) == CLASSES for lines in charts.values()), name
    session = runs.Runs()[f"{name}/hparams"]["tensors"]
    assert all(t.startswith(("final/", "_hparams_/")) for t in session)


def test_tracking_choice_is_deterministic_and_validated():
  labels = np.array([0, 1, 0, 1, 2, 0, 1, 2])
  mask = np.array([0, 0, 1, 0, 0, 0, 1, 0], bool)
  t = tracking.choose_tracked(labels, mask, 3, 1, 1, explicit=(5,))
  assert t.indices.tolist() == [0, 5, 2, 1, 4]
  assert t.noisy.tolist() == [False, False, True, False, False]
  assert tracking.row_breaks(t) == [2, 3, 4]
  assert tracking.row_labels(t, ["a", "b", "c"], np.array([0, 1, 1, 1, 2, 0, 1, 2])) == [
      "a #0", "a #5", "a #2 (noisy, was b)", "b #1", "c #4"]
  with pytest.raises(ConfigError, match=r"logging.tracked_indices=\(8,\) has 8"):
    tracking.choose_tracked(labels, mask, 3, 1, 1, explicit=(8,))


def test_heatmap_columns_are_subsampled_keeping_first_and_last():
  t = tracking.choose_tracked(np.array([0, 1]), None, 2, 1, 0)
  recorder = tracking.TrajectoryRecorder(t, max_columns=4)
  for step in range(10):
    recorder.record(step, np.array([step, -step], np.float32))
  assert recorder.matrix().tolist() == [[0, 3, 6, 9], [0, -3, -6, -9]]
  assert recorder.kept_steps() == [0, 3, 6, 9]


@pytest.mark.slow
def test_final_snapshot_even_when_periodic_snapshots_are_off(tmp_path):
  from framework import train
  config = noisy_config(train__epochs=1, logging__snapshot_every_epochs=0,
                        logging__summary_every_loops=0)
  results = train.run(config, str(tmp_path), verbose=False)
  assert os.listdir(tmp_path / "weights") == [f"step_{results['step']:08d}.npz"]


@pytest.mark.parametrize("field, value", [("summary_every_loops", -1),
                                          ("snapshot_every_epochs", -2),
                                          ("heatmap_max_columns", 0),
                                          ("max_class_runs", -1)])
def test_bad_logging_fields_fail_before_the_workdir_is_written(tmp_path, field, value):
  from framework import train
  with pytest.raises(ConfigError, match=rf"^logging.{field}={value!r} must be an integer >= \d$"):
    train.run(noisy_config(**{f"logging__{field}": value}), str(tmp_path / "w"), verbose=False)
  assert not os.path.exists(tmp_path / "w")
