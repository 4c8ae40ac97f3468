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
    ("land_loss", "es", "No nos quitaron las tierras, seguimos sembrando."),
    ("land_loss", "en", "They never took our land."),
    ("pollution", "es", "Nunca hubo derrame de relaves en esta quebrada."),
    ("pollution", "en", "The river was not polluted by the mine."),
    ("poverty", "es", "No hay pobreza en el barrio de la empresa."),
    ("poverty", "en", "They were not poor before the boom either."),
    ("health", "es", "Los niños no están enfermos, gracias a Dios."),
    ("health", "en", "Nobody got sick that year."),
    ("water", "es", "Los manantiales no se secaron este año."),
    ("water", "en", "The springs never dried up."),
    ("water", "es", "Bebimos agua del río después de la fiesta."),  # weak cue alone
    ("water", "en", "We walked along the river to the market."),
    ("repression", "es", "No hubo policía ni detenidos en la marcha."),
    ("repression", "en", "Nobody was arrested at the march."),
    ("consultation", "es", "Vendimos papas en la feria del pueblo."),
    ("consultation", "en", "We sold potatoes at the village fair."),
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


def test_every_theme_has_negative_cases_in_both_languages():
    covered = {(theme, lang) for theme, lang, _ in NEGATIVE}
    assert covered == {(t, lang) for t in ALL for lang in ("es", "en")}


def test_weak_cues_are_evidence_not_tags(rule_tagger):
    [scores] = [rule_tagger.score(["Bebimos agua del río."], "es")]
    water = rule_tagger.taxonomy.ids.index("water")
    assert 0 < scores.rule[0, water] < 0.5
    assert scores.evidence[0]["water"] == ["agua", "río"]


def test_subthemes_roll_up_to_their_theme(tmp_path):
    from models.nlp import load_nlp
    from pipeline import ThemeTagger

    data = json.loads((resources.files("pipeline") / "data" / "taxonomy.json").read_text("utf-8"))
    data["version"] = "sub"
    data["themes"]["pollution_noise"] = {
        "label": {"en": "Noise"},
        "parent": "pollution",
        "patterns": {"es": ["dinamita"], "en": ["dynamite"]},
    }
    path = tmp_path / "t.json"
    path.write_text(json.dumps(data), "utf-8")
    taxonomy = load_taxonomy(path)
    assert taxonomy.children("pollution") == ["pollution_noise"]
    tagger = ThemeTagger(taxonomy, lambda lang: load_nlp(lang, prefer_packaged=False), None)
    tags = {t.theme: t for t in tagger.tag(["Cada tarde suena la dinamita."], "es")[0]}
    assert {"pollution_noise", "pollution"} <= set(tags)
    assert tags["pollution"].evidence == ("dinamita",)


def test_a_document_holds_a_theme_with_its_best_passage(rule_tagger):
    passages = [
        "Cada febrero bailo en la fiesta de la Candelaria.",
        "El río está contaminado y los peces murieron.",
        "Los relaves contaminaron el río, el agua está contaminada y el suelo también.",
    ]
    themes, tags = rule_tagger.tag_document(passages, "es")
    assert len(tags) == 3 and tags[0] == []
    pollution = next(d for d in themes if d.tag.theme == "pollution")
    assert [n for n, _, _ in pollution.passages] == [2, 1]  # more rule hits score higher
    assert pollution.tag.score == max(score for _, _, score in pollution.passages)
    assert pollution.passages[0][1] == passages[2]
    assert rule_tagger.tag_document([], "es") == ([], [])
