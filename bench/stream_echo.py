"""A grpc.aio echo over raw bytes, as a unary call and as messages on one open
bidirectional stream, for bench/hop_probe.py.

    python -m bench.stream_echo serve PORT
    python -m bench.stream_echo probe TARGET CALLS GAPS_S   # prints JSON

The probe uses one grpc.aio client for both, so the two rows differ only in how a
message travels: a unary call sets up a call (metadata, a new HTTP/2 stream, the
call objects on both sides) each time; a message on an open stream does not.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from bench.latency import percentiles_ms

SERVICE = "recmesh.bench.Echo"
PAYLOAD = b"x" * 16


async def _unary(request: bytes, _: Any) -> bytes:
    return request


async def _stream(requests: AsyncIterator[bytes], _: Any) -> AsyncIterator[bytes]:
    async for request in requests:
        yield request


async def serve(port: int) -> None:
    server = grpc.aio.server()
    handlers = {
        "Unary": grpc.unary_unary_rpc_method_handler(_unary),
        "Stream": grpc.stream_stream_rpc_method_handler(_stream),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


async def _p50_ms_by_gap(
    call: Callable[[], Awaitable[object]], calls: int, gaps: list[float]
) -> dict[str, float]:
    result = {}
    for gap in gaps:
        samples = []
        for _ in range(calls):
            started = time.perf_counter()
            await call()
            samples.append(time.perf_counter() - started)
            if gap > 0:
                # Blocking on purpose: the whole process idles, loop and gRPC threads
                # alike, as the synchronous client of bench/hop_probe.py does.
                time.sleep(gap)  # noqa: ASYNC251
        result[f"{gap * 1000:g}"] = percentiles_ms(samples)["p50_ms"]
    return result


async def probe(target: str, calls: int, gaps: list[float]) -> dict[str, dict[str, float]]:
    async with grpc.aio.insecure_channel(target) as channel:
        unary = channel.unary_unary(f"/{SERVICE}/Unary", None, None)
        await unary(PAYLOAD, timeout=5)

        async def unary_call() -> object:
            return await unary(PAYLOAD, timeout=1)

        stream = channel.stream_stream(f"/{SERVICE}/Stream", None, None)(None)

        async def stream_message() -> object:
            await stream.write(PAYLOAD)
            return await stream.read()

        await stream_message()
        result = {
            "unary": await _p50_ms_by_gap(unary_call, calls, gaps),
            "stream": await _p50_ms_by_gap(stream_message, calls, gaps),
        }
        await stream.done_writing()
        return result


def main() -> int:
    if sys.argv[1] == "serve":
        asyncio.run(serve(int(sys.argv[2])))
        return 0
    target, calls, gaps = sys.argv[2], int(sys.argv[3]), sys.argv[4]
    result = asyncio.run(probe(target, calls, [float(g) for g in gaps.split(",")]))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
