"""A tiny real server for the server kit's tests: a generic "recmesh.test.Probe" service
whose methods use generated messages (ranking's RankRequest and RankResponse), built
with recmesh.server.build on 127.0.0.1, port 0, traced into memory and measured."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import grpc
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from recmesh.api.ranking.v1.ranking_pb2 import RankRequest, RankResponse
from recmesh.rpc.health import HealthReporter
from recmesh.server.build import build_server, server_interceptors
from recmesh.server.interceptor_types import ServerInterceptorBase
from recmesh.telemetry.metrics import ServerMetrics

SERVICE = "recmesh.test.Probe"
COMPONENT = "probe"
Context = grpc.aio.ServicerContext[Any, Any]


@dataclass
class Probe:
    """Answers with the request's user id; raises `error` when one is set (the streaming
    methods after their first message)."""

    error: BaseException | None = None
    calls: int = 0

    async def unary(self, request: RankRequest, context: Context) -> RankResponse:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return RankResponse(serving_version=request.user_id)

    async def stream(self, request: RankRequest, context: Context) -> AsyncIterator[RankResponse]:
        self.calls += 1
        for index in range(3):
            if index == 1 and self.error is not None:
                raise self.error
            yield RankResponse(serving_version=f"{request.user_id}-{index}")

    async def written(self, request: RankRequest, context: Context) -> None:
        """A streaming handler that sends with context.write (as grpc's Health.Watch does)."""
        self.calls += 1
        for index in range(2):
            await context.write(RankResponse(serving_version=f"{request.user_id}-{index}"))
        if self.error is not None:
            raise self.error

    async def client_stream(self, requests: AsyncIterator[RankRequest], context: Context) -> Any:
        self.calls += 1
        names = [request.user_id async for request in requests]
        if self.error is not None:
            raise self.error
        return RankResponse(serving_version="+".join(names))

    def generic_handler(self) -> grpc.GenericRpcHandler[Any, Any]:
        parse, write = RankRequest.FromString, RankResponse.SerializeToString
        return grpc.method_handlers_generic_handler(
            SERVICE,
            {
                "Unary": grpc.unary_unary_rpc_method_handler(self.unary, parse, write),
                "Stream": grpc.unary_stream_rpc_method_handler(self.stream, parse, write),
                "Written": grpc.unary_stream_rpc_method_handler(self.written, parse, write),
                "ClientStream": grpc.stream_unary_rpc_method_handler(
                    self.client_stream, parse, write
                ),
            },
        )


@dataclass
class RunningProbe:
    probe: Probe
    channel: grpc.aio.Channel
    health: HealthReporter
    exporter: InMemorySpanExporter
    metrics: ServerMetrics
    tracer_provider: TracerProvider

    def unary(self) -> Any:
        return self.channel.unary_unary(
            f"/{SERVICE}/Unary",
            request_serializer=RankRequest.SerializeToString,
            response_deserializer=RankResponse.FromString,
        )

    def stream(self, method: str = "Stream") -> Any:
        return self.channel.unary_stream(
            f"/{SERVICE}/{method}",
            request_serializer=RankRequest.SerializeToString,
            response_deserializer=RankResponse.FromString,
        )

    def client_stream(self) -> Any:
        return self.channel.stream_unary(
            f"/{SERVICE}/ClientStream",
            request_serializer=RankRequest.SerializeToString,
            response_deserializer=RankResponse.FromString,
        )

    def raw(self, method: str, streaming: bool = False) -> Any:
        """The method with bytes sent as they are (for bodies that do not parse)."""
        path = f"/{SERVICE}/{method}"
        if streaming:
            return self.channel.unary_stream(path, None, None)
        return self.channel.unary_unary(path, None, None)

    def count(self, method: str, code: grpc.StatusCode) -> float:
        value = self.metrics.registry.get_sample_value(
            "recmesh_rpc_requests_total",
            {"component": COMPONENT, "method": method, "code": code.name},
        )
        return value or 0.0

    async def spans(self, count: int) -> Sequence[ReadableSpan]:
        """The finished spans once there are `count` of them. A failed call's status can
        reach the caller before the server has finished with it (context.abort sends it
        at once); its span ends last, after the call is counted."""
        for _ in range(200):
            spans = self.exporter.get_finished_spans()
            if len(spans) >= count:
                return spans
            await asyncio.sleep(0.01)
        return self.exporter.get_finished_spans()


@asynccontextmanager
async def running_probe(
    extra: Callable[[], Sequence[ServerInterceptorBase]] = tuple,
) -> AsyncIterator[RunningProbe]:
    """The probe served with the standard chain (instrumentation, then `extra()`)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    metrics = ServerMetrics(COMPONENT)
    probe = Probe()
    server, health = build_server(
        service_full_names=[SERVICE],
        register=lambda s: s.add_generic_rpc_handlers((probe.generic_handler(),)),
        interceptors=server_interceptors(provider, metrics, extra()),
    )
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield RunningProbe(probe, channel, health, exporter, metrics, provider)
    finally:
        await server.stop(0)
        provider.shutdown()
