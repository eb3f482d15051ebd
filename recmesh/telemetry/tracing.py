"""Tracer provider set-up: OTLP over the standard OTEL_* variables, plus a span file."""

from __future__ import annotations

import os
from pathlib import Path

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

from recmesh.telemetry.span_file import JsonLinesSpanExporter


def otlp_configured() -> bool:
    """True when the standard OTEL_EXPORTER_OTLP_* variables name an endpoint."""
    return bool(
        os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def create_tracer_provider(
    service_name: str,
    span_file: Path | None = None,
    extra_exporters: tuple[SpanExporter, ...] = (),
    *,
    record: bool = True,
    export: bool = True,
) -> TracerProvider:
    """A provider for one process. Spans go to OTLP when configured, to span_file when
    given, and to any extra exporters (tests pass an in-memory one). With record=False
    no span is recorded (the sampler drops every one: trace context is still made and
    passed on, unsampled) and nothing is exported; with export=False spans are
    recorded but exported nowhere (span_file and OTLP are ignored)."""
    resource = Resource.create({"service.name": service_name})
    if not record:
        return TracerProvider(resource=resource, sampler=ALWAYS_OFF)
    provider = TracerProvider(resource=resource)
    exporters: list[SpanExporter] = list(extra_exporters)
    if not export:
        return provider
    if span_file is not None:
        exporters.append(JsonLinesSpanExporter(span_file))
    if otlp_configured():
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        exporters.append(OTLPSpanExporter())
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter, schedule_delay_millis=200))
    return provider
