"""Name -> factory registries; every component chosen in a config goes through one."""

from __future__ import annotations

import inspect
import numbers
import os
import re
from typing import Any, Callable, Generic, Mapping, TypeVar

from framework.errors import ConfigError, one_line

T = TypeVar("T")


def _origin(factory: Callable) -> tuple[str, str]:
  return getattr(factory, "__module__", ""), getattr(factory, "__qualname__", repr(factory))


def _source_file(factory: Callable) -> str | None:
  """The real path of the file defining `factory`, when Python knows it."""
  try:
    return os.path.realpath(inspect.getfile(factory))
  except (TypeError, OSError):
    return None


def same_factory(old: Callable, new: Callable) -> bool:
  """Whether `new` is `old` defined again: the same module and qualified name (a re-run
  notebook cell, a re-imported module), or the same file and qualified name (a module
  imported once by path and once by its dotted name)."""
  if old is new or _origin(old) == _origin(new):
    return True
  file = _source_file(old)
  return (file is not None and file == _source_file(new) and
          getattr(old, "__qualname__", None) == getattr(new, "__qualname__", ""))


# The scalar types a keyword argument's annotation or default names, and how each is said.
_SCALARS = {"bool": ("true or false", lambda v: isinstance(v, bool)),
            "int": ("an integer", lambda v: isinstance(v, numbers.Integral)
                    and not isinstance(v, bool)),
            "float": ("a number", lambda v: isinstance(v, numbers.Real)
                      and not isinstance(v, bool)),
            "str": ("a string", lambda v: isinstance(v, str)),
            "None": ("None", lambda v: v is None)}
_SEQUENCES = ("Sequence", "tuple", "list")  # an annotation "Sequence[int]": a list of ints


def _scalar_types(parameter: inspect.Parameter, none_is_number: bool) -> list[str]:
  """The scalar types (keys of _SCALARS) `parameter` takes by its annotation, else by the
  type of its default; [] when neither says (a callable, no default). A sequence of scalars
  ("Sequence[int]") is ["Sequence", "int"]."""
  annotation = parameter.annotation
  if annotation is not inspect.Parameter.empty:
    text = (annotation if isinstance(annotation, str)
            else getattr(annotation, "__name__", str(annotation)))
    words = [w for w in re.findall(r"\w+", text) if w != "Ellipsis"]
    sequence = bool(words) and words[0] in _SEQUENCES
    if sequence and ("|" in text or "Optional" in text):
      return []  # a sequence or something else: left to the factory
    items = words[1:] if sequence else words
    return words if items and all(w in _SCALARS for w in items) else []
  default = parameter.default
  if default is None:
    return ["float", "None"] if none_is_number else []
  kind = type(default).__name__
  return [kind] if kind in _SCALARS and kind != "None" else []


def check_kwarg_types(factory: Callable, kwargs: Mapping[str, Any], field: str,
                      none_is_number: bool = False) -> None:
  """A one-line ConfigError for a keyword argument of the wrong scalar type (a string where
  a number or true / false is meant), before the factory gets it: its own error would come
  late or name nothing. `none_is_number`: a parameter defaulting to None takes a number
  (as Keras optimizers' clipnorm, weight_decay, ...)."""
  try:
    params = inspect.signature(factory).parameters
  except (TypeError, ValueError):
    return
  for key, value in kwargs.items():
    if key not in params:
      continue
    types = _scalar_types(params[key], none_is_number)
    if types and types[0] in _SEQUENCES:
      allowed = " or ".join(_SCALARS[t][0] for t in types[1:])
      if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)) or not all(
          any(_SCALARS[t][1](item) for t in types[1:]) for item in value):
        raise ConfigError(f"{field}.kwargs.{key}={value!r} must be a list, each item "
                          f"{allowed}")
    elif types and not any(_SCALARS[t][1](value) for t in types):
      allowed = " or ".join(_SCALARS[t][0] for t in types)
      raise ConfigError(f"{field}.kwargs.{key}={value!r} must be {allowed}")


class Registry(Generic[T]):
  """Maps names to factories and builds them from config kwargs, failing loudly.

  `context` values (for example `class_counts`) are passed to a factory only if its
  signature names them, so factories declare what they need. Registering the same
  factory again (`same_factory`: e.g. a re-run notebook cell) replaces it; a different
  factory under a taken name is an error.
  """

  def __init__(self, kind: str):
    self.kind = kind
    self._factories: dict[str, Callable[..., T]] = {}

  def register(self, name: str | None = None) -> Callable[[Callable[..., T]], Callable[..., T]]:
    def decorator(factory: Callable[..., T]) -> Callable[..., T]:
      key = name or factory.__name__
      old = self._factories.get(key)
      if old is not None and not same_factory(old, factory):
        raise ValueError(
            f"{self.kind} {key!r} is already registered by {'.'.join(_origin(old))}; "
            f"{'.'.join(_origin(factory))} cannot take the same name (choose another name)")
      self._factories[key] = factory
      return factory
    return decorator

  def names(self) -> list[str]:
    return sorted(self._factories)

  def __contains__(self, name: str) -> bool:
    return name in self._factories

  def get(self, name: str, field: str | None = None) -> Callable[..., T]:
    if not isinstance(name, str) or name not in self._factories:
      raise ConfigError(
          f"{field or self.kind}={name!r} is not a known {self.kind}; "
          f"known: {', '.join(self.names())}")
    return self._factories[name]

  def parameters(self, name: str, context: Mapping[str, Any] = ()) -> dict[str, Any]:
    """The kwargs a config may set for `name`, with their defaults (inspect.Parameter.empty
    for required ones); context entries the factory receives are left out."""
    params = inspect.signature(self.get(name)).parameters
    return {k: p.default for k, p in params.items() if k not in context and
            p.kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)}

  def build(self, name: str, kwargs: Mapping[str, Any] | None = None,
            field: str | None = None, context: Mapping[str, Any] | None = None) -> T:
    """Calls the factory with `kwargs` plus the `context` entries it accepts.

    Unknown kwargs and the factory's own ValueErrors and TypeErrors (a bad value, or one
    of the wrong type) become one-line ConfigErrors naming `field`.
    """
    field = field or self.kind
    context = dict(context or {})
    factory = self.get(name, f"{field}.name")
    kwargs = dict(kwargs or {})
    params = inspect.signature(factory).parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    unknown = [k for k in kwargs if k not in params and not takes_any]
    if unknown:
      allowed = self.parameters(name, context)
      raise ConfigError(
          f"{field}.kwargs.{unknown[0]} is not a parameter of {self.kind} {name!r}; "
          f"allowed: {', '.join(allowed) or 'none'}")
    check_kwarg_types(factory, kwargs, field)
    for key, value in context.items():
      if key in params and key not in kwargs:
        kwargs[key] = value
    try:
      return factory(**kwargs)
    except ConfigError:
      raise
    except (ValueError, TypeError) as e:
      raise ConfigError(f"{field} ({name}): {one_line(e)}") from None
