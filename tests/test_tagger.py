import json
from importlib import resources

import pytest

from pipeline import InputError, load_taxonomy
from pipeline.taxonomy import fold

CORE = ["land_loss", "pollution", "displacement", "poverty"]
ALL = CORE + ["health", "water", "repression", "consultation"]

# (theme, language, text that must be tagged with theme)
POSITIVE = [
    ("land_loss", "es", "La empresa nos quitó las tierras comunales sin pagar nada."),
    ("land_loss", "en", "The company took our land and fenced off the pastures."),
    ("pollution", "es", "El relave se derramó y el río quedó contaminado."),
    ("pollution", "en", "After the spill the stream was full of heavy metals."),
    ("displacement", "es", "Nos reasentaron lejos de nuestro pueblo."),
    ("displacement", "en", "Forty families were relocated to make room for the pit."),
    ("poverty", "es", "Aquí hay pobreza aunque la mina saca millones."),
    ("poverty", "en", "We live in poverty beside one of the richest mines."),
    ("health", "es", "Los niños tienen plomo en la sangre y están enfermos."),
    ("health", "en", "Our children are sick and coughing every night."),
    ("water", "es", "Los manantiales se secaron desde que abrieron el tajo."),
    ("water", "en", "The springs dried up after the mine opened."),
    ("repression", "es", "La policía reprimió la protesta y hubo detenidos."),
    ("repression", "en", "The police arrested our leaders during the strike."),
    ("consultation", "es", "Nunca hubo consulta previa con la comunidad."),
    ("consultation", "en", "Nobody consulted the community assembly before the project."),
]

# (theme, language, text that must NOT be tagged with theme) — negated or unrelated
NEGATIVE = [
    ("pollution", "es", "No hubo contaminación en el río este año."),
    ("pollution", "en", "There was no spill at the mine."),
    ("land_loss", "es", "Bailamos en la fiesta patronal toda la noche."),
    ("land_loss", "en", "We danced at the festival all night."),
    ("displacement", "es", "Nunca nos reasentaron, seguimos en el mismo lugar."),
    ("displacement", "en", "We were never relocated; we still live here."),
    ("poverty", "es", "Mi abuela teje mantas de alpaca."),
    ("poverty", "en", "My grandmother weaves alpaca blankets."),
    ("health", "es", "Vendemos queso en la feria del domingo."),
    ("health", "en", "We sell cheese at the Sunday market."),
    ("repression", "es", "El colegio organizó un campeonato de fútbol."),
    ("repression", "en", "The school organised a football tournament."),
]


@pytest.mark.parametrize("theme, lang, text", POSITIVE)
def test_rules_find_each_theme_in_both_languages(rule_tagger, taxonomy, theme, lang, text):
    tags = {t.theme: t for t in rule_tagger.tag([text], lang)[0]}
    assert theme in tags, f"{theme} missing for {text!r}: {list(tags)}"
    tag = tags[theme]
    assert tag.source == "rule" and 0.5 <= tag.score <= 1.0
    assert tag.evidence and all(fold(e.split()[0]) in fold(text) for e in tag.evidence)
    assert tag.version == f"taxonomy-{taxonomy.version}"


@pytest.mark.parametrize("theme, lang, text", NEGATIVE)
def test_rules_ignore_negated_and_unrelated(rule_tagger, theme, lang, text):
    assert theme not in {t.theme for t in rule_tagger.tag([text], lang)[0]}


def test_every_theme_has_positive_cases_in_both_languages():
    covered = {(theme, lang) for theme, lang, _ in POSITIVE}
    assert covered == {(t, lang) for t in ALL for lang in ("es", "en")}


def test_bundled_taxonomy_has_the_eight_themes(taxonomy):
    assert taxonomy.ids == ALL
    for theme in taxonomy.themes.values():
        assert set(theme.patterns) == {"es", "en"} and set(theme.examples) == {"es", "en"}
        assert theme.description["es"] and theme.description["en"]


def test_an_archive_can_add_a_theme_without_code(tmp_path, taxonomy):
    from models.nlp import load_nlp
    from pipeline import ThemeTagger

    data = json.loads((resources.files("pipeline") / "data" / "taxonomy.json").read_text("utf-8"))
    data["version"] = "1-local"
    data["themes"]["women"] = {
        "label": {"en": "Women"},
        "description": {"en": "Specific impacts on women"},
        "patterns": {"es": ["mujeres"], "en": ["women"]},
        "examples": {"es": ["Las mujeres cargan el agua."], "en": ["Women carry the water."]},
    }
    path = tmp_path / "taxonomy.json"
    path.write_text(json.dumps(data), "utf-8")
    custom = load_taxonomy(path)
    tagger = ThemeTagger(custom, lambda lang: load_nlp(lang, prefer_packaged=False), None)
    tags = tagger.tag(["Las mujeres de la comunidad marcharon."], "es")[0]
    assert [t.theme for t in tags] == ["women"] and tags[0].version == "taxonomy-1-local"


@pytest.mark.parametrize(
    "content, message",
    [
        ("{", "not valid JSON"),
        ('{"version": "1", "themes": {}}', "non-empty 'themes'"),
        ('{"themes": {"a": {}}}', "'version' is required"),
        ('{"version": "1", "themes": {"a": {"patterns": {"es": "x"}}}}', "list of non-empty"),
        ('{"version": "1", "themes": {"a": {"parent": "b"}}}', "unknown b"),
    ],
)
def test_malformed_taxonomy(tmp_path, content, message):
    path = tmp_path / "t.json"
    path.write_text(content, "utf-8")
    with pytest.raises(InputError, match=message):
        load_taxonomy(path)


def test_unknown_theme_is_a_clear_error(taxonomy):
    with pytest.raises(InputError, match="unknown theme 'mining'.*land_loss"):
        taxonomy.check_theme("mining")


def test_absence_of_consultation_is_consultation(rule_tagger):
    # negation cues must not hide this theme: "never asked" is the complaint itself
    for text, lang in [
        ("Nunca nos consultaron antes de empezar.", "es"),
        ("They never asked us, there was no consultation.", "en"),
    ]:
        assert "consultation" in {t.theme for t in rule_tagger.tag([text], lang)[0]}
