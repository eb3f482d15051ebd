"""The series the alerting rules and the Grafana dashboard use are the ones a real
server exports: a serving process started from its entry point, scraped over HTTP, and
a real etcd's own /metrics."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from recmesh.etcd.local_server import LocalEtcd
from recmesh.files.repo_paths import REPO_ROOT
from recmesh.net.ports import free_loopback_port
from tests.infra.prometheus_series import (
    ETCD_SERIES,
    dashboard_exprs,
    exported_families,
    family_of,
    rules,
    selectors,
)
from tests.mesh_harness import serving_etcd_arguments
from tests.pointer_signing import serving_trust_arguments
from tests.processes import kill_if_running


def _scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as reply:
        text: str = reply.read().decode()
    return text


def _scrape_when(url: str, wanted: str, process: subprocess.Popen[bytes], log: Path) -> str:
    """The first scrape of url holding `wanted`; fails with the process's log if it exits
    or 30 s pass."""
    deadline = time.monotonic() + 30
    while True:
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        try:
            text = _scrape(url)
        except (urllib.error.URLError, ConnectionError):
            text = ""
        if wanted in text:
            return text
        time.sleep(0.1)


def test_a_real_server_exports_every_series_the_rules_and_the_dashboard_use(
    etcd_server: LocalEtcd, tmp_path: Path
) -> None:
    """`python -m services.recommend --metrics-host 127.0.0.1 --metrics-port N` serves
    /metrics with a family (name and type) for every recmesh_ series the rules and the
    dashboard select, and reports etcd reachable once its watch has read the pointer;
    etcd exports etcd_server_has_leader."""
    port, metrics_port = free_loopback_port(), free_loopback_port()
    log_path = tmp_path / "recommend.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "services.recommend",
                "--port",
                str(port),
                "--etcd",
                etcd_server.endpoint,
                *serving_etcd_arguments(etcd_server),
                "--artifacts",
                str(tmp_path / "artifacts"),
                "--metrics-host",
                "127.0.0.1",
                "--metrics-port",
                str(metrics_port),
                *serving_trust_arguments(tmp_path),
                "--impressions",
                str(tmp_path / "impressions.jsonl"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
        )
        try:
            text = _scrape_when(
                f"http://127.0.0.1:{metrics_port}/metrics",
                'recmesh_etcd_reachable{component="recommend"} 1.0',
                process,
                log_path,
            )
        finally:
            kill_if_running(process)
    # A counter's TYPE line names it with or without _total, by client version.
    scraped = {
        family_of(name): kind
        for name, kind in re.findall(r"^# TYPE (\S+) (\S+)$", text, flags=re.MULTILINE)
    }
    declared = {name: family.type for name, family in exported_families().items()}
    used = {
        name
        for expr in [*(rule["expr"] for rule in rules()), *dashboard_exprs()]
        for name, _ in selectors(expr)
        if name not in ETCD_SERIES
    }
    assert used
    for name in used:
        family = family_of(name)
        assert scraped.get(family) == declared[family], f"{name}: {scraped.get(family)}"
    etcd_text = _scrape(f"http://{etcd_server.endpoint}/metrics")
    for name in ETCD_SERIES:
        assert re.search(rf"^{name} 1$", etcd_text, flags=re.MULTILINE), name
