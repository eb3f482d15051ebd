"""`recmesh promote EXP`: move the serving pointer to the experiment's challenger, at once or
in stages (`cli/rollout_plan_args.py`: --stages, --hold, --guardrail, ... or --plan FILE)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from cli.controlplane_client import (
    ControlPlaneClient,
    add_client_arguments,
    run_with_client,
)
from cli.output import message_dict, print_json
from cli.pointer_cmd import pointer_dict
from cli.rollout_plan_args import PlanError, add_plan_arguments, build_plan, wants_plan


def add_parser(subparsers: Any) -> None:
    promote = subparsers.add_parser(
        "promote", help="promote an approved experiment's challenger, at once or in stages"
    )
    promote.add_argument("experiment_id", metavar="EXP")
    add_plan_arguments(promote)
    add_client_arguments(promote, default_as=None)
    promote.set_defaults(handler=run_promote)


def run_promote(args: argparse.Namespace) -> int:
    from recmesh.api.controlplane.v1 import control_plane_pb2 as pb

    request = pb.PromoteRequest(experiment_id=args.experiment_id)
    if wants_plan(args):
        try:
            request.plan.CopyFrom(build_plan(args))
        except PlanError as exc:
            print(f"recmesh promote: {exc}", file=sys.stderr)
            return 2

    def body(client: ControlPlaneClient) -> int:
        response = client.stub.Promote(request, metadata=client.metadata, timeout=client.timeout)
        staged = response.HasField("rollout")
        if args.json:
            result: dict[str, Any] = {
                "pointer": pointer_dict(response.pointer),
                "previous_version": response.previous_version,
            }
            if staged:
                result["rollout"] = message_dict(response.rollout)
            print_json(result)
        elif staged:
            rollout = response.pointer.rollout
            print(
                f"staged promotion of {args.experiment_id} started: {rollout.challenger_version} "
                f"answers {rollout.share:g} of users beside {response.pointer.serving_version} "
                f"(rollout {rollout.rollout_id}, stages "
                f"{','.join(f'{s:g}' for s in response.rollout.plan.stages)}); follow it with "
                f"`recmesh rollout status {args.experiment_id} --watch`"
            )
        else:
            print(
                f"promoted {args.experiment_id}: serving {response.previous_version} -> "
                f"{response.pointer.serving_version} (pointer revision "
                f"{response.pointer.revision})"
            )
        return 0

    return run_with_client(args, body)
