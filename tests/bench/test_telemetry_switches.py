"""The telemetry switches bench/telemetry_cost.py turns off really turn things off:
spans (none recorded or exported by a real server), span export (recorded, nothing
written), metrics (no per-call sample), logs (no line), the impression log (nothing
opened or written); and they are read in one place, --telemetry-off or its variable."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import grpc
import pytest
import structlog
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from recmesh.api.ranking.v1.ranking_pb2 import RankRequest, RankResponse
from recmesh.api.recommend.v1 import recommend_pb2
from recmesh.server.build import build_server, server_interceptors
from recmesh.telemetry.logging import configure_logging
from recmesh.telemetry.metrics import ServerMetrics
from recmesh.telemetry.tracing import create_tracer_provider
from services.common.options import (
    TELEMETRY_OFF_ENV,
    TELEMETRY_PARTS,
    TelemetrySwitches,
    add_common_arguments,
)
from services.recommend.impressions import DiscardingImpressionLog
from tests.server.probe_server import COMPONENT, SERVICE, Probe


async def _serve_calls(provider: TracerProvider, metrics: ServerMetrics | None, calls: int) -> None:
    """A real server built by the server kit with `provider` and `metrics`, `calls` calls."""
    probe = Probe()
    server, _ = build_server(
        service_full_names=[SERVICE],
        register=lambda s: s.add_generic_rpc_handlers((probe.generic_handler(),)),
        interceptors=server_interceptors(provider, metrics),
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            unary = channel.unary_unary(
                f"/{SERVICE}/Unary",
                request_serializer=RankRequest.SerializeToString,
                response_deserializer=RankResponse.FromString,
            )
            for _ in range(calls):
                answer = await unary(RankRequest(user_id="u"), timeout=5)
                assert answer.serving_version == "u"
    finally:
        await server.stop(0)


def _exported(record: bool, export: bool, span_file: Path) -> int:
    exporter = InMemorySpanExporter()
    provider = create_tracer_provider(
        "recmesh-probe", span_file, (exporter,), record=record, export=export
    )
    asyncio.run(_serve_calls(provider, None, 3))
    provider.shutdown()  # flushes the batch processors
    return len(exporter.get_finished_spans())


def test_a_server_with_spans_on_exports_them_to_every_exporter(tmp_path: Path) -> None:
    span_file = tmp_path / "spans.jsonl"
    assert _exported(record=True, export=True, span_file=span_file) == 3
    assert len(span_file.read_text().splitlines()) == 3


def test_a_server_with_spans_off_records_and_exports_none(tmp_path: Path) -> None:
    span_file = tmp_path / "spans.jsonl"
    assert _exported(record=False, export=True, span_file=span_file) == 0
    assert not span_file.exists() or span_file.read_text() == ""


def test_span_export_off_writes_no_span_file(tmp_path: Path) -> None:
    span_file = tmp_path / "spans.jsonl"
    assert _exported(record=True, export=False, span_file=span_file) == 0
    assert not span_file.exists()
    provider = create_tracer_provider("recmesh-probe", span_file, export=False)
    with provider.get_tracer("t").start_as_current_span("recorded") as span:
        assert span.is_recording()  # recorded, only exported nowhere
    provider.shutdown()


def test_metrics_off_counts_no_call() -> None:
    metrics = ServerMetrics(COMPONENT)
    labels = {"component": COMPONENT, "method": "Unary", "code": "OK"}
    asyncio.run(_serve_calls(TracerProvider(), metrics, 2))
    assert metrics.registry.get_sample_value("recmesh_rpc_requests_total", labels) == 2
    off = ServerMetrics(COMPONENT)
    asyncio.run(_serve_calls(TracerProvider(), None, 2))  # what metrics off passes
    assert off.registry.get_sample_value("recmesh_rpc_requests_total", labels) is None


def test_logs_off_drops_every_line(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        configure_logging("probe", "DEBUG", enabled=False)
        structlog.get_logger("probe").critical("dropped")
        assert capsys.readouterr().err == ""
        configure_logging("probe", "INFO")
        structlog.get_logger("probe").info("kept")
        assert '"event": "kept"' in capsys.readouterr().err
    finally:
        structlog.reset_defaults()
        structlog.contextvars.clear_contextvars()


def test_the_discarding_impression_log_opens_and_writes_nothing(tmp_path: Path) -> None:
    log = DiscardingImpressionLog()
    log.record(recommend_pb2.RecommendRequest(user_id="1"), recommend_pb2.RecommendResponse(), 0.0)

    async def run_briefly() -> None:
        task = asyncio.create_task(log.run())
        await asyncio.sleep(0.01)
        assert not task.done()  # a background task until cancelled
        task.cancel()
        await log.close()

    asyncio.run(run_briefly())
    assert list(tmp_path.iterdir()) == []


def test_switches_parse_with_everything_on_by_default() -> None:
    assert TelemetrySwitches.parse_off("") == TelemetrySwitches()
    assert all(getattr(TelemetrySwitches(), part) for part in TELEMETRY_PARTS)
    off = TelemetrySwitches.parse_off("spans, impressions")
    assert (off.spans, off.span_export, off.metrics, off.logs, off.impressions) == (
        False,
        True,
        True,
        True,
        False,
    )
    with pytest.raises(ValueError, match="traces"):
        TelemetrySwitches.parse_off("traces")


def test_the_environment_variable_is_the_options_default(monkeypatch: pytest.MonkeyPatch) -> None:
    required = ["--pointer-public-key", "k.pem", "--state-dir", "s"]
    monkeypatch.setenv(TELEMETRY_OFF_ENV, "metrics,logs")
    parser = argparse.ArgumentParser()
    add_common_arguments(parser, 1)
    assert parser.parse_args(required).telemetry_off == "metrics,logs"
    assert parser.parse_args([*required, "--telemetry-off", "spans"]).telemetry_off == "spans"
    monkeypatch.delenv(TELEMETRY_OFF_ENV)
    parser = argparse.ArgumentParser()
    add_common_arguments(parser, 1)
    assert parser.parse_args(required).telemetry_off == ""
