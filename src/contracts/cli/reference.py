"""docs/cli.md, generated from the commands themselves (a test keeps the page in step)."""

from __future__ import annotations

import click


def markdown(root: click.Group) -> str:
    lines = ["# Command reference", "", "Generated from `contracts --help` and each command's own help: "
             "`contracts docs cli-reference > docs/cli.md`.", ""]  # fmt: skip
    for path, ctx in _walk(root, "contracts", None):
        lines += [f"## `{path}`", "", "```text", ctx.command.get_help(ctx).rstrip(), "```", ""]
    return "\n".join(lines)


def _walk(cmd: click.Command, path: str, parent: click.Context | None) -> list[tuple[str, click.Context]]:
    # The same width wherever it runs; settings (such as -h) inherit as on the command line.
    ctx = click.Context(cmd, info_name=path.rsplit(" ", 1)[-1], parent=parent, terminal_width=100, max_content_width=100, **cmd.context_settings)
    out = [(path, ctx)]
    if isinstance(cmd, click.Group):
        for name in sorted(cmd.list_commands(ctx)):
            sub = cmd.get_command(ctx, name)
            assert sub is not None
            out += _walk(sub, f"{path} {name}", ctx)
    return out
