"""Highlights: which words of a hit are marked for a query."""

import pytest

from pipeline.search import _highlight_words, highlight

from .conftest import DATA


def marked(query: str, text: str) -> list[str]:
    return [text[a:b] for a, b in highlight(query, text)]


def test_accents_case_and_stems_are_marked_at_their_place_in_the_text():
    text = "Los RÍOS quedaron contaminados; el río Llallimayo, también."
    assert marked("ríos contaminado", text) == ["RÍOS", "contaminados"]
    # below five letters a word is matched whole: "río" is not "ríos"
    assert marked("rio", text) == ["río"]


def test_stop_words_and_unrelated_words_are_not_marked():
    assert marked("the river of our land", "The river took the land of our fathers") == [
        "river",
        "land",
    ]
    # a stop word is not marked even where it starts like a query word ("theirs")
    assert marked("theirs", "their land, theirs alone") == ["theirs"]
    assert highlight("de la y", "la casa de la comunidad") == ()


def test_a_short_word_is_matched_whole_not_as_a_prefix():
    assert marked("mina", "la mina y el minado, minas") == ["mina"]


@pytest.mark.parametrize(
    "text",
    [
        "ﬁsh died in the río",  # a ligature folds to two letters
        "el ri\u0301o y los ri\u0301os",  # accents typed as separate marks
    ],
)
def test_text_whose_folding_changes_its_length_is_marked_word_by_word(text):
    assert highlight("fish río", text) == _highlight_words("fish río", text)


def test_a_ligature_does_not_shift_the_marks():
    text = "ﬁsh died in the río"
    assert marked("fish río", text) == ["ﬁsh", "río"]


def test_the_fast_path_marks_what_the_word_by_word_path_marks():
    texts = [line for line in (DATA / "testimonies.jsonl").read_text("utf-8").splitlines()]
    queries = [
        "el río se volvió naranja",
        "they took our land",
        "contaminación por relaves mineros",
        "Ñuñoa caño año",
        "water 2019 H2O",
    ]
    for query in queries:
        for text in texts:
            assert highlight(query, text) == _highlight_words(query, text), (query, text)
