"""Real infrastructure for tests and local work: the Tansu broker and the embedded registry."""

from contracts.testing.broker import FAST_JOIN, SESSION_TIMEOUT_MS, TansuBroker, create_topics, free_port

__all__ = ["FAST_JOIN", "SESSION_TIMEOUT_MS", "TansuBroker", "create_topics", "free_port"]
