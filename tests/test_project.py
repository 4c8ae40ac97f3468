"""Project-wide rules: import layers, documented settings, pinned default model hash."""

import re
import subprocess
import sys
from pathlib import Path

from api.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_import_layers():
    # api -> pipeline -> corpus | models; corpus and models never import each other
    exe = Path(sys.executable).with_name("lint-imports")
    r = subprocess.run([str(exe)], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_every_setting_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text("utf-8")
    for name, field in Settings.model_fields.items():
        assert field.description, name
        assert f"VOCES_{name.upper()}" in readme, f"VOCES_{name.upper()} missing from README"


def test_settings_read_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("VOCES_HOME", str(tmp_path / "x"))
    monkeypatch.setenv("VOCES_BEAM_SIZE", "1")
    monkeypatch.setenv("VOCES_LANGUAGES", "es, en ,qu")
    s = Settings()
    assert s.home == tmp_path / "x" and s.beam_size == 1
    assert s.language_candidates == ("es", "en", "qu")


def test_changelog_has_unreleased_section():
    assert re.search(r"^## \[?Unreleased\]?", (ROOT / "CHANGELOG.md").read_text(), re.M)
