"""infra/k8s/: both overlays render (`kubectl kustomize`), every object is valid against
the Kubernetes schemas (offline, kubernetes-validate, strict), and the rendered objects
hold what the installation needs: probes over gRPC health and resource limits on every
Deployment, command lines the real entry points parse, etcd as three members with
persistent volumes and recmesh's users, a NetworkPolicy for every Service, the front
alone open to clients, the control plane open only to the experimenters' namespace,
TLS and the S3 store in production."""

from __future__ import annotations

import argparse
import copy
import importlib
import importlib.util
import json
import re
from typing import Any

import kubernetes_validate
import pytest

from recmesh.etcd.keys import DEFAULT_PREFIX
from recmesh.etcd.users import CONTROL_PLANE_USER, SERVING_USER, USERS
from recmesh.server.healthcheck import build_parser
from tests.infra.k8s_manifests import (
    K8S,
    KUBERNETES_VERSION,
    OPERATOR_KINDS,
    OVERLAYS,
    SERVERS,
    SERVING,
    Obj,
    Rendered,
    container,
    expanded_args,
    option,
    pod_labels,
    pod_spec,
    render,
    selects,
)

_RENDERED: dict[str, Rendered] = {}


@pytest.fixture(params=OVERLAYS)
def rendered(request: pytest.FixtureRequest) -> Rendered:
    """One overlay, rendered once per test session."""
    overlay: str = request.param
    if overlay not in _RENDERED:
        _RENDERED[overlay] = Rendered(overlay, render(overlay))
    return _RENDERED[overlay]


@pytest.fixture
def production() -> Rendered:
    if "production" not in _RENDERED:
        _RENDERED["production"] = Rendered("production", render("production"))
    return _RENDERED["production"]


@pytest.fixture
def local() -> Rendered:
    if "local" not in _RENDERED:
        _RENDERED["local"] = Rendered("local", render("local"))
    return _RENDERED["local"]


def test_every_object_is_valid_against_the_kubernetes_schemas(rendered: Rendered) -> None:
    """Every object but the Prometheus Operator's validates strictly (no unknown field)
    against the Kubernetes 1.37 schemas; the operator's kinds are checked below."""
    checked = 0
    for obj in rendered.objects:
        if obj["kind"] in OPERATOR_KINDS:
            assert obj["apiVersion"] == "monitoring.coreos.com/v1"
            continue
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        checked += 1
    assert checked >= 40


def test_validation_is_strict(rendered: Rendered) -> None:
    """A misspelt field is refused: the check above would catch one."""
    deployment = copy.deepcopy(rendered.server("ranking"))
    c = container(deployment)
    c["readinesProbe"] = c.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def test_every_deployment_has_probes_limits_and_spread(rendered: Rendered) -> None:
    """Every Deployment's containers have readiness and liveness probes and CPU and
    memory requests and limits; its pods spread over zones and nodes; it runs as a
    non-root user on a read-only root filesystem."""
    deployments = rendered.of_kind("Deployment")
    assert {d["metadata"]["name"] for d in deployments} >= {f"recmesh-{c}" for c in SERVERS}
    for workload in [*deployments, *rendered.of_kind("StatefulSet")]:
        name = workload["metadata"]["name"]
        spec = pod_spec(workload)
        keys = {t["topologyKey"] for t in spec.get("topologySpreadConstraints", [])}
        assert keys == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}, name
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        for c in spec["containers"]:
            assert "readinessProbe" in c, name
            assert "livenessProbe" in c, name
            for kind in ("requests", "limits"):
                assert set(c["resources"][kind]) >= {"cpu", "memory"}, f"{name} {kind}"
            assert c["securityContext"]["readOnlyRootFilesystem"] is True, name


def test_servers_are_probed_over_grpc_health_on_their_own_port(rendered: Rendered) -> None:
    """Startup, readiness and liveness of each server ask its gRPC health service, on
    the port it listens on, with recmesh-healthcheck (in production under the pod's own
    certificate): readiness wants SERVING, startup and liveness (--alive) only an answer,
    so a server without a version yet, or whose downstream cannot load one, is taken out
    of the Service but not restarted."""
    for component, (_, port) in SERVERS.items():
        c = container(rendered.server(component))
        assert {p["containerPort"] for p in c["ports"] if p["name"] == "grpc"} == {port}
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            command = c[probe]["exec"]["command"]
            assert command[:3] == ["python", "-m", "recmesh.server.healthcheck"]
            args = build_parser().parse_args(command[3:])
            assert args.address == f"127.0.0.1:{port}"
            assert (args.tls_cert is not None) == (rendered.overlay == "production")
            assert args.alive == (probe != "readinessProbe"), f"{component} {probe}"


class _StopAfterParsingError(Exception):
    def __init__(self, namespace: argparse.Namespace) -> None:
        self.namespace = namespace


def _parse(module: str, argv: list[str], monkeypatch: pytest.MonkeyPatch) -> argparse.Namespace:
    """The namespace the real entry point `python -m module` parses argv into (its own
    parser, stopped before it reads any file); argparse's exit (2) on an unknown option
    or a bad value fails the test."""
    original = argparse.ArgumentParser.parse_args

    def parse_and_stop(
        self: argparse.ArgumentParser, args: Any = None, namespace: Any = None
    ) -> argparse.Namespace:
        raise _StopAfterParsingError(original(self, args, namespace))

    spec = importlib.util.find_spec(module)
    assert spec is not None, module
    package = spec.submodule_search_locations is not None
    main_module = importlib.import_module(f"{module}.__main__" if package else module)
    with monkeypatch.context() as patch:
        patch.setattr(argparse.ArgumentParser, "parse_args", parse_and_stop)
        with pytest.raises(_StopAfterParsingError) as parsed:
            main_module.main(argv)
    return parsed.value.namespace


def test_each_server_runs_its_entry_point_with_options_it_takes(
    rendered: Rendered, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each Deployment runs `python -m <its server>` from the recmesh image with options
    the entry point parses: listening on every address with /metrics reachable, etcd
    through its Service as its own etcd user, the front calling candidates and ranking
    and ranking calling features through their Services."""
    for component, (module, port) in SERVERS.items():
        deployment = rendered.server(component)
        c = container(deployment)
        assert c["image"].startswith("recmesh:")
        assert c["command"] == ["python", "-m", module]
        args = _parse(module, expanded_args(c), monkeypatch)
        assert (args.host, args.port, args.metrics_host) == ("0.0.0.0", port, "0.0.0.0")
        assert {"containerPort": args.metrics_port, "name": "metrics"} in c["ports"]
        assert args.etcd == "recmesh-etcd:2379"
        user = CONTROL_PLANE_USER if component == "control-plane" else SERVING_USER
        assert args.etcd_user == user
        assert str(args.etcd_password_file) == f"/etc/recmesh/etcd/{user}.password"
        # The pod holds its own user's password, nobody else's.
        items = [
            v["secret"]["items"]
            for v in pod_spec(deployment)["volumes"]
            if v["name"] == "etcd-password"
        ]
        assert items == [[{"key": f"{user}.password", "path": f"{user}.password"}]]
    front = _parse(
        "services.recommend", expanded_args(container(rendered.server("recommend"))), monkeypatch
    )
    # dns:///: one replica (channel and breaker) per pod behind the headless Service.
    assert (front.candidates, front.ranking) == (
        "dns:///recmesh-candidates:50052",
        "dns:///recmesh-ranking:50054",
    )
    ranking = _parse(
        "services.ranking", expanded_args(container(rendered.server("ranking"))), monkeypatch
    )
    assert ranking.features == "dns:///recmesh-features:50053"


def test_every_arg_variable_is_defined_before_use(rendered: Rendered) -> None:
    """Every $(VAR) in a container's command and args names one of its env variables, and
    every $(VAR) in an env value one defined earlier in the list (the kubelet leaves
    others unexpanded)."""
    for workload in rendered.workloads():
        for c in pod_spec(workload)["containers"]:
            names = [e["name"] for e in c.get("env", [])]
            for arg in [*c.get("command", []), *c.get("args", [])]:
                for var in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", arg):
                    assert var in names, f"{c['name']}: {arg}"
            for i, e in enumerate(c.get("env", [])):
                for var in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", e.get("value", "")):
                    assert var in names[:i], f"{c['name']}: {e['name']} uses {var} before it"


def test_the_front_and_ranking_autoscale_and_every_component_has_a_disruption_budget(
    rendered: Rendered,
) -> None:
    """HorizontalPodAutoscalers scale the front and ranking on CPU; a PodDisruptionBudget
    covers the pods of every Deployment and of etcd."""
    targets = {
        h["spec"]["scaleTargetRef"]["name"] for h in rendered.of_kind("HorizontalPodAutoscaler")
    }
    assert targets == {"recmesh-recommend", "recmesh-ranking"}
    budgets = [
        p["spec"]["selector"]["matchLabels"] for p in rendered.of_kind("PodDisruptionBudget")
    ]
    for workload in [*rendered.of_kind("Deployment"), *rendered.of_kind("StatefulSet")]:
        covering = [b for b in budgets if selects(b, pod_labels(workload))]
        assert len(covering) == 1, workload["metadata"]["name"]


def test_no_autoscaled_deployment_sets_its_replicas(rendered: Rendered) -> None:
    """A Deployment an HPA scales leaves spec.replicas to it: set in the manifest, every
    apply would reset a scaled-out Deployment to that number."""
    targets = [h["spec"]["scaleTargetRef"] for h in rendered.of_kind("HorizontalPodAutoscaler")]
    assert targets
    for target in targets:
        deployment = rendered.get(target["kind"], target["name"])
        assert "replicas" not in deployment["spec"], target["name"]


def _etcd_auth_job(rendered: Rendered) -> Obj:
    (job,) = rendered.of_kind("Job")
    return job


def test_the_etcd_auth_job_is_named_after_its_image_tag_and_cleans_up(
    rendered: Rendered,
) -> None:
    """A Job's pod template is immutable: the auth Job's name carries its image's tag
    (recmesh-etcd-auth-<tag>, dots as dashes), so applying a new tag creates a new Job
    instead of failing, and a finished Job is deleted after ttlSecondsAfterFinished."""
    job = _etcd_auth_job(rendered)
    tag = container(job)["image"].split(":", 1)[1]
    assert job["metadata"]["name"] == "recmesh-etcd-auth-" + tag.replace(".", "-")
    assert 0 < job["spec"]["ttlSecondsAfterFinished"] <= 86400
    assert all(
        container(w)["image"] == container(job)["image"]
        for w in rendered.workloads()
        if container(w)["image"].startswith("recmesh:")
    )


def test_etcd_is_three_members_with_volumes_and_auth_on(
    rendered: Rendered, monkeypatch: pytest.MonkeyPatch
) -> None:
    """etcd is a StatefulSet of three members, each with a persistent volume, and a Job
    turns its auth on with recmesh's own code and users (recmesh/etcd/users.py) for the
    installation's prefix, holding every user's password."""
    etcd = rendered.get("StatefulSet", "recmesh-etcd")
    assert etcd["spec"]["replicas"] == 3
    claims = etcd["spec"]["volumeClaimTemplates"]
    assert [c["metadata"]["name"] for c in claims] == ["data"]
    mounts = {m["name"]: m["mountPath"] for m in container(etcd)["volumeMounts"]}
    data_dir = next(e["value"] for e in container(etcd)["env"] if e["name"] == "ETCD_DATA_DIR")
    assert data_dir.startswith(mounts["data"] + "/")
    members = next(
        e["value"] for e in container(etcd)["env"] if e["name"] == "ETCD_INITIAL_CLUSTER"
    )
    assert len(members.split(",")) == 3
    job = _etcd_auth_job(rendered)
    c = container(job)
    assert c["command"] == ["python", "-m", "recmesh.etcd.auth_cli"]
    args = _parse("recmesh.etcd.auth_cli", c["args"], monkeypatch)
    assert args.etcd == "recmesh-etcd:2379"
    assert args.prefix == [DEFAULT_PREFIX]
    volume = next(v for v in pod_spec(job)["volumes"] if v["name"] == "etcd-passwords")
    assert volume["secret"]["secretName"] == "recmesh-etcd-passwords"
    assert "items" not in volume["secret"]  # every file: {user}.password for each of USERS
    mount = next(m for m in c["volumeMounts"] if m["name"] == "etcd-passwords")
    assert str(args.passwords) == mount["mountPath"]
    # The Secret's keys, as infra/k8s/README.md tells to make it: one file per user.
    readme = (K8S / "README.md").read_text()
    assert all(f"`{user}.password`" in readme for user in USERS)


def _policies_for(rendered: Rendered, labels: dict[str, str]) -> list[Obj]:
    """The NetworkPolicies (other than the namespace's default deny) selecting pods with
    these labels."""
    return [
        p
        for p in rendered.of_kind("NetworkPolicy")
        if p["spec"]["podSelector"] and selects(p["spec"]["podSelector"]["matchLabels"], labels)
    ]


def test_every_service_has_a_network_policy_and_ingress_is_denied_by_default(
    rendered: Rendered,
) -> None:
    """A policy with an empty pod selector and no rule denies all ingress; the pods
    behind every Service are selected by a policy of their own."""
    deny = rendered.get("NetworkPolicy", "recmesh-default-deny-ingress")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    for service in rendered.of_kind("Service"):
        selector = service["spec"]["selector"]
        pods = [w for w in rendered.workloads() if selects(selector, pod_labels(w))]
        assert pods, f"Service {service['metadata']['name']} selects no pods"
        for workload in pods:
            assert _policies_for(rendered, pod_labels(workload)), service["metadata"]["name"]


def _pod_labels_of(component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "recmesh",
        "app.kubernetes.io/part-of": "recmesh",
        "app.kubernetes.io/component": component,
    }


def _sources(policy: Obj) -> list[tuple[Any, set[Any]]]:
    """Each ingress rule's `from` (None: from anywhere) and its ports."""
    return [
        (rule.get("from"), {p["port"] for p in rule.get("ports", [])})
        for rule in policy["spec"].get("ingress", [])
    ]


def _component(peer: Obj) -> str:
    labels: dict[str, str] = peer["podSelector"]["matchLabels"]
    return labels["app.kubernetes.io/component"]


def test_only_the_front_takes_client_traffic(rendered: Rendered) -> None:
    """Only the front's gRPC port is open to anyone; every other rule names its sources:
    the front for candidates and ranking, ranking for features, the experimenters'
    namespace for the control plane, and the monitoring namespace for /metrics."""
    open_to_all = [
        (p["metadata"]["name"], ports)
        for p in rendered.of_kind("NetworkPolicy")
        for source, ports in _sources(p)
        if source is None
    ]
    assert open_to_all == [("recmesh-recommend", {"grpc"})]
    callers = {"candidates": {"recommend"}, "ranking": {"recommend"}, "features": {"ranking"}}
    for component, expected in callers.items():
        (policy,) = _policies_for(rendered, _pod_labels_of(component))
        grpc_sources = [s for s, ports in _sources(policy) if "grpc" in ports]
        assert [{_component(peer) for peer in s} for s in grpc_sources] == [expected]
    (control_plane,) = _policies_for(rendered, _pod_labels_of("control-plane"))
    grpc_sources = [s for s, ports in _sources(control_plane) if "grpc" in ports]
    assert grpc_sources == [
        [
            {
                "namespaceSelector": {
                    "matchLabels": {"kubernetes.io/metadata.name": "recmesh-experimenters"}
                }
            }
        ]
    ]
    for policy in rendered.of_kind("NetworkPolicy"):
        for source, ports in _sources(policy):
            if "metrics" in ports:
                assert source == [
                    {
                        "namespaceSelector": {
                            "matchLabels": {"kubernetes.io/metadata.name": "monitoring"}
                        }
                    }
                ]


def test_only_recmesh_processes_reach_etcd_and_only_the_control_plane_as_its_writer(
    rendered: Rendered,
) -> None:
    """etcd's client port takes the control plane, the serving processes and the auth
    Job; its peer port only members. Of the servers, only the control plane acts as the
    etcd user that may write (recmesh-control-plane); serving reads as recmesh-serving."""
    (policy,) = _policies_for(rendered, _pod_labels_of("etcd"))
    clients = [s for s, ports in _sources(policy) if "client" in ports]
    assert [{_component(p) for p in s} for s in clients] == [
        {"control-plane", "etcd-auth", *SERVING}
    ]
    peers = [s for s, ports in _sources(policy) if "peer" in ports]
    assert [{_component(p) for p in s} for s in peers] == [{"etcd"}]
    writers = [
        component
        for component in SERVERS
        if option(container(rendered.server(component))["args"], "etcd-user")
        == [CONTROL_PLANE_USER]
    ]
    assert writers == ["control-plane"]


def test_secrets_carry_keys_passwords_tokens_and_tls(rendered: Rendered) -> None:
    """The pointer signing key only in the control plane, the public key in every serving
    process, the principals (token hashes) in the control plane, and a TLS Secret per
    server, all from Secrets mounted read-only."""
    for component in SERVERS:
        deployment = rendered.server(component)
        secrets = {
            v["name"]: v["secret"]["secretName"]
            for v in pod_spec(deployment)["volumes"]
            if "secret" in v
        }
        assert secrets["tls"] == f"recmesh-tls-{component}"
        if component == "control-plane":
            assert secrets["pointer-key"] == "recmesh-pointer-signing-key"
            assert secrets["principals"] == "recmesh-control-plane-principals"
        else:
            assert secrets["pointer-key"] == "recmesh-pointer-public-key"
            assert "principals" not in secrets
        mounts = container(deployment)["volumeMounts"]
        assert all(m.get("readOnly") for m in mounts if m["name"] in secrets)
    readme = (K8S / "README.md").read_text()
    named = {
        v["secret"]["secretName"]
        for w in rendered.workloads()
        for v in pod_spec(w).get("volumes", [])
        if "secret" in v
    }
    for name in named:
        documented = name
        for prefix in ("recmesh-tls-", "recmesh-etcd-client-"):
            if name.removeprefix(prefix) in {*SERVERS, "etcd", "etcd-auth"}:
                documented = f"`{prefix}<component>`"
        assert documented in readme, f"{name} is not in infra/k8s/README.md"


def test_production_runs_mutual_tls_and_the_s3_store(
    production: Rendered, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In production every server and the auth Job present their certificate, etcd
    serves clients and peers over TLS and requires client certificates, and the artifact
    store is an S3 bucket with AWS credentials from a Secret."""
    for component, (module, _) in SERVERS.items():
        c = container(production.server(component))
        args = _parse(module, expanded_args(c), monkeypatch)
        assert (str(args.tls_ca), str(args.tls_cert), str(args.tls_key)) == (
            "/etc/recmesh/tls/ca.crt",
            "/etc/recmesh/tls/tls.crt",
            "/etc/recmesh/tls/tls.key",
        )
        assert args.artifacts is not None
        assert option(expanded_args(c), "artifacts")[0].startswith("s3://")
        secret = "recmesh-s3-credentials" if component == "control-plane" else "recmesh-s3-readonly"
        assert c["envFrom"] == [{"secretRef": {"name": secret}}]
    job = _parse(
        "recmesh.etcd.auth_cli",
        container(_etcd_auth_job(production))["args"],
        monkeypatch,
    )
    assert job.tls_cert is not None
    env = {
        e["name"]: e.get("value")
        for e in container(production.get("StatefulSet", "recmesh-etcd"))["env"]
    }
    assert env["ETCD_LISTEN_CLIENT_URLS"].startswith("https://")
    assert env["ETCD_LISTEN_PEER_URLS"].startswith("https://")
    assert env["ETCD_CLIENT_CERT_AUTH"] == env["ETCD_PEER_CLIENT_CERT_AUTH"] == "true"


def _secrets_referenced(workload: Obj) -> set[str]:
    """Every Secret a workload's pods read: volumes, envFrom and env valueFrom."""
    spec = pod_spec(workload)
    names = {v["secret"]["secretName"] for v in spec.get("volumes", []) if "secret" in v}
    for c in [*spec["containers"], *spec.get("initContainers", [])]:
        names |= {e["secretRef"]["name"] for e in c.get("envFrom", []) if "secretRef" in e}
        names |= {
            e["valueFrom"]["secretKeyRef"]["name"]
            for e in c.get("env", [])
            if "secretKeyRef" in e.get("valueFrom", {})
        }
    return names


def test_only_the_control_plane_holds_the_s3_write_credentials(production: Rendered) -> None:
    """The S3 identity that may write artifacts (recmesh-s3-credentials) reaches the
    control plane's pods and no other; the serving processes read with the read-only
    identity (recmesh-s3-readonly); infra/k8s/README.md gives both IAM policies."""
    holders = {
        w["metadata"]["name"]
        for w in production.workloads()
        if "recmesh-s3-credentials" in _secrets_referenced(w)
    }
    assert holders == {"recmesh-control-plane"}
    for component in SERVING:
        assert "recmesh-s3-readonly" in _secrets_referenced(production.server(component))
    reader, writer = (
        {a for statement in json.loads(block)["Statement"] for a in statement["Action"]}
        for block in re.findall(r"```json\n(.*?)```", (K8S / "README.md").read_text(), re.S)
    )
    assert reader == {"s3:GetObject", "s3:ListBucket"}
    assert {"s3:PutObject", "s3:DeleteObject"} <= writer


def _secret_of_file(workload: Obj, path: str) -> str:
    """The Secret whose volume holds the file at `path` in the workload's container."""
    c = container(workload)
    (mount,) = [m for m in c["volumeMounts"] if path.startswith(m["mountPath"] + "/")]
    (volume,) = [v for v in pod_spec(workload)["volumes"] if v["name"] == mount["name"]]
    name: str = volume["secret"]["secretName"]
    return name


def test_production_etcd_trusts_only_the_etcd_client_ca(
    production: Rendered, monkeypatch: pytest.MonkeyPatch
) -> None:
    """etcd takes a client certificate's CN as its user, so it trusts client
    certificates of the etcd CA alone (recmesh-etcd-client-ca), not the mesh CA that
    signs people's: each server presents to etcd its own etcd client certificate
    (--etcd-tls-*, from recmesh-etcd-client-<component>), and its mesh certificate
    (--tls-*, recmesh-tls-<component>) only to gRPC peers."""
    etcd = production.get("StatefulSet", "recmesh-etcd")
    env = {e["name"]: e.get("value") for e in container(etcd)["env"]}
    assert _secret_of_file(etcd, env["ETCD_TRUSTED_CA_FILE"]) == "recmesh-etcd-client-ca"
    for component, (module, _) in SERVERS.items():
        server = production.server(component)
        args = _parse(module, expanded_args(container(server)), monkeypatch)
        etcd_files = (args.etcd_tls_ca, args.etcd_tls_cert, args.etcd_tls_key)
        assert {_secret_of_file(server, str(f)) for f in etcd_files} == {
            f"recmesh-etcd-client-{component}"
        }
        assert _secret_of_file(server, str(args.tls_cert)) == f"recmesh-tls-{component}"
    readme = (K8S / "README.md").read_text()
    assert "| mesh CA |" in readme
    assert "| etcd CA |" in readme


def test_local_keeps_the_artifact_store_on_a_volume(
    local: Rendered, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Locally every server reads the artifact store from the one volume, mounted where
    --artifacts points, and talks plaintext."""
    claim = local.get("PersistentVolumeClaim", "recmesh-artifacts")
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    for component, (module, _) in SERVERS.items():
        deployment = local.server(component)
        c = container(deployment)
        args = _parse(module, expanded_args(c), monkeypatch)
        assert args.tls_cert is None
        mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
        assert args.artifacts is not None
        assert option(expanded_args(c), "artifacts") == [mounts["artifacts"]]
        volumes = {v["name"]: v for v in pod_spec(deployment)["volumes"]}
        assert volumes["artifacts"]["persistentVolumeClaim"]["claimName"] == "recmesh-artifacts"


def test_the_monitoring_objects_scrape_metrics_and_carry_the_rules(rendered: Rendered) -> None:
    """The PodMonitor scrapes the `metrics` port of every recmesh pod that has one; the
    PrometheusRule is in both overlays."""
    (monitor,) = rendered.of_kind("PodMonitor")
    assert [e["port"] for e in monitor["spec"]["podMetricsEndpoints"]] == ["metrics"]
    selector = monitor["spec"]["selector"]["matchLabels"]
    for workload in rendered.workloads():
        ports = {p["name"] for c in pod_spec(workload)["containers"] for p in c.get("ports", [])}
        if "metrics" in ports:
            assert selects(selector, pod_labels(workload)), workload["metadata"]["name"]
    (rule,) = rendered.of_kind("PrometheusRule")
    assert rule["spec"]["groups"]
