"""``voces eval``: measure theme tagging and search against labelled data, next to
baselines run in the same call."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

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
@click.argument("queries", type=click.Path(path_type=Path))
@click.option("--k", default=10, show_default=True, type=click.IntRange(1, 100))
@click.option("--split", default="", help="Only queries of this split (dev, test).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_settings
@friendly
def eval_search(settings: Settings, queries: Path, k: int, split: str, as_json: bool) -> None:
    """nDCG@k, recall@k and MRR of search on QUERIES.jsonl ({"qid", "query", "graded":
    {testimony_id: grade}} per line) against the archive in VOCES_HOME, next to two
    baselines in the same run: dense only (the best passage alone) and keyword only
    (BM25), with 95% bootstrap intervals and the same-language / cross-lingual split."""
    from corpus import PassageFilter
    from pipeline.evaluate_search import evaluate_search, read_queries
    from pipeline.search import ContextWeights

    items = read_queries(queries, split)
    archive = services.build_archive(settings)
    viewer = Viewer.system()
    depth = max(100, k)

    def ranker(weights: ContextWeights) -> Callable[[str], list[str]]:
        def rank(query: str) -> list[str]:
            hits = archive.search(query, viewer, depth, PassageFilter(), weights=weights)
            return [h.testimony_id for h in hits]

        return rank

    languages = {t.id: t.language for t in archive.read.list_testimonies(viewer, limit=10**9)[0]}
    report = evaluate_search(
        {
            "voces": ranker(DEFAULT_WEIGHTS),
            "dense_best_passage": ranker(ContextWeights(best=1.0)),
            "keyword_bm25": archive.keyword_ranker(viewer),
        },
        items,
        languages,
        k=k,
    )
    archive.close()
    if as_json:
        emit(report)
        return
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
