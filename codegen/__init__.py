"""Avro -> pydantic v2 code generation into any package, built on datamodel-code-generator."""

from .generator import MANIFEST, ForeignFilesError, GenerateResult, check, foreign_files, generate, render_package

__all__ = ["MANIFEST", "ForeignFilesError", "GenerateResult", "check", "foreign_files", "generate", "render_package"]
