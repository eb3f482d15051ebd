"""The `compute:` section of an experiment spec: where training and evaluation run.

```yaml
compute: {dask: "tcp://10.0.0.5:8786"}   # a running Dask scheduler
compute: {local_workers: 2}              # a local cluster of 2 worker processes
```

Absent, the run trains and evaluates in its own process (docs/experiments.md,
"Distributed training").
"""

from __future__ import annotations

import re
from typing import Any

from offline.experiment.spec import ComputeSpec
from offline.experiment.spec_fields import SpecError, integer, known, mapping, text

#: A scheduler address Dask's comm layer connects to: tcp:// or tls://, a host, a port.
_ADDRESS = re.compile(r"(tcp|tls)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):([0-9]{1,5})")
#: More local worker processes than this is a typo, not a machine.
MAX_LOCAL_WORKERS = 64


def parse_compute(raw: Any) -> ComputeSpec:
    """The validated `compute:` section (None: this process); raises SpecError."""
    if raw is None:
        return ComputeSpec()
    body = mapping(raw, "compute")
    known(body, "compute", {"dask", "local_workers"})
    if "dask" in body and "local_workers" in body:
        raise SpecError("compute", "give either dask (a scheduler address) or local_workers")
    if "dask" in body:
        return ComputeSpec(dask=_address(body["dask"]))
    if "local_workers" in body:
        workers = integer(
            body["local_workers"], "compute.local_workers", low=1, high=MAX_LOCAL_WORKERS
        )
        return ComputeSpec(local_workers=workers)
    raise SpecError(
        "compute", "needs dask: SCHEDULER_ADDRESS or local_workers: N (or leave it out)"
    )


def _address(raw: Any) -> str:
    address = text(raw, "compute.dask")
    match = _ADDRESS.fullmatch(address)
    if match is None:
        raise SpecError(
            "compute.dask", f"must be a scheduler address tcp://HOST:PORT (or tls://), got "
            f"{address!r}"
        )  # fmt: skip
    port = int(match.group(3))
    if not 1 <= port <= 65535:
        raise SpecError("compute.dask", f"port must be between 1 and 65535, got {port}")
    return address
