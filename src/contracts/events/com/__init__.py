"""Namespace package ``events.com`` (generated)."""
