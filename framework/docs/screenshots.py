r"""Screenshots of TensorBoard's dashboards: the README's two runs, and 8 runs side by side.

  python -m framework.docs.screenshots [--out=framework/docs/screenshots] [--runs=/tmp/shots]

Trains, unless they exist, the README's two runs (the default experiment, and digits with
30% symmetric noise and `loss_ema`) into RUNS/pair/{default,noisy} and 8 seeds of the
default experiment at 6 epochs, evaluated every epoch, into RUNS/seeds/run<i>. Serves each folder with TensorBoard
and photographs its dashboards with headless Chromium (`apt-get install chromium`) into
OUT/<name>.png, with "Ignore outliers in chart scaling" off, so every class's line shows.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

from absl import app, flags
from framework.runs import files

_OUT = flags.DEFINE_string("out", os.path.join(os.path.dirname(__file__), "screenshots"),
                           "Folder the PNG files are written to.")
_RUNS = flags.DEFINE_string("runs", "/tmp/shots", "Folder of the runs (pair/, seeds/).")
_WAIT_S = flags.DEFINE_integer("wait_s", 20, "Seconds a page is given to load its charts.")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEEDS = 8
RUNS = {  # folder/run: launch.py flags
    "pair/default": [],
    "pair/noisy": ["--config.data.noise.kind=symmetric", "--config.data.noise.rate=0.3",
                   "--config.rule.name=loss_ema", "--config.train.epochs=15"],
    **{f"seeds/run{i}": [f"--config.seed={i}", "--config.train.epochs=6",
                         "--config.train.eval_every_epochs=1"] for i in range(SEEDS)},
}
SHOTS = {  # picture: (folder, dashboard URL fragment)
    "scalars": ("pair", "#scalars"),
    "custom_scalars": ("pair", "#custom_scalars"),
    "images": ("pair", "#images"),
    "hparams": ("pair", "#hparams"),
    "scalars_8_runs": ("seeds", "#scalars"),
    "scalars_8_runs_recall": ("seeds", "#scalars&tagFilter=%5Erecall%2F"),
    "time_series_8_runs": ("seeds", "#timeseries"),
}
SIZE = (1500, 1100)
# TensorBoard keeps its chart settings in the browser's localStorage (Scalars and Custom
# Scalars; Time Series): outliers not ignored, so the y-axis spans every value instead of
# the 5th to 95th percentile, which hides the weakest classes.
SETTINGS = {"_ignoreYOutliers": "false", "_tb_global_settings": '{"ignoreOutliers": false}'}


def train(runs: str) -> None:
  for name, flags_ in RUNS.items():
    workdir = os.path.join(runs, name)
    if os.path.exists(os.path.join(workdir, files.RESULTS)):
      continue
    print(f"training {name} into {workdir}", flush=True)
    subprocess.run([sys.executable, os.path.join(ROOT, "launch.py"), f"--workdir={workdir}",
                    *flags_], check=True, stdout=subprocess.DEVNULL)


def free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


def serve(logdir: str, port: int) -> subprocess.Popen:
  """TensorBoard on `logdir`, once it answers."""
  server = subprocess.Popen([sys.executable, "-m", "tensorboard.main", f"--logdir={logdir}",
                             f"--port={port}", "--host=127.0.0.1"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
  for _ in range(120):
    try:
      urllib.request.urlopen(f"http://127.0.0.1:{port}/data/runs", timeout=2)
      return server
    except OSError:
      time.sleep(0.5)
  server.kill()
  raise RuntimeError("TensorBoard did not start within 60 s")


class Chromium:
  """Headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe:
  it reads commands on fd 3, answers on fd 4, each a JSON text ending in a NUL byte), one
  page: enough to set localStorage, load a page and photograph it."""

  def __init__(self):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
      raise RuntimeError("no chromium on PATH; apt-get install chromium")
    commands, self._to_browser = os.pipe()
    self._from_browser, answers = os.pipe()
    # fds >= 10 for the child's ends, so placing them at 3 and 4 cannot overwrite either
    ends = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (commands, answers)]

    def at_3_and_4():
      os.dup2(ends[0], 3)
      os.dup2(ends[1], 4)

    self.process = subprocess.Popen(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--remote-debugging-pipe", f"--window-size={SIZE[0]},{SIZE[1]}", "about:blank"],
        preexec_fn=at_3_and_4, close_fds=False,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for fd in (commands, answers, *ends):
      os.close(fd)
    self._buffer, self._id, self._session = b"", 0, None
    target = self.send("Target.createTarget", url="about:blank")["targetId"]
    self._session = self.send("Target.attachToTarget", targetId=target,
                              flatten=True)["sessionId"]
    self.send("Emulation.setDeviceMetricsOverride", width=SIZE[0], height=SIZE[1],
              deviceScaleFactor=1, mobile=False)

  def send(self, method: str, **params) -> dict:
    """The result of one command (events in between are skipped)."""
    self._id += 1
    message = {"id": self._id, "method": method, "params": params}
    if self._session:
      message["sessionId"] = self._session
    os.write(self._to_browser, json.dumps(message).encode() + b"\0")
    while True:
      while b"\0" not in self._buffer:
        chunk = os.read(self._from_browser, 1 << 16)
        if not chunk:
          raise RuntimeError(f"chromium closed the pipe during {method}")
        self._buffer += chunk
      text, self._buffer = self._buffer.split(b"\0", 1)
      answer = json.loads(text)
      if answer.get("id") == self._id:
        if "error" in answer:
          raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]

  def open(self, url: str) -> None:
    """Loads `url` afresh and waits until the document has loaded."""
    self.send("Page.navigate", url="about:blank")
    self.send("Page.navigate", url=url)
    for _ in range(120):
      state = self.send("Runtime.evaluate", expression="document.readyState")
      if state["result"].get("value") == "complete":
        return
      time.sleep(0.5)
    raise RuntimeError(f"{url} did not load within 60 s")

  def set_local_storage(self, values: dict[str, str]) -> None:
    """localStorage of the page's origin (the page must be open)."""
    for key, value in values.items():
      self.send("Runtime.evaluate",
                expression=f"localStorage.setItem({json.dumps(key)}, {json.dumps(value)})")

  def screenshot(self, path: str) -> None:
    with open(path, "wb") as f:
      f.write(base64.b64decode(self.send("Page.captureScreenshot", format="png")["data"]))

  def close(self) -> None:
    try:
      self.send("Browser.close")
    except RuntimeError:
      pass  # closing closes the pipe, sometimes before the answer
    self.process.wait(timeout=30)
    os.close(self._to_browser)
    os.close(self._from_browser)


def photograph(logdir: str, shots: dict[str, str], out: str, wait_s: int) -> None:
  """{picture: URL fragment} of TensorBoard on `logdir`, into out/<picture>.png."""
  port = free_port()
  server = serve(logdir, port)
  browser = Chromium()
  try:
    base = f"http://127.0.0.1:{port}/"
    browser.open(base)
    browser.set_local_storage(SETTINGS)
    for name, fragment in shots.items():
      browser.open(base + fragment)
      time.sleep(wait_s)  # the dashboards fetch their data after the page has loaded
      path = os.path.join(out, f"{name}.png")
      browser.screenshot(path)
      print(f"wrote {path}")
  finally:
    browser.close()
    server.terminate()
    server.wait()


def main(argv):
  del argv
  os.makedirs(_OUT.value, exist_ok=True)
  train(_RUNS.value)
  for folder in dict.fromkeys(folder for folder, _ in SHOTS.values()):
    photograph(os.path.join(_RUNS.value, folder),
               {name: fragment for name, (f, fragment) in SHOTS.items() if f == folder},
               _OUT.value, _WAIT_S.value)


if __name__ == "__main__":
  app.run(main)
