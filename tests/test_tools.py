"""tests/tools.py: a missing tool skips a test, but fails it under CI."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.tools import CI_ENV, required_tool

ABSENT = "recmesh-no-such-tool-3f9a"


def test_a_missing_tool_skips_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without $CI a missing command skips, naming it and how to install it."""
    monkeypatch.delenv(CI_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match=f"{ABSENT} is not installed .apt-get"):
        required_tool(ABSENT, "apt-get install it")


@pytest.mark.parametrize("value", ["true", "1", "yes"])
def test_a_missing_tool_fails_under_ci(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    """With $CI set a missing command fails the test instead of skipping it."""
    monkeypatch.setenv(CI_ENV, value)
    with pytest.raises(pytest.fail.Exception, match=f"{ABSENT} is not installed"):
        required_tool(ABSENT, "apt-get install it")


@pytest.mark.parametrize("value", ["", "0", "false"])
def test_ci_set_to_false_still_skips(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    """$CI empty, 0 or false is not CI."""
    monkeypatch.setenv(CI_ENV, value)
    with pytest.raises(pytest.skip.Exception):
        required_tool(ABSENT, "apt-get install it")


def test_a_present_tool_is_found_beside_the_interpreter_first() -> None:
    """A dev dependency's binary beside python wins over PATH."""
    assert required_tool(Path(sys.executable).name, "") == Path(sys.executable)
