"""The ``contracts`` command line.

Exit codes, the same for every command: 0 success; 1 a contract violation
(incompatible change, lint error, drift); 2 bad input or usage; 3 a registry or
broker could not be reached.
"""

from __future__ import annotations

import logging
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
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(package_name="event-contracts", prog_name="contracts")
def main(verbose: int) -> None:
    """Schema-governed event contracts for Kafka: lint, codegen, compatibility gate, registry.

    \b
    Exit codes: 0 ok, 1 contract violation, 2 bad input or usage,
    3 registry or broker unreachable.
    """
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:  # whatever logs, no credential reaches the terminal
        handler.addFilter(RedactingFilter())


for cmd in (init, lint, codegen, asyncapi, compat.command, registry.command, dev.command, docs.command, replay.command, demo):
    main.add_command(cmd)

__all__ = ["main"]
