"""Every ``gateway ...`` and ``python3 dev.py ...`` command the README shows exists as written.

A renamed command or option would leave a newcomer with "No such option";
this reads the README's code (blocks and inline) and resolves each command
against the CLI itself, options included.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

import pytest
import typer

from gateway.cli.main import app
from tests.cli.support import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _commands() -> list[str]:
    code = re.findall(r"```sh\n(.*?)```", README, flags=re.DOTALL)
    code += re.findall(r"`([^`\n]+)`", README)
    found: list[str] = []
    for block in code:
        for line in block.splitlines():
            line = line.split("#", 1)[0].strip()
            for part in re.split(r"&&|;", line):
                part = part.strip()
                if part.startswith(("gateway ", "python3 dev.py ")):
                    found.append(part)
    return sorted(set(found))


COMMANDS = _commands()


def test_the_readme_shows_commands() -> None:
    assert "gateway check" in COMMANDS
    assert "python3 dev.py demo" in COMMANDS
    assert len(COMMANDS) > 15


@pytest.mark.parametrize("line", COMMANDS)
def test_a_readme_command_exists(line: str) -> None:
    words = shlex.split(line.replace(">", " > ").split(" > ")[0])
    if words[:2] == ["python3", "dev.py"]:
        assert words[2] in {"demo", "test", "gateway"}, line
        words = words[2:] if words[2] == "gateway" else []
    if not words:
        return
    command: Any = typer.main.get_command(app)
    args = words[1:]
    while args and args[0] in getattr(command, "commands", {}):
        command = command.commands[args.pop(0)]
    if args and hasattr(command, "commands") and not args[0].startswith("-"):
        if args[0] in ("...", "COMMAND"):
            return
        pytest.fail(f"{line}: no command {args[0]!r}")
    options = {opt for param in command.params for opt in getattr(param, "opts", [])}
    options |= {"--help"}
    for arg in args:
        if arg.startswith("-") and arg not in ("-", "--"):
            assert arg.split("=")[0] in options, f"{line}: {arg} is not an option of it"
