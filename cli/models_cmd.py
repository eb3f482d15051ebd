"""`recmesh models list|show|upload|register`: serving versions and their artifacts."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cli.controlplane_client import (
    ControlPlaneClient,
    add_client_arguments,
    run_with_client,
)
from cli.output import enum_word, message_dict, print_json, print_table, when

CHUNK_BYTES = 1024 * 1024


def add_parser(subparsers: Any) -> None:
    models = subparsers.add_parser("models", help="registered serving versions")
    commands = models.add_subparsers(dest="models_command", metavar="COMMAND", required=True)

    listing = commands.add_parser("list", help="every registered version")
    add_client_arguments(listing, default_as="alice")
    listing.set_defaults(handler=run_list)

    show = commands.add_parser("show", help="one version with its artifacts and lineage")
    show.add_argument("version_id", metavar="VERSION")
    add_client_arguments(show, default_as="alice")
    show.set_defaults(handler=run_show)

    upload = commands.add_parser("upload", help="stream a file into the artifact store")
    upload.add_argument("path", type=Path)
    upload.add_argument("--name", help="its role: manifest, snapshot or model (default: file name)")
    add_client_arguments(upload, default_as=None)
    upload.set_defaults(handler=run_upload)

    register = commands.add_parser("register", help="register a manifest already in the store")
    register.add_argument("manifest_sha256", metavar="MANIFEST_SHA256")
    register.add_argument("--split", default="", help='for example "user_stratified:0.75:seed=42"')
    register.add_argument(
        "--param", action="append", default=[], metavar="KEY=VALUE", help="training parameter"
    )
    register.add_argument("--code-revision", default="")
    register.add_argument("--description", default="")
    add_client_arguments(register, default_as=None)
    register.set_defaults(handler=run_register)


def _version_row(version: Any) -> tuple[str, ...]:
    return (
        version.version_id,
        enum_word(_kind_name(version.kind), "MODEL_KIND_"),
        version.registered_by,
        when(version.registered_at),
        version.lineage.dataset_fingerprint[:16],
        version.description,
    )


def _kind_name(kind: Any) -> str:
    from recmesh.api.controlplane.v1 import records_pb2

    return str(records_pb2.ModelKind.Name(kind))


def run_list(args: argparse.Namespace) -> int:
    from recmesh.api.controlplane.v1 import control_plane_pb2 as pb

    def body(client: ControlPlaneClient) -> int:
        response = client.stub.ListModelVersions(
            pb.ListModelVersionsRequest(), metadata=client.metadata, timeout=client.timeout
        )
        if args.json:
            print_json({"model_versions": [message_dict(v) for v in response.model_versions]})
            return 0
        print_table(
            ("VERSION", "KIND", "REGISTERED BY", "REGISTERED AT", "DATASET", "DESCRIPTION"),
            [_version_row(v) for v in response.model_versions],
        )
        return 0

    return run_with_client(args, body)


def run_show(args: argparse.Namespace) -> int:
    from recmesh.api.controlplane.v1 import control_plane_pb2 as pb

    def body(client: ControlPlaneClient) -> int:
        version = client.stub.GetModelVersion(
            pb.GetModelVersionRequest(version_id=args.version_id),
            metadata=client.metadata,
            timeout=client.timeout,
        ).model_version
        if args.json:
            print_json(message_dict(version))
            return 0
        lineage = version.lineage
        print(f"{version.version_id}  ({enum_word(_kind_name(version.kind), 'MODEL_KIND_')})")
        print(f"  registered by {version.registered_by} at {when(version.registered_at)}")
        print(f"  feature schema  {version.feature_schema_fingerprint}")
        print(f"  dataset         {lineage.dataset_name} ({lineage.dataset_fingerprint})")
        print(f"  split           {lineage.split or '-'}")
        print(f"  code revision   {lineage.code_revision or '-'}")
        for key, value in sorted(lineage.training_params.items()):
            print(f"  param           {key}={value}")
        for artifact in version.artifacts:
            print(f"  {artifact.name:<9} sha256:{artifact.sha256} {artifact.size_bytes} bytes")
        if version.description:
            print(f"  {version.description}")
        return 0

    return run_with_client(args, body)


def _upload_requests(path: Path, name: str) -> Iterator[Any]:
    from recmesh.api.controlplane.v1 import control_plane_pb2 as pb

    yield pb.UploadArtifactRequest(
        header=pb.ArtifactHeader(name=name, size_bytes=path.stat().st_size)
    )
    with path.open("rb") as file:
        while chunk := file.read(CHUNK_BYTES):
            yield pb.UploadArtifactRequest(chunk=chunk)


def run_upload(args: argparse.Namespace) -> int:
    def body(client: ControlPlaneClient) -> int:
        if not args.path.is_file():
            print(f"recmesh: no file {args.path}", file=sys.stderr)
            return 2
        artifact = client.stub.UploadArtifact(
            _upload_requests(args.path, args.name or args.path.name),
            metadata=client.metadata,
            timeout=client.timeout,
        ).artifact
        if args.json:
            print_json(message_dict(artifact))
        else:
            print(f"uploaded {artifact.name}: sha256:{artifact.sha256} ({artifact.size_bytes} B)")
        return 0

    return run_with_client(args, body)


def run_register(args: argparse.Namespace) -> int:
    from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
    from recmesh.api.controlplane.v1 import records_pb2

    params = dict(p.split("=", 1) for p in args.param if "=" in p)
    if len(params) != len(args.param):
        print("recmesh: --param takes KEY=VALUE", file=sys.stderr)
        return 2
    lineage = records_pb2.Lineage(
        split=args.split, training_params=params, code_revision=args.code_revision
    )

    def body(client: ControlPlaneClient) -> int:
        response = client.stub.RegisterModelVersion(
            pb.RegisterModelVersionRequest(
                manifest_sha256=args.manifest_sha256,
                lineage=lineage,
                description=args.description,
            ),
            metadata=client.metadata,
            timeout=client.timeout,
        )
        version = response.model_version
        if args.json:
            print_json({"model_version": message_dict(version), "created": response.created})
        else:
            verb = "registered" if response.created else "already registered"
            print(f"{verb}: {version.version_id}")
        return 0

    return run_with_client(args, body)
