"""Wires one control plane server: store, records, audit log, domain objects, auth, servicer.

Interceptor chain, outermost first (`interceptor_chain`, the one place it is built,
for the entry point and the tests alike): the instrumenting interceptor (tracing,
metrics, error mapping), then authentication. Auth sits inside the instrumenting
interceptor, so its Unauthenticated/PermissionDenied errors are mapped like any
handler's.
"""

from __future__ import annotations

import asyncio
import contextlib

import grpc
from opentelemetry import trace
from opentelemetry.trace import TracerProvider

from control_plane.audit_log import AuditLog
from control_plane.auth.authenticators import (
    Authenticator,
    CertificateAuthenticator,
    TokenAuthenticator,
)
from control_plane.auth.interceptor import AuthInterceptor
from control_plane.auth.principals import load_principals
from control_plane.clock import Clock, utc_now
from control_plane.config import ControlPlaneConfig
from control_plane.decision_rules import RuleFloors
from control_plane.evaluations import EvaluationBook
from control_plane.experiments import ExperimentBook
from control_plane.model_registry import ModelRegistry
from control_plane.pointer import PointerFeed
from control_plane.pointer_writer import PointerWriter
from control_plane.promotion import Promoter
from control_plane.refresh_gate import RefreshGate
from control_plane.refresh_policy import RefreshPolicyBook
from control_plane.reviews import ReviewBook
from control_plane.rollback import Rollback
from control_plane.rollout_control import RolloutControl
from control_plane.rollout_driver import RolloutDriver, Sleep
from control_plane.servicer import ControlPlaneServicer
from control_plane.shadow import ShadowBook
from control_plane.shadow_reports import ShadowReports
from control_plane.staged_promotion import StagedPromoter
from control_plane.store.etcd_kv import EtcdKV
from control_plane.store.records import RecordReader
from control_plane.store.rollout_records import RolloutReader
from recmesh.api.controlplane.v1 import control_plane_pb2, control_plane_pb2_grpc
from recmesh.artifacts.factory import open_artifact_store
from recmesh.etcd.keys import KeySchema
from recmesh.rpc.listen import bind_port
from recmesh.server.build import build_server, server_interceptors
from recmesh.server.interceptor_types import ServerInterceptorBase
from recmesh.server.run import ServerHandle
from recmesh.signing.keys import PublicKeyRing, load_private_key, load_public_key
from recmesh.signing.sign import PointerSigner
from recmesh.telemetry.metrics import ServerMetrics

COMPONENT = "control_plane"
SERVICE_NAME: str = control_plane_pb2.DESCRIPTOR.services_by_name["ControlPlaneService"].full_name


def interceptor_chain(
    authenticator: Authenticator,
    tracer_provider: TracerProvider,
    metrics: ServerMetrics | None,
) -> list[ServerInterceptorBase]:
    """The control plane's interceptors, outermost first: instrumentation, then
    authentication of every call of the control plane service."""
    return server_interceptors(
        tracer_provider, metrics, [AuthInterceptor(authenticator, SERVICE_NAME)]
    )


async def create_server(
    config: ControlPlaneConfig,
    *,
    tracer_provider: TracerProvider | None = None,
    metrics: ServerMetrics | None = None,
    clock: Clock = utc_now,
    sleep: Sleep = asyncio.sleep,
) -> ServerHandle:
    """Builds, binds and starts the server (health SERVING), its chain
    `interceptor_chain`: spans go to tracer_provider (default: OpenTelemetry's global
    one), calls are counted in metrics (default: metrics of its own).

    Stop it with `stop(grace)` (health NOT_SERVING, then in-flight calls get grace
    seconds); stopping the server in any way (`server.stop` lets in-flight calls
    finish) also closes its etcd client. Raises
    The rollout driver runs as a task of the server's loop, with `clock` and `sleep`
    (tests fix both), and is cancelled when the server stops. Raises
    PrincipalsFileError when the credentials file is unusable, KeyFileError when a
    signing or public key file is, and OSError when the port cannot be bound.
    """
    principals = load_principals(config.credentials_file)
    signing_key = load_private_key(config.signing_key)
    signer = PointerSigner(signing_key)
    trusted = PublicKeyRing.of(
        [signing_key.public_key(), *(load_public_key(path) for path in config.trusted_keys)]
    )
    authenticator: Authenticator = (
        TokenAuthenticator(principals)
        if config.tls is None
        else CertificateAuthenticator(principals)
    )
    keys = KeySchema(config.etcd_prefix)
    kv = EtcdKV(
        config.etcd_endpoints,
        timeout_s=config.etcd_timeout_s,
        tls=config.etcd_tls,
        credentials=config.etcd_credentials,
    )
    await kv.connect()
    try:
        artifacts = open_artifact_store(config.artifacts_dir)
        records = RecordReader(kv, keys, trusted)
        audit = AuditLog(kv, keys, clock)
        writer = PointerWriter(keys, audit, signer)
        rollouts = RolloutReader(kv, keys)
        models = ModelRegistry(artifacts, kv, keys, records, audit, clock)
        servicer = ControlPlaneServicer(
            authenticator=authenticator,
            artifacts=artifacts,
            max_upload_bytes=config.max_upload_bytes,
            records=records,
            models=models,
            experiments=ExperimentBook(
                keys,
                records,
                audit,
                clock,
                RuleFloors(config.confidence_floor, config.resamples_floor),
            ),
            evaluations=EvaluationBook(keys, records, audit, clock),
            reviews=ReviewBook(keys, records, audit, clock),
            promoter=Promoter(keys, records, audit, clock, writer),
            rollback=Rollback(keys, records, rollouts, audit, clock, writer),
            refresh_policies=RefreshPolicyBook(keys, records, audit, clock),
            refresh_gate=RefreshGate(keys, records, models, artifacts, audit, clock, writer),
            pointer=PointerFeed(kv, keys, records),
            audit=audit,
            shadow=ShadowBook(keys, records, audit, clock, writer),
            shadow_reports=ShadowReports(keys, records, rollouts, audit, clock, config.impressions),
            staged=StagedPromoter(keys, records, rollouts, audit, clock, writer),
            rollouts=rollouts,
            rollout_control=RolloutControl(keys, rollouts, audit, clock),
        )
        driver = RolloutDriver(
            keys,
            kv,
            records,
            rollouts,
            audit,
            writer,
            clock,
            sleep=sleep,
            tick_seconds=config.rollout_tick_seconds,
        )
        server, health = build_server(
            service_full_names=[SERVICE_NAME],
            register=lambda s: control_plane_pb2_grpc.add_ControlPlaneServiceServicer_to_server(
                servicer, s
            ),
            interceptors=interceptor_chain(
                authenticator,
                tracer_provider if tracer_provider is not None else trace.get_tracer_provider(),
                metrics if metrics is not None else ServerMetrics(COMPONENT),
            ),
        )
        port = bind_port(server, config.host, config.port, config.tls)
        await server.start()
    except BaseException:
        await kv.close()
        raise
    await health.set_serving()
    # The server's termination future, which the task awaits, keeps the task alive for
    # as long as the server lives; nothing else needs a handle on it.
    looking = asyncio.create_task(driver.run(), name=f"{COMPONENT}-rollout-driver")
    asyncio.create_task(  # noqa: RUF006
        _close_when_stopped(server, kv, looking), name=f"{COMPONENT}-close-etcd"
    )
    return ServerHandle(component=COMPONENT, server=server, port=port, health=health)


async def _close_when_stopped(
    server: grpc.aio.Server, kv: EtcdKV, driver: asyncio.Task[None]
) -> None:
    await server.wait_for_termination()
    driver.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await driver
    await kv.close()
