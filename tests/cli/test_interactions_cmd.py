"""`recmesh interactions record`: bad arguments and an unreachable front."""

from __future__ import annotations

import pytest

from cli.main import main
from recmesh.net.ports import free_loopback_port


def test_an_item_that_is_not_item_or_item_rating_exits_2(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Nothing is sent: the argument is named with the expected form."""
    assert main(["interactions", "record", "196", "50:x"]) == 2
    assert "'50:x' is not ITEM or ITEM:RATING" in capsys.readouterr().err


def test_an_unreachable_front_prints_the_status_and_exits_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A front nobody listens on: UNAVAILABLE, one line, exit 1."""
    address = f"127.0.0.1:{free_loopback_port()}"
    assert main(["interactions", "record", "196", "50", "--address", address,
                 "--timeout", "2"]) == 1  # fmt: skip
    assert capsys.readouterr().err.startswith("UNAVAILABLE")
