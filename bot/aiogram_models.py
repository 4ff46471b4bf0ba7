"""aiogram's Bot API models, built when first used instead of at import.

aiogram defines about 900 pydantic models (every Bot API type and method) and,
at the end of `aiogram.types`, rebuilds every type to resolve its forward
references. That builds every model's validator and serializer at import:
about 110 MB of RSS (aiogram issue #1513), of which the bot needs the few dozen
behind updates, messages, callback queries and the dozen methods the transport
calls (measured in bench/bench_updates.py, see docs/architecture.md).

`import_aiogram()` imports aiogram with those rebuilds deferred. The models
keep pydantic's deferred validators (aiogram declares its types
`defer_build=True`) and build on first use, resolving their forward
references with the very namespace aiogram passed to its rebuilds (every
aiogram model's `model_rebuild` gets it). `build(...)` builds the given models
at once — the transport calls it at start for what it uses, so a problem
shows when the bot starts, not in a conversation. If aiogram no longer
rebuilds this way (nothing was deferred), everything is as it was.
"""
from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import Any

log = logging.getLogger(__name__)

_state: dict[str, Any] = {}


def import_aiogram() -> bool:
    """Import aiogram with its models' import-time rebuilds deferred (once per
    process, before anything else imports aiogram); True if they were."""
    if "deferred" in _state:
        return bool(_state["deferred"])
    if "aiogram" in sys.modules:  # imported before: built already, nothing to save
        _state["deferred"] = False
        return False
    from pydantic import BaseModel

    original = BaseModel.__dict__["model_rebuild"]  # the classmethod itself
    rebuild = original.__func__
    captured: dict[str, Any] = {}

    def deferred(cls: type[BaseModel], *, force: bool = False, raise_errors: bool = True,
                 _parent_namespace_depth: int = 2, _types_namespace: Any = None) -> bool | None:
        if _types_namespace is not None and not force and cls.__module__.startswith("aiogram."):
            captured.setdefault("namespace", _types_namespace)
            return None  # built on first use (see _install)
        return rebuild(cls, force=force, raise_errors=raise_errors,
                       _parent_namespace_depth=_parent_namespace_depth + 1, _types_namespace=_types_namespace)

    BaseModel.model_rebuild = classmethod(deferred)  # type: ignore[method-assign,assignment]
    try:
        import aiogram  # noqa: F401
        import aiogram.methods.base  # noqa: F401
        import aiogram.types.base  # noqa: F401
    finally:
        BaseModel.model_rebuild = original  # type: ignore[method-assign]
    namespace = captured.get("namespace")
    _state["deferred"] = namespace is not None
    if namespace is not None:
        _install(rebuild, dict(namespace))
    return namespace is not None


def _install(rebuild: Any, namespace: dict[str, Any]) -> None:
    """Every aiogram model's `model_rebuild` (also the one pydantic calls on a
    model's first use) resolves forward references with aiogram's namespace."""
    from aiogram.methods.base import Request, Response, TelegramMethod
    from aiogram.types.base import TelegramObject

    def with_types(cls: Any, *, force: bool = False, raise_errors: bool = True,
                   _parent_namespace_depth: int = 2, _types_namespace: Any = None) -> bool | None:
        types = namespace if _types_namespace is None else {**namespace, **dict(_types_namespace)}
        return rebuild(cls, force=force, raise_errors=raise_errors,
                       _parent_namespace_depth=_parent_namespace_depth + 1, _types_namespace=types)

    for root in (TelegramObject, TelegramMethod, Request, Response):
        root.model_rebuild = classmethod(with_types)  # type: ignore[method-assign,assignment]
    _state["namespace"] = namespace


def build(models: Iterable[Any]) -> None:
    """Build these aiogram models now (no-op for those built already); raises
    if one cannot be built — better at start than in a conversation."""
    for model in models:
        if not getattr(model, "__pydantic_complete__", True):
            if model.model_rebuild(raise_errors=True) is False or not model.__pydantic_complete__:
                raise RuntimeError(f"aiogram model {model.__name__} could not be built")
