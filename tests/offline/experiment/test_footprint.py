"""The run's footprint: its priority, its thread pools, XGBoost's thread count."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from offline.experiment.footprint import (
    DEFAULT_NICENESS,
    THREAD_POOL_VARIABLES,
    Footprint,
    default_threads,
)
from offline.experiment.pipeline import prepare_data
from offline.experiment.spec import ExperimentRunSpec
from offline.experiment.spec_loading import parse_spec
from offline.training.ltr_data import build_ltr_data
from offline.training.trainer import train_ranker
from recmesh.console.progress import NullProgress
from recmesh.files.repo_paths import REPO_ROOT
from tests.offline.experiment.specs import small_spec

# Applies a footprint in a fresh interpreter (a lowered priority cannot be undone) and
# reports whether numpy was loaded by then and what the kernel says afterwards.
_APPLY = """
import json, os, sys
from offline.experiment.footprint import Footprint
numpy_loaded = "numpy" in sys.modules
nice = Footprint(niceness=7, threads=1).apply()
print(json.dumps({
    "numpy_loaded": numpy_loaded,
    "nice": nice,
    "kernel_nice": os.getpriority(os.PRIO_PROCESS, 0),
    "pools": [os.environ[name] for name in sys.argv[1:]],
}))
"""


def _spec(nthread: int) -> ExperimentRunSpec:
    body = small_spec()
    body["training"]["xgboost"].update(nthread=nthread, subsample=0.7)
    return parse_spec(body)


def test_default_threads_leave_serving_one_core() -> None:
    """All cores but one, never fewer than one."""
    assert [default_threads(cpus) for cpus in (1, 2, 8)] == [1, 1, 7]
    assert Footprint.of(None, None) == Footprint(DEFAULT_NICENESS, default_threads())
    assert Footprint.of(0, 3) == Footprint(0, 3)


@pytest.mark.parametrize(("niceness", "threads"), [(-1, 1), (20, 1), (0, 0)])
def test_options_out_of_range_are_refused(niceness: int, threads: int) -> None:
    """A negative niceness (raising priority), one past 19 or zero threads is a ValueError."""
    with pytest.raises(ValueError, match="must be"):
        Footprint(niceness, threads)


def test_apply_caps_pools_and_keeps_smaller_limits() -> None:
    """Unset, larger or unreadable pool limits become `threads`; a smaller one stays."""
    environ = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "8", "MKL_NUM_THREADS": "x"}
    Footprint(niceness=0, threads=3).apply(environ)
    assert environ == {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "3", "MKL_NUM_THREADS": "3"}
    unset: dict[str, str] = {}
    Footprint(niceness=0, threads=2).apply(unset)
    assert unset == dict.fromkeys(THREAD_POOL_VARIABLES, "2")


def test_apply_lowers_the_priority_before_numpy_loads() -> None:
    """In a fresh interpreter, importing the module loads no numpy (so the pool limits
    still take effect) and `apply` lowers the process's priority by the niceness."""
    environ = {k: v for k, v in os.environ.items() if k not in THREAD_POOL_VARIABLES}
    result = subprocess.run(
        [sys.executable, "-c", _APPLY, *THREAD_POOL_VARIABLES],
        cwd=REPO_ROOT, env=environ, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    reported = json.loads(result.stdout)
    expected = min(os.getpriority(os.PRIO_PROCESS, 0) + 7, 19)
    assert reported == {
        "numpy_loaded": False,
        "nice": expected,
        "kernel_nice": expected,
        "pools": ["1", "1", "1"],
    }


def test_capped_lowers_only_a_larger_nthread() -> None:
    """nthread above `threads` comes down to it, nothing else changes; at or below it
    the spec is returned as it is."""
    spec = _spec(nthread=4)
    capped = Footprint(threads=2).capped(spec)
    assert capped.training.xgboost.nthread == 2
    assert capped.training.xgboost.as_params() | {"nthread": "4"} == (
        spec.training.xgboost.as_params()
    )
    assert Footprint(threads=4).capped(spec) is spec
    assert Footprint(threads=8).capped(spec) is spec


def test_capping_threads_leaves_the_model_unchanged(ml100k_dir: Path) -> None:
    """The same spec trained with XGBoost on 2 threads and capped to 1 gives the same
    model bytes: the cap costs time, never reproducibility."""
    spec = _spec(nthread=2)
    progress = NullProgress()
    data = prepare_data(spec, ml100k_dir.parent, progress)
    ltr = build_ltr_data(
        data.dataset, data.train, spec.candidates, spec.training, data.split, spec.seed, progress
    )
    capped = Footprint(threads=1).capped(spec)
    two = train_ranker(ltr, spec.training, spec.seed)
    one = train_ranker(ltr, capped.training, capped.seed)
    assert capped.training.xgboost.nthread == 1
    assert one.model_bytes == two.model_bytes
