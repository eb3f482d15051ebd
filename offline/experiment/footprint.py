"""How much of the machine an experiment run takes: it is a polite neighbour of serving.

`recmesh experiment run` may share a machine with the serving mesh. Before numpy or
XGBoost are loaded, `Footprint.apply` lowers the run's CPU priority (nice, 19 by
default: the run gets the CPU only when serving does not want it) and caps the native
thread pools (OpenMP, OpenBLAS, MKL) at `threads`, all cores but one by default;
`Footprint.capped` lowers the spec's XGBoost `nthread` to the same number. Together
they leave serving a core it never has to win back from the run.

Capping `nthread` does not change the model: XGBoost's `hist` training is bit-for-bit
the same for any thread count (tests/offline/experiment/test_footprint.py). The
lineage records the thread count the run used.

This module imports nothing heavy, so that it can run before the pools' libraries load.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from offline.experiment.spec import ExperimentRunSpec

#: The lowest CPU priority there is: a run yields to every process at the default 0.
DEFAULT_NICENESS = 19
MAX_NICENESS = 19
#: Read once, when each library loads: OpenMP (XGBoost, scipy), OpenBLAS and MKL (numpy).
THREAD_POOL_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def default_threads(cpus: int | None = None) -> int:
    """All cores but one, and at least one: the core left is serving's."""
    count = os.cpu_count() if cpus is None else cpus
    return max(1, (count or 1) - 1)


@dataclass(frozen=True)
class Footprint:
    """`niceness` is added to the run's nice value (0 keeps its priority); `threads`
    (at least 1) caps every thread pool of the run, XGBoost's included."""

    niceness: int = DEFAULT_NICENESS
    threads: int = dataclasses.field(default_factory=default_threads)

    def __post_init__(self) -> None:
        if not 0 <= self.niceness <= MAX_NICENESS:
            raise ValueError(f"niceness must be between 0 and {MAX_NICENESS}, got {self.niceness}")
        if self.threads < 1:
            raise ValueError(f"threads must be at least 1, got {self.threads}")

    @classmethod
    def of(cls, niceness: int | None, threads: int | None) -> Footprint:
        """The footprint of a run's options, the default for each one not given (None)."""
        return cls(
            DEFAULT_NICENESS if niceness is None else niceness,
            default_threads() if threads is None else threads,
        )

    def apply(self, environ: MutableMapping[str, str] | None = None) -> int:
        """Lowers this process's priority and caps the thread pools of the libraries it
        loads from now on (a smaller limit already in `environ` is kept); returns the
        process's nice value. Irreversible for the process: call it once, at the start
        of a run, before numpy or XGBoost are imported."""
        env = os.environ if environ is None else environ
        for name in THREAD_POOL_VARIABLES:
            current = env.get(name, "")
            if not (current.isdigit() and 0 < int(current) <= self.threads):
                env[name] = str(self.threads)
        return os.nice(self.niceness)

    def capped(self, spec: ExperimentRunSpec) -> ExperimentRunSpec:
        """The spec with XGBoost's `nthread` at most `threads` (otherwise unchanged)."""
        xgboost = spec.training.xgboost
        if xgboost.nthread <= self.threads:
            return spec
        training = dataclasses.replace(
            spec.training, xgboost=dataclasses.replace(xgboost, nthread=self.threads)
        )
        return dataclasses.replace(spec, training=training)

    def describe(self, nice: int, spec: ExperimentRunSpec, capped: ExperimentRunSpec) -> str:
        """One line for the run's stderr: the priority and threads it runs with."""
        asked, used = spec.training.xgboost.nthread, capped.training.xgboost.nthread
        nthread = str(used) if asked == used else f"{asked} -> {used}"
        return (
            f"running at nice {nice}, thread pools capped at {self.threads} "
            f"(XGBoost nthread {nthread})"
        )
