"""Namespace package ``contracts.events.com.acme`` (generated)."""
