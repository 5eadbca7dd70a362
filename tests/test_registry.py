"""Registering a name again: the same factory replaces it, a different one fails clearly."""

import importlib.util

import pytest

import framework
from framework.config.registry import Registry

FACTORY_SOURCE = '''
def make_thing(size: int = 1):
  return ("thing", size, VERSION)
'''


def _load(path, module_name, version):
  """Executes the file at `path` as module `module_name` (like import_extra_modules does)."""
  spec = importlib.util.spec_from_file_location(module_name, path)
  module = importlib.util.module_from_spec(spec)
  module.VERSION = version
  spec.loader.exec_module(module)
  return module


def test_same_factory_again_replaces(tmp_path):
  registry = Registry("thing")
  path = tmp_path / "things.py"
  path.write_text(FACTORY_SOURCE)
  first = _load(path, "things", 1)
  registry.register("thing")(first.make_thing)
  second = _load(path, "things", 2)           # the module imported again by path
  registry.register("thing")(second.make_thing)
  assert registry.get("thing") is second.make_thing
  assert registry.build("thing", {"size": 3}) == ("thing", 3, 2)
  assert registry.names() == ["thing"]


def test_same_file_under_another_module_name_replaces(tmp_path):
  registry = Registry("thing")
  path = tmp_path / "things.py"
  path.write_text(FACTORY_SOURCE)
  registry.register("thing")(_load(path, "things", 1).make_thing)
  dotted = _load(path, "package.things", 2)   # the same file by its dotted name
  registry.register("thing")(dotted.make_thing)
  assert registry.build("thing") == ("thing", 1, 2)


def test_a_rerun_notebook_cell_replaces():
  registry = Registry("thing")
  cell = "def make_thing():\n  return 'v{}'\n"
  for version in (1, 2):
    namespace = {"__name__": "__main__"}
    exec(compile(cell.format(version), f"<cell {version}>", "exec"), namespace)  # noqa: S102
    registry.register("thing")(namespace["make_thing"])
  assert registry.build("thing") == "v2"


def test_a_different_factory_under_a_taken_name_fails():
  registry = Registry("rule")

  @registry.register("mine")
  def first():
    return 1

  def second():
    return 2

  with pytest.raises(ValueError) as error:
    registry.register("mine")(second)
  message = str(error.value)
  assert "rule 'mine' is already registered by" in message
  assert "first" in message and "second" in message and "\n" not in message
  assert registry.get("mine") is first


def test_framework_registries_accept_a_reloaded_user_module(tmp_path):
  """A user's rule file loaded twice by path (re-running a notebook cell that imports it)."""
  path = tmp_path / "user_rule.py"
  path.write_text("import framework\n\n"
                  "@framework.register_rule('reloaded_rule')\n"
                  "def reloaded_rule():\n  return framework.Rule()\n")
  try:
    for _ in range(2):
      _load(path, "user_rule", 0)
    assert "reloaded_rule" in framework.RULES
  finally:
    framework.RULES._factories.pop("reloaded_rule", None)
