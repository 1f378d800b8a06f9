"""Avro -> pydantic v2 code generation for contracts.events, built on datamodel-code-generator."""

from .generator import GenerateResult, check, generate, render_package

__all__ = ["GenerateResult", "check", "generate", "render_package"]
