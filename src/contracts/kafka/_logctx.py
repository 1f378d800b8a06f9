"""What every log record about one message carries, and what none may carry.

Records get ``event_id``, ``topic``, ``partition`` and ``offset`` attributes (through
``extra``), so a formatter such as ``%(event_id)s %(topic)s`` or a JSON handler can use
them; the message text names them too. Text that came from elsewhere (an exception, a
broker error) passes through ``contracts.redaction.redact`` first: credentials in URLs and
``key=value`` secrets never reach a log or a dead-letter header.
"""

from __future__ import annotations

from typing import Any

from contracts.redaction import redact

__all__ = ["message_context", "redact"]

def message_context(topic: str | None, partition: int | None = None, offset: int | None = None, event_id: str | None = None) -> dict[str, Any]:
    """``extra`` for a log record about one message."""
    return {"topic": topic, "partition": partition, "offset": offset, "event_id": event_id}
