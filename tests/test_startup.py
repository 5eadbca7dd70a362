"""TensorFlow loads silently after `import framework`, whatever TF_CPP_MIN_LOG_LEVEL says,
with oneDNN as TensorFlow sets it; a failed import still shows everything it wrote."""

import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow  # subprocesses

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

ONEDNN = ("from tensorflow.python.util import _pywrap_util_port; "
          "print(_pywrap_util_port.IsMklEnabled())")


def _python(code, pythonpath=ROOT, **env):
  environ = {k: v for k, v in os.environ.items() if not k.startswith("TF_")}
  return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                        env=dict(environ, PYTHONPATH=pythonpath, **env), timeout=300)


def test_tensorflow_loads_silently_with_onednn_untouched():
  quiet = _python("import framework, importlib.util, os; "
                  "importlib.util.find_spec('tensorflow'); "  # a look that loads nothing
                  f"import tensorflow; {ONEDNN}; print(os.environ.get('TF_ENABLE_ONEDNN_OPTS'))",
                  TF_CPP_MIN_LOG_LEVEL="0")
  assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
  plain = _python(f"import tensorflow; {ONEDNN}")  # without the framework
  assert quiet.stdout.split() == [plain.stdout.strip(), "None"]


def test_a_failed_import_shows_what_it_wrote_and_raises(tmp_path):
  (tmp_path / "tensorflow").mkdir()
  (tmp_path / "tensorflow" / "__init__.py").write_text(
      "import os\n"
      "os.write(2, b'libtensorflow_framework.so.2: cannot open shared object file\\n')\n"
      "raise ImportError('no native library')\n")
  run = _python("import framework, os\ntry:\n  import tensorflow\nexcept ImportError as e:\n"
                "  print('raised', e)\nos.write(2, b'stderr restored\\n')\n",
                pythonpath=f"{tmp_path}{os.pathsep}{ROOT}")
  assert run.stdout == "raised no native library\n"
  assert run.stderr.splitlines() == [
      "libtensorflow_framework.so.2: cannot open shared object file", "stderr restored"]
