"""Check docs/deploy/compose.yaml without running it (``make lint``, so CI runs it).

1. Syntax: the file is YAML and valid against the Compose specification's JSON schema
   (``compose/config/compose_spec.json`` from the docker-compose 1.29.2 wheel, fetched
   once from PyPI by pip into the virtual environment; no Docker is needed).
2. Meaning: every ``VOCES_*`` variable it sets is a real Voces setting, every service a
   service depends on exists, every named volume is declared, and the commands it runs
   are ``voces`` verbs that exist.
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema_rs
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = Path(__file__).with_name("compose.yaml")
CACHE = Path(sys.prefix) / "compose-spec"


def spec() -> dict:
    schema = CACHE / "compose_spec.json"
    if not schema.is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "-d",
                str(CACHE),
                "docker-compose==1.29.2",
            ],
            check=True,
        )
        wheel = next(CACHE.glob("docker_compose-1.29.2-*.whl"))
        with zipfile.ZipFile(wheel) as z:
            schema.write_bytes(z.read("compose/config/compose_spec.json"))
    return json.loads(schema.read_text("utf-8"))


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from api.cli import cli
    from api.settings import Settings

    doc = yaml.safe_load(COMPOSE.read_text("utf-8"))
    problems = [
        f"schema: {e.message} at {list(e.instance_path)}"
        for e in jsonschema_rs.validator_for(spec()).iter_errors(doc)
    ]
    settings = {f"VOCES_{name.upper()}" for name in Settings.model_fields}
    verbs = set(cli.commands)
    declared = set(doc.get("volumes") or {})
    services = doc["services"]
    for name, service in services.items():
        for key in service.get("environment") or {}:
            if key.startswith("VOCES_") and key not in settings:
                problems.append(f"{name}: {key} is not a Voces setting")
        for dep in service.get("depends_on") or {}:
            if dep not in services:
                problems.append(f"{name}: depends on unknown service {dep}")
        for volume in service.get("volumes") or []:
            source = volume.split(":", 1)[0]
            if not source.startswith((".", "/")) and source not in declared:
                problems.append(f"{name}: volume {source} is not declared")
        command = service.get("command")
        if isinstance(command, list) and command[:1] == ["voces"] and command[1] not in verbs:
            problems.append(f"{name}: `voces {command[1]}` is not a command")
    for problem in problems:
        print(f"{COMPOSE.relative_to(ROOT)}: {problem}")
    if not problems:
        print(f"{COMPOSE.relative_to(ROOT)}: valid ({len(services)} services)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
