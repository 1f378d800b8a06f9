"""The ``contracts`` command line.

Exit codes, the same for every command: 0 success; 1 a contract violation
(incompatible change, lint error, drift); 2 bad input or usage; 3 a registry or
broker could not be reached.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import sys

import click

from contracts.cli._common import ContractsGroup
from contracts.redaction import RedactingFilter

# Each command's module is imported when the command is asked for: `contracts compat check`
# need not import the Kafka runtime that `contracts dev` uses.
COMMANDS = {
    "init": "contracts.cli.init:init",
    "lint": "contracts.cli.lint:lint",
    "codegen": "contracts.cli.codegen:codegen",
    "asyncapi": "contracts.cli.asyncapi:asyncapi",
    "compat": "contracts.cli.compat:command",
    "registry": "contracts.cli.registry:command",
    "dev": "contracts.cli.dev:command",
    "docs": "contracts.cli.docs:command",
    "replay": "contracts.cli.replay:command",
    "demo": "contracts.cli.demo:demo",
}


class LazyGroup(ContractsGroup):
    """The ``contracts`` group: its commands are found in ``COMMANDS`` and imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, _, attr = COMMANDS[cmd_name].partition(":")
            self.add_command(getattr(importlib.import_module(module), attr), cmd_name)
        return self.commands.get(cmd_name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug, librdkafka's included).")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors; the exit code says the rest.")
@click.option("--debug", is_flag=True, help="Show the traceback of an unexpected error.")
@click.version_option(package_name="event-contracts", prog_name="contracts")
@click.pass_context
def main(ctx: click.Context, verbose: int, quiet: bool, debug: bool) -> None:
    """Schema-governed event contracts for Kafka: lint, codegen, compatibility gate, registry.

    \b
    Exit codes: 0 ok, 1 contract violation, 2 bad input or usage,
    3 registry or broker unreachable.

    \b
    Examples:
      contracts init . --package billing.events
      contracts compat check --format github
    """
    ctx.meta["contracts.debug"] = debug
    level = logging.ERROR if quiet else logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:  # whatever logs, no credential reaches the terminal
        handler.addFilter(RedactingFilter())
    # librdkafka reports every failed connection attempt; one clear error line says it better (-vv shows them)
    logging.getLogger("contracts.kafka.librdkafka").setLevel(logging.DEBUG if verbose >= 2 else logging.CRITICAL)
    if quiet:
        ctx.with_resource(contextlib.redirect_stdout(open(os.devnull, "w")))  # noqa: SIM115  # closed with the context


__all__ = ["main"]
