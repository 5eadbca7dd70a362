"""The house rules of the package layout: layers import downwards only, the root stays
small, no module shadows the standard library, every workdir file name is spelled once."""

import ast
import pathlib
import re
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent / "framework"

# Bottom to top: a module may import its own layer and the layers below it.
LAYERS = [
    {"errors", "lazy", "startup"},
    {"config"},
    {"data"},
    {"models"},
    {"losses"},
    {"weights"},
    {"evaluation"},
    {"runs"},
    {"train"},
    {"summaries"},
    {"api", "tools", "__init__"},
    {"report", "sweeps"},
    {"studies", "bench", "docs", "experiments"},
]
# Modules that assemble the layers above their package's own (the run itself).
ASSEMBLERS = {"framework.train.runner"}


def _layer(package: str) -> int:
  return next(i for i, layer in enumerate(LAYERS) if package in layer)


def _modules():
  for path in sorted(ROOT.rglob("*.py")):
    yield path, ".".join(path.relative_to(ROOT.parent).with_suffix("").parts)


def _imports(path: pathlib.Path):
  for node in ast.walk(ast.parse(path.read_text())):
    if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("framework"):
      if node.module == "framework":
        yield from (f"framework.{alias.name}" for alias in node.names)
      else:
        yield node.module
    elif isinstance(node, ast.Import):
      yield from (a.name for a in node.names if a.name.startswith("framework."))


def _package(module: str) -> str:
  parts = module.split(".")
  return parts[1] if len(parts) > 1 else "__init__"


def test_every_package_has_a_layer():
  packages = {_package(module) for _, module in _modules()}
  assert packages <= set().union(*LAYERS), packages - set().union(*LAYERS)


@pytest.mark.parametrize("path,module", list(_modules()), ids=lambda v: str(v))
def test_imports_point_down(path, module):
  if module in ASSEMBLERS:
    return
  own = _layer(_package(module))
  upward = [imported for imported in _imports(path) if _layer(_package(imported)) > own]
  assert not upward, f"{module} imports from a higher layer: {upward}"


def test_the_root_holds_only_the_package_face():
  assert len(list(ROOT.glob("*.py"))) <= 6, sorted(p.name for p in ROOT.glob("*.py"))


def test_no_module_is_named_after_the_standard_library():
  names = {p.stem for p in ROOT.rglob("*.py")} | {p.name for p in ROOT.rglob("*") if p.is_dir()}
  assert not names & set(sys.stdlib_module_names)


@pytest.mark.parametrize("name", ["results.json", "config.json", "model.keras", "data.json",
                                  "data_fingerprint.json",
                                  "history.jsonl", "noise.npz", "labels.npy", "tracked.json",
                                  "sweep.log"])
def test_each_workdir_file_name_is_spelled_in_one_module(name):
  spelled = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*.py")
             if re.search(r"[\"']" + re.escape(name) + r"[\"']", p.read_text())]
  assert spelled == ["runs/files.py"], spelled
