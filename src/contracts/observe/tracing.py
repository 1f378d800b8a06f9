"""OpenTelemetry traces through Kafka headers: a producer span per send, a consumer span per handler attempt.

Producers inject W3C trace context (``traceparent``, ``tracestate``, ``baggage``) into every event's
headers; consumers extract it and run each handler attempt in a ``process`` span that is the
producer's span's child, so one trace follows an event across services, its
retries (one span per attempt, ``contracts.attempt``), idempotent skips (``contracts.duplicate``),
its dead letter, whose record keeps the original headers and so the context, and a replay of it
(``contracts.replay``).

Names and attributes follow OpenTelemetry's semantic conventions for messaging (Kafka), v1.30:
``send {topic}`` and ``process {topic}`` spans; ``messaging.system``, ``messaging.operation.type``
and ``.name``, ``messaging.destination.name`` and ``.partition.id``, ``messaging.kafka.offset``,
``messaging.consumer.group.name``, ``messaging.kafka.message.key``; this project's own under
``contracts.*`` (event type, subject, schema id, attempt). Never a payload, never a credential.

With ``opentelemetry-instrumentation-confluent-kafka`` switched on as well, its producer spans stand
in for ours (one span per send, one context per event); the consumer's spans per handler attempt
stay ours, children of its send span. Tracing is on where ``opentelemetry-api`` is installed (the ``tracing`` extra) and a tracer provider
is set when a producer or consumer is made; otherwise no span is made and, without the API, nothing
of it is imported.
"""

from __future__ import annotations

from importlib.util import find_spec
from typing import Any

SCOPE = "event-contracts"
SEMCONV = "1.30.0"


def _text(value: str | bytes | None) -> str | None:
    if value is None:
        return None
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


class _Setter:
    """Writes propagation fields into a Kafka header list."""

    def set(self, carrier: list[tuple[str, Any]], key: str, value: str) -> None:
        carrier[:] = [(k, v) for k, v in carrier if k != key]
        carrier.append((key, value.encode()))


class _Getter:
    """Reads propagation fields from a Kafka header list."""

    def get(self, carrier: list[tuple[str, Any]], key: str) -> list[str] | None:
        found = [_text(v) for k, v in carrier if k == key]
        return [v for v in found if v is not None] or None

    def keys(self, carrier: list[tuple[str, Any]]) -> list[str]:
        return [k for k, _ in carrier]


class Tracing:
    """The spans of one producer or consumer (``for_client`` makes one where OpenTelemetry is installed)."""

    def __init__(self, provider: Any = None) -> None:
        from opentelemetry import context, propagate, trace
        from opentelemetry.trace.status import Status, StatusCode

        self._trace = trace
        self._context = context
        self._status, self._error = Status, StatusCode.ERROR
        self._consumer_kind = trace.SpanKind.CONSUMER
        self._tracer = trace.get_tracer(SCOPE, schema_url=f"https://opentelemetry.io/schemas/{SEMCONV}", tracer_provider=provider)
        self._propagate = propagate
        # Duck-typed to the API's Setter and Getter: subclassing them would import it with this module.
        self._setter: Any = _Setter()
        self._getter: Any = _Getter()

    def sent(self, headers: list[tuple[str, Any]], topic: str, key: str | bytes | None, event_type: str, subject: str | None, schema_id: int) -> None:
        """A ``send`` span for one event, its context written into ``headers``."""
        attributes: dict[str, Any] = {
            "messaging.system": "kafka", "messaging.operation.type": "send", "messaging.operation.name": "send",
            "messaging.destination.name": topic, "contracts.event_type": event_type, "contracts.schema_id": schema_id,
        }  # fmt: skip
        if subject:
            attributes["contracts.subject"] = subject
        if key is not None:
            attributes["messaging.kafka.message.key"] = _text(key)
        with self._tracer.start_as_current_span(f"send {topic}", kind=self._trace.SpanKind.PRODUCER, attributes=attributes):
            self._propagate.inject(headers, setter=self._setter)

    def replayed(self, headers: list[tuple[str, Any]], topic: str, key: str | bytes | None, source: str) -> None:
        """A ``send`` span for a replayed record, a child of the trace the record carries, its context written back."""
        attributes: dict[str, Any] = {
            "messaging.system": "kafka", "messaging.operation.type": "send", "messaging.operation.name": "send",
            "messaging.destination.name": topic, "contracts.replay": True, "contracts.replayed_from": source,
        }  # fmt: skip
        if key is not None:
            attributes["messaging.kafka.message.key"] = _text(key)
        with self._tracer.start_as_current_span(
            f"send {topic}", context=self.parent(headers), kind=self._trace.SpanKind.PRODUCER, attributes=attributes
        ):
            self._propagate.inject(headers, setter=self._setter)

    def parent(self, headers: list[tuple[str, Any]]) -> Any:
        """The producer's context: a lone ``traceparent`` is read here (the common case, and cheap); more, by the API's propagators."""
        traceparent, more = None, False
        for k, v in headers:
            if k == "traceparent":
                traceparent = _text(v)
            elif k in ("tracestate", "baggage"):
                more = True
        if traceparent is None and not more:
            return None  # nothing was propagated: the span starts a trace of its own
        if traceparent is not None and not more:
            remote = self._span_context(traceparent)
            if remote is not None:
                return self._trace.set_span_in_context(self._trace.NonRecordingSpan(remote))
        return self._propagate.extract(headers, getter=self._getter)

    def _span_context(self, traceparent: str) -> Any:
        """W3C ``00-<trace id>-<span id>-<flags>``, or ``None`` for anything else (the propagators then decide)."""
        parts = traceparent.split("-")
        if len(parts) != 4 or parts[0] != "00" or len(parts[1]) != 32 or len(parts[2]) != 16 or len(parts[3]) != 2:
            return None
        try:
            trace_id, span_id, flags = int(parts[1], 16), int(parts[2], 16), int(parts[3], 16)
        except ValueError:
            return None
        if not trace_id or not span_id:
            return None
        return self._trace.SpanContext(trace_id, span_id, is_remote=True, trace_flags=self._trace.TraceFlags(flags))

    def processing(self, msg: Any, group: str, event_type: str | None, attempt: int) -> Attempt:
        """The ``process`` span of one handler attempt, a child of the producer's span (which is its creation context).

        Attributes are set once the sampler has kept the span: an unsampled span costs no more than its context.
        """
        headers = msg.headers() or []
        topic = msg.topic() or ""
        name = f"process {topic}"
        span = self._tracer.start_span(name, context=self.parent(headers), kind=self._consumer_kind)
        if span.is_recording():
            attributes: dict[str, Any] = {
                "messaging.system": "kafka", "messaging.operation.type": "process", "messaging.operation.name": "process",
                "messaging.destination.name": topic, "messaging.destination.partition.id": str(msg.partition()),
                "messaging.kafka.offset": msg.offset(), "messaging.consumer.group.name": group, "contracts.attempt": attempt,
            }  # fmt: skip
            key = msg.key()
            if key is not None:
                attributes["messaging.kafka.message.key"] = _text(key)
            for k, v in headers:
                if k == "event-id" and v:
                    attributes["messaging.message.id"] = _text(v)
            if event_type:
                attributes["contracts.event_type"] = event_type
            span.set_attributes(attributes)
        return Attempt(self, span)

    def attach(self, span: Any) -> Any:
        """Make ``span`` the current one; the token ``detach`` takes."""
        return self._context.attach(self._trace.set_span_in_context(span))

    def detach(self, token: Any) -> None:
        self._context.detach(token)

    def error_status(self, exc: BaseException) -> Any:
        return self._status(status_code=self._error, description=f"{type(exc).__name__}: {exc}")

class Attempt:
    """A handler attempt's span made current for a ``with`` block and ended at its close.

    What ``trace.use_span(span, end_on_exit=True)`` does (an exception is recorded on the span and
    sets its status), as a plain context manager: this runs once per message.
    """

    __slots__ = ("_span", "_token", "_tracing")

    def __init__(self, tracing: Tracing, span: Any) -> None:
        self._tracing = tracing
        self._span = span
        self._token: Any = None

    def __enter__(self) -> Any:
        self._token = self._tracing.attach(self._span)
        return self._span

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        span = self._span
        try:
            # An Exception only: GeneratorExit and the like are not errors of the handler.
            if isinstance(exc, Exception) and span.is_recording():
                span.record_exception(exc)
                span.set_status(self._tracing.error_status(exc))
        finally:
            self._tracing.detach(self._token)
            span.end()


def for_client(provider: Any = None) -> Tracing | None:
    """A ``Tracing`` where OpenTelemetry is installed and a tracer provider is set, else ``None``.

    Without ``opentelemetry-api`` nothing of it is imported; without a provider (an SDK, or an
    agent's) spans would go nowhere, so none are made: the client pays nothing for tracing.
    Set the provider before making producers and consumers, as OpenTelemetry's setup does, or
    give one (``provider``), as OpenTelemetry's instrumentations take ``tracer_provider``.
    """
    if find_spec("opentelemetry") is None:
        return None
    if provider is not None:
        return Tracing(provider)
    from opentelemetry import trace

    return None if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider) else Tracing()


def instrumented(client: Any) -> bool:
    """Whether ``client`` is a confluent-kafka client that OpenTelemetry's own instrumentation wraps.

    Its producer makes the ``send`` span and writes the context into the headers itself, so ours
    stands aside there: one span per send, one ``traceparent`` per event.
    """
    return type(client).__module__.startswith("opentelemetry.instrumentation")
