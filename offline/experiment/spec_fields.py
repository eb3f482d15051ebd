"""Readers of one spec field each: type and range checked, errors naming the field."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import fields
from typing import Any, TypeVar

T = TypeVar("T")


class SpecError(ValueError):
    """A spec that cannot run; `field` names the offending field."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


def dataclass_of(cls: type[T], body: Mapping[str, Any], where: str) -> T:
    """cls(**body) after checking every key is a field and every value has its type."""
    declared = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    known(body, where, set(declared))
    values: dict[str, Any] = {}
    for key, value in body.items():
        default = getattr(cls, key, None)
        name = f"{where}.{key}"
        if isinstance(default, bool):
            raise SpecError(name, "unsupported boolean field")
        if isinstance(default, int):
            values[key] = integer(value, name)
        elif isinstance(default, float):
            values[key] = number(value, name)
        else:
            values[key] = text(value, name)
    try:
        return cls(**values)
    except ValueError as exc:
        raise SpecError(where, str(exc)) from None


def mapping(raw: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(raw, dict):
        raise SpecError(where, f"must be a mapping, got {type(raw).__name__}")
    return raw


def known(body: Mapping[str, Any], where: str, allowed: set[str]) -> None:
    unknown = sorted(str(key) for key in body if key not in allowed)
    if unknown:
        raise SpecError(
            f"{where}.{unknown[0]}" if where != "spec" else unknown[0],
            f"unknown field (allowed: {', '.join(sorted(allowed))})",
        )


def required(body: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in body or body[key] is None:
        raise SpecError(key if where == "spec" else f"{where}.{key}", "is missing")
    return body[key]


def text(raw: Any, where: str, empty: bool = False) -> str:
    if not isinstance(raw, str) or (not empty and not raw.strip()):
        raise SpecError(where, f"must be a non-empty string, got {raw!r}")
    return raw


def integer(raw: Any, where: str, low: int | None = None, high: int | None = None) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise SpecError(where, f"must be an integer, got {raw!r}")
    if low is not None and raw < low:
        raise SpecError(where, f"must be at least {low}, got {raw}")
    if high is not None and raw > high:
        raise SpecError(where, f"must be at most {high}, got {raw}")
    return raw


def number(raw: Any, where: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise SpecError(where, f"must be a finite number, got {raw!r}")
    return float(raw)


def fraction(raw: Any, where: str) -> float:
    value = number(raw, where)
    if not 0 < value < 1:
        raise SpecError(where, f"must be strictly between 0 and 1, got {value}")
    return value
