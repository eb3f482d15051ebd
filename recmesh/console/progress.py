"""Progress reporting for long steps (downloads, training, evaluation).

Code that works for a while takes a `Progress` and calls `start`, `advance` and
`finish` on it; the caller decides where that goes: `TerminalProgress` draws a
bar on a terminal, `NullProgress` drops everything.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Protocol, TextIO


class Progress(Protocol):
    """One task at a time: `start`, any number of `advance`, then `finish`.

    `total` is the amount of work in the task's unit (None when unknown);
    `advance(n)` reports `n` more units done. `finish(note)` ends the task,
    whether it succeeded or not; `note` says how it ended ("done", "failed: ...").
    Calling `start` again begins the next task.
    """

    def start(self, total: int | None, label: str, unit: str = "") -> None: ...

    def advance(self, n: int = 1) -> None: ...

    def finish(self, note: str = "done") -> None: ...


class NullProgress:
    """A Progress that reports nothing."""

    def start(self, total: int | None, label: str, unit: str = "") -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def finish(self, note: str = "done") -> None:
        pass


class TerminalProgress:
    """Draws `label [#####-----]  42% 1.2/2.9 MiB` on a terminal, redrawn in place.

    On a TTY the line is redrawn with `\\r` at most every `min_interval_s`; when
    the stream is not a TTY (a log file, CI) only the start and finish lines are
    written. The unit "B" prints byte counts in KiB/MiB/GiB.
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        is_tty: bool | None = None,
        width: int = 30,
        min_interval_s: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._tty = self._stream.isatty() if is_tty is None else is_tty
        self._width = width
        self._min_interval_s = min_interval_s
        self._clock = clock
        self._label = ""
        self._unit = ""
        self._total: int | None = None
        self._done = 0
        self._started = 0.0
        self._drawn = float("-inf")
        self._active = False

    def start(self, total: int | None, label: str, unit: str = "") -> None:
        if self._active:
            self.finish("interrupted")
        self._label, self._unit, self._total = label, unit, total
        self._done = 0
        self._started = self._clock()
        self._drawn = float("-inf")
        self._active = True
        if self._tty:
            self._draw()
        else:
            self._write(f"{label} ...\n")

    def advance(self, n: int = 1) -> None:
        self._done += n
        now = self._clock()
        if self._tty and self._active and now - self._drawn >= self._min_interval_s:
            self._draw()

    def finish(self, note: str = "done") -> None:
        if not self._active:
            return
        self._active = False
        seconds = self._clock() - self._started
        amount = f", {self._amount()}" if self._done else ""
        line = f"{self._label}: {note} ({seconds:.1f} s{amount})"
        if self._tty:
            self._write("\r\x1b[2K" + line + "\n")
        else:
            self._write(line + "\n")

    def _draw(self) -> None:
        self._drawn = self._clock()
        if self._total:
            fraction = min(self._done / self._total, 1.0)
            filled = round(fraction * self._width)
            bar = "#" * filled + "-" * (self._width - filled)
            text = f"{self._label} [{bar}] {fraction:4.0%} {self._amount()}"
        else:
            text = f"{self._label} ... {self._amount()}" if self._done else f"{self._label} ..."
        self._write("\r\x1b[2K" + text)

    def _amount(self) -> str:
        done = _format(self._done, self._unit)
        if self._total is None:
            return done
        return f"{done}/{_format(self._total, self._unit)}"

    def _write(self, text: str) -> None:
        self._stream.write(text)
        self._stream.flush()


def _format(count: int, unit: str) -> str:
    if unit != "B":
        return f"{count:,} {unit}".rstrip()
    value = float(count)
    for name in ("B", "KiB", "MiB"):
        if value < 1024:
            return f"{value:.0f} {name}" if name == "B" else f"{value:.1f} {name}"
        value /= 1024
    return f"{value:.1f} GiB"
