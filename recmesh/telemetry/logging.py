"""structlog JSON logs that carry the current trace and span ids."""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog
from opentelemetry import trace


def add_trace_context(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: adds trace_id and span_id of the active span, if any."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict["trace_id"] = format(context.trace_id, "032x")
        event_dict["span_id"] = format(context.span_id, "016x")
    return event_dict


def _drop(logger: Any, method_name: str, event_dict: MutableMapping[str, Any]) -> Any:
    raise structlog.DropEvent


def configure_logging(service_name: str, level: str = "INFO", enabled: bool = True) -> None:
    """Configures structlog (process-wide, once, at a process entry point) for JSON lines
    on stderr with timestamp, level, service, trace_id and span_id. With enabled=False
    every line is dropped (level `level` is ignored)."""
    numeric_level = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    if not enabled:  # calls below CRITICAL are no-ops; CRITICAL lines are dropped first
        structlog.configure(
            processors=[_drop],
            wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL),
            logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
            cache_logger_on_first_use=True,
        )
        return
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            add_trace_context,
            structlog.processors.dict_tracebacks,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric_level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    structlog.contextvars.bind_contextvars(service=service_name)
