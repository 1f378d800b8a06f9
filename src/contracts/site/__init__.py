"""The static event catalog: ``contracts docs build``."""

from contracts.site.build import build

__all__ = ["build"]
