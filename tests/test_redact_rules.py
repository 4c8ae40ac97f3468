"""Redaction rules added for the kinds of error the held-out set showed (issue 26): each
test uses general examples, not the set's sentences."""

import pytest

from pipeline.redact import Redactor


@pytest.fixture(scope="module")
def redactor():
    return Redactor(nlp=None)


def _found(redactor, text, language="es"):
    return [(text[s.start : s.end], s.kind) for s in redactor.find(text, language)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Llámenos al +51 76 365432 por las tardes.", "+51 76 365432"),
        ("Desde afuera marquen +51 1 425 6789, es la oficina.", "+51 1 425 6789"),
    ],
)
def test_landlines_dialled_from_abroad(redactor, text, expected):
    assert _found(redactor, text) == [(expected, "phone")]


@pytest.mark.parametrize(
    ("text", "language", "expected", "kind"),
    [
        ("Apunte: nueve cuatro uno, cero cero dos, siete seis cinco.", "es", "nueve cuatro uno, cero cero dos, siete seis cinco", "phone"),
        ("Call me, nine eight seven six five four three two one.", "en", "nine eight seven six five four three two one", "phone"),
        ("Mi DNI es cuatro uno cero dos siete siete tres ocho, apúntelo.", "es", "cuatro uno cero dos siete siete tres ocho", "id_number"),
    ],
)  # fmt: skip
def test_numbers_said_digit_by_digit(redactor, text, language, expected, kind):
    assert _found(redactor, text, language) == [(expected, kind)]


def test_a_few_counted_numbers_are_not_a_phone(redactor):
    assert redactor.find("Contamos uno, dos, tres y salimos; éramos cinco o seis.", "es") == []


def test_an_office_number_in_english_belongs_to_the_address(redactor):
    text = "The clinic is at Jr. Junín 245, office 3, near the square."
    assert _found(redactor, text, "en") == [("Jr. Junín 245, office 3", "address")]
