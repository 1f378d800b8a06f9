"""event-contracts: Avro schemas as the source of truth for typed Kafka events."""

from __future__ import annotations

from typing import TYPE_CHECKING

from contracts._lazy import exports
from contracts.errors import (
    BadInputError,
    ContractsError,
    ContractViolation,
    InfrastructureError,
    SchemaError,
)

if TYPE_CHECKING:
    from contracts.catalog import Catalog, Subject, Topic, load_catalog
    from contracts.record import AvroEnum, AvroRecord
    from contracts.retry import RetryPolicy

# Imported when first named: a command that needs neither pydantic nor the catalog starts without them.
_LAZY = {
    "AvroEnum": "contracts.record",
    "AvroRecord": "contracts.record",
    "Catalog": "contracts.catalog",
    "RetryPolicy": "contracts.retry",
    "Subject": "contracts.catalog",
    "Topic": "contracts.catalog",
    "load_catalog": "contracts.catalog",
}
__getattr__ = exports(__name__, _LAZY)

__all__ = [
    "AvroEnum",
    "AvroRecord",
    "BadInputError",
    "Catalog",
    "ContractViolation",
    "ContractsError",
    "InfrastructureError",
    "RetryPolicy",
    "SchemaError",
    "Subject",
    "Topic",
    "load_catalog",
]
__version__ = "0.1.0"
