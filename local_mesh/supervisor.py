"""Runs child processes, restarts the ones that die, stops them all on request.

A child that exits on its own is restarted after a short backoff (doubling up
to a cap, reset after it has run for a while), so `kill -9` of a service is
repaired without a manual step.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import structlog

log = structlog.get_logger("recmesh.supervisor")


@dataclass(frozen=True)
class ProcessSpec:
    """One supervised process: a stable name, its command line, where it logs."""

    name: str
    argv: tuple[str, ...]
    log_path: Path
    env: tuple[tuple[str, str], ...] = ()


@dataclass
class _Child:
    spec: ProcessSpec
    process: subprocess.Popen[bytes]
    log_file: IO[bytes]
    started_at: float
    restarts: int = 0
    backoff_s: float = 0.5


@dataclass
class Supervisor:
    """Starts specs, restarts the dead, stops everything in reverse order."""

    environ: dict[str, str]
    stable_after_s: float = 10.0
    max_backoff_s: float = 5.0
    poll_s: float = 0.2
    _children: dict[str, _Child] = field(default_factory=dict)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, spec: ProcessSpec) -> None:
        with self._lock:
            self._children[spec.name] = self._spawn(spec)

    def pid_of(self, name: str) -> int:
        return self._children[name].process.pid

    def _spawn(self, spec: ProcessSpec, restarts: int = 0, backoff_s: float = 0.5) -> _Child:
        spec.log_path.parent.mkdir(parents=True, exist_ok=True)
        log_file = spec.log_path.open("ab")
        env = dict(self.environ)
        env.update(dict(spec.env))
        process = subprocess.Popen(
            list(spec.argv),
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
        log.info("process_started", name=spec.name, pid=process.pid, restarts=restarts)
        return _Child(spec, process, log_file, time.monotonic(), restarts, backoff_s)

    def supervise(self) -> None:
        """Blocks, restarting dead children after their backoff, until stop() is called."""
        restart_at: dict[str, float] = {}
        while not self._stopping.wait(self.poll_s):
            now = time.monotonic()
            with self._lock:
                for name, child in list(self._children.items()):
                    code = child.process.poll()
                    if code is None:
                        if now - child.started_at > self.stable_after_s:
                            child.backoff_s = 0.5
                        continue
                    if name not in restart_at:
                        log.warning(
                            "process_exited", name=name, code=code, restart_in_s=child.backoff_s
                        )
                        child.log_file.close()
                        restart_at[name] = now + child.backoff_s
                    elif now >= restart_at[name]:
                        del restart_at[name]
                        backoff = min(child.backoff_s * 2, self.max_backoff_s)
                        self._children[name] = self._spawn(child.spec, child.restarts + 1, backoff)

    def request_stop(self) -> None:
        """Makes supervise() return; safe to call from a signal handler."""
        self._stopping.set()

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM every child (newest first), then SIGKILL what is left after timeout."""
        self._stopping.set()
        with self._lock:
            children = list(self._children.values())[::-1]
            for child in children:
                if child.process.poll() is None:
                    child.process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + timeout
            for child in children:
                try:
                    child.process.wait(max(deadline - time.monotonic(), 0.1))
                except subprocess.TimeoutExpired:
                    child.process.kill()
                    child.process.wait()
                child.log_file.close()
            self._children.clear()
