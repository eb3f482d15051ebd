"""run_service: the shared main() of a serving process."""

from __future__ import annotations

from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider

from recmesh.server.run import ServerHandle
from recmesh.telemetry.metrics import ServerMetrics
from services.common import entrypoint
from services.common.entrypoint import run_service
from services.common.options import CommonOptions
from services.common.pointer_state import PointerStateFile
from tests.pointer_signing import PointerKey


def test_an_unreadable_state_file_exits_2_with_one_line_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A PointerStateError at start is no traceback: exit code 2 and one line on stderr
    that names the state file."""
    # The process-wide logging set-up would outlive this test (cached loggers).
    monkeypatch.setattr(entrypoint, "configure_logging", lambda *args: None)
    state = tmp_path / "ranking.pointer.json"
    state.write_text("{not json")

    async def factory(provider: TracerProvider, metrics: ServerMetrics) -> ServerHandle:
        PointerStateFile(state).load()
        raise AssertionError("the state file loaded")

    options = CommonOptions(
        host="127.0.0.1",
        port=0,
        etcd_endpoints=("127.0.0.1:1",),
        etcd_prefix="/recmesh/v1",
        artifacts_dir=tmp_path,
        span_file=None,
        metrics_port=None,
        log_level="CRITICAL",
        drain_seconds=0.0,
        pointer_keys=PointerKey.generate().ring,
        state_dir=tmp_path,
    )
    assert run_service("ranking", options, factory) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert str(state) in err[0]
    assert "Traceback" not in err[0]
