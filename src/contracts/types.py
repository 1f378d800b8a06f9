"""Annotated Python types for Avro primitives whose range pydantic does not know.

Generated classes use these so that a value that cannot be encoded (an ``int``
beyond 32 bits, a ``float`` beyond single precision) fails at construction, with
the field path, instead of deep inside the encoder.
"""

from __future__ import annotations

import math
from datetime import datetime, time
from typing import Annotated, TypeVar

from pydantic import AfterValidator, AwareDatetime, Field, NaiveDatetime, Strict

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
FLOAT32_MAX = 3.4028234663852886e38


def _check_float32(value: float) -> float:
    if math.isfinite(value) and abs(value) > FLOAT32_MAX:
        raise ValueError(f"{value} does not fit in an Avro float (32-bit); use double")
    return value


_T = TypeVar("_T", datetime, time)


def _to_millis(value: _T) -> _T:
    # The wire keeps milliseconds: keep exactly what will be sent, so a round trip is an identity.
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


TimestampMillis = Annotated[AwareDatetime, AfterValidator(_to_millis)]
"""Avro ``timestamp-millis``: timezone-aware, truncated to the millisecond."""

LocalTimestampMillis = Annotated[NaiveDatetime, AfterValidator(_to_millis)]
"""Avro ``local-timestamp-millis``: naive, truncated to the millisecond."""

TimeMillis = Annotated[time, AfterValidator(_to_millis)]
"""Avro ``time-millis``: truncated to the millisecond."""

Int32 = Annotated[int, Strict(), Field(ge=INT32_MIN, le=INT32_MAX)]
"""Avro ``int``: a signed 32-bit integer."""

Int64 = Annotated[int, Strict(), Field(ge=INT64_MIN, le=INT64_MAX)]
"""Avro ``long``: a signed 64-bit integer."""

Float32 = Annotated[float, AfterValidator(_check_float32)]
"""Avro ``float``: single precision, NaN and infinities allowed."""

Float64 = float
"""Avro ``double``."""

StrictStr = Annotated[str, Strict()]
"""Avro ``string``: no silent coercion from numbers."""

StrictBool = Annotated[bool, Strict()]
"""Avro ``boolean``."""

Bytes = bytes
"""Avro ``bytes``."""

__all__ = [
    "FLOAT32_MAX",
    "INT32_MAX",
    "INT32_MIN",
    "INT64_MAX",
    "INT64_MIN",
    "Bytes",
    "Float32",
    "Float64",
    "Int32",
    "Int64",
    "LocalTimestampMillis",
    "StrictBool",
    "StrictStr",
    "TimeMillis",
    "TimestampMillis",
]
