"""`recmesh rollout status|pause|resume EXP`: follow and steer a staged promotion."""

from __future__ import annotations

import argparse
import time
from typing import Any

from cli.controlplane_client import ControlPlaneClient, add_client_arguments, run_with_client
from cli.output import message_dict, print_json
from cli.rollout_text import look_lines, plan_lines, rollout_headline

#: How often --watch asks again.
WATCH_SECONDS = 2.0


def add_parser(subparsers: Any) -> None:
    rollout = subparsers.add_parser("rollout", help="a staged promotion: status, pause, resume")
    commands = rollout.add_subparsers(dest="rollout_command", metavar="COMMAND", required=True)
    status = commands.add_parser("status", help="each stage and every look (any person)")
    status.add_argument("experiment_id", metavar="EXP")
    status.add_argument(
        "--watch", action="store_true", help="print new looks as they come, until it ends"
    )
    add_client_arguments(status, default_as=None)
    status.set_defaults(handler=run_status)
    pause = commands.add_parser(
        "pause", help="stop looks and the hold clock; users keep their arm (operator)"
    )
    pause.add_argument("experiment_id", metavar="EXP")
    pause.add_argument("--reason", default="", help="recorded in the audit log")
    add_client_arguments(pause, default_as=None)
    pause.set_defaults(handler=run_pause)
    resume = commands.add_parser("resume", help="continue from the time already held (operator)")
    resume.add_argument("experiment_id", metavar="EXP")
    add_client_arguments(resume, default_as=None)
    resume.set_defaults(handler=run_resume)


def run_status(args: argparse.Namespace) -> int:
    from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
    from recmesh.api.controlplane.v1 import records_pb2

    active = {records_pb2.ROLLOUT_STATUS_RUNNING, records_pb2.ROLLOUT_STATUS_PAUSED}

    def body(client: ControlPlaneClient) -> int:
        printed = 0
        headed = False
        while True:
            response = client.stub.GetRollout(
                pb.GetRolloutRequest(experiment_id=args.experiment_id),
                metadata=client.metadata,
                timeout=client.timeout,
            )
            if args.json:
                print_json(message_dict(response))
                return 0
            rollout = response.rollout
            if not headed:
                # Once: a watch whose first asks find no look yet must not repeat it.
                print(rollout_headline(rollout))
                print("\n".join(plan_lines(rollout.plan)))
                headed = True
            lines = look_lines(response.looks, rollout.plan.stages)
            print("\n".join(lines[printed:]), end="\n" if lines[printed:] else "")
            printed = len(lines)
            if not args.watch or rollout.status not in active:
                if args.watch:
                    print(rollout_headline(rollout))
                return 0
            time.sleep(WATCH_SECONDS)

    return run_with_client(args, body)


def run_pause(args: argparse.Namespace) -> int:
    from recmesh.api.controlplane.v1 import control_plane_pb2 as pb

    def body(client: ControlPlaneClient) -> int:
        rollout = client.stub.PauseRollout(
            pb.PauseRolloutRequest(experiment_id=args.experiment_id, reason=args.reason),
            metadata=client.metadata,
            timeout=client.timeout,
        ).rollout
        return _print(args, rollout, f"paused after {rollout.stage_held_before:.0f} s held")

    return run_with_client(args, body)


def run_resume(args: argparse.Namespace) -> int:
    from recmesh.api.controlplane.v1 import control_plane_pb2 as pb

    def body(client: ControlPlaneClient) -> int:
        rollout = client.stub.ResumeRollout(
            pb.ResumeRolloutRequest(experiment_id=args.experiment_id),
            metadata=client.metadata,
            timeout=client.timeout,
        ).rollout
        return _print(args, rollout, f"resumed with {rollout.stage_held_before:.0f} s held")

    return run_with_client(args, body)


def _print(args: argparse.Namespace, rollout: Any, what: str) -> int:
    if args.json:
        print_json(message_dict(rollout))
    else:
        print(f"{args.experiment_id}: {what}; {rollout_headline(rollout)}")
    return 0
