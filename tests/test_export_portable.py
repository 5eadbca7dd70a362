"""model.keras holds only Keras's own layers: a process that never imports the framework
loads it with plain `keras.saving.load_model` and gets the run's logits, for every
built-in model, both heads, and co-teaching's peers (the first peer answers). A preset
(a family's builder at a fixed size) is checked through its family's small member."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # subprocesses

from framework import data as data_lib
from framework.data.augment import normalize
from framework.models import MODELS, PeerModel
from framework.models.standard import standardization
from framework.runs import export
from framework.runs.reader import FinishedRun
from framework.runs.rundir import RunDir
from framework.train import experiment
from tests.helpers import synthetic_config

SIZE, CLASSES = 32, 5
SMALL = {"mlp": {"hidden": (8,)}, "small_cnn": {"filters": (4, 8), "dense": 8},
         "resnet_cifar": {"depth": 8}, "wrn": {"depth": 10, "width": 1},
         "keras_app": {"name": "MobileNetV2", "alpha": 0.35}}
COSINE = ("linear", "small_cnn", "resnet20", "keras_app")  # a Sequential, Functionals, nested
# resnet_cifar and wrn at fixed sizes (resnet20, a preset too, stays for its cosine head)
PRESETS = ("resnet32", "resnet44", "resnet56", "resnet110", "wrn28_10")
CASES = ([(name, "linear") for name in MODELS.names() if name not in PRESETS]
         + [(name, "cosine") for name in COSINE])

LOAD_WITHOUT_FRAMEWORK = """
import json, sys
import keras, numpy as np
paths, inputs, out = json.loads(sys.argv[1]), np.load(sys.argv[2]), sys.argv[3]
logits = {case: keras.saving.load_model(path).predict(inputs, verbose=0)
          for case, path in paths.items()}
np.savez(out, **logits)
assert "framework" not in sys.modules, "a framework module was imported"
"""


def _image_data(root) -> data_lib.DataBundle:
  """uint8 images the pipeline scales by 255 and standardises per channel."""
  rng = np.random.default_rng(0)
  np.savez(root / "images.npz", x=rng.integers(0, 256, (40, SIZE, SIZE, 3), dtype=np.uint8),
           y=np.arange(40) % CLASSES)
  config = synthetic_config(data__source="npz", data__path=str(root / "images.npz"),
                            data__long_tail={"profile": "none", "imbalance_ratio": 1.0},
                            data__mean=(0.49, 0.48, 0.45), data__std=(0.25, 0.24, 0.26))
  return data_lib.build(config.data)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
  """Each case exported by the run's export: its file, its model, the logits of the serving
  model and of the training model (on the pipeline's inputs), and those a framework-free
  process gets from the file; all on the same raw images."""
  root = tmp_path_factory.mktemp("portable")
  data = _image_data(root)
  raw = np.random.default_rng(1).integers(0, 256, (3, SIZE, SIZE, 3)).astype(np.float32)
  np.save(root / "images.npy", raw)
  pipeline = normalize(raw, data.transform.pixel_max, data.transform.mean, data.transform.std)
  cases = {}
  for name, head in CASES:
    model = MODELS.get(name)((SIZE, SIZE, 3), CLASSES, **SMALL.get(name, {}), head=head)
    cases[f"{name}-{head}"] = _export(root / f"{name}-{head}", model, data, raw, pipeline)
  peers = experiment.build(synthetic_config(rule__name="co_teaching", train__batch_size=8,
                                            model__name="small_cnn",
                                            model__kwargs=SMALL["small_cnn"]), data=data).model
  assert isinstance(peers, PeerModel)
  cases["co_teaching"] = _export(root / "co_teaching", peers, data, raw, pipeline)
  paths = {case: c["path"] for case, c in cases.items()}
  env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
  result = subprocess.run([sys.executable, "-c", LOAD_WITHOUT_FRAMEWORK, json.dumps(paths),
                           str(root / "images.npy"), str(root / "loaded.npz")],
                          cwd=root, env=env, capture_output=True, text=True, timeout=900)
  assert result.returncode == 0, result.stderr[-3000:]
  loaded = np.load(root / "loaded.npz")
  return {case: {**c, "loaded": loaded[case]} for case, c in cases.items()}


def _export(workdir, model, data, raw, pipeline) -> dict:
  os.makedirs(workdir)
  serving = export.export(model, data, RunDir(str(workdir)), saved_model=False)
  return {"path": str(workdir / export.MODEL_FILE), "model": model,
          "serving": serving(raw).numpy(), "training": model(pipeline, training=False).numpy()}


@pytest.mark.parametrize("case", [f"{name}-{head}" for name, head in CASES] + ["co_teaching"])
def test_plain_keras_loads_the_export_with_the_same_logits(exported, case):
  c = exported[case]
  np.testing.assert_allclose(c["loaded"], c["serving"], rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(c["loaded"], c["training"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", ["resnet20-cosine", "small_cnn-cosine", "co_teaching"])
def test_trained_model_holds_the_training_weights(exported, case):
  """model.init_from copies these weights into a new model: they must be the trained ones."""
  c = exported[case]
  model = c["model"].networks[0] if case == "co_teaching" else c["model"]
  trained = FinishedRun(os.path.dirname(c["path"])).trained_model()
  assert len(trained.weights) == len(model.weights)
  for ours, theirs in zip(trained.get_weights(), model.get_weights()):
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("pixel_max, mean, std", [
    (255.0, (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    (1.0, (3.0, -2.0, 7e5), (1e-9, 3e25, 0.3)),  # outside Normalization's exact range
    (65535.0, (0.5, 0.5, 0.5), (1.0, 1.0, 1.0))])
def test_standardization_is_the_pipelines_arithmetic(pixel_max, mean, std):
  x = np.random.default_rng(2).normal(size=(16, 4, 4, 3)).astype(np.float32) * 300
  expected = normalize(x, pixel_max, mean, std).numpy()
  layers = standardization(0.0, pixel_max, "pixels") + standardization(mean, std, "channels")
  for layer in layers:
    x = layer(x)
  np.testing.assert_array_equal(np.asarray(x), expected)
