"""How the library baselines' settings were chosen: a small grid, scored on hold-outs of TRAIN.

Run from the repository root (never as a test):

    .venv/bin/python -m bench.baseline_tuning [--model NAME]... [--smoke]

For each of the two stratified test splits of bench/offline.py, TRAIN (never
the test rows) is split again like the test split (75/25, stratified by user or
by item) with seeds 1 and 2; every setting of the grid is fitted on the 75 % and
its NDCG@10 read on the 25 % (lists without the 75 %'s items, the users known
to the 75 %). The setting with the best mean over the four hold-outs is the
model's default in offline/baselines/; bench/offline.py then reads the test
split once. It prints one line per setting and writes
docs/results/baseline_tuning.json (var/bench/baseline-tuning-smoke.json with
`--smoke`: 150 users, two settings per model).
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from offline.baselines.cornac_bpr import CornacBPRConfig, fit_cornac_bpr
from offline.baselines.cornac_ease import EASEConfig, fit_ease
from offline.baselines.implicit_als import ALSConfig, fit_als
from offline.baselines.implicit_bpr import BPRConfig, fit_bpr
from offline.baselines.protocol import Recommender
from offline.experiment.pipeline import prepare_data
from offline.experiment.spec_loading import load_spec
from offline.metrics.accuracy import accuracy_per_user
from offline.splits import StratifyBy, stratified_split
from recmesh.console.progress import NullProgress
from recmesh.data.dataset import Interactions
from recmesh.data.fetch import default_data_dir
from recmesh.files.repo_paths import REPO_ROOT

K = 10
TEST_SPLITS: tuple[tuple[str, StratifyBy], ...] = (
    ("user_stratified:0.75:seed=42", "user"),
    ("item_stratified:0.75:seed=42", "item"),
)
HOLDOUT_SEEDS = (1, 2)

Fit = Callable[[Interactions], Recommender]


def _grid(cls: Any, **axes: Sequence[Any]) -> list[Any]:
    names = list(axes)
    return [cls(**dict(zip(names, values, strict=True)))
            for values in itertools.product(*axes.values())]  # fmt: skip


GRIDS: dict[str, tuple[Callable[[Interactions, Any], Recommender], list[Any]]] = {
    "als": (fit_als, _grid(ALSConfig, factors=(16, 32, 64), regularization=(0.1, 1.0, 10.0),
                           alpha=(2.0, 5.0, 10.0))),
    # The first grid's best sat on its edges (16 factors, regularization 10, alpha 2): around it.
    "als-refine": (fit_als, _grid(ALSConfig, factors=(8, 16, 24),
                                  regularization=(10.0, 30.0, 100.0), alpha=(1.0, 2.0))),
    "bpr": (fit_bpr, _grid(BPRConfig, factors=(64, 128), learning_rate=(0.01, 0.03),
                           regularization=(0.03, 0.1, 0.3), iterations=(200,))),
    "cornac-bpr": (fit_cornac_bpr, _grid(CornacBPRConfig, factors=(64, 200),
                                         learning_rate=(0.01, 0.05),
                                         regularization=(0.001, 0.01), iterations=(100,))),
    # The first grid's best sat on its edges (rate 0.01, the lowest): lower rates, more epochs.
    "bpr-refine": (fit_bpr, _grid(BPRConfig, factors=(128,),
                                  learning_rate=(0.0005, 0.001, 0.003),
                                  regularization=(0.01, 0.03), iterations=(200, 400))),
    # The first grid's best sat on its edges (200 factors, rate 0.05, regularization 0.01).
    "cornac-bpr-refine": (fit_cornac_bpr, _grid(CornacBPRConfig, factors=(200, 300),
                                                learning_rate=(0.05, 0.1),
                                                regularization=(0.01, 0.03), iterations=(100,))),
    "ease": (fit_ease, _grid(EASEConfig, l2=(50.0, 100.0, 250.0, 500.0, 1000.0),
                             ratings=(False, True))),
}  # fmt: skip


def holdout_ndcg(train: Interactions, by: StratifyBy, seed: int, fit: Fit) -> float:
    """NDCG@10 of `fit` trained on 75 % of `train` and scored on the other 25 %."""
    part, held_out = stratified_split(train, 0.75, seed, by)
    users = np.intersect1d(np.unique(held_out.users), np.unique(part.users))
    lists = fit(part).recommend(users.astype(np.int64), K)
    return float(accuracy_per_user(lists, held_out, K).values[f"ndcg@{K}"].mean())


def _trainer(fit: Callable[[Interactions, Any], Recommender], config: Any) -> Fit:
    return lambda train: fit(train, config)


def _search(
    model: str, trains: dict[StratifyBy, Interactions], smoke: bool
) -> list[dict[str, Any]]:
    """Every setting of `model`'s grid (its first two with `smoke`), scored on the hold-outs."""
    fit, grid = GRIDS[model]
    rows: list[dict[str, Any]] = []
    for config in grid[:2] if smoke else grid:
        start = time.perf_counter()
        trainer = _trainer(fit, config)
        scores = {f"{by}/seed={seed}": holdout_ndcg(trains[by], by, seed, trainer)
                  for by, seed in itertools.product(trains, HOLDOUT_SEEDS)}  # fmt: skip
        mean = float(np.mean(list(scores.values())))
        rows.append({"config": dataclasses.asdict(config), "holdout_ndcg@10": scores,
                     "mean": mean, "seconds": round(time.perf_counter() - start, 2)})  # fmt: skip
        print(f"{model:5} {mean:.4f}  {dataclasses.asdict(config)}", flush=True)
    best = max(rows, key=lambda row: float(row["mean"]))
    print(f"{model:5} best {best['mean']:.4f}  {best['config']}", flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(GRIDS), action="append")
    parser.add_argument("--smoke", action="store_true", help="150 users, two settings each")
    args = parser.parse_args(argv)
    spec = load_spec(Path("experiments/xgb-challenger.yaml"))
    if args.smoke:
        spec = dataclasses.replace(spec, dataset=dataclasses.replace(spec.dataset, max_users=150))
    trains = {by: prepare_data(dataclasses.replace(spec, split=split), default_data_dir(),
                               NullProgress()).train
              for split, by in TEST_SPLITS}  # fmt: skip
    results = {model: _search(model, trains, args.smoke) for model in args.model or sorted(GRIDS)}
    smoke_out, full_out = (
        "var/bench/baseline-tuning-smoke.json",
        "docs/results/baseline_tuning.json",
    )
    out = REPO_ROOT / (smoke_out if args.smoke else full_out)
    previous = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(previous | results, indent=2, sort_keys=True) + "\n"
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
