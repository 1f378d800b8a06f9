"""The example order domain that ships with event-contracts: where its schemas are, and events to send.

The demo, the test suite and the benchmarks all run on it; nothing in the library proper
imports it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from contracts.errors import BadInputError
from contracts.events.com.acme.common import Address, EventMetadata, Money
from contracts.events.com.acme.orders import Customer, OrderCreated, OrderLine, SalesChannel

_PACKAGE = Path(__file__).resolve().parents[1]  # contracts/


def example_schemas() -> Path:
    """The order domain's schemas: shipped in the package (a wheel), or at the top of a checkout."""
    for candidate in (_PACKAGE / "examples" / "schemas", _PACKAGE.parents[1] / "schemas"):
        if (candidate / "catalog.toml").is_file():
            return candidate
    raise BadInputError("the example schemas are not installed with this copy of event-contracts")


def example_compatibility(schemas: Path) -> Path:
    """The published history next to the example schemas (shipped with them)."""
    return schemas.parent / "compatibility"


def meta(producer: str, correlation: uuid.UUID | None = None) -> EventMetadata:
    """Fresh metadata for one event: a new id, now, from ``producer``."""
    return EventMetadata(event_id=uuid.uuid4(), occurred_at=datetime.now(UTC), correlation_id=correlation, producer=producer)


def order(i: int) -> OrderCreated:
    """The ``i``-th example order: one line, alternating sales channels, a new order id each call."""
    price = Money(amount=Decimal("9.99") + i, currency="EUR")
    lines = [OrderLine(sku=f"SKU-{i}", quantity=2, unit_price=price)]
    total = Money(amount=(price.amount * 2).quantize(Decimal("0.01")), currency="EUR")
    customer = Customer(
        customer_id=f"c{i}",
        email=f"customer{i}@example.com",
        shipping_address=Address(line1=f"{i} Main St", city="Berlin", postal_code="10115", country="DE"),
    )
    order_id = uuid.uuid4()
    return OrderCreated(
        metadata=meta("orders-service", correlation=order_id),
        order_id=order_id,
        customer=customer,
        lines=lines,
        total=total,
        channel=SalesChannel.WEB if i % 2 else SalesChannel.MOBILE,
    )
