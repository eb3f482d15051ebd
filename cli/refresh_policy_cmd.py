"""`recmesh refresh-policy set|show`: the rules under which a data refresh serves."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from cli.controlplane_client import (
    ControlPlaneClient,
    add_client_arguments,
    run_with_client,
)
from cli.output import print_json


def add_parser(subparsers: Any) -> None:
    policy = subparsers.add_parser(
        "refresh-policy", help="the rules under which `recmesh data refresh` may serve"
    )
    commands = policy.add_subparsers(dest="policy_command", metavar="COMMAND", required=True)
    setting = commands.add_parser("set", help="record the refresh policy (operator, audited)")
    setting.add_argument("--metric", default="ndcg@10", help="probe metric, ndcg@K")
    setting.add_argument(
        "--max-drop",
        type=float,
        default=0.02,
        help="how far the probe may fall, relative to the serving data's value (default 0.02)",
    )
    setting.add_argument("--probe-users", type=int, default=200, help="users probed")
    setting.add_argument(
        "--holdout",
        type=float,
        default=0.2,
        help="share of each probe user's latest interactions held out (default 0.2)",
    )
    setting.add_argument("--seed", type=int, default=42, help="draws the probe users")
    setting.add_argument(
        "--max-clock-advance-days",
        type=float,
        default=30.0,
        help="how far the refreshed data's newest interaction may be after the serving "
        "data's, in days (0: no bound; default 30)",
    )
    add_client_arguments(setting, default_as="olga")
    setting.set_defaults(handler=run_set)
    show = commands.add_parser("show", help="print the recorded refresh policy")
    add_client_arguments(show, default_as="olga")
    show.set_defaults(handler=run_show)


def run_set(args: argparse.Namespace) -> int:
    from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
    from recmesh.api.controlplane.v1 import records_pb2

    if args.probe_users < 1:
        print("recmesh refresh-policy set: --probe-users must be at least 1", file=sys.stderr)
        return 2

    def body(client: ControlPlaneClient) -> int:
        response = client.stub.SetRefreshPolicy(
            pb.SetRefreshPolicyRequest(
                policy=records_pb2.RefreshPolicy(
                    metric=args.metric,
                    max_relative_drop=args.max_drop,
                    probe_users=args.probe_users,
                    holdout_fraction=args.holdout,
                    seed=args.seed,
                    max_clock_advance_days=args.max_clock_advance_days,
                )
            ),
            metadata=client.metadata,
            timeout=client.timeout,
        )
        _print(response.policy, args.json)
        return 0

    return run_with_client(args, body)


def run_show(args: argparse.Namespace) -> int:
    from recmesh.api.controlplane.v1 import control_plane_pb2 as pb

    def body(client: ControlPlaneClient) -> int:
        response = client.stub.GetRefreshPolicy(
            pb.GetRefreshPolicyRequest(), metadata=client.metadata, timeout=client.timeout
        )
        _print(response.policy, args.json)
        return 0

    return run_with_client(args, body)


def _print(policy: Any, as_json: bool) -> None:
    body = {
        "metric": policy.metric,
        "max_relative_drop": policy.max_relative_drop,
        "probe_users": policy.probe_users,
        "holdout_fraction": policy.holdout_fraction,
        "seed": policy.seed,
        "max_clock_advance_days": policy.max_clock_advance_days,
        "set_by": policy.set_by,
        "set_at": policy.set_at.ToJsonString(),
    }
    if as_json:
        print_json(body)
        return
    print(
        f"a refresh serves when {policy.metric} on {policy.probe_users} probe users (latest "
        f"{policy.holdout_fraction:.0%} held out, seed {policy.seed}) falls at most "
        f"{policy.max_relative_drop:.1%} below the serving data's value, the model is "
        f"unchanged, no data is lost and the data's clock moves at most "
        f"{policy.max_clock_advance_days:g} days (0: any); set by {policy.set_by} at "
        f"{policy.set_at.ToJsonString()}"
    )
