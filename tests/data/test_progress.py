"""Tests for recmesh.console.progress."""

from __future__ import annotations

import io

from recmesh.console.progress import NullProgress, Progress, TerminalProgress


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _run(progress: Progress, clock: FakeClock) -> None:
    progress.start(4 * 1024 * 1024, "downloading ml-100k.zip", unit="B")
    for _ in range(4):
        clock.now += 0.5
        progress.advance(1024 * 1024)
    progress.finish()


def test_non_tty_writes_only_start_and_finish_lines() -> None:
    """Without a terminal, progress is one start line and one finish line."""
    stream, clock = io.StringIO(), FakeClock()
    _run(TerminalProgress(stream, is_tty=False, clock=clock), clock)
    assert stream.getvalue() == (
        "downloading ml-100k.zip ...\ndownloading ml-100k.zip: done (2.0 s, 4.0 MiB/4.0 MiB)\n"
    )


def test_tty_redraws_a_bar_with_percentage_in_place() -> None:
    """On a terminal the bar is redrawn with \\r and ends with a finish line."""
    stream, clock = io.StringIO(), FakeClock()
    _run(TerminalProgress(stream, is_tty=True, width=10, clock=clock), clock)
    frames = stream.getvalue().split("\r\x1b[2K")
    assert frames[1] == "downloading ml-100k.zip [----------]   0% 0 B/4.0 MiB"
    assert "downloading ml-100k.zip [#####-----]  50% 2.0 MiB/4.0 MiB" in frames
    assert frames[-1] == "downloading ml-100k.zip: done (2.0 s, 4.0 MiB/4.0 MiB)\n"


def test_tty_redraws_at_most_once_per_interval() -> None:
    """Many advances within the minimum interval draw no extra frames."""
    stream, clock = io.StringIO(), FakeClock()
    progress = TerminalProgress(stream, is_tty=True, clock=clock, min_interval_s=1.0)
    progress.start(1000, "epochs", unit="epochs")
    for _ in range(1000):
        progress.advance()
    assert stream.getvalue().count("\r") == 1


def test_unknown_total_shows_a_count_without_percentage() -> None:
    """With total None the line shows the amount done, no bar."""
    stream, clock = io.StringIO(), FakeClock()
    progress = TerminalProgress(stream, is_tty=True, clock=clock, min_interval_s=0.0)
    progress.start(None, "rows", unit="rows")
    progress.advance(1500)
    assert stream.getvalue().endswith("rows ... 1,500 rows")


def test_starting_a_new_task_finishes_the_open_one() -> None:
    """start while a task is open closes it as interrupted first."""
    stream, clock = io.StringIO(), FakeClock()
    progress = TerminalProgress(stream, is_tty=False, clock=clock)
    progress.start(None, "first")
    progress.start(None, "second")
    progress.finish("failed: no network")
    assert stream.getvalue().splitlines() == [
        "first ...",
        "first: interrupted (0.0 s)",
        "second ...",
        "second: failed: no network (0.0 s)",
    ]


def test_finish_without_start_writes_nothing() -> None:
    """finish on an idle progress is a no-op."""
    stream = io.StringIO()
    TerminalProgress(stream, is_tty=False).finish()
    assert stream.getvalue() == ""


def test_null_progress_accepts_every_call() -> None:
    """NullProgress satisfies the Protocol and reports nothing."""
    progress: Progress = NullProgress()
    progress.start(10, "x")
    progress.advance(3)
    progress.finish("done")
