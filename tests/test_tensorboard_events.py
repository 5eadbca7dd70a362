"""The event files of a short noisy run hold every view, at the right steps and values."""

import io
import json
import os

import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.custom_scalar import layout_pb2
from tensorboard.plugins.hparams import plugin_data_pb2

from framework.errors import ConfigError
from framework.logging import tracking
from tests.tensorboard_run import EPOCHS, noisy_config, noisy_run

CLASSES = ["0", "1", "2", "3"]


@pytest.fixture(scope="module")
def run():
  workdir, results = noisy_run()
  acc = EventAccumulator(os.path.join(workdir, "tensorboard"), size_guidance={"tensors": 0})
  acc.Reload()
  steps_per_epoch = results["step"] // EPOCHS
  snapshots = {}
  for step in range(steps_per_epoch, results["step"] + 1, steps_per_epoch):
    with np.load(os.path.join(workdir, "weights", f"step_{step:08d}.npz")) as f:
      snapshots[step] = {k: f[k] for k in f.files}
  return workdir, results, acc, snapshots


def _plugin(acc, tag):
  return acc.SummaryMetadata(tag).plugin_data.plugin_name


def _series(acc, tag):
  events = acc.Tensors(tag)
  return [e.step for e in events], [tf.make_ndarray(e.tensor_proto) for e in events]


def test_every_tag_exists_with_its_kind_and_steps(run):
  workdir, results, acc, snapshots = run
  steps = sorted(snapshots)
  tracked = json.load(open(os.path.join(workdir, "tracked.json")))["tracked"]
  expected = {"scalars": ["train/loss", "train/learning_rate", "weights/fraction_zero"]
              + [f"weights/quantile/p{q}" for q in (0, 10, 50, 90, 100)]
              + [f"weights/mean/{c}" for c in CLASSES] + [f"alpha/{c}" for c in CLASSES]
              + [f"class_tables/visits/{c}" for c in CLASSES] + ["tables/seen"]
              + [t["tag"] for t in tracked]
              + [f"eval/{m}" for m in ("accuracy", "balanced_accuracy", "macro_f1")]
              + [f"eval/{k}/{c}" for k in ("recall", "precision") for c in CLASSES],
              "histograms": ["weights/all", "tables/running"]
              + [f"weights/class/{c}" for c in CLASSES],
              "images": ["trajectory/heatmap", "eval/confusion_matrix"]}
  for kind, tags in expected.items():
    for tag in tags:
      assert _plugin(acc, tag) == kind, tag
      assert _series(acc, tag)[0] == steps, tag
  final_steps, _ = _series(acc, "final/balanced_accuracy")
  assert final_steps == [steps[-1]]
  assert _plugin(acc, "config") == "text"


def test_scalars_match_the_snapshots(run):
  _, results, acc, snapshots = run
  labels = np.load(os.path.join(run[0], "labels.npy"))
  for step, snap in snapshots.items():
    w = snap["per_sample/weight"].astype(np.float64)
    i = sorted(snapshots).index(step)
    value = lambda tag: float(_series(acc, tag)[1][i])
    assert value("weights/quantile/p0") == pytest.approx(w.min(), abs=1e-6)
    assert value("weights/quantile/p100") == pytest.approx(w.max(), abs=1e-6)
    assert value("weights/quantile/p50") == pytest.approx(np.median(w), abs=1e-6)
    assert value("weights/fraction_zero") == pytest.approx(np.mean(w == 0), abs=1e-6)
    for c in range(4):
      assert value(f"weights/mean/{c}") == pytest.approx(w[labels == c].mean(), abs=1e-6)
      assert value(f"alpha/{c}") == pytest.approx(snap["per_class/alpha"][c], abs=1e-6)
      assert value(f"class_tables/visits/{c}") == pytest.approx(snap["per_class/visits"][c])
    assert value("tables/seen") == pytest.approx(step * 32)  # samples seen = steps x batch
    for t in json.load(open(os.path.join(run[0], "tracked.json")))["tracked"]:
      assert value(t["tag"]) == pytest.approx(w[t["index"]], abs=1e-6)
  assert 0 < np.mean(snapshots[max(snapshots)]["per_sample/weight"] == 0) < 1  # rule zeroes some
  final = results["final"]
  assert float(_series(acc, "final/accuracy")[1][0]) == pytest.approx(final["accuracy"], 1e-6)
  assert float(_series(acc, "eval/recall/2")[1][-1]) == pytest.approx(
      final["per_class_recall"][2], 1e-6)
  assert float(_series(acc, "eval/precision/1")[1][-1]) == pytest.approx(
      final["per_class_precision"][1], 1e-6)


def test_histograms_count_every_sample(run):
  _, _, acc, snapshots = run
  labels = np.load(os.path.join(run[0], "labels.npy"))
  _, values = _series(acc, "weights/all")
  last = snapshots[max(snapshots)]["per_sample/weight"]
  assert values[-1].shape[1] == 3 and values[-1][:, 2].sum() == pytest.approx(last.size)
  assert values[-1][0, 0] == pytest.approx(last.min())
  assert values[-1][-1, 1] == pytest.approx(last.max())
  _, per_class = _series(acc, "weights/class/1")
  assert per_class[-1][:, 2].sum() == pytest.approx(np.sum(labels == 1))
  _, running = _series(acc, "tables/running")
  assert running[-1][:, 2].sum() == pytest.approx(last.size)


def test_heatmap_and_confusion_images(run):
  workdir, _, acc, snapshots = run
  tracked = json.load(open(os.path.join(workdir, "tracked.json")))["tracked"]
  _, images = _series(acc, "trajectory/heatmap")
  widths = [int(im[0]) for im in images]
  heights = [int(im[1]) for im in images]
  assert len(set(heights)) == 1 and heights[0] % len(tracked) == 0
  assert widths[0] * 2 == widths[1] and widths[0] * 3 == widths[2]  # one column per summary
  pixels = tf.io.decode_png(images[-1][2]).numpy()
  assert pixels.shape == (heights[0], widths[-1], 3)
  _, confusion = _series(acc, "eval/confusion_matrix")
  assert tf.io.decode_png(confusion[-1][2]).shape[:2] == (256, 256)  # 4 x 4 cells of 64 px


def test_tracked_set_rows_sorted_by_class_with_capped_noisy(run):
  workdir, _, _, _ = run
  noise = np.load(os.path.join(workdir, "noise.npz"))
  tracked = json.load(open(os.path.join(workdir, "tracked.json")))["tracked"]
  mask, labels = noise["noise_mask"], noise["labels"]
  noisy = [t["index"] for t in tracked if t["noisy"]]
  assert sorted(noisy) == list(np.flatnonzero(mask)[:5]) and mask.sum() > 5
  for c in range(4):
    clean = [t["index"] for t in tracked if t["label"] == c and not t["noisy"] and t["index"] != 7]
    assert clean == list(np.flatnonzero((labels == c) & ~mask)[:2])
  assert 7 in [t["index"] for t in tracked]
  keys = [(t["label"], t["noisy"], t["index"]) for t in tracked]
  assert keys == sorted(keys)
  for t in tracked:
    assert t["tag"] == (f"trajectory/noisy/{t['index']}" if t["noisy"]
                        else f"trajectory/{t['label']}/{t['index']}")


def test_config_text_layout_and_hparams(run):
  workdir, _, acc, _ = run
  text = tf.make_ndarray(acc.Tensors("config")[0].tensor_proto).item().decode()
  assert text.startswith("```json\n") and text.endswith("\n```")
  assert json.loads(text[8:-4]) == json.load(open(os.path.join(workdir, "config.json")))
  layout = layout_pb2.Layout()
  layout.ParseFromString(tf.make_ndarray(
      acc.Tensors("custom_scalars__config__")[0].tensor_proto).item())
  charts = {c.title: c.multiline.tag[0] for cat in layout.category for c in cat.chart}
  assert charts["alpha per class"] == "^alpha/"
  assert charts["test recall per class"] == "^eval/recall/"
  assert charts["test precision per class"] == "^eval/precision/"
  assert charts["weight trajectories: noisy"] == "^trajectory/noisy/"
  info = plugin_data_pb2.HParamsPluginData()
  info.ParseFromString(acc.SummaryMetadata("_hparams_/session_start_info").plugin_data.content)
  hp = info.session_start_info.hparams
  assert hp["rule.name"].string_value == "test_loss_ema"
  assert hp["data.noise.rate"].number_value == pytest.approx(0.3)
  assert hp["loss.name"].string_value == "cross_entropy"


def test_final_snapshot_even_when_periodic_snapshots_are_off(tmp_path):
  from framework import train
  config = noisy_config(train__epochs=1, logging__snapshot_every_epochs=0,
                        logging__summary_every_loops=0)
  results = train.run(config, str(tmp_path), verbose=False)
  assert os.listdir(tmp_path / "weights") == [f"step_{results['step']:08d}.npz"]


def test_tracking_choice_is_deterministic_and_validated():
  labels = np.array([0, 1, 0, 1, 2, 0, 1, 2])
  mask = np.array([0, 0, 1, 0, 0, 0, 1, 0], bool)
  t = tracking.choose_tracked(labels, mask, ["a", "b", "c"], 1, 1, explicit=(5,))
  assert t.indices.tolist() == [0, 5, 2, 1, 4]
  assert t.tags == ("trajectory/a/0", "trajectory/a/5", "trajectory/noisy/2",
                    "trajectory/b/1", "trajectory/c/4")
  with pytest.raises(ConfigError, match=r"logging.tracked_indices=\(8,\) has 8"):
    tracking.choose_tracked(labels, mask, ["a", "b", "c"], 1, 1, explicit=(8,))


def test_heatmap_columns_are_subsampled_keeping_first_and_last():
  t = tracking.choose_tracked(np.array([0, 1]), None, ["a", "b"], 1, 0)
  recorder = tracking.TrajectoryRecorder(t, max_columns=4)
  for step in range(10):
    recorder.record(step, np.array([step, -step], np.float32))
  assert recorder.matrix().tolist() == [[0, 3, 6, 9], [0, -3, -6, -9]]


@pytest.mark.parametrize("field, value", [("summary_every_loops", -1),
                                          ("snapshot_every_epochs", -2),
                                          ("heatmap_max_columns", 0)])
def test_bad_logging_fields_fail_before_the_workdir_is_written(tmp_path, field, value):
  from framework import train
  with pytest.raises(ConfigError, match=rf"^logging.{field}={value!r} must be an integer >= \d$"):
    train.run(noisy_config(**{f"logging__{field}": value}), str(tmp_path / "w"), verbose=False)
  assert not os.path.exists(tmp_path / "w")
