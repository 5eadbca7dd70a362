r"""Screenshots of TensorBoard's dashboards for the default run and a noisy run.

  python -m framework.docs.screenshots [--out=framework/docs/screenshots] [--runs=/tmp/shots]

Trains the README's two runs (the default experiment, and digits with 30% symmetric noise
and `loss_ema`) into RUNS/default and RUNS/noisy unless they exist, serves RUNS with
TensorBoard, and photographs the Scalars, Custom Scalars, Images and HParams dashboards
with headless Chromium (`apt-get install chromium`) into OUT/<dashboard>.png.
"""

from __future__ import annotations

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
_RUNS = flags.DEFINE_string("runs", "/tmp/shots", "Folder of the two runs (TensorBoard logdir).")
_WAIT_MS = flags.DEFINE_integer("wait_ms", 20000, "Chromium's virtual time budget per page.")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RUNS = {
    "default": [],
    "noisy": ["--config.data.noise.kind=symmetric", "--config.data.noise.rate=0.3",
              "--config.rule.name=loss_ema", "--config.train.epochs=15"],
}
DASHBOARDS = {"scalars": "#scalars", "custom_scalars": "#custom_scalars",
              "images": "#images", "hparams": "#hparams"}


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


def serve(runs: str, port: int) -> subprocess.Popen:
  """TensorBoard on `runs`, once it answers."""
  server = subprocess.Popen([sys.executable, "-m", "tensorboard.main", f"--logdir={runs}",
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


def photograph(url: str, path: str, wait_ms: int) -> None:
  browser = shutil.which("chromium") or shutil.which("chromium-browser")
  if browser is None:
    raise RuntimeError("no chromium on PATH; apt-get install chromium")
  subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                  "--window-size=1500,1100", f"--virtual-time-budget={wait_ms}",
                  f"--screenshot={path}", url], check=True, capture_output=True, timeout=180)


def main(argv):
  del argv
  os.makedirs(_OUT.value, exist_ok=True)
  train(_RUNS.value)
  port = free_port()
  server = serve(_RUNS.value, port)
  try:
    for name, fragment in DASHBOARDS.items():
      path = os.path.join(_OUT.value, f"{name}.png")
      photograph(f"http://127.0.0.1:{port}/{fragment}", path, _WAIT_MS.value)
      print(f"wrote {path}")
  finally:
    server.terminate()
    server.wait()


if __name__ == "__main__":
  app.run(main)
