"""What the monitoring tests read: the series recmesh's servers export (from the real
ServerMetrics), the series and labels the alerting rules, their promtool unit tests and
the Grafana dashboard name, and promtool itself."""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from prometheus_client.metrics import MetricWrapperBase

from recmesh.files.repo_paths import REPO_ROOT
from recmesh.telemetry.metrics import ServerMetrics
from tests.tools import required_tool

PROMETHEUS_DIR = REPO_ROOT / "infra" / "prometheus"
RULES = PROMETHEUS_DIR / "recmesh-rules.yaml"
RULE_TESTS = PROMETHEUS_DIR / "recmesh-rules.test.yaml"
DASHBOARD = REPO_ROOT / "infra" / "grafana" / "recmesh-serving.json"

#: Series of etcd's own /metrics the rules use (checked against a real etcd).
ETCD_SERIES = frozenset({"etcd_server_has_leader"})
#: Labels a scrape adds to every series.
SCRAPE_LABELS = frozenset({"job", "instance"})

_SAMPLE_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "gauge": ("",),
}
_SELECTOR = re.compile(r"\b((?:recmesh|etcd)_[a-z0-9_]+)\s*(?:\{([^}]*)\})?")
_LABEL_MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")


@dataclass(frozen=True)
class ExportedFamily:
    """One metric family of ServerMetrics: its name, type and label names."""

    name: str
    type: str
    labels: tuple[str, ...]

    def sample_names(self) -> tuple[str, ...]:
        return tuple(self.name + suffix for suffix in _SAMPLE_SUFFIXES[self.type])

    def sample_labels(self, sample: str) -> frozenset[str]:
        extra = {"le"} if sample.endswith("_bucket") else set()
        return frozenset(self.labels) | extra | SCRAPE_LABELS


def exported_families() -> dict[str, ExportedFamily]:
    """Every metric family a recmesh server registers, by family name."""
    metrics = ServerMetrics("probe")
    families: dict[str, ExportedFamily] = {}
    for value in vars(metrics).values():
        if isinstance(value, MetricWrapperBase):
            # The wrapper's name (a counter's without _total), type and label names.
            assert value._type is not None
            family = ExportedFamily(value._name, value._type, tuple(value._labelnames))
            families[family.name] = family
    return families


def exported_samples() -> dict[str, frozenset[str]]:
    """Every sample name a recmesh server can export, with the labels it carries once
    scraped."""
    samples: dict[str, frozenset[str]] = {}
    for family in exported_families().values():
        for sample in family.sample_names():
            samples[sample] = family.sample_labels(sample)
    return samples


def family_of(sample: str) -> str:
    """The family name of a sample name (recmesh_rpc_requests_total -> recmesh_rpc_requests)."""
    for suffix in ("_total", "_bucket", "_count", "_sum", "_created"):
        if sample.endswith(suffix):
            return sample.removesuffix(suffix)
    return sample


def selectors(promql: str) -> list[tuple[str, frozenset[str]]]:
    """The recmesh_ and etcd_ series a PromQL expression selects, each with the label
    names its matchers use."""
    return [
        (name, frozenset(_LABEL_MATCHER.findall(matchers or "")))
        for name, matchers in _SELECTOR.findall(promql)
    ]


def rule_groups() -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = yaml.safe_load(RULES.read_text())["groups"]
    return groups


def rules() -> list[dict[str, Any]]:
    return [rule for group in rule_groups() for rule in group["rules"]]


def alerts() -> list[dict[str, Any]]:
    return [rule for rule in rules() if "alert" in rule]


def recording_names() -> set[str]:
    return {rule["record"] for rule in rules() if "record" in rule}


def unit_test_series() -> list[tuple[str, frozenset[str]]]:
    """The input series of the promtool unit tests: name and label names."""
    found = []
    for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]:
        for series in test["input_series"]:
            match = re.fullmatch(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\}", series["series"])
            assert match, series["series"]
            found.append((match.group(1), frozenset(_LABEL_MATCHER.findall(match.group(2)))))
    return found


def dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def promtool() -> str:
    """promtool's path; skips the test (fails it under CI) when it is not installed."""
    return str(
        required_tool(
            "promtool",
            "`make setup` installs Debian's prometheus with scripts/ensure_infra_tools.sh",
        )
    )


def run_promtool(*args: str, cwd: Path = PROMETHEUS_DIR) -> str:
    """promtool's output; fails the test with it when promtool exits non-zero."""
    result = subprocess.run(
        [promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output
