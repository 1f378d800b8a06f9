"""Benchmarks, run by ``make bench``; each prints its times and ratios against a baseline from the same run."""

from __future__ import annotations


def brokers() -> list[str]:
    """The brokers the Kafka benchmarks run on: Tansu, and Apache Kafka where this machine can start it."""
    from contracts.testing import broker_missing

    lacking = broker_missing("kafka")
    if lacking:
        print(f"(Apache Kafka figures skipped: {lacking})")
        return ["tansu"]
    return ["tansu", "kafka"]
