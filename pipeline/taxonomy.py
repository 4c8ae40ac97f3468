"""The theme taxonomy: a versioned data file, not code.

The bundled file is ``pipeline/data/taxonomy.json``; an archive may point
``VOCES_TAXONOMY`` at its own copy to add or refine themes without touching code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from corpus.text import fold

from .errors import InputError

__all__ = ["Taxonomy", "Theme", "fold", "load_taxonomy"]


@dataclass(frozen=True)
class Theme:
    id: str
    label: dict[str, str]
    description: dict[str, str]
    patterns: dict[str, tuple[str, ...]]
    examples: dict[str, tuple[str, ...]]
    negative_examples: dict[str, tuple[str, ...]] = field(default_factory=dict)
    definition: dict[str, str] = field(default_factory=dict)  # "counts", "does_not_count"
    subthemes: dict[str, str] = field(default_factory=dict)
    parent: str = ""  # for a sub-theme defined as its own entry, the theme it rolls up to
    negatable: bool = True  # False: a negated mention still counts ("never consulted")


@dataclass(frozen=True)
class Taxonomy:
    version: str
    themes: dict[str, Theme]
    negation_cues: dict[str, frozenset[str]]
    negation_window: int
    neutral_examples: tuple[str, ...]
    source: str = "bundled"

    @property
    def ids(self) -> list[str]:
        return list(self.themes)

    def children(self, theme_id: str) -> list[str]:
        """Sub-themes defined as their own entries, which roll up to ``theme_id``."""
        return [t.id for t in self.themes.values() if t.parent == theme_id]

    def check_theme(self, theme_id: str) -> str:
        if theme_id not in self.themes:
            raise InputError(f"unknown theme {theme_id!r}; known themes: {', '.join(self.themes)}")
        return theme_id

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "themes": [
                {
                    "id": t.id,
                    "label": t.label,
                    "description": t.description,
                    "definition": t.definition,
                    "subthemes": t.subthemes,
                    "parent": t.parent or None,
                }
                for t in self.themes.values()
            ],
        }


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise InputError(f"taxonomy: {where} must be a list of non-empty strings")
    return tuple(value)


def _by_lang(value: Any, where: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, dict):
        raise InputError(f"taxonomy: {where} must map a language code to a list")
    return {lang: _strings(items, f"{where}.{lang}") for lang, items in value.items()}


def parse_taxonomy(data: Any, source: str) -> Taxonomy:
    if not isinstance(data, dict) or not isinstance(data.get("themes"), dict) or not data["themes"]:
        raise InputError(f"taxonomy {source}: expected an object with a non-empty 'themes' map")
    if not str(data.get("version", "")).strip():
        raise InputError(f"taxonomy {source}: a 'version' is required")
    themes = {}
    for theme_id, spec in data["themes"].items():
        if not isinstance(spec, dict):
            raise InputError(f"taxonomy {source}: theme {theme_id!r} must be an object")
        where = f"themes.{theme_id}"
        themes[theme_id] = Theme(
            id=theme_id,
            label=dict(spec.get("label", {"en": theme_id})),
            description=dict(spec.get("description", {})),
            patterns=_by_lang(spec.get("patterns", {}), f"{where}.patterns"),
            examples=_by_lang(spec.get("examples", {}), f"{where}.examples"),
            negative_examples=_by_lang(
                spec.get("negative_examples", {}), f"{where}.negative_examples"
            ),
            definition={k: str(v) for k, v in spec.get("definition", {}).items()},
            subthemes=dict(spec.get("subthemes", {})),
            parent=str(spec.get("parent", "")),
            negatable=bool(spec.get("negatable", True)),
        )
    for theme in themes.values():
        if theme.parent and theme.parent not in themes:
            raise InputError(f"taxonomy {source}: {theme.id} rolls up to unknown {theme.parent}")
    negation = data.get("negation", {})
    return Taxonomy(
        version=str(data["version"]),
        themes=themes,
        negation_cues={
            lang: frozenset(fold(c) for c in cues)
            for lang, cues in negation.get("cues", {}).items()
        },
        negation_window=int(negation.get("window", 3)),
        neutral_examples=_strings(data.get("neutral_examples", ["-"]), "neutral_examples"),
        source=source,
    )


def load_taxonomy(path: Path | None = None) -> Taxonomy:
    """Load the taxonomy at ``path``, or the bundled one."""
    return parse_taxonomy(taxonomy_data(path), str(path) if path is not None else "bundled")


def taxonomy_data(path: Path | None = None) -> Any:
    """The JSON data of the taxonomy at ``path``, or of the bundled one (unchecked)."""
    if path is None:
        text = (resources.files("pipeline") / "data" / "taxonomy.json").read_text("utf-8")
        source = "bundled"
    else:
        try:
            text = path.read_text("utf-8")
        except OSError as exc:
            raise InputError(f"cannot read taxonomy {path}: {exc.strerror}") from exc
        source = str(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"taxonomy {source} is not valid JSON: {exc}") from exc
