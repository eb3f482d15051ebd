"""The front's CPU over a sliding window (services/recommend/cpu_meter.py)."""

from __future__ import annotations

from services.recommend.cpu_meter import CpuMeter


class Clocks:
    def __init__(self) -> None:
        self.wall = 0.0
        self.cpu = 0.0

    def advance(self, wall_s: float, cpu_s: float) -> None:
        self.wall += wall_s
        self.cpu += cpu_s


def test_cores_is_cpu_time_per_wall_second_over_the_last_window() -> None:
    """Half a core for a second, then a full core: the window follows the recent use."""
    clocks = Clocks()
    meter = CpuMeter(1.0, cpu=lambda: clocks.cpu, wall=lambda: clocks.wall)
    for _ in range(10):
        clocks.advance(0.1, 0.05)
        meter.cores()
    assert abs(meter.cores() - 0.5) < 1e-9
    for _ in range(10):
        clocks.advance(0.1, 0.1)
        meter.cores()
    assert abs(meter.cores() - 1.0) < 1e-9


def test_a_too_short_span_reads_zero() -> None:
    clocks = Clocks()
    meter = CpuMeter(1.0, cpu=lambda: clocks.cpu, wall=lambda: clocks.wall)
    clocks.advance(0.01, 0.01)
    assert meter.cores() == 0.0
