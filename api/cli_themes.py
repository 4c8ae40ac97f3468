"""``voces`` verbs about themes: review, retrain, retag, eval."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from textwrap import shorten

import click

from corpus import VERDICTS, Viewer
from pipeline.evaluate import evaluate_themes, read_labelled
from pipeline.search import DEFAULT_WEIGHTS
from pipeline.training import TrainingSet, train_theme_model

from . import services
from .cli_base import (
    as_option,
    cli,
    emit,
    friendly,
    pass_settings,
    progress_printer,
    viewer_for,
)
from .output_files import write_output
from .settings import Settings


@cli.group()
def review() -> None:
    """Accept, reject or add theme tags on passages; reviews win over machine tags."""


def _review_command(verdict: str) -> None:
    @review.command(name=verdict, help=f"{verdict.capitalize()} THEME on passage PASSAGE_ID.")
    @click.argument("passage_id", type=click.IntRange(1, 2**63 - 1))
    @click.argument("theme")
    @click.option("--by", "reviewer", default="", help="Who decides (default: you).")
    @click.option("--note", default="", help="Why, in a few words.")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON.")
    @pass_settings
    @friendly
    def command(
        settings: Settings, passage_id: int, theme: str, reviewer: str, note: str, as_json: bool
    ) -> None:
        archive = services.build_archive(settings, models=False)
        archive.tagger.taxonomy.check_theme(theme)
        r = archive.store.review(passage_id, theme, verdict, viewer_for(None), reviewer, note)
        if as_json:
            emit(asdict(r))
        else:
            click.echo(f"{r.verdict}ed {r.theme} on passage {r.passage_id} (by {r.reviewer})")


for _verdict in VERDICTS:
    _review_command(_verdict)


@review.command(name="next")
@click.option("--limit", default=10, show_default=True, help="How many passages to offer.")
@click.option("--theme", default="", help="Only this theme.")
@click.option(
    "--pool", default=300, show_default=True, help="Unreviewed passages scored to choose from."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@pass_settings
@friendly
def review_next(settings: Settings, limit: int, theme: str, pool: int, as_json: bool) -> None:
    """The passages whose review would teach the tagger most: those it is least sure
    of, or where its rules, similarity and classifier disagree; themes with fewer
    reviews first. Decide each with `voces review accept|reject PASSAGE_ID THEME`."""
    archive = services.build_archive(settings)
    for c in archive.review_queue(viewer_for(None), limit, theme, pool):
        if as_json:
            emit(asdict(c))
            continue
        place = f" at {c.start:.0f}s" if c.start is not None else ""
        tagged = "tagged" if c.tagged else "not tagged"
        click.echo(f"{c.passage_id:>6} {c.theme:<14} {c.score:.2f} {tagged}  ({c.reason})")
        click.echo(f"       {c.testimony_id}{place}: {shorten(c.text, 160)}")


@review.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@pass_settings
@friendly
def review_list(settings: Settings, as_json: bool) -> None:
    """Every current review."""
    archive = services.build_archive(settings, models=False)
    for r in archive.store.reviews(viewer_for(None)):
        if as_json:
            emit(asdict(r))
        else:
            click.echo(
                f"{r.passage_id:>6} {r.theme:<14} {r.verdict:<7} {r.reviewer}  {r.reviewed_at}"
            )


@review.command(name="export")
@pass_settings
@friendly
def review_export(settings: Settings) -> None:
    """Reviewed passages as labelled JSON lines (the format `voces eval themes` and
    `voces retrain --labels` read): themes accepted or added are listed, rejected ones
    are absent, themes nobody reviewed are marked unknown."""
    archive = services.build_archive(settings, models=False)
    viewer = viewer_for(None)
    themes = archive.tagger.taxonomy.ids
    by_passage: dict[int, dict[str, str]] = {}
    for r in archive.store.reviews(viewer):
        by_passage.setdefault(r.passage_id, {})[r.theme] = r.verdict
    rows = {h.passage_id: h for h in archive.store.hits([(p, 0.0) for p in by_passage], viewer)}
    for pid, verdicts in sorted(by_passage.items()):
        emit(
            {
                "id": f"passage-{pid}",
                "testimony_id": rows[pid].testimony_id,
                "language": rows[pid].language,
                "text": rows[pid].text,
                "themes": sorted(t for t, v in verdicts.items() if v != "reject"),
                "unknown": sorted(t for t in themes if t not in verdicts),
            }
        )


@cli.command()
@click.option(
    "--labels",
    "label_files",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Labelled JSONL file(s) to learn from (repeatable).",
)
@click.option("--reviews/--no-reviews", default=True, help="Learn from the archive's reviews.")
@click.option(
    "--examples/--no-examples",
    default=True,
    help="Learn from the taxonomy's positive and negative examples.",
)
@click.option(
    "--embedding/--no-embedding",
    default=False,
    help="Let themes with 20+ labels of each class read the whole embedding. Off by "
    "default: rule and similarity features alone transfer to text unlike the labels "
    "(bench/learning_curve.py: held-out macro-F1 0.62 against 0.50 with the embedding).",
)
@click.option(
    "--output",
    type=click.Path(path_type=Path),
    help="Write the model JSON here instead of activating it in the archive.",
)
@click.option(
    "--rollback",
    metavar="VERSION",
    help="Activate an earlier model instead of training ('previous' or vN; 'none' "
    "for the bundled model).",
)
@click.option("--list", "list_versions", is_flag=True, help="List the archive's models.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_settings
@friendly
def retrain(
    settings: Settings,
    label_files: tuple[Path, ...],
    reviews: bool,
    examples: bool,
    embedding: bool,
    output: Path | None,
    rollback: str | None,
    list_versions: bool,
    as_json: bool,
) -> None:
    """Refit the theme classifier and its thresholds from reviews and labelled data,
    record it as a new model version and re-tag the archive. Roll back with --rollback."""
    import json as _json

    store = services.model_store(settings)
    if list_versions:
        manifest = store.manifest()
        if as_json:
            emit(manifest)
        else:
            for v in manifest["versions"]:
                mark = "*" if v["version"] == manifest["active"] else " "
                click.echo(
                    f"{mark} {v['version']}  {v['trained_at']}  {v['embedder']}  "
                    f"classifiers: {', '.join(v['classifiers']) or 'none'}  {v['note']}"
                )
            if not manifest["active"]:
                click.echo("* bundled model (no archive model active)")
        return
    if rollback:
        version = store.activate(None if rollback == "none" else rollback)
        archive = services.build_archive(settings)
        count = archive.retag(progress_printer(sys.stderr.isatty()))
        click.echo(f"active theme model: {version or 'bundled'}; re-tagged {count} passages")
        return

    embedder = services.load_embedder(settings.embedder, settings.threads)
    tagger = services.build_tagger(settings, embedder, use_model=False)
    data = TrainingSet()
    for path in label_files:
        data.add_items(read_labelled(path, tagger.taxonomy.ids), tagger.taxonomy.ids)
    if reviews and output is None:
        current = services.build_archive(settings, models=False)
        found = current.store.reviews(Viewer.system())
        ids = sorted({r.passage_id for r in found})
        rows = current.store.passage_texts(Viewer.system(), ids)
        data.add_reviews(found, {pid: (text, lang) for pid, text, lang in rows})
    if examples:
        data.add_taxonomy_examples(tagger)
    if not data.texts:
        raise click.ClickException("nothing to learn from: no labels, reviews or examples")
    model = train_theme_model(tagger, data, embedding=embedding)
    sources = ", ".join(f"{n} from {s}" for s, n in data.sources.items())
    if output is not None:
        model.version, model.note = "bundled", sources
        write_output(output, _json.dumps(model.to_dict(), indent=1))
        click.echo(f"wrote {output} ({sources})")
        return
    version = store.save(model, note=sources)
    archive = services.build_archive(settings)  # rebuilt: picks up the new active model
    count = archive.retag(progress_printer(sys.stderr.isatty()))
    if as_json:
        emit({**model.to_dict(), "retagged": count})
        return
    click.echo(f"theme model {version} active ({sources}); re-tagged {count} passages")
    for theme in tagger.taxonomy.ids:
        w = model.weights.get(theme)
        if w:
            kind = "embedding+features" if w["uses_embedding"] else "features"
            click.echo(
                f"  {theme:<14} {w['positives']:>4}+ {w['negatives']:>4}-  "
                f"cv F1 {w['cv_f1']:.2f}  threshold {w['threshold']:.2f}  ({kind})"
            )
        else:
            click.echo(f"  {theme:<14} rules + similarity ({model.skipped.get(theme, '')})")


@cli.command()
@pass_settings
@friendly
def retag(settings: Settings) -> None:
    """Recompute machine tags of every passage (after editing the taxonomy); reviews stay."""
    archive = services.build_archive(settings)
    count = archive.retag(progress_printer(sys.stderr.isatty()))
    click.echo(f"re-tagged {count} passages with {archive.tagger.version}")


@cli.group(name="eval")
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
    from pipeline.search import ContextWeights, query_terms

    items = read_queries(queries, split)
    archive = services.build_archive(settings)
    viewer = Viewer.system()
    depth = max(100, k)

    def ranker(weights: ContextWeights) -> Callable[[str], list[str]]:
        def rank(query: str) -> list[str]:
            hits = archive.search(query, viewer, depth, PassageFilter(), weights=weights)
            return [h.testimony_id for h in hits]

        return rank

    def keyword(query: str) -> list[str]:
        """BM25 over accent-folded words (SQLite FTS5), best passage per testimony."""
        scored = archive.store.keyword_passages(query_terms(query), viewer, limit=1000)
        where = archive.store.neighbours([pid for pid, _ in scored], viewer)
        owner = {pid: tid for pid, (tid, _, _) in where.items()}
        return list(dict.fromkeys(owner[pid] for pid, _ in scored if pid in owner))

    languages = {t.id: t.language for t in archive.store.list_testimonies(viewer, limit=10**9)[0]}
    report = evaluate_search(
        {
            "voces": ranker(DEFAULT_WEIGHTS),
            "dense_best_passage": ranker(ContextWeights(best=1.0)),
            "keyword_bm25": keyword,
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


@click.command()
@click.option(
    "--min-size",
    default=5,
    show_default=True,
    type=click.IntRange(2, 10_000),
    help="Fewest passages a cluster holds.",
)
@click.option("--quotes", default=3, show_default=True, type=click.IntRange(0, 20))
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines, one per cluster.")
@as_option
@pass_settings
@friendly
def discover(
    settings: Settings, min_size: int, quotes: int, as_json: bool, as_role: str | None
) -> None:
    """Emergent themes: clusters of the passages no theme tags, each with its keywords in
    Spanish and English, size, regions and example quotes. Promote one to a theme with
    `voces themes promote NUMBER THEME_ID`."""
    archive = services.build_archive(settings)
    viewer = viewer_for(as_role)
    found = archive.discover_themes(viewer, min_size)
    shown = {
        pid: text
        for pid, text, _ in archive.store.passage_texts(
            viewer, [pid for e in found for pid in e.passage_ids[:quotes]]
        )
    }
    for e in found:
        examples = [
            {"passage_id": pid, "text": shown[pid]}
            for pid in e.passage_ids[:quotes]
            if pid in shown
        ]
        if as_json:
            emit({**asdict(e), "quotes": examples})
            continue
        words = "; ".join(f"{lang}: {', '.join(w)}" for lang, w in sorted(e.keywords.items()))
        regions = ", ".join(f"{r} {n}" for r, n in list(e.regions.items())[:5])
        click.echo(f"#{e.number}  {e.size} passages  ({regions})")
        click.echo(f"    keywords  {words}")
        click.echo(f"    nearest theme {e.nearest_theme} (cosine {e.nearest_similarity:.2f})")
        for pid in e.passage_ids[:quotes]:
            if pid in shown:
                click.echo(f"    {pid:>6}  {shorten(shown[pid], 150)}")
    if not found and not as_json:
        click.echo("no clusters: every passage is tagged, or the untagged ones are scattered")


@click.command()
@click.argument("number", type=int)
@click.argument("theme_id")
@click.option("--label-es", default="", help="Spanish label of the new theme.")
@click.option("--label-en", default="", help="English label of the new theme.")
@click.option("--parent", default="", help="Make it a sub-theme of this theme.")
@pass_settings
@friendly
def promote(
    settings: Settings, number: int, theme_id: str, label_es: str, label_en: str, parent: str
) -> None:
    """Make emergent cluster NUMBER (of the last `voces themes discover`) the theme
    THEME_ID: a new taxonomy version with the cluster's central passages as examples,
    then re-tag the archive with it."""
    archive = services.build_archive(settings)
    version = archive.promote_emergent(
        viewer_for(None), number, theme_id, {"es": label_es, "en": label_en}, parent
    )
    archive.close()
    archive = services.build_archive(settings)  # rebuilt: loads the grown taxonomy
    count = archive.retag(progress_printer(sys.stderr.isatty()))
    tagged = archive.store.theme_counts(Viewer.system())
    n = sum(c.passages for c in tagged if c.theme == theme_id)
    click.echo(
        f"taxonomy {version}: theme {theme_id} added; re-tagged {count} passages, "
        f"{n} now tagged {theme_id}"
    )
