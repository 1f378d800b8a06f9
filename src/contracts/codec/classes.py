"""The table of generated classes by Avro full name, and how a class finds the classes its fields use."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

Resolver = Callable[[str], Any]


def resolver(cls: Any) -> Resolver:
    """Find the generated class (record or enum) for a full name, from the class's module first."""

    def resolve(fullname: str) -> Any:
        module = sys.modules.get(cls.__module__)
        candidates: list[Any] = list(vars(module).values()) if module else []
        for obj in candidates:
            if isinstance(obj, type) and getattr(obj, "__avro_fullname__", None) == fullname:
                return obj
        found = CLASSES.get(fullname)
        if found is None:
            raise LookupError(f"no generated class for Avro type '{fullname}' (needed by {cls.__name__})")
        return found

    return resolve


CLASSES: dict[str, Any] = {}
"""Generated classes by Avro full name, the last one defined for a name winning; read it with ``class_for``."""


def avro_class(cls: Any) -> Any:
    """Record a generated class (record or enum) under its Avro full name; generated modules use it as a decorator."""
    CLASSES[cls.__avro_fullname__] = cls
    return cls


def class_for(fullname: str) -> Any:
    """The generated class recorded for ``fullname`` (``None`` when there is none)."""
    return CLASSES.get(fullname)


def known_classes() -> dict[str, Any]:
    """A copy of the table: every generated class imported so far, by full name."""
    return dict(CLASSES)
