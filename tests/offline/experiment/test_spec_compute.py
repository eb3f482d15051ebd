"""The spec's `compute:` block: where training and evaluation run, checked before a run."""

from __future__ import annotations

from typing import Any

import pytest

from offline.experiment.spec import ComputeSpec
from offline.experiment.spec_loading import SpecError, parse_spec
from tests.offline.experiment.specs import small_spec


def _compute(block: Any) -> ComputeSpec:
    return parse_spec(small_spec(compute=block)).compute


def test_no_compute_block_runs_in_process() -> None:
    """Without the block (or with it null) the run stays in its own process."""
    assert not parse_spec(small_spec()).compute.distributed
    assert _compute(None) == ComputeSpec()


def test_a_scheduler_address_or_a_local_cluster_size() -> None:
    """`dask` names a scheduler, `local_workers` the size of a local cluster."""
    assert _compute({"dask": "tcp://10.1.2.3:8786"}) == ComputeSpec(dask="tcp://10.1.2.3:8786")
    assert _compute({"dask": "tls://scheduler.internal:8786"}).distributed
    assert _compute({"dask": "tcp://[::1]:8786"}).dask == "tcp://[::1]:8786"
    assert _compute({"local_workers": 2}) == ComputeSpec(local_workers=2)


@pytest.mark.parametrize(
    ("block", "field", "message"),
    [
        ({"dask": "tcp://h:1", "local_workers": 2}, "compute", "either dask"),
        ({}, "compute", "needs dask: SCHEDULER_ADDRESS or local_workers"),
        ({"workers": 2}, "compute.workers", "unknown field"),
        ("tcp://h:8786", "compute", "must be a mapping"),
        ({"dask": "h:8786"}, "compute.dask", "tcp://HOST:PORT"),
        ({"dask": "http://h:8786"}, "compute.dask", "tcp://HOST:PORT"),
        ({"dask": "tcp://h"}, "compute.dask", "tcp://HOST:PORT"),
        ({"dask": "tcp://h:70000"}, "compute.dask", "between 1 and 65535"),
        ({"dask": 8786}, "compute.dask", "non-empty string"),
        ({"local_workers": 0}, "compute.local_workers", "at least 1"),
        ({"local_workers": 65}, "compute.local_workers", "at most 64"),
        ({"local_workers": True}, "compute.local_workers", "must be an integer"),
        ({"local_workers": "2"}, "compute.local_workers", "must be an integer"),
    ],
)
def test_a_bad_compute_block_is_refused(block: Any, field: str, message: str) -> None:
    """Each mistake names its field: both ways at once, neither, a typo, a bad address
    or port, a worker count that is not a positive integer."""
    with pytest.raises(SpecError) as raised:
        _compute(block)
    assert raised.value.field == field
    assert message in str(raised.value)
