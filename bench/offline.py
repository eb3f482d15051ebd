"""Offline quality of the recmesh champion against popularity, SAR and library baselines.

Run from the repository root (never as a test):

    .venv/bin/python bench/offline.py [--spec experiments/xgb-challenger.yaml] [--smoke]
    .venv/bin/python bench/offline.py --spec experiments/ml-latest-small.yaml

On both stratified splits of Microsoft Recommenders' benchmark (by user and by
item, ratio 0.75, seed 42), top 10, it trains and evaluates, with the same
metric code: popularity, SAR (the quick-start configuration), four library
baselines (ALS and BPR from `implicit`, BPR and EASE from `cornac`, with the settings
bench/baseline_tuning.py chose on hold-outs of TRAIN), the recmesh baseline (the
serving candidates in source order) and the recmesh champion (the same
candidates re-ranked by the XGBoost ranker the spec trains, on the TRAIN split
only), and prints one table of precision@10, recall@10, NDCG@10 and MAP with
wall times, the published figures (MovieLens 100K only) as a reference column.

Where it writes follows the spec's dataset, so that a run on one dataset never
overwrites another's: MovieLens 100K (the default spec) writes
docs/results/offline.json and the section between `<!-- offline:start -->` and
`<!-- offline:end -->` of docs/benchmarks.md; any other dataset NAME writes
docs/results/offline-NAME.json and the section between `<!-- offline:NAME:start -->`
and `<!-- offline:NAME:end -->`. A dataset whose files are absent (the shared
ml-latest-small files in ../shared/data/, say) is refused before anything runs, with
exit status 1 and the missing paths on stderr.

`--smoke` runs in seconds on a 150-user subsample with a tiny model and writes
var/bench/offline-smoke.json (offline-NAME-smoke.json) only.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import re
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Run as a script, this file's directory leads sys.path and this file's name would shadow the
# `offline` package: take the directory off before importing from it.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402
from cornac import __version__ as cornac_version  # noqa: E402
from implicit import __version__ as implicit_version  # noqa: E402

from offline.baselines.cornac_bpr import CornacBPRConfig, fit_cornac_bpr  # noqa: E402
from offline.baselines.cornac_ease import EASEConfig, fit_ease  # noqa: E402
from offline.baselines.implicit_als import ALSConfig, fit_als  # noqa: E402
from offline.baselines.implicit_bpr import BPRConfig, fit_bpr  # noqa: E402
from offline.baselines.popularity import fit_popularity  # noqa: E402
from offline.baselines.protocol import Recommender  # noqa: E402
from offline.baselines.sar import SARConfig, fit_sar  # noqa: E402
from offline.experiment.arms import Arm, run_arm  # noqa: E402
from offline.experiment.pipeline import PreparedData, prepare_data, train_challenger  # noqa: E402
from offline.experiment.spec import DatasetSpec, ExperimentRunSpec  # noqa: E402
from offline.experiment.spec_loading import load_spec  # noqa: E402
from offline.metrics.evaluate import evaluate  # noqa: E402
from offline.topk import TopK  # noqa: E402
from recmesh.console.progress import NullProgress, Progress, TerminalProgress  # noqa: E402
from recmesh.data.dataset import Interactions  # noqa: E402
from recmesh.data.fetch import default_data_dir  # noqa: E402
from recmesh.files.repo_paths import REPO_ROOT  # noqa: E402
from recmesh.snapshot.build import build_snapshot  # noqa: E402

K = 10
SPLITS = ("user_stratified:0.75:seed=42", "item_stratified:0.75:seed=42")
METRICS = (f"precision@{K}", f"recall@{K}", f"ndcg@{K}", "map")
#: Microsoft Recommenders' published NDCG@10 on ml-100k's item-stratified split (benchmark
#: notebook); it publishes none for the other datasets.
PUBLISHED_DATASET = "ml-100k"
PUBLISHED_ITEM_SPLIT_NDCG = {"SAR": 0.393819, "BPR": 0.444991, "BiVAE": 0.468673,
                             "LightGCN": 0.416371}  # fmt: skip
SAR_ROW, CHAMPION_ROW = "SAR", "recmesh champion (candidates + XGBoost)"
#: The library baselines: table label, settings (their defaults, chosen on hold-outs of TRAIN
#: by bench/baseline_tuning.py), fit, and the published model each is closest to.
LIBRARY = (("ALS (implicit 0.7.3)", ALSConfig(), fit_als, None),
           ("BPR (implicit 0.7.3)", BPRConfig(), fit_bpr, None),
           ("BPR (cornac 3.0.1)", CornacBPRConfig(), fit_cornac_bpr, "BPR"),
           ("EASE (cornac 3.0.1)", EASEConfig(), fit_ease, None))  # fmt: skip
#: Published models with no row of their own here (BiVAE and LightGCN need torch).
PUBLISHED_ONLY = ("BiVAE", "LightGCN")
TITLES = {"ml-100k": "MovieLens 100K", "ml-latest-small": "MovieLens ml-latest-small"}
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclasses.dataclass(frozen=True)
class Output:
    """Where a run on one dataset writes: its results file (from the repository root) and
    the markers of its own section of docs/benchmarks.md."""

    title: str
    results: str
    start: str
    end: str


def output_of(dataset: str, smoke: bool) -> Output:
    """ml-100k keeps the file and section it always had; any other dataset gets its own,
    named after it. Raises ValueError for a name that cannot be part of a file name."""
    if not _FILE_NAME.fullmatch(dataset):
        raise ValueError(f"dataset name {dataset!r} cannot name a results file")
    own = dataset != PUBLISHED_DATASET
    stem, tag = (f"offline-{dataset}", f"offline:{dataset}") if own else ("offline", "offline")
    results = f"var/bench/{stem}-smoke.json" if smoke else f"docs/results/{stem}.json"
    return Output(TITLES.get(dataset, dataset), results, f"<!-- {tag}:start -->",
                  f"<!-- {tag}:end -->")  # fmt: skip


def absent_files(dataset: DatasetSpec) -> list[Path]:
    """The spec's dataset files (log and item metadata) that do not exist, read from the
    working directory as the run reads them; ml-100k, fetched by the run, has none."""
    items = dataset.log.items
    given = [dataset.path, None if items is None else items.path]
    return [Path(path) for path in given if path is not None and not Path(path).exists()]


def smoke_spec(spec: ExperimentRunSpec) -> ExperimentRunSpec:
    """`spec` on 150 of its users with one label fold and ten trees: seconds, not minutes."""
    training = spec.training
    return dataclasses.replace(
        spec,
        dataset=dataclasses.replace(spec.dataset, max_users=150),
        training=dataclasses.replace(
            training,
            labels=dataclasses.replace(training.labels, folds=1),
            xgboost=dataclasses.replace(training.xgboost, n_estimators=10),
        ),
    )


@dataclasses.dataclass(frozen=True)
class Row:
    model: str
    metrics: dict[str, float]
    train_s: float
    eval_s: float
    #: The library baselines' settings; the published model a row stands beside.
    settings: dict[str, Any] | None = None
    published_as: str | None = None


def _timed(action: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = action()
    return time.perf_counter() - start, result


def _scored(name: str, data: PreparedData, fit: Callable[[], Any],
            lists: Callable[[Any], TopK], **extra: Any) -> Row:  # fmt: skip
    train_s, model = _timed(fit)
    eval_s, topk = _timed(lambda: lists(model))
    overall = evaluate(topk, data.test, data.train, data.dataset.items, K).overall
    return Row(name, {m: float(overall[m]) for m in METRICS}, train_s, eval_s, **extra)


def _library_row(name: str, config: Any, fit: Callable[[Interactions, Any], Recommender],
                 published: str | None, data: PreparedData) -> Row:  # fmt: skip
    return _scored(name, data, lambda: fit(data.train, config),
                   lambda m: m.recommend(data.test_users, K), settings=dataclasses.asdict(config),
                   published_as=published)  # fmt: skip


def bench_split(spec: ExperimentRunSpec, data_dir: Path, progress: Progress) -> list[Row]:
    data = prepare_data(spec, data_dir, progress)
    users = data.test_users
    rows = [
        _scored("popularity", data, lambda: fit_popularity(data.train),
                lambda m: m.recommend(users, K)),
        _scored(SAR_ROW, data, lambda: fit_sar(data.train, SARConfig()),
                lambda m: m.recommend(users, K), published_as="SAR"),
        *(_library_row(name, config, fit, published_as, data)
          for name, config, fit, published_as in LIBRARY),
        _scored("recmesh baseline (source order)", data,
                lambda: Arm("baseline", "-", build_snapshot(data.dataset, data.train), None),
                lambda arm: run_arm(arm, users, K, NullProgress()).topk),
        _scored(CHAMPION_ROW, data,
                lambda: train_challenger(spec, data, progress).arm,
                lambda arm: run_arm(arm, users, K, NullProgress()).topk),
    ]  # fmt: skip
    return rows


def _machine() -> dict[str, Any]:
    model = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cores": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "platform": platform.platform(),
            # Wall times are only comparable on an otherwise idle machine.
            "load_average_1m_at_end": round(os.getloadavg()[0], 2)}  # fmt: skip


def markdown(result: dict[str, Any]) -> str:
    dataset = result["dataset"]
    output = output_of(dataset, smoke=False)
    lines = [
        output.start,
        f"## Offline quality ({output.title})",
        "",
        f"Produced by `{result['command']}` on {result['date']} "
        f"({result['machine']['cores']} cores, {result['machine']['cpu']}; load average "
        f"{result['machine']['load_average_1m_at_end']} at the end).",
        f"Spec: `{result['spec']}`; top {K}; Microsoft Recommenders' metric definitions.",
        "",
    ]
    published = dataset == PUBLISHED_DATASET
    for split, rows in result["splits"].items():
        lines += _split_table(split, rows, published)
    settings = "; ".join(f"{name}: {_settings(config)}" for name, config, _, _ in LIBRARY)
    lines += [
        "\"champion's lead\" is the champion's NDCG@10 over the row's, relative. "
        + ("Published figures (a reference only, run elsewhere with other code): Microsoft "
           "Recommenders' `examples/06_benchmarks/movielens.ipynb`, NDCG@10 on the item split "
           "only; its BPR is cornac's. Library settings, chosen on hold-outs of TRAIN "
           if published else
           "No published figures for this dataset (Microsoft Recommenders' are for MovieLens "
           "100K). Library settings: those chosen on hold-outs of MovieLens 100K's TRAIN, "
           "not re-tuned on this dataset ")
        + f"(`python -m bench.baseline_tuning`): {settings}. Train time of the champion "
        "includes building its training groups from the candidate pipeline; eval time "
        "includes candidates, features and scoring for every test user.",
        output.end,
    ]  # fmt: skip
    return "\n".join(lines)


def _settings(config: Any) -> str:
    shown = {k: v for k, v in dataclasses.asdict(config).items() if k not in ("seed", "threads")}
    return ", ".join(f"{k} {v}" for k, v in shown.items())


def _split_table(split: str, rows: list[dict[str, Any]], with_published: bool) -> list[str]:
    """The markdown table of one split, and how the champion stands against its targets;
    `with_published` adds the column of published figures."""
    ndcg = {row["model"]: row["metrics"][f"ndcg@{K}"] for row in rows}
    sar, champion = ndcg[SAR_ROW], ndcg[CHAMPION_ROW]
    published = PUBLISHED_ITEM_SPLIT_NDCG if with_published and split.startswith("item") else {}
    column = " published NDCG@10 |" if with_published else ""
    lines = [
        f"### {split}",
        "",
        "| model | precision@10 | recall@10 | NDCG@10 | MAP | NDCG vs SAR | champion's lead "
        f"| train s | eval s |{column}",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
        + (" ---: |" if with_published else ""),
    ]
    for row in rows:
        m = row["metrics"]
        lead = f"{(champion / m['ndcg@10'] - 1) * 100:+.1f}%"
        lead = "" if row["model"] == CHAMPION_ROW else lead
        reference = published.get(row.get("published_as") or "")
        lines.append(
            f"| {row['model']} | {m['precision@10']:.4f} | {m['recall@10']:.4f} | "
            f"{m['ndcg@10']:.4f} | {m['map']:.4f} | {(m['ndcg@10'] / sar - 1) * 100:+.1f}% "
            f"| {lead} | {row['train_s']:.1f} | {row['eval_s']:.1f} |"
            + (f" {'' if reference is None else f'{reference:.4f}'} |" if with_published else "")
        )
    for name in PUBLISHED_ONLY if published else ():
        lead = f"{(champion / published[name] - 1) * 100:+.1f}%"
        lines.append(f"| {name} (published only, not run here) | | | | | | {lead} | | "
                     f"| {published[name]:.4f} |")  # fmt: skip
    library = [row["model"] for row in rows if row.get("settings") is not None]
    best = max(library, key=lambda name: ndcg[name])
    over_sar, over_best = champion / sar - 1, champion / ndcg[best] - 1
    lines += [
        "",
        f"Targets: the champion is {over_sar * 100:+.1f}% over SAR "
        + ("(at least +10 %: met)" if over_sar >= 0.10
           else f"(at least +10 %: missed by {(0.10 - over_sar) * 100:.1f} points)")
        + f" and {over_best * 100:+.1f}% against the best library baseline, {best} "
        + ("(above it: met)." if over_best > 0
           else f"(above it: missed, NDCG@10 {ndcg[best] - champion:.4f} short)."),
        "",
    ]  # fmt: skip
    return lines


def write_section(path: Path, section: str, output: Output) -> None:
    """Replaces the section of `path` between `output`'s markers (appends it when absent;
    creates the file); every other section is left as it was."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if output.start in text and output.end in text:
        before, rest = text.split(output.start, 1)
        after = rest.split(output.end, 1)[1]
        text = before + section + after
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=Path("experiments/xgb-challenger.yaml"))
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--smoke", action="store_true", help="150 users, a tiny model")
    args = parser.parse_args(argv)
    spec = load_spec(args.spec)
    absent = absent_files(spec.dataset)
    if absent:
        shown = ", ".join(str(p) if p.is_absolute() else f"{p} (= {p.resolve()})" for p in absent)
        print(f"bench/offline.py: dataset {spec.dataset.name!r} of {args.spec}: absent: "
              f"{shown}. The shared MovieLens files live in ../shared/data/ (see its "
              "README.md); relative paths are read from the working directory, so run from "
              "the repository root.", file=sys.stderr)  # fmt: skip
        return 1
    output = output_of(spec.dataset.name, args.smoke)
    if args.smoke:
        spec = smoke_spec(spec)
    progress = TerminalProgress(sys.stderr)
    splits: dict[str, list[dict[str, Any]]] = {}
    for split in SPLITS:
        rows = bench_split(dataclasses.replace(spec, split=split),
                           args.data_dir or default_data_dir(), progress)  # fmt: skip
        splits[split] = [dataclasses.asdict(row) for row in rows]
        for row in rows:
            shown = "  ".join(f"{m} {row.metrics[m]:.4f}" for m in METRICS)
            print(f"{split:30} {row.model:42} {shown}  train {row.train_s:5.1f}s "
                  f"eval {row.eval_s:5.1f}s")  # fmt: skip
    result = {
        "command": "python bench/offline.py"
        + (" --smoke" if args.smoke else "")
        + ("" if args.spec == Path("experiments/xgb-challenger.yaml") else f" --spec {args.spec}"),
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "machine": _machine(),
        "spec": str(args.spec),
        "dataset": spec.dataset.name,
        "k": K,
        "splits": splits,
        "published_item_split_ndcg@10": (
            PUBLISHED_ITEM_SPLIT_NDCG if spec.dataset.name == PUBLISHED_DATASET else {}
        ),
        "library_versions": {"implicit": implicit_version, "cornac": cornac_version},
        "numpy": np.__version__,
    }
    out = REPO_ROOT / output.results
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    if not args.smoke:
        write_section(REPO_ROOT / "docs" / "benchmarks.md", markdown(result), output)
        print(f"wrote {REPO_ROOT / 'docs' / 'benchmarks.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
