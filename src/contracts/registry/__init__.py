"""Schema registry: a REST client for any Confluent-compatible registry."""

from contracts.registry.client import RegisteredSchema, RegistryClient, RegistryError

__all__ = ["RegisteredSchema", "RegistryClient", "RegistryError"]
