"""A correction keeps the times of the words it did not change (issue 29)."""

from corpus import Word
from pipeline.word_align import realign


def _words(text: str, start: float = 10.0, step: float = 0.5) -> tuple[Word, ...]:
    return tuple(
        Word(start + i * step, start + i * step + 0.4, token, 0.9)
        for i, token in enumerate(text.split())
    )


def test_unchanged_words_keep_their_times() -> None:
    old = _words("el rio se puso amarillo con los relaves")
    new = realign(old, "el río se puso amarillo por los relaves", 10.0, 14.0)
    assert [w.text for w in new] == "el río se puso amarillo por los relaves".split()
    kept = {w.text: w for w in new if not w.edited}
    # "rio" -> "río" is a changed word: accents are part of the word
    assert [w.text for w in new if w.edited] == ["río", "por"]
    for before, after in zip(old, new, strict=True):
        if not after.edited:
            assert (after.start, after.end, after.probability) == (
                before.start,
                before.end,
                before.probability,
            )
    assert kept["amarillo"].start == 12.0
    # the edited word takes the span of the word it replaced
    por = new[5]
    assert (por.start, por.end, por.probability) == (old[5].start, old[5].end, 1.0)


def test_case_and_punctuation_fixes_keep_times() -> None:
    old = _words("nos quitaron la tierra")
    new = realign(old, "Nos quitaron la tierra.", None, None)
    assert not any(w.edited for w in new)
    assert [w.start for w in new] == [w.start for w in old]
    assert new[-1].text == "tierra."


def test_inserted_words_are_interpolated_in_the_gap_and_stay_ordered() -> None:
    old = (Word(0.0, 0.5, "vinieron", 0.9), Word(2.0, 2.5, "noche", 0.4))
    new = realign(old, "vinieron de noche con policías", 0.0, 4.0)
    assert [w.edited for w in new] == [False, True, False, True, True]
    assert (new[1].start, new[1].end) == (0.5, 2.0)
    assert new[3].start == 2.5 and new[4].end == 4.0
    starts = [w.start for w in new]
    assert starts == sorted(starts)
    assert all(w.start <= w.end for w in new)
    assert all(0.0 <= w.start and w.end <= 4.0 for w in new)


def test_deleted_words_drop_and_typed_text_has_no_words() -> None:
    old = _words("eh bueno nos nos desalojaron")
    new = realign(old, "nos desalojaron", 10.0, 13.0)
    assert [(w.text, w.start) for w in new] == [("nos", 11.5), ("desalojaron", 12.0)]
    assert realign((), "texto escrito", None, None) == ()


def test_an_earlier_edit_mark_survives_a_later_correction() -> None:
    once = realign(_words("la mina secó el ojo de agua"), "la mina secó el manantial", 10, 14)
    twice = realign(once, "La mina secó el manantial del pueblo", 10, 14)
    assert [w.text for w in twice if w.edited] == ["manantial", "del", "pueblo"]
