"""`recmesh review EXP --approve|--reject|--comment TEXT` and `recmesh review EXP --list`.

--approve and --reject take an optional --comment; --comment alone adds to the
debate without a verdict. Only reviewers approve or reject, never their own
experiment.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from cli.controlplane_client import (
    ControlPlaneClient,
    add_client_arguments,
    run_with_client,
)
from cli.output import enum_word, message_dict, print_json, print_table, when


def add_parser(subparsers: Any) -> None:
    review = subparsers.add_parser("review", help="approve, reject or comment on an experiment")
    review.add_argument("experiment_id", metavar="EXP")
    verdict = review.add_mutually_exclusive_group()
    verdict.add_argument("--approve", action="store_true")
    verdict.add_argument("--reject", action="store_true")
    verdict.add_argument("--list", action="store_true", help="show the reviews so far")
    review.add_argument("--comment", default="", metavar="TEXT")
    add_client_arguments(review, default_as=None)
    review.set_defaults(handler=run_review)


def _verdict_word(verdict: Any) -> str:
    from recmesh.api.controlplane.v1 import records_pb2

    return enum_word(records_pb2.ReviewVerdict.Name(verdict), "REVIEW_VERDICT_")


def run_review(args: argparse.Namespace) -> int:
    from recmesh.api.controlplane.v1 import control_plane_pb2 as pb
    from recmesh.api.controlplane.v1 import records_pb2

    if args.list and not args.principal:
        args.principal = "alice"
    if args.approve:
        verdict = records_pb2.REVIEW_VERDICT_APPROVE
    elif args.reject:
        verdict = records_pb2.REVIEW_VERDICT_REJECT
    elif args.comment or args.list:
        verdict = records_pb2.REVIEW_VERDICT_COMMENT
    else:
        print("recmesh review: give --approve, --reject, --comment TEXT or --list", file=sys.stderr)
        return 2

    def listing(client: ControlPlaneClient) -> int:
        reviews = client.stub.ListReviews(
            pb.ListReviewsRequest(experiment_id=args.experiment_id),
            metadata=client.metadata,
            timeout=client.timeout,
        ).reviews
        if args.json:
            print_json({"reviews": [message_dict(r) for r in reviews]})
            return 0
        print_table(
            ("AT", "AUTHOR", "VERDICT", "COMMENT"),
            [(when(r.created_at), r.author, _verdict_word(r.verdict), r.comment) for r in reviews],
        )
        return 0

    def submit(client: ControlPlaneClient) -> int:
        response = client.stub.SubmitReview(
            pb.SubmitReviewRequest(
                experiment_id=args.experiment_id, verdict=verdict, comment=args.comment
            ),
            metadata=client.metadata,
            timeout=client.timeout,
        )
        state = enum_word(records_pb2.ExperimentState.Name(response.state), "EXPERIMENT_STATE_")
        if args.json:
            print_json({"review": message_dict(response.review), "state": state})
        else:
            print(
                f"{_verdict_word(response.review.verdict)} by {response.review.author} recorded "
                f"on {args.experiment_id}; experiment is now {state}"
            )
        return 0

    return run_with_client(args, listing if args.list else submit)
