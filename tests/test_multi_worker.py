"""Several hosts: MultiWorkerMirroredStrategy over two processes on loopback == one device."""

import json
import os
import socket

import numpy as np
import pytest

from tests.test_launch import _checkpoint_values, launch, launch_here

pytestmark = pytest.mark.slow  # every test trains or starts a process

ARGS = ["--config.data.source=synthetic", "--config.data.num_samples=512",
        "--config.model.name=linear", "--config.train.batch_size=32",
        "--config.train.epochs=2", "--config.deterministic=True"]


def _free_ports(n):
  sockets = [socket.socket() for _ in range(n)]
  for s in sockets:
    s.bind(("127.0.0.1", 0))
  ports = [s.getsockname()[1] for s in sockets]
  for s in sockets:
    s.close()
  return ports


def test_two_workers_match_one_device(tmp_path):
  cluster = {"worker": [f"127.0.0.1:{p}" for p in _free_ports(2)]}
  workers = []
  for i in range(2):
    os.environ["TF_CONFIG"] = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})
    try:
      workers.append(launch(*ARGS, "--config.strategy.name=multi_worker",
                            workdir=tmp_path / f"worker{i}", wait=False))
    finally:
      del os.environ["TF_CONFIG"]
  single = launch_here(*ARGS, "--config.strategy.name=one_device", workdir=tmp_path / "single")
  outputs = [w.communicate(timeout=300)[0] for w in workers]
  assert single.returncode == 0, single.stderr[-2000:]
  assert all(w.returncode == 0 for w in workers), outputs[0][-2000:] + outputs[1][-2000:]
  one = _checkpoint_values(tmp_path / "single")
  for i in range(2):
    many = _checkpoint_values(tmp_path / f"worker{i}")
    assert one.keys() == many.keys()
    for key in one:
      np.testing.assert_allclose(np.asarray(one[key], float), np.asarray(many[key], float),
                                 atol=1e-5, err_msg=key)
