"""``RetryPolicy``: how often to try again and how long to wait between tries.

One policy for every retry loop in the package: the consumer's handler retries and
the registry client's retries of transient HTTP failures.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts in all and the backoff between them (exponential, capped)."""

    attempts: int = 3
    initial_backoff: float = 0.1
    max_backoff: float = 2.0
    multiplier: float = 2.0

    def delays(self) -> list[float]:
        """The waits between attempts: one fewer than ``attempts``."""
        out, d = [], self.initial_backoff
        for _ in range(self.attempts - 1):
            out.append(min(d, self.max_backoff))
            d *= self.multiplier
        return out
