"""The `--metrics-port` and `--metrics-host` options of every server process."""

from __future__ import annotations

import argparse


def add_metrics_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--metrics-port", type=int, default=None, help="Prometheus /metrics port")
    parser.add_argument(
        "--metrics-host",
        default="127.0.0.1",
        help="address /metrics listens on (0.0.0.0 where a scraper outside the host, a "
        "Prometheus in a Kubernetes cluster, must reach it)",
    )
