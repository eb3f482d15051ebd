"""infra/prometheus/recmesh-rules.yaml: promtool checks it and passes its unit tests, the
unit tests feed it series named and labelled as recmesh's servers export them, every
alert has its runbook in docs/operations.md, the PrometheusRule of the Kubernetes
manifests carries the same rules, and the Grafana dashboard's queries parse and name
real series."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from recmesh.files.repo_paths import REPO_ROOT
from scripts.prometheus_rule import PROMETHEUS_RULE, prometheus_rule
from tests.infra.prometheus_series import (
    ETCD_SERIES,
    RULE_TESTS,
    RULES,
    alerts,
    dashboard_exprs,
    exported_samples,
    recording_names,
    rules,
    run_promtool,
    selectors,
    unit_test_series,
)

OPERATIONS = REPO_ROOT / "docs" / "operations.md"


def test_promtool_checks_the_rules() -> None:
    """`promtool check rules` finds every rule well-formed (PromQL, templates, durations)."""
    output = run_promtool("check", "rules", RULES.name)
    assert f"SUCCESS: {len(rules())} rules found" in output


def test_promtool_unit_tests_pass() -> None:
    """`promtool test rules`: each alert fires on the series that should raise it, with
    its labels and annotations, and stays quiet on healthy ones."""
    output = run_promtool("test", "rules", RULE_TESTS.name)
    assert "SUCCESS" in output


def test_unit_tests_cover_every_alert() -> None:
    """Every alert is expected to fire in at least one unit test."""
    tests = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    fired = {
        case["alertname"]
        for test in tests
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert {alert["alert"] for alert in alerts()} <= fired


def test_rules_select_only_series_the_servers_export_with_their_labels() -> None:
    """Every recmesh_ series a rule selects is a sample recmesh/telemetry/metrics.py
    exports (counters with _total, histograms with _bucket), matched only on labels it
    carries; etcd_ series are etcd's own."""
    exported = exported_samples()
    for rule in rules():
        for name, labels in selectors(rule["expr"]):
            if name in ETCD_SERIES:
                continue
            assert name in exported, f"{rule.get('alert', rule.get('record'))}: {name}"
            assert labels <= exported[name], f"{name}: {sorted(labels - exported[name])}"


def test_unit_test_series_are_named_and_labelled_as_exported() -> None:
    """The promtool unit tests' input series use the exact names and labels a scraped
    recmesh server has (its metric labels plus job and instance, le on buckets)."""
    exported = exported_samples()
    for name, labels in unit_test_series():
        if name in ETCD_SERIES:
            continue
        assert name in exported, name
        assert labels == exported[name], f"{name}: {sorted(labels ^ exported[name])}"


def test_every_alert_has_a_runbook_section_under_alerts_and_runbooks() -> None:
    """Each alert's `runbook` annotation names a section of docs/operations.md, under
    "Alerts and runbooks", whose heading is the alert's name; each alert has a severity
    and a summary."""
    text = OPERATIONS.read_text()
    assert "\n## Alerts and runbooks\n" in text
    section = text.split("\n## Alerts and runbooks\n", 1)[1].split("\n## ", 1)[0]
    anchors = {_anchor(h) for h in re.findall(r"^### (.+)$", section, flags=re.MULTILINE)}
    for alert in alerts():
        runbook = alert["annotations"]["runbook"]
        path, _, anchor = runbook.partition("#")
        assert path == "docs/operations.md", runbook
        assert anchor in anchors, f"{alert['alert']}: no section #{anchor}"
        assert alert["labels"]["severity"] in {"page", "ticket"}
        assert alert["annotations"]["summary"]
        assert anchor == _anchor(alert["alert"]), runbook


def test_the_prometheus_rule_manifest_carries_the_rules_file() -> None:
    """infra/k8s/base/monitoring/prometheus-rule.yaml is what scripts/prometheus_rule.py
    writes from the rules file: the same groups, as written."""
    assert PROMETHEUS_RULE.read_text() == prometheus_rule(RULES.read_text()), (
        "run .venv/bin/python scripts/prometheus_rule.py"
    )
    manifest = yaml.safe_load(PROMETHEUS_RULE.read_text())
    assert manifest["kind"] == "PrometheusRule"
    assert manifest["spec"] == yaml.safe_load(RULES.read_text())


def test_dashboard_queries_parse_and_name_exported_series(tmp_path: Path) -> None:
    """Every query of the Grafana dashboard is valid PromQL (promtool checks them as
    recording rules) and selects series the servers export, etcd's own, or the rules'
    recordings; every recording and every series an alert uses is on the dashboard."""
    exprs = dashboard_exprs()
    checked = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query{i}", "expr": e} for i, e in enumerate(exprs)
                ],
            }
        ]
    }
    path = tmp_path / "dashboard-rules.yaml"
    path.write_text(yaml.safe_dump(checked))
    run_promtool("check", "rules", str(path))
    exported = exported_samples()
    shown = set()
    for expr in exprs:
        for name, labels in selectors(expr):
            shown.add(name)
            if name not in ETCD_SERIES:
                assert name in exported, f"{expr}: {name}"
                assert labels <= exported[name], f"{expr}: {sorted(labels - exported[name])}"
    text = "\n".join(exprs)
    assert all(name in text for name in recording_names())
    alerted = {name for alert in alerts() for name, _ in selectors(alert["expr"])}
    assert alerted <= shown


def _anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    return re.sub(r"[^a-z0-9 _-]", "", heading.strip().lower()).replace(" ", "-")
