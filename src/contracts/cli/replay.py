"""``contracts replay``: re-read a topic or its dead-letter topic, back onto a topic."""

from __future__ import annotations

from datetime import datetime

import click

from contracts.errors import BadInputError
from contracts.kafka.replay import Start, replay

BOOTSTRAP_ENV = "CONTRACTS_KAFKA_BOOTSTRAP_SERVERS"


@click.command("replay")
@click.option("--bootstrap-servers", envvar=BOOTSTRAP_ENV, required=True, help=f"Kafka bootstrap servers (env {BOOTSTRAP_ENV}).")
@click.option("--topic", required=True, help="Topic to read, for example orders.dlq.")
@click.option("--from-beginning", "from_beginning", is_flag=True, help="Start at the earliest offset (default).")
@click.option("--from-offset", type=click.IntRange(min=0), default=None, help="Start at this offset in every partition.")
@click.option("--from-time", default=None, help="Start at the first message at or after this ISO time (2026-11-23T09:00:00+00:00).")
@click.option("--to-topic", default=None, help="Produce the messages to this topic (a destination is required: this or --to-original).")
@click.option("--to-original", is_flag=True, help="Dead letters: send each back to its dlq-original-topic, without dlq-* headers (or use --to-topic).")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Stop after this many messages.")
def command(bootstrap_servers: str, topic: str, from_beginning: bool, from_offset: int | None, from_time: str | None, to_topic: str | None, to_original: bool, limit: int | None) -> None:
    """Replay a topic up to its current end: reprocess dead letters, or rebuild a new service's state.

    One destination is required: --to-topic NAME, or --to-original for dead letters.
    Reads with manual assignment (no consumer group, no committed offset moves).
    Exit 2 on bad flags or an unknown topic, 3 when the broker is unreachable.

    \b
    Examples:
      contracts replay --topic orders.dlq --from-beginning --to-original
      contracts replay --topic orders --from-time 2026-11-23T09:00:00+00:00 --to-topic orders-rebuild
    """
    if sum([from_beginning, from_offset is not None, from_time is not None]) > 1:
        raise BadInputError("choose one of --from-beginning, --from-offset, --from-time")
    if bool(to_topic) == to_original:
        raise BadInputError("choose exactly one of --to-topic or --to-original")
    when = None
    if from_time is not None:
        try:
            when = datetime.fromisoformat(from_time)
        except ValueError as exc:
            raise BadInputError(f"--from-time: {exc}") from exc
        if when.tzinfo is None:
            raise BadInputError("--from-time needs a timezone, for example +00:00")
    start = Start(offset=from_offset, time=when)
    result = replay(bootstrap_servers, topic, start, to_topic=to_topic, to_original=to_original, limit=limit)
    sent = ", ".join(f"{n} to {t}" for t, n in sorted(result.sent.items())) or "nothing sent"
    click.echo(f"replayed {result.read} message(s) of {topic} {start.label()}: {sent}")


