"""The example order pipeline on real infrastructure, for tests and benchmarks alike.

``example_catalog`` copies the shipped order domain with topic names unique to one run;
``Pipeline`` registers its schemas on a registry, creates its topics on a broker, and makes
serializers and consumers that join quickly.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from contracts.catalog import Catalog, load_catalog
from contracts.kafka import EventConsumer
from contracts.registry.client import RegistryClient
from contracts.registry.sync import push
from contracts.serde import EventDeserializer, EventSerializer, registry_client
from contracts.testing.broker import FAST_JOIN, create_topics
from contracts.testing.examples import example_schemas


def example_catalog(tmp: Path, suffix: str, edit: Callable[[Path], None] | None = None) -> Catalog:
    """The shipped order domain in ``tmp/schemas``, its topics named ``orders-<suffix>`` and so on."""
    schemas = tmp / "schemas"
    shutil.copytree(example_schemas(), schemas)
    text = (schemas / "catalog.toml").read_text()
    for topic in ("orders", "payments", "notifications"):
        text = text.replace(f"[topics.{topic}]", f"[topics.{topic}-{suffix}]")
    (schemas / "catalog.toml").write_text(text)
    if edit:
        edit(schemas)
    return load_catalog(schemas)


class Pipeline:
    """A catalog live on a broker and a registry: schemas registered, topics (and dead-letter topics) created."""

    def __init__(self, bootstrap: str, registry: str, catalog: Catalog) -> None:
        self.bootstrap, self.registry, self.catalog = bootstrap, registry, catalog
        self.client = registry_client(registry)
        push(RegistryClient(registry), catalog)
        create_topics(bootstrap, {t.name: 2 for t in catalog.topics.values()} | {t.dlq: 1 for t in catalog.topics.values()})
        self.orders = next(t for t in catalog.topics if t.startswith("orders"))

    def serializer(self, **kw: Any) -> EventSerializer:
        return EventSerializer(self.client, self.catalog, **kw)

    def consumer(self, group: str, name: str, **kw: Any) -> EventConsumer:
        deserializer = EventDeserializer(self.client, kw.pop("classes", None))
        return EventConsumer(self.bootstrap, deserializer, self.catalog, group_id=group, name=name, **FAST_JOIN, **kw)
