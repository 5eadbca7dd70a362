"""Name -> factory registries; every component chosen in a config goes through one."""

from __future__ import annotations

import inspect
import os
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
    for key, value in context.items():
      if key in params and key not in kwargs:
        kwargs[key] = value
    try:
      return factory(**kwargs)
    except ConfigError:
      raise
    except (ValueError, TypeError) as e:
      raise ConfigError(f"{field} ({name}): {one_line(e)}") from None
