"""The event files of short runs hold every view, at the right steps and values, and only
what moves is charted."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing.event_multiplexer import EventMultiplexer
from tensorboard.plugins.custom_scalar import layout_pb2
from tensorboard.plugins.hparams import plugin_data_pb2

from framework.errors import ConfigError
from framework.summaries import tracking
from tests.tensorboard_run import EPOCHS, RUN, noisy_config, noisy_run

CLASSES = ["0", "1", "2", "3"]
CLASS_RUNS = [f"{RUN}/classes/{c}" for c in CLASSES]


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


def per_class_charts(runs, prefix):
  """{tag: {class run: values over steps}} of the scalar tags of the class runs."""
  charts = {}
  for run, tags in runs.Runs().items():
    if run.startswith(f"{prefix}/classes/"):
      for tag in tags["tensors"]:
        if runs.SummaryMetadata(run, tag).plugin_data.plugin_name == "scalars":
          charts.setdefault(tag, {})[run] = [float(v) for v in series(runs, run, tag)[1]]
  return charts


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


def test_runs_are_named_after_the_workdir(run):
  _, _, runs, _ = run
  assert sorted(runs.Runs()) == sorted([RUN, f"{RUN}/hparams"] + CLASS_RUNS)


def test_every_view_exists_with_its_kind_and_steps(run):
  workdir, _, runs, snapshots = run
  steps = sorted(snapshots)
  tracked = json.load(open(os.path.join(workdir, "tracked.json")))["tracked"]
  main = {"scalars": ["train/loss", "weights/fraction_zero", "tables/seen"]
          + [f"weights/quantile/p{q}" for q in (0, 10, 50, 90, 100)]
          + [t["tag"] for t in tracked]
          + [f"eval/{m}" for m in ("accuracy", "balanced_accuracy", "macro_f1")],
          "images": ["eval/confusion_matrix"],
          "text": ["config", "classes", "constants"]}
  for kind, tags in main.items():
    for tag in tags:
      assert _plugin(runs, RUN, tag) == kind, tag
      if kind != "text":
        assert series(runs, RUN, tag)[0] == steps, tag
  for class_run in CLASS_RUNS:
    for tag in ("alpha", "class_tables/visits", "weights/mean", "eval/recall",
                "eval/precision"):
      assert _plugin(runs, class_run, tag) == "scalars", (class_run, tag)
      assert series(runs, class_run, tag)[0] == steps, (class_run, tag)
  # the heatmap from the first summary at which a tracked weight had moved
  assert series(runs, RUN, "trajectory/heatmap")[0] == steps[1:]
  histograms = lambda r: {t for t in runs.Runs()[r]["tensors"]
                          if _plugin(runs, r, t) == "histograms"}
  assert histograms(RUN) == {"weights/all", "tables/running"}
  assert histograms(CLASS_RUNS[0]) == {"weights"}


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
    for c, class_run in enumerate(CLASS_RUNS):
      assert value("weights/mean", class_run) == pytest.approx(w[labels == c].mean(), abs=1e-6)
      assert value("alpha", class_run) == pytest.approx(snap["per_class/alpha"][c], abs=1e-6)
      assert value("class_tables/visits", class_run) == pytest.approx(
          snap["per_class/visits"][c])
    assert value("tables/seen") == pytest.approx(step * 32)  # samples seen = steps x batch
    for t in json.load(open(os.path.join(workdir, "tracked.json")))["tracked"]:
      assert value(t["tag"]) == pytest.approx(w[t["index"]], abs=1e-6)
  final = results["final"]
  assert float(series(runs, f"{RUN}/hparams", "final/accuracy")[1][0]) == pytest.approx(
      final["accuracy"], 1e-6)
  assert float(series(runs, CLASS_RUNS[2], "eval/recall")[1][-1]) == pytest.approx(
      final["per_class_recall"][2], 1e-6)


def test_no_constant_per_class_chart(run):
  _, _, runs, _ = run
  charts = per_class_charts(runs, RUN)
  assert {"alpha", "weights/mean", "eval/recall", "eval/precision"} <= set(charts)
  for tag, lines in charts.items():
    assert len({v for values in lines.values() for v in values}) > 1, tag


def test_histograms_count_every_sample(run):
  workdir, _, runs, snapshots = run
  labels = np.load(os.path.join(workdir, "labels.npy"))
  last = snapshots[max(snapshots)]["effective/weight"]
  buckets = series(runs, RUN, "weights/all")[1][-1]  # [k, 3]: left edge, right edge, count
  assert buckets[:, 2].sum() == pytest.approx(last.size)
  assert buckets[0, 0] == pytest.approx(last.min()) and buckets[-1, 1] == pytest.approx(last.max())
  per_class = series(runs, CLASS_RUNS[1], "weights")[1][-1]
  assert per_class[:, 2].sum() == pytest.approx(np.sum(labels == 1))
  assert series(runs, RUN, "tables/running")[1][-1][:, 2].sum() == pytest.approx(last.size)


def test_images_carry_their_labels(run):
  workdir, _, runs, _ = run
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


def test_config_classes_and_layout(run):
  workdir, results, runs, _ = run
  config = text(runs, RUN, "config")
  assert json.loads(config[8:-4]) == json.load(open(os.path.join(workdir, "config.json")))
  classes = text(runs, RUN, "classes")
  for name, count in zip(CLASSES, results["class_counts"]):
    assert f"| {name} | {count} | 1 |" in classes
  layout = layout_pb2.Layout()
  layout.ParseFromString(series(runs, RUN, "custom_scalars__config__")[1][0].item())
  charts = {c.title: c.multiline.tag[0] for cat in layout.category for c in cat.chart}
  assert charts["test recall per class"] == "^eval/recall$"
  assert charts["alpha per class"] == "^alpha$"
  assert charts["effective weight trajectories: noisy"] == "^trajectory/noisy/"


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
  steps, _ = series(runs, "drw/classes/3", "class_weight")
  for c in range(4):
    values = charts["class_weight"][f"drw/classes/{c}"]
    assert values[:2] == [1.0, 1.0]  # epochs 1, 2: before the switch
    assert values[2] == pytest.approx(expected[c], rel=1e-5)  # epoch 3: N / (C n_c)
  assert len(steps) == 3
  assert "alpha" not in charts  # fixed rule: alpha stays 1, reported as a constant
  constants = text(runs, "drw", "constants")
  assert "| alpha | 1 | 1 | 1 | 1 |" in constants
  main_tags = runs.Runs()["drw"]["tensors"]
  assert "train/learning_rate" not in main_tags and "train/learning_rate" in constants
  assert "trajectory/heatmap" in main_tags  # the switch moves the tracked effective weights


def test_tracking_choice_is_deterministic_and_validated():
  labels = np.array([0, 1, 0, 1, 2, 0, 1, 2])
  mask = np.array([0, 0, 1, 0, 0, 0, 1, 0], bool)
  t = tracking.choose_tracked(labels, mask, ["a", "b", "c"], 1, 1, explicit=(5,))
  assert t.indices.tolist() == [0, 5, 2, 1, 4]
  assert t.tags == ("trajectory/a/0", "trajectory/a/5", "trajectory/noisy/2",
                    "trajectory/b/1", "trajectory/c/4")
  assert tracking.row_breaks(t) == [2, 3, 4]
  assert tracking.row_labels(t, ["a", "b", "c"], np.array([0, 1, 1, 1, 2, 0, 1, 2])) == [
      "a #0", "a #5", "a #2 (noisy, was b)", "b #1", "c #4"]
  with pytest.raises(ConfigError, match=r"logging.tracked_indices=\(8,\) has 8"):
    tracking.choose_tracked(labels, mask, ["a", "b", "c"], 1, 1, explicit=(8,))


def test_heatmap_columns_are_subsampled_keeping_first_and_last():
  t = tracking.choose_tracked(np.array([0, 1]), None, ["a", "b"], 1, 0)
  recorder = tracking.TrajectoryRecorder(t, max_columns=4)
  for step in range(10):
    recorder.record(step, np.array([step, -step], np.float32))
  assert recorder.matrix().tolist() == [[0, 3, 6, 9], [0, -3, -6, -9]]
  assert recorder.kept_steps() == [0, 3, 6, 9]


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
