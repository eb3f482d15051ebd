"""bench/telemetry_cost.py's arithmetic: each configuration against the mean of the
all-on runs, whose spread is reported as the run's noise; and the configurations."""

from __future__ import annotations

import pytest

from bench.telemetry_cost import ALL_ON, CONFIGURATIONS, SMOKE_CONFIGURATIONS, differences
from services.common.options import TELEMETRY_PARTS, TelemetrySwitches


def test_each_configuration_is_compared_with_the_mean_of_all_on() -> None:
    runs = [
        {"label": ALL_ON, "cpu_ms_per_request": 10.0},
        {"label": "spans off", "cpu_ms_per_request": 8.5},
        {"label": "all off", "cpu_ms_per_request": 6.0},
        {"label": ALL_ON, "cpu_ms_per_request": 11.0},
    ]
    got = differences(runs)
    assert got["all_on_cpu_ms_per_request"] == pytest.approx(10.5)
    assert got["all_on_spread_ms"] == pytest.approx(1.0)
    assert got["vs_all_on_ms"] == pytest.approx({"spans off": -2.0, "all off": -4.5})


def test_every_part_is_switched_off_once_alone_and_all_on_opens_and_closes() -> None:
    offs = [off for _, off in CONFIGURATIONS]
    assert CONFIGURATIONS[0][0] == CONFIGURATIONS[-1][0] == ALL_ON
    assert offs[0] == offs[-1] == ""
    assert sorted(o for o in offs if o in TELEMETRY_PARTS) == sorted(TELEMETRY_PARTS)
    assert TelemetrySwitches.parse_off(offs[-2]) == TelemetrySwitches(
        spans=False, span_export=False, metrics=False, logs=False, impressions=False
    )
    for _, off in CONFIGURATIONS:
        TelemetrySwitches.parse_off(off)  # every one is a valid --telemetry-off
    assert [label for label, _ in SMOKE_CONFIGURATIONS] == [ALL_ON, "all off", ALL_ON]
