import json

import pytest

from pipeline import InputError, Metadata, read_text_items
from pipeline.language import guess_language
from pipeline.texts import check_date, check_language

from .conftest import DATA, LOCAL, fake_cli
from .fakes import HashEmbedder


def test_jsonl_rows_keep_their_ids_and_metadata():
    items = read_text_items(DATA / "testimonies.jsonl", Metadata())
    assert len(items) == 4
    assert all(i.id and i.text and i.meta.region for i in items)
    assert {i.meta.language for i in items} == {"es", "en"}


def test_csv_matches_jsonl():
    a = read_text_items(DATA / "testimonies.jsonl", Metadata())
    b = read_text_items(DATA / "testimonies.csv", Metadata())
    assert [(i.id, i.text, i.meta.region, i.meta.date) for i in a] == [
        (i.id, i.text, i.meta.region, i.meta.date) for i in b
    ]


def test_defaults_apply_where_rows_are_silent(tmp_path):
    f = tmp_path / "x.jsonl"
    f.write_text('{"id": "a1", "text": "El agua.", "extra_col": "7"}\n', "utf-8")
    [item] = read_text_items(f, Metadata(region="Puno", consent="public"))
    assert item.meta.region == "Puno" and item.meta.consent == "public"
    assert item.meta.extra == {"extra_col": "7"}


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"id": "a", "text": "ok"}\nnot json\n', "x.jsonl:2: not valid JSON"),
        ('{"id": "a"}\n', "x.jsonl:1: a testimony needs a non-empty 'text'"),
        ('{"text": "t", "consent": "everyone"}\n', "consent 'everyone'"),
        ('{"text": "t", "date": "26/11/2026"}\n', "is not YYYY"),
        ('{"text": "t", "date": "2026-13-01"}\n', "not a real date"),
        ('{"id": "a b", "text": "t"}\n', "must start with a letter"),
        ('{"id": "a", "text": "t"}\n{"id": "a", "text": "u"}\n', "repeats x.jsonl:1"),
        ("[1, 2]\n", "must be a JSON object"),
        ("\n\n", "holds no testimonies"),
    ],
)
def test_malformed_rows_name_the_line(tmp_path, content, message):
    f = tmp_path / "x.jsonl"
    f.write_text(content, "utf-8")
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace("?", r"\?")):
        read_text_items(f, Metadata())


def test_csv_without_text_column(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("id,body\n1,hola\n", "utf-8")
    with pytest.raises(InputError, match="'text' column"):
        read_text_items(f, Metadata())


def test_non_utf8_is_refused(tmp_path):
    f = tmp_path / "x.txt"
    f.write_bytes("contaminación".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        read_text_items(f, Metadata())


@pytest.mark.parametrize(
    "text, lang",
    [
        ("El río está contaminado y nuestros hijos se enferman por el agua de la mina.", "es"),
        ("The river is polluted and our children get sick from the water of the mine.", "en"),
    ],
)
def test_guess_language(text, lang):
    assert guess_language(text)[0] == lang


# -- typed input the review found accepted or refused wrongly ----------------------------------


def test_a_jsonl_line_may_hold_unicode_line_separators(tmp_path):
    """JSON Lines ends a line at a line feed only: U+2028/U+2029 inside a string are text
    (a copy from a word processor), and CR LF line ends are read as well."""
    f = tmp_path / "x.jsonl"
    rows = [
        {"id": "a", "text": "El río\u2028bajaba negro.\u2029Ya no hay peces."},
        {"id": "b", "text": "Second line."},
    ]
    f.write_bytes("\r\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode())
    items = read_text_items(f, Metadata())
    assert [(i.id, i.text, i.source) for i in items] == [
        ("a", rows[0]["text"], "x.jsonl:1"),
        ("b", "Second line.", "x.jsonl:2"),
    ]


@pytest.mark.parametrize(
    "date",
    ["٢٠٢٤-٠٥-٠١", "۲۰۲۴", "२०२४-०५", "２０２４-05-01"],
    ids=["arabic-indic", "persian", "devanagari", "fullwidth"],
)
def test_a_date_is_written_in_ascii_digits(tmp_path, date):
    f = tmp_path / "x.jsonl"
    f.write_text(json.dumps({"text": "El agua.", "date": date}) + "\n", "utf-8")
    with pytest.raises(InputError, match=r"x.jsonl:1: date .* is not YYYY, YYYY-MM or YYYY-MM-DD"):
        read_text_items(f, Metadata())
    with pytest.raises(InputError, match="is not YYYY"):
        check_date(date)
    assert check_date(" 2024-05 ") == "2024-05"


@pytest.mark.parametrize(
    "text", ["¡¿...?!", "😀😢🙏", "— … —", "***\n---\n***", "_ _"], ids=lambda t: t[:6]
)
def test_a_testimony_without_a_letter_or_digit_is_refused(tmp_path, text):
    for f, content in (
        (tmp_path / "x.jsonl", json.dumps({"id": "p", "text": text}) + "\n"),
        (tmp_path / "x.csv", 'id,text\np,"' + text.replace('"', '""') + '"\n'),
        (tmp_path / "x.txt", text),
    ):
        f.write_text(content, "utf-8")
        with pytest.raises(InputError, match="holds no letter or digit"):
            read_text_items(f, Metadata())


@pytest.mark.parametrize("text", ["1984", "Ñawpaqa mayu ch'uyalla karqan.", "水很脏", "¡Sí!"])
def test_a_short_testimony_in_any_script_is_taken(tmp_path, text):
    f = tmp_path / "x.txt"
    f.write_text(text, "utf-8")
    assert [i.text for i in read_text_items(f, Metadata())] == [text]


def test_only_languages_voces_knows_are_taken(tmp_path):
    for code in ("es", "EN", "qu", "ay", "pt", "auto", ""):
        assert check_language(code) == code.lower()
    for code in ("xx", "zz", "esp", "q"):
        with pytest.raises(InputError, match=f"language '{code}' is not one Voces knows: es, en"):
            check_language(code)
    f = tmp_path / "x.jsonl"
    f.write_text('{"text": "El agua.", "language": "xx"}\n', "utf-8")
    with pytest.raises(InputError, match="x.jsonl:1: language 'xx' is not one Voces knows"):
        read_text_items(f, Metadata())


@pytest.mark.parametrize(
    "row, message",
    [
        ({"text": "El agua.", "date": "٢٠٢٤-٠٥-٠١"}, "is not YYYY"),
        ({"text": "🙏🙏"}, "holds no letter or digit"),
        ({"text": "El agua.", "language": "xx"}, "language 'xx' is not one Voces knows"),
    ],
    ids=["date", "emoji", "language"],
)
def test_voces_ingest_refuses_a_bad_typed_row_in_one_line(
    monkeypatch, fake_whisper, archive, tmp_path, row, message
):
    run = fake_cli(monkeypatch, fake_whisper, HashEmbedder())
    f = tmp_path / "rows.jsonl"
    f.write_text(json.dumps(row, ensure_ascii=False) + "\n", "utf-8")
    result = run("ingest", str(f), "--consent", "public")
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 1 and len(lines) == 1, result.output
    assert lines[0].startswith("Error: rows.jsonl:1: ") and message in lines[0]
    assert archive.store.counts(LOCAL)["testimonies"] == 0


def test_voces_ingest_date_option_is_ascii(monkeypatch, fake_whisper, tmp_path):
    run = fake_cli(monkeypatch, fake_whisper, HashEmbedder())
    f = tmp_path / "t.txt"
    f.write_text("El agua del río.", "utf-8")
    result = run("ingest", str(f), "--consent", "public", "--date", "٢٠٢٤")
    assert result.exit_code == 1 and result.output.startswith("Error: --date: date '٢٠٢٤'")


def test_voces_ingest_takes_a_jsonl_line_with_u2028(monkeypatch, fake_whisper, tmp_path):
    run = fake_cli(monkeypatch, fake_whisper, HashEmbedder())
    f = tmp_path / "rows.jsonl"
    f.write_text(json.dumps({"id": "sep", "text": "Uno\u2028dos."}, ensure_ascii=False), "utf-8")
    result = run("ingest", str(f), "--consent", "public", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["added"] == ["sep"]
