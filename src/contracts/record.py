"""``AvroRecord``: the base class of every generated event class.

A generated class carries its Avro schema and full name. Conversion to and from
the "Avro-ready" dict that fastavro reads and writes is compiled once per class
from that schema, so that union branches are pinned by full name (fastavro
would otherwise pick the first record that fits) and logical types fastavro
leaves raw (uuid on fixed) are handled here.

The conversions themselves are the class's codec (``contracts.codec``), compiled
once per class; ``to_avro_bytes``/``from_avro_bytes`` take the same bytes path as the
serializers.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar, Self, cast

from pydantic import BaseModel, ConfigDict

from contracts.codec import avro_class, codec_for


class AvroEnum(StrEnum):
    """Base of generated enums: a ``StrEnum`` (fastavro writes its value as is)."""


class AvroRecord(BaseModel):
    """A pydantic model bound to one Avro record schema."""

    model_config = ConfigDict(
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
        extra="forbid",
        arbitrary_types_allowed=False,
    )

    __avro_schema__: ClassVar[dict[str, Any]]
    __avro_fullname__: ClassVar[str]

    # -- schema access ----------------------------------------------------
    @classmethod
    def avro_schema(cls) -> dict[str, Any]:
        """The class's self-contained Avro schema (a dict; treat as read-only)."""
        return cls.__avro_schema__

    @classmethod
    def parsed_schema(cls) -> Any:
        """The schema parsed by fastavro, cached per class."""
        return codec_for(cls).fastavro_schema

    # -- dict conversion --------------------------------------------------
    def to_avro(self) -> dict[str, Any]:
        """The Avro-ready dict fastavro writes (union records as ``(fullname, dict)``)."""
        return codec_for(type(self)).encode(self)

    @classmethod
    def from_avro(cls, data: dict[str, Any], *, validate: bool = True) -> Self:
        """Build an instance from a dict as fastavro reads it.

        ``validate=False`` skips pydantic validation: only for data that was
        decoded with this class's schema, whose types Avro already guarantees.
        """
        return cast(Self, codec_for(cls).decode(data, validate))

    # -- binary -----------------------------------------------------------
    def to_avro_bytes(self) -> bytes:
        """Schemaless Avro binary (no header, no registry framing)."""
        return codec_for(type(self)).to_bytes(self)

    @classmethod
    def from_avro_bytes(cls, data: bytes, writer_schema: dict[str, Any] | None = None) -> Self:
        """Decode schemaless Avro binary, resolving ``writer_schema`` to this class's schema."""
        codec = codec_for(cls)
        plan = codec.read_plan(None) if writer_schema is None else codec.read_plan_for_json(writer_schema)
        return cast(Self, plan.read(data))

register = avro_class  # the decorator's earlier name, for modules generated before it

_waiting: list[type[BaseModel]] = []


def complete_models(*models: type[BaseModel]) -> None:
    """Resolve the annotations of generated classes in namespaces that refer to each other.

    Such modules import each other after defining their classes; a class whose fields name
    a class of a module still being imported cannot be completed yet and waits here. The
    module that finishes last (the one imported first) completes every class left waiting.
    """
    pending = [*_waiting, *models]
    _waiting.clear()
    for model in pending:
        if model.model_rebuild(raise_errors=False) is False:
            _waiting.append(model)


__all__ = ["AvroEnum", "AvroRecord", "avro_class", "complete_models", "register"]
