"""How every CLI command reports a failed RPC: status name and message, exit 1."""

from __future__ import annotations

import json
import sys

import grpc


def report_rpc_error(error: grpc.RpcError, as_json: bool = False) -> int:
    """Prints `STATUS: message` (or a JSON object with --json) to stderr; returns 1."""
    code = error.code() if isinstance(error, grpc.Call) else grpc.StatusCode.UNKNOWN
    details = error.details() if isinstance(error, grpc.Call) else str(error)
    if as_json:
        print(json.dumps({"error": {"code": code.name, "message": details}}), file=sys.stderr)
    else:
        print(f"{code.name}: {details}", file=sys.stderr)
    return 1
