"""Namespace package ``events.com.acme`` (generated)."""
