"""The CLI's layout (issue 27): one module per group of verbs, and ``api/cli.py`` adds
each module's commands to the root. These pin the two ways that layout goes wrong
quietly: a command defined but never added (it vanishes from ``voces --help``), and a
command added under a group that another module defines."""

import importlib
import pkgutil

import click

import api
from api import cli as cli_module

VERB_MODULES = sorted(
    m.name
    for m in pkgutil.iter_modules(api.__path__)
    if m.name.startswith("cli_") and m.name != "cli_base"
)


def _tree(command: click.Command, path: tuple[str, ...] = ()):
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _tree(sub, (*path, name))


def test_every_command_a_module_defines_is_reachable_from_voces():
    reachable = {id(c) for _, c in _tree(cli_module.cli)}
    defined = []
    for name in VERB_MODULES:
        module = importlib.import_module(f"api.{name}")
        for attr, value in vars(module).items():
            if isinstance(value, click.Command):
                defined.append((f"{name}.{attr}", id(value) in reachable))
    assert len(defined) >= 25, defined  # the verbs and groups of today's CLI
    assert [where for where, found in defined if not found] == []


def test_a_group_and_its_subcommands_live_in_one_module():
    for path, command in _tree(cli_module.cli):
        if len(path) < 2:
            continue
        group = cli_module.cli.commands[path[0]]
        assert command.callback is not None and group.callback is not None
        assert command.callback.__module__ == group.callback.__module__, " ".join(path)


def test_the_root_group_is_defined_in_cli_base_and_verbs_in_their_modules():
    assert cli_module.cli.callback.__module__ == "api.cli_base"
    for name, command in cli_module.cli.commands.items():
        module = command.callback.__module__
        assert module.removeprefix("api.") in VERB_MODULES, f"voces {name} from {module}"
