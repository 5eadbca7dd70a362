"""Name -> factory registries; every component chosen in a config goes through one."""

from __future__ import annotations

import inspect
from typing import Any, Callable, Generic, Mapping, TypeVar

from framework.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
  """Maps names to factories and builds them from config kwargs, failing loudly.

  `context` values (for example `class_counts`) are passed to a factory only if its
  signature names them, so factories declare what they need.
  """

  def __init__(self, kind: str):
    self.kind = kind
    self._factories: dict[str, Callable[..., T]] = {}

  def register(self, name: str | None = None) -> Callable[[Callable[..., T]], Callable[..., T]]:
    def decorator(factory: Callable[..., T]) -> Callable[..., T]:
      key = name or factory.__name__
      if key in self._factories and self._factories[key] is not factory:
        raise ValueError(f"{self.kind} {key!r} is registered twice")
      self._factories[key] = factory
      return factory
    return decorator

  def names(self) -> list[str]:
    return sorted(self._factories)

  def __contains__(self, name: str) -> bool:
    return name in self._factories

  def get(self, name: str, field: str | None = None) -> Callable[..., T]:
    if name not in self._factories:
      raise ConfigError(
          f"{field or self.kind}={name!r} is not a known {self.kind}; "
          f"known: {', '.join(self.names())}")
    return self._factories[name]

  def build(self, name: str, kwargs: Mapping[str, Any] | None = None,
            field: str | None = None, context: Mapping[str, Any] | None = None) -> T:
    """Calls the factory with `kwargs` plus the `context` entries it accepts.

    Unknown kwargs and the factory's own ValueErrors become one-line ConfigErrors.
    """
    field = field or self.kind
    factory = self.get(name, f"{field}.name")
    kwargs = dict(kwargs or {})
    params = inspect.signature(factory).parameters
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    allowed = [p for p in params if p not in (context or {}) and
               params[p].kind not in (inspect.Parameter.VAR_KEYWORD,
                                      inspect.Parameter.VAR_POSITIONAL)]
    unknown = [k for k in kwargs if k not in params and not takes_any]
    if unknown:
      raise ConfigError(
          f"{field}.kwargs.{unknown[0]} is not a parameter of {self.kind} {name!r}; "
          f"allowed: {', '.join(allowed) or 'none'}")
    for key, value in (context or {}).items():
      if key in params and key not in kwargs:
        kwargs[key] = value
    try:
      return factory(**kwargs)
    except ConfigError:
      raise
    except ValueError as e:
      raise ConfigError(f"{field} ({name}): {e}") from None
