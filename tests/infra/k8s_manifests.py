"""What the Kubernetes manifest tests read: infra/k8s/ rendered by `kubectl kustomize`,
its objects, and the command line of each recmesh container."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from typing import Any

import yaml

from recmesh.files.repo_paths import REPO_ROOT
from tests.tools import required_tool

K8S = REPO_ROOT / "infra" / "k8s"
OVERLAYS = ("local", "production")
#: The Kubernetes version whose schemas the objects are checked against (offline, the
#: schemas kubernetes-validate ships).
KUBERNETES_VERSION = "1.37.0"
#: Kinds of the Prometheus Operator's CRDs, which kubernetes-validate has no schema for.
OPERATOR_KINDS = frozenset({"PodMonitor", "PrometheusRule"})
#: The recmesh Deployments: component -> (python module, gRPC port).
SERVERS = {
    "recommend": ("services.recommend", 50051),
    "candidates": ("services.candidates", 50052),
    "features": ("services.features", 50053),
    "ranking": ("services.ranking", 50054),
    "control-plane": ("control_plane", 50055),
}
SERVING = ("recommend", "candidates", "features", "ranking")

Obj = dict[str, Any]
KUBECTL_INSTALL = (
    "`make setup` installs Debian's kubernetes-client with scripts/ensure_infra_tools.sh"
)


def kubectl() -> str:
    """kubectl's path; skips the test (fails it under CI) when it is not installed."""
    return str(required_tool("kubectl", KUBECTL_INSTALL))


def render(overlay: str) -> list[Obj]:
    """The objects `kubectl kustomize infra/k8s/overlays/OVERLAY` renders."""
    result = subprocess.run(
        [kubectl(), "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@dataclass(frozen=True)
class Rendered:
    """One overlay's objects, looked up by kind and name."""

    overlay: str
    objects: list[Obj]

    def of_kind(self, kind: str) -> list[Obj]:
        return [o for o in self.objects if o["kind"] == kind]

    def get(self, kind: str, name: str) -> Obj:
        found = [o for o in self.of_kind(kind) if o["metadata"]["name"] == name]
        assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
        return found[0]

    def workloads(self) -> list[Obj]:
        """Deployments, StatefulSets and Jobs: everything that runs pods."""
        return [o for o in self.objects if o["kind"] in {"Deployment", "StatefulSet", "Job"}]

    def server(self, component: str) -> Obj:
        return self.get("Deployment", f"recmesh-{component}")


def pod_spec(workload: Obj) -> Obj:
    spec: Obj = workload["spec"]["template"]["spec"]
    return spec


def pod_labels(workload: Obj) -> dict[str, str]:
    labels: dict[str, str] = workload["spec"]["template"]["metadata"]["labels"]
    return labels


def container(workload: Obj) -> Obj:
    """The workload's one container."""
    containers: list[Obj] = pod_spec(workload)["containers"]
    assert len(containers) == 1, workload["metadata"]["name"]
    return containers[0]


def env_value(c: Obj, name: str) -> str:
    values = [e.get("value") for e in c.get("env", []) if e["name"] == name]
    assert len(values) == 1, f"{c['name']}: env {name}: {values}"
    value: str = values[0]
    return value


def expanded_args(c: Obj) -> list[str]:
    """The container's args with $(VAR) replaced by the literal value of its env var
    (as the kubelet expands them)."""
    return [
        re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env_value(c, m.group(1)), a)
        for a in c.get("args", [])
    ]


def option(args: list[str], name: str) -> list[str]:
    """The values of `--name=value` in args, in order."""
    prefix = f"--{name}="
    return [a.removeprefix(prefix) for a in args if a.startswith(prefix)]


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())
