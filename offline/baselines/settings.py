"""Checks shared by the library baselines' settings dataclasses."""

from __future__ import annotations


def check_settings(
    settings: object, positive: tuple[str, ...], non_negative: tuple[str, ...] = ()
) -> None:
    """Raises ValueError naming the first field of `positive` not > 0 or of
    `non_negative` below 0."""
    for field in positive:
        if not getattr(settings, field) > 0:
            raise ValueError(f"{field} must be positive, got {getattr(settings, field)!r}")
    for field in non_negative:
        if getattr(settings, field) < 0:
            raise ValueError(f"{field} must be >= 0, got {getattr(settings, field)!r}")
