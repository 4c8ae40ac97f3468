"""``voces themes`` and the verbs that change how passages are tagged: the taxonomy
and its counts, ``themes discover`` and ``themes promote`` (emergent themes), retrain
(the theme classifier) and retag."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path
from textwrap import shorten

import click

from corpus import Viewer
from pipeline.evaluate import read_labelled
from pipeline.training import TrainingSet, train_theme_model

from . import services
from .cli_base import as_option, emit, friendly, pass_settings, progress_printer, viewer_for
from .output_files import write_output
from .settings import Settings
from .theme_table import theme_rows, to_csv


@click.group(invoke_without_command=True)
@click.option(
    "--by", type=click.Choice(["", "region", "community", "language", "year"]), default=""
)
@click.option(
    "--quotes",
    default=0,
    type=click.IntRange(0, 20),
    help="Representative passages per row (reviewed first, then by score).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV (one line per theme and group).")
@as_option
@pass_settings
@friendly
@click.pass_context
def themes(
    ctx: click.Context,
    settings: Settings,
    by: str,
    quotes: int,
    as_json: bool,
    as_csv: bool,
    as_role: str | None,
) -> None:
    """The theme taxonomy and how many testimonies tell of each theme (estimated true
    shares with 90% intervals); `voces themes discover` for themes it lacks."""
    if ctx.invoked_subcommand is not None:
        return
    archive = services.build_archive(settings, models=False)
    taxonomy = archive.tagger.taxonomy
    viewer = viewer_for(as_role)
    key = by or "all"
    found = theme_rows(archive, viewer, by, quotes)
    archive.close()
    if as_csv:
        click.echo(to_csv(found), nl=False)
        return
    # the CLI's JSON names the group after what it is ("region": "Puno")
    rows = [
        {
            "theme": r["theme"],
            key: r["group"],
            **{k: v for k, v in r.items() if k not in ("theme", "group")},
        }
        for r in found
    ]
    if as_json:
        emit({**taxonomy.to_dict(), "by": by or None, "counts": rows})
        return
    click.echo(f"taxonomy version {taxonomy.version}")
    for theme in taxonomy.themes.values():
        click.echo(f"  {theme.id:<14} {theme.label.get('en', '')}")
    click.echo("")
    for row in rows:
        group = f"{row[key]:<16}" if by else ""
        t, n = row["testimonies"], row["passages"]
        numbers = (
            f"{t:>4} {'testimony  ' if t == 1 else 'testimonies'}  "
            f"{n:>5} {'passage ' if n == 1 else 'passages'}"
        )
        estimate = ""
        if row["estimated_share"] is not None:
            low, high = row["interval90"]
            estimate = (
                f"  tagged {row['tagged_share']:.0%} of {row['passages_in_group']}, "
                f"estimated {row['estimated_share']:.0%} (90%: {low:.0%}–{high:.0%})"
            )
        click.echo(f"{row['theme']:<14} {group} {numbers}{estimate}")
        for q in row.get("quotes", []):
            when = f" at {q['start']:.0f}s" if q["start"] is not None else ""
            click.echo(f"    “{q['text'][:160]}” ({q['testimony_id']}{when})")
    bases = sorted({row["basis"] for row in rows if row["basis"]})
    if bases:
        click.echo("\nestimates corrected for the tagger's error rates from: " + "; ".join(bases))


@click.command()
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
        found = current.read.reviews(Viewer.system())
        ids = sorted({r.passage_id for r in found})
        rows = current.read.passage_texts(Viewer.system(), ids)
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


@click.command()
@pass_settings
@friendly
def retag(settings: Settings) -> None:
    """Recompute machine tags of every passage (after editing the taxonomy); reviews stay."""
    archive = services.build_archive(settings)
    count = archive.retag(progress_printer(sys.stderr.isatty()))
    click.echo(f"re-tagged {count} passages with {archive.tagger.version}")


@themes.command()
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
        for pid, text, _ in archive.read.passage_texts(
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


@themes.command()
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
    tagged = archive.read.theme_counts(Viewer.system())
    n = sum(c.passages for c in tagged if c.theme == theme_id)
    click.echo(
        f"taxonomy {version}: theme {theme_id} added; re-tagged {count} passages, "
        f"{n} now tagged {theme_id}"
    )
