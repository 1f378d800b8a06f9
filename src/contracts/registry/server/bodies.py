"""The request bodies of the registry API, one typed definition each.

A body that does not match its definition is answered with Confluent's 422 error
body naming the field and what was expected, never with a 500: every value that
reaches the store has the type and range the store (and the 4-byte wire id) can hold.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, ValidationError

MAX_ID = 2**31 - 1  # schema ids travel as 4 signed bytes in the Confluent wire format
_CONTROL = frozenset(chr(c) for c in [*range(32), 127])


class BodyError(Exception):
    """A body field is missing, unknown or of the wrong type; ``unknown`` names an unrecognized field."""

    def __init__(self, message: str, *, unknown: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.unknown = unknown
        self.field = field


def subject_problem(name: str) -> str | None:
    """Why ``name`` cannot be a subject (``None`` when it can)."""
    if not name:
        return "a subject name must not be empty"
    if any(c in _CONTROL for c in name):
        return "a subject name must not contain control characters"
    return None


def _subject(name: str) -> str:
    problem = subject_problem(name)
    if problem:
        raise ValueError(problem)
    return name


SubjectName = Annotated[StrictStr, AfterValidator(_subject)]
PositiveInt32 = Annotated[StrictInt, Field(ge=1, le=MAX_ID)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Reference(_Body):
    name: StrictStr
    subject: SubjectName
    version: PositiveInt32


class SchemaBody(_Body):
    """POST /subjects/{s}/versions, POST /subjects/{s}, POST /compatibility/..."""

    schema_: StrictStr = Field(alias="schema")
    schemaType: StrictStr | None = None
    references: list[Reference] | None = None
    metadata: Any = None
    ruleSet: Any = None
    id: PositiveInt32 | None = None
    version: PositiveInt32 | None = None
    normalize: StrictBool | None = None
    subject: StrictStr | None = None
    schemaTagsToAdd: Any = None
    schemaTagsToRemove: Any = None


class ConfigBody(_Body):
    compatibility: StrictStr | None = None
    compatibilityLevel: StrictStr | None = None
    normalize: StrictBool | None = None
    alias: StrictStr | None = None
    compatibilityGroup: StrictStr | None = None
    defaultMetadata: Any = None
    overrideMetadata: Any = None
    defaultRuleSet: Any = None
    overrideRuleSet: Any = None


class ModeBody(_Body):
    mode: StrictStr | None = None


class AssociationItem(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    subject: SubjectName
    associationType: StrictStr = "value"


class AssociationBody(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    resourceName: StrictStr
    resourceNamespace: StrictStr = "-"
    resourceType: StrictStr = "topic"
    resourceId: StrictStr | None = None
    associations: list[AssociationItem]


B = TypeVar("B", bound=BaseModel)


def parse_body(model: type[B], data: dict[str, Any]) -> B:
    """``data`` as ``model``, or ``BodyError`` naming the first field that does not fit."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        if first["type"] == "extra_forbidden":
            raise BodyError(f"Unrecognized field: {where}", unknown=where) from None
        top = str(first["loc"][0]) if first["loc"] else ""
        raise BodyError(f"{where or 'body'}: {first['msg']}", field=top) from None
