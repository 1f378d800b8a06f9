"""The embedded registry: Confluent's REST API (``app``, its ``routes``, typed ``bodies``) over SQLite
(``store``), served over HTTP (``http``), or called in process (``AppTransport``).
"""

from contracts.registry.server.app import RegistryApp
from contracts.registry.server.http import EmbeddedRegistry, default_data_path
from contracts.registry.server.inprocess import AppTransport
from contracts.registry.server.store import Store

__all__ = ["AppTransport", "EmbeddedRegistry", "RegistryApp", "Store", "default_data_path"]
