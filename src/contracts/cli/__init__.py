"""The ``contracts`` command line.

Exit codes, the same for every command: 0 success; 1 a contract violation
(incompatible change, lint error, drift); 2 bad input or usage; 3 a registry or
broker could not be reached.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys

import click

from contracts.cli import compat, dev, docs, registry, replay
from contracts.cli._common import ContractsGroup
from contracts.cli.asyncapi import asyncapi
from contracts.cli.codegen import codegen
from contracts.cli.demo import demo
from contracts.cli.init import init
from contracts.cli.lint import lint
from contracts.redaction import RedactingFilter


@click.group(cls=ContractsGroup, context_settings={"help_option_names": ["-h", "--help"]})
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


for cmd in (init, lint, codegen, asyncapi, compat.command, registry.command, dev.command, docs.command, replay.command, demo):
    main.add_command(cmd)

__all__ = ["main"]
