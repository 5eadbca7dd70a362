"""A real `tensorboard` server on a run's workdir serves its scalars, histograms, images..."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from tests.tensorboard_run import RUN, noisy_run

pytestmark = pytest.mark.slow  # every test trains or starts a process

TIMEOUT_S = 180  # a loaded 2-core machine takes a while to start TensorBoard
# The run's scalar metrics: 4 long-tailed classes, so many / medium / few-shot but no top-5.
FINAL_METRICS = {"final/accuracy", "final/balanced_accuracy", "final/macro_f1",
                 "final/min_recall", "final/ece", "final/many_shot_accuracy",
                 "final/medium_shot_accuracy", "final/few_shot_accuracy"}


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def _get(base: str, path: str, body: dict | None = None):
  data = None if body is None else json.dumps(body).encode()
  request = urllib.request.Request(base + path, data=data, headers={
      "Content-Type": "application/json", "X-TensorBoard-Feature-Flags": "{}"})
  with urllib.request.urlopen(request, timeout=10) as response:
    return json.loads(response.read())


@pytest.fixture(scope="module")
def server():
  workdir, _ = noisy_run()
  port = _free_port()
  process = subprocess.Popen(
      [sys.executable, "-m", "tensorboard.main", "--logdir", os.path.dirname(workdir),
       "--port", str(port), "--host", "127.0.0.1", "--load_fast", "false", "--reload_interval", "1"],
      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=dict(os.environ))
  base = f"http://127.0.0.1:{port}"
  try:
    deadline = time.monotonic() + TIMEOUT_S
    while True:  # up, and the run's last tags loaded
      if process.poll() is not None:
        raise RuntimeError(f"tensorboard exited: {process.stderr.read().decode()[-2000:]}")
      try:
        tags = _get(base, "/data/plugin/scalars/tags")
        if "final/accuracy" in tags.get(f"{RUN}/hparams", {}) and "recall/3" in tags.get(RUN, {}):
          break
      except (urllib.error.URLError, ConnectionError, json.JSONDecodeError):
        pass
      if time.monotonic() > deadline:
        raise TimeoutError(f"tensorboard not serving the run within {TIMEOUT_S} s")
      time.sleep(0.5)
    yield base
  finally:
    process.terminate()
    try:
      process.wait(timeout=10)
    except subprocess.TimeoutExpired:
      process.kill()
      process.wait()


def test_one_run_and_its_hparams_session(server):
  assert sorted(_get(server, "/data/runs")) == [RUN, f"{RUN}/hparams"]


def test_scalar_tags_and_one_series(server):
  tags = _get(server, "/data/plugin/scalars/tags")
  for tag in ("train/loss", "weights/quantile/p50", "weights/fraction_zero",
              "eval/balanced_accuracy"):
    assert tag in tags[RUN], tag
  for c in range(4):
    assert {f"alpha/{c}", f"recall/{c}", f"precision/{c}", f"mean_weight/{c}"} <= set(tags[RUN])
  assert not [tag for tag in tags[RUN] if tag.startswith("trajectory/")]  # the heatmap's
  assert set(tags[f"{RUN}/hparams"]) == FINAL_METRICS
  series = _get(server, f"/data/plugin/scalars/scalars?run={RUN}&tag=alpha/1")
  assert [point[1] for point in series] == [6, 12, 18]  # [wall_time, step, value]


def test_histogram_image_text_and_layout_tags(server):
  histograms = _get(server, "/data/plugin/histograms/tags")
  assert {"weights/all", "tables/running"} <= set(histograms[RUN])
  images = _get(server, "/data/plugin/images/tags")[RUN]
  assert {"trajectory/heatmap", "eval/confusion_matrix", "eval/reliability"} <= set(images)
  assert "Classes: 0: 0" in images["eval/confusion_matrix"]["description"]
  assert "ECE" in images["eval/reliability"]["description"]
  assert {"config", "classes", "constants"} <= set(_get(server, "/data/plugin/text/tags")[RUN])
  layout = _get(server, "/data/plugin/custom_scalars/layout")
  titles = [chart["title"] for category in layout["category"] for chart in category["chart"]]
  assert {"alpha per class", "test recall per class", "test precision per class"} <= set(titles)
  assert "class weight in force per class" not in titles  # never moved: no empty chart
  chart = next(chart for category in layout["category"] for chart in category["chart"]
               if chart["title"] == "test recall per class")
  pattern = chart["multiline"]["tag"][0]
  query = urllib.parse.urlencode({"run": RUN, "tag": pattern})
  drawn = _get(server, f"/data/plugin/custom_scalars/scalars?{query}")
  assert sorted(drawn["tag_to_events"]) == [f"recall/{c}" for c in range(4)]


def test_hparams_experiment_lists_only_the_final_metrics(server):
  experiment = _get(server, "/data/plugin/hparams/experiment", {"experimentName": ""})
  hparams = {info["name"] for info in experiment["hparamInfos"]}
  assert {"rule.name", "loss.name", "data.noise.rate", "seed", "rule.kwargs.decay"} <= hparams
  metrics = {info["name"]["tag"] for info in experiment["metricInfos"]}
  assert metrics == FINAL_METRICS
