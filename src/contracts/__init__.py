"""event-contracts: Avro schemas as the source of truth for typed Kafka events."""

from contracts.catalog import Catalog, Subject, Topic, load_catalog
from contracts.errors import (
    BadInputError,
    ContractsError,
    ContractViolation,
    InfrastructureError,
    SchemaError,
)
from contracts.record import AvroEnum, AvroRecord
from contracts.retry import RetryPolicy

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
