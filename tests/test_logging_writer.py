"""SummaryWriter round trips through TensorBoard's own event reader; fan-out and null writers."""

from __future__ import annotations

import ml_collections
import numpy as np
import pytest
import tensorflow as tf
from tensorboard.backend.event_processing import event_accumulator
from tensorboard.plugins.custom_scalar import layout_pb2
from tensorboard.plugins.custom_scalar import metadata as custom_scalar_metadata
from tensorboard.plugins.hparams import plugin_data_pb2

from framework.summaries import flatten_hparams
from framework.summaries import heatmap
from framework.summaries import MetricWriter
from framework.summaries import MultiWriter
from framework.summaries import NullWriter
from framework.summaries import SummaryWriter


def _load(logdir):
  """Every event in logdir, nothing sampled away (size guidance 0 = keep all)."""
  guidance = {kind: 0 for kind in event_accumulator.DEFAULT_SIZE_GUIDANCE}
  return event_accumulator.EventAccumulator(str(logdir), size_guidance=guidance).Reload()


def _values(acc, tag):
  return [(e.step, tf.make_ndarray(e.tensor_proto)) for e in acc.Tensors(tag)]


def _plugin(acc, tag):
  return acc.SummaryMetadata(tag).plugin_data.plugin_name


def test_scalars_round_trip(tmp_path):
  with SummaryWriter(tmp_path) as writer:
    writer.write_scalars(1, {"train/loss": 2.5, "val/balanced_accuracy": np.float32(0.25)})
    writer.write_scalars(np.int64(7), {"train/loss": tf.constant(1.25)})
  acc = _load(tmp_path)
  assert _plugin(acc, "train/loss") == "scalars"
  assert [(s, float(v)) for s, v in _values(acc, "train/loss")] == [(1, 2.5), (7, 1.25)]
  assert [(s, float(v)) for s, v in _values(acc, "val/balanced_accuracy")] == [(1, 0.25)]


def test_histograms_round_trip(tmp_path):
  values = np.random.default_rng(0).gamma(2.0, size=(40, 25)).astype(np.float32)
  with SummaryWriter(tmp_path) as writer:
    writer.write_histograms(3, {"weights/all": values}, num_buckets=7)
    writer.write_histograms(4, {"weights/all": values[:10]})
  acc = _load(tmp_path)
  assert _plugin(acc, "weights/all") == "histograms"
  (step, hist), (step2, hist2) = _values(acc, "weights/all")
  assert step == 3 and hist.shape == (7, 3)   # (left edge, right edge, count) per bucket
  assert hist[:, 2].sum() == values.size
  np.testing.assert_allclose(hist[0, 0], values.min(), rtol=1e-6)
  np.testing.assert_allclose(hist[-1, 1], values.max(), rtol=1e-6)
  inside = (values >= hist[2, 0]) & (values < hist[2, 1])
  assert hist[2, 2] == inside.sum()
  assert step2 == 4 and hist2[:, 2].sum() == 10 * 25


def test_images_round_trip(tmp_path):
  single = heatmap(np.arange(6.0).reshape(2, 3), cell=(4, 5)).numpy()      # uint8 [8, 15, 3]
  batch = np.random.default_rng(1).random((2, 6, 9, 1)).astype(np.float32)  # float [0, 1]
  with SummaryWriter(tmp_path) as writer:
    writer.write_images(5, {"confusion": single, "samples": batch})
  acc = _load(tmp_path)
  assert _plugin(acc, "confusion") == "images"
  [(step, encoded)] = _values(acc, "confusion")
  assert step == 5 and encoded[:2].tolist() == [b"15", b"8"]   # width, height, then PNGs
  decoded = tf.io.decode_png(encoded[2]).numpy()
  assert decoded.dtype == np.uint8
  np.testing.assert_array_equal(decoded, single)   # PNG is lossless
  [(_, encoded)] = _values(acc, "samples")
  assert len(encoded) == 2 + 2
  decoded = [tf.io.decode_png(png).numpy() for png in encoded[2:]]
  assert all(image.shape == (6, 9, 1) for image in decoded)
  np.testing.assert_allclose(decoded[1] / 255.0, batch[1], atol=1 / 255.0)


@pytest.mark.parametrize("shape", [(4, 4), (1, 2, 4, 4, 3), (4, 4, 2)])
def test_images_reject_bad_shapes(tmp_path, shape):
  with SummaryWriter(tmp_path) as writer:
    with pytest.raises(ValueError, match="shape"):
      writer.write_images(0, {"bad": np.zeros(shape, np.uint8)})


def test_texts_round_trip(tmp_path):
  table = "class  recall\nbag    0.500"
  with SummaryWriter(tmp_path) as writer:
    writer.write_texts(2, {"eval/per_class": table})
  acc = _load(tmp_path)
  assert _plugin(acc, "eval/per_class") == "text"
  [(step, text)] = _values(acc, "eval/per_class")
  assert step == 2 and text.item().decode() == table


def test_plugin_data_round_trip(tmp_path):
  """write_summaries carries any plugin's data: here a custom-scalars layout."""
  layout = layout_pb2.Layout(category=[layout_pb2.Category(title="per class")])
  tag = custom_scalar_metadata.CONFIG_SUMMARY_TAG
  with SummaryWriter(tmp_path) as writer:
    writer.write_summaries(0, {tag: tf.constant(layout.SerializeToString())}, {
        tag: custom_scalar_metadata.create_summary_metadata().SerializeToString()})
  acc = _load(tmp_path)
  assert _plugin(acc, tag) == "custom_scalars"
  [(step, raw)] = _values(acc, tag)
  assert step == 0 and layout_pb2.Layout.FromString(raw.item()) == layout


def test_hparams_and_final_metrics(tmp_path):
  config = ml_collections.ConfigDict({"model": {"name": "cnn", "width": 64},
                                      "loss": {"name": "focal", "kwargs": {"gamma": 2.0}}})
  hparams = {"config": config, "seed": np.int64(3), "noise": None, "drw": True,
             "betas": (0.9, 0.999)}
  with SummaryWriter(tmp_path) as writer:
    writer.write_scalars(100, {"val/balanced_accuracy": 0.5})
    writer.write_hparams(hparams, {"final/balanced_accuracy": 0.75})
  acc = _load(tmp_path)
  assert "_hparams_/session_start_info" in acc.Tags()["tensors"]
  assert _plugin(acc, "_hparams_/session_start_info") == "hparams"
  content = acc.SummaryMetadata("_hparams_/session_start_info").plugin_data.content
  start = plugin_data_pb2.HParamsPluginData.FromString(content).session_start_info
  got = {k: v.WhichOneof("kind") for k, v in start.hparams.items()}
  assert got == {"config.model.name": "string_value", "config.model.width": "number_value",
                 "config.loss.name": "string_value",
                 "config.loss.kwargs.gamma": "number_value", "seed": "number_value",
                 "noise": "string_value", "drw": "bool_value", "betas": "string_value"}
  assert start.hparams["config.loss.kwargs.gamma"].number_value == 2.0
  assert start.hparams["seed"].number_value == 3
  assert start.hparams["drw"].bool_value is True
  assert start.hparams["noise"].string_value == "None"
  # Final metrics are scalars at the last step written, so they end the curves.
  [(step, value)] = _values(acc, "final/balanced_accuracy")
  assert step == 100 and float(value) == 0.75
  assert _plugin(acc, "final/balanced_accuracy") == "scalars"


def test_flatten_hparams():
  nested = {"a": {"b": {"c": np.float32(0.5)}, "d": [1, 2]}, "e": "x", "f": np.bool_(False)}
  flat = flatten_hparams(nested)
  assert flat == {"a.b.c": 0.5, "a.d": "[1, 2]", "e": "x", "f": False}
  assert type(flat["a.b.c"]) is float and type(flat["f"]) is bool
  assert flatten_hparams(ml_collections.ConfigDict({"x": {"y": 1}})) == {"x.y": 1}


class _SpyFileWriter:
  """A real tf.summary file writer that also records flush / close calls."""

  def __init__(self, real, calls):
    self._real = real
    self._calls = calls

  def as_default(self):
    return self._real.as_default()

  def flush(self):
    self._calls.append("flush")
    self._real.flush()

  def close(self):
    self._calls.append("close")
    self._real.close()


@pytest.fixture
def file_writer_calls(monkeypatch):
  """Makes SummaryWriter use _SpyFileWriter; returns the list of recorded calls."""
  calls = []
  real_factory = tf.summary.create_file_writer
  monkeypatch.setattr(tf.summary, "create_file_writer",
                      lambda logdir: _SpyFileWriter(real_factory(logdir), calls))
  return calls


def test_close_flushes_even_after_a_crash(tmp_path, file_writer_calls):
  writer = SummaryWriter(tmp_path)
  with pytest.raises(RuntimeError, match="boom"):
    with writer:
      writer.write_scalars(9, {"loss": 3.0})
      raise RuntimeError("boom")
  assert file_writer_calls == ["close"]   # tf's close flushes
  assert [(s, float(v)) for s, v in _values(_load(tmp_path), "loss")] == [(9, 3.0)]
  writer.close()   # closing twice is harmless
  writer.flush()
  assert file_writer_calls == ["close"]
  with pytest.raises(RuntimeError, match="closed"):
    writer.write_scalars(10, {"loss": 1.0})


def test_flush_reaches_the_file_writer(tmp_path, file_writer_calls):
  writer = SummaryWriter(tmp_path)
  try:
    writer.write_scalars(1, {"loss": 4.0})
    writer.flush()
    assert file_writer_calls == ["flush"]
    assert [(s, float(v)) for s, v in _values(_load(tmp_path), "loss")] == [(1, 4.0)]
  finally:
    writer.close()
  assert file_writer_calls == ["flush", "close"]


class _Recorder(MetricWriter):
  """Remembers every call; optionally fails on close."""

  def __init__(self, fail_close=False):
    self.calls = []
    self.fail_close = fail_close

  def write_scalars(self, step, scalars):
    self.calls.append(("scalars", step, dict(scalars)))

  def write_histograms(self, step, arrays, num_buckets=None):
    self.calls.append(("histograms", step, num_buckets))

  def write_images(self, step, images, descriptions=None):
    self.calls.append(("images", step, sorted(images), descriptions))

  def write_texts(self, step, texts):
    self.calls.append(("texts", step, dict(texts)))

  def write_hparams(self, hparams, metrics=None):
    self.calls.append(("hparams", dict(hparams), metrics))

  def write_summaries(self, step, values, metadata=None):
    self.calls.append(("summaries", step, sorted(values), sorted(metadata or {})))

  def flush(self):
    self.calls.append(("flush",))

  def close(self):
    self.calls.append(("close",))
    if self.fail_close:
      raise OSError("disk full")


def test_multi_writer_fans_out_and_closes_all():
  first, second = _Recorder(fail_close=True), _Recorder()
  multi = MultiWriter([first, second])
  multi.write_scalars(1, {"a": 1.0})
  multi.write_histograms(2, {"h": np.zeros(3)}, num_buckets=5)
  multi.write_images(3, {"i": np.zeros((2, 2, 3))})
  multi.write_texts(4, {"t": "x"})
  multi.write_hparams({"lr": 0.1}, {"m": 0.5})
  multi.write_summaries(5, {"raw": np.zeros(2)}, {"raw": b""})
  multi.flush()
  with pytest.raises(OSError, match="disk full"):
    multi.close()
  expected = [("scalars", 1, {"a": 1.0}), ("histograms", 2, 5), ("images", 3, ["i"], None),
              ("texts", 4, {"t": "x"}), ("hparams", {"lr": 0.1}, {"m": 0.5}),
              ("summaries", 5, ["raw"], ["raw"]), ("flush",), ("close",)]
  assert first.calls == expected and second.calls == expected   # second closed despite first


def test_null_writer_accepts_everything(tmp_path):
  with NullWriter() as writer:
    assert isinstance(writer, MetricWriter)
    writer.write_scalars(0, {"a": 1.0})
    writer.write_histograms(0, {"h": np.ones(3)}, num_buckets=2)
    writer.write_images(0, {"i": np.zeros((2, 2, 3), np.uint8)})
    writer.write_texts(0, {"t": "x"})
    writer.write_hparams({"a": {"b": 1}}, {"m": 1.0})
    writer.write_summaries(0, {"raw": np.zeros(2)})
    writer.flush()
  assert not list(tmp_path.iterdir())


def test_metric_writer_is_abstract():
  class Partial(MetricWriter):
    def write_scalars(self, step, scalars):
      pass

  with pytest.raises(TypeError):
    Partial()  # pylint: disable=abstract-class-instantiated
