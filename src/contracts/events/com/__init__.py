"""Namespace package ``contracts.events.com`` (generated)."""
