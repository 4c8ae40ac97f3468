import pytest

from pipeline import InputError, Metadata, read_text_items
from pipeline.language import guess_language

from .conftest import DATA


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
