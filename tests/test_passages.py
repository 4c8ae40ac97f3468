from corpus import Segment
from pipeline.passages import PassageOptions, group_segments, split_sentences, split_text


def test_split_sentences_handles_spanish_openers():
    text = "Llegó la mina. ¿Qué hicimos? Protestamos! The river died. 2010 fue peor."
    assert split_sentences(text) == [
        "Llegó la mina.",
        "¿Qué hicimos?",
        "Protestamos!",
        "The river died.",
        "2010 fue peor.",
    ]


def test_split_text_groups_one_to_three_sentences():
    sentences = [f"Esta es la oración número {n} del testimonio." for n in range(10)]
    passages = split_text(" ".join(sentences))
    assert all(1 <= len(split_sentences(p)) <= 3 for p in passages)
    assert " ".join(passages) == " ".join(sentences)  # nothing lost, order kept


def test_split_text_never_exceeds_max_chars_when_sentences_are_short_enough():
    opts = PassageOptions(min_chars=50, max_chars=120, max_sentences=3)
    text = " ".join(["Una frase corta de unas cuarenta letras más."] * 12)
    assert all(len(p) <= 120 for p in split_text(text, opts))


def test_group_segments_keeps_time_spans():
    segs = [
        Segment(0.0, 2.0, "Hola, me llamo"),
        Segment(2.0, 4.5, "Rosa y vivo en Choropampa."),
        Segment(
            4.5, 9.0, "En el año dos mil se derramó mercurio en el camino y muchos se enfermaron."
        ),
        Segment(9.5, 11.0, "Nadie nos ayudó"),
    ]
    out = list(group_segments(segs, PassageOptions(min_chars=60)))
    assert [(p.start, p.end) for p in out] == [(0.0, 9.0), (9.5, 11.0)]
    assert out[0].text.startswith("Hola, me llamo Rosa")
    assert " ".join(p.text for p in out) == " ".join(s.text for s in segs)


def test_group_segments_skips_empty_and_streams():
    def gen():
        yield Segment(0, 1, "  ")
        yield Segment(
            1,
            2,
            "Una frase completa que es bastante larga, con más de ochenta letras, para formar un pasaje.",
        )
        raise AssertionError("consumed too far")  # pragma: no cover

    first = next(iter(group_segments(gen())))
    assert first.start == 1
