"""Every command explains itself: its --help ends with examples; errors are one line and a hint."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from contracts.cli import main


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [prefix]
    ctx = click.Context(group)
    for name in sorted(group.list_commands(ctx)):
        cmd = group.get_command(ctx, name)
        out += _commands(cmd, (*prefix, name)) if isinstance(cmd, click.Group) else [(*prefix, name)]
    return out


@pytest.mark.parametrize("path", _commands(main), ids=lambda p: " ".join(p) or "contracts")
def test_help_ends_with_an_example(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(main, [*path, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output, f"`contracts {' '.join(path)} --help` shows no example"


def test_quiet_prints_nothing_but_keeps_the_exit_code(project: object) -> None:
    result = CliRunner().invoke(main, ["-q", "compat", "check"])
    assert result.exit_code == 0 and result.output == ""
