"""``OpenTelemetrySink`` against a real issuer on 127.0.0.1, read by the SDK's in-memory reader."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider  # the test dependency group has the SDK
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from cognito_jwt import Audit, JwtError, JwtVerifier, KeySetUnavailableError, OpenTelemetrySink
from cognito_jwt.testing import LocalIssuer


def points(reader: InMemoryMetricReader) -> dict[str, list[tuple[dict[str, Any], Any]]]:
    """Every data point by instrument name: (attributes, value or histogram count)."""
    found: dict[str, list[tuple[dict[str, Any], Any]]] = {}
    data = reader.get_metrics_data()
    assert data is not None
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            assert scope.scope.name == "cognito_jwt"
            for metric in scope.metrics:
                for point in metric.data.data_points:
                    value = getattr(point, "value", None)
                    found.setdefault(metric.name, []).append(
                        (dict(point.attributes or {}), point.count if value is None else value)
                    )
    return found


def test_decisions_and_key_set_events_become_metrics() -> None:
    reader = InMemoryMetricReader()
    sink = OpenTelemetrySink(MeterProvider(metric_readers=[reader]))
    ticks = iter(float(n) / 100 for n in range(1000))
    with LocalIssuer() as issuer:
        verifier = JwtVerifier(
            issuer=issuer.issuer,
            audience="api",
            jwks_uri=issuer.jwks_uri,
            store=None,
            on_event=sink.on_event,
            on_decision=Audit(sink, timer=lambda: next(ticks)),
        )
        verifier.verify(issuer.mint({"aud": "api", "sub": "u1"}))
        asyncio.run(verifier.verify_async(issuer.mint({"aud": "api"})))
        issuer.rotate()
        verifier.verify(issuer.mint({"aud": "api"}))  # an unknown kid: a refresh finds it
        with pytest.raises(JwtError):
            verifier.verify(issuer.mint({"aud": "other"}))
        with pytest.raises(JwtError):
            verifier.verify(issuer.mint({"aud": "api", "iss": "https://stranger.example"}))
        issuer.fail(500)
        with pytest.raises(KeySetUnavailableError):
            verifier.refresh()
    found = points(reader)
    counts = {
        (a["outcome"], a["error"], a["issuer"]): v for a, v in found["cognito_jwt.verifications"]
    }
    assert counts == {
        ("allow", "none", issuer.issuer): 3,
        ("deny", "ERR_AUDIENCE_MISMATCH", issuer.issuer): 1,
        ("deny", "ERR_ISSUER_MISMATCH", "other"): 1,
    }
    durations = {
        (a["outcome"], a["issuer"]): n for a, n in found["cognito_jwt.verification.duration"]
    }
    assert durations == {
        ("allow", issuer.issuer): 3,
        ("deny", issuer.issuer): 1,
        ("deny", "other"): 1,
    }
    events = {(a["event"], a["reason"]): v for a, v in found["cognito_jwt.keyset.events"]}
    assert events[("fetch", "initial")] == 1
    assert events[("fetch", "unknown_kid")] == 1  # the rotation, found by the new kid
    assert events[("fetch_failed", "manual")] == 1
    assert {a["key_set"] for a, _ in found["cognito_jwt.keyset.events"]} == {issuer.jwks_uri}


def test_key_fetches_become_spans_with_their_reason_and_outcome() -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import StatusCode

    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    sink = OpenTelemetrySink(
        MeterProvider(metric_readers=[InMemoryMetricReader()]), tracer_provider=tracer_provider
    )
    with LocalIssuer() as issuer:
        verifier = JwtVerifier(
            issuer=issuer.issuer,
            audience="api",
            jwks_uri=issuer.jwks_uri,
            store=None,
            on_event=sink.on_event,
        )
        verifier.verify(issuer.mint({"aud": "api"}))  # the initial fetch
        asyncio.run(verifier.refresh_async())  # a manual one, on the async face
        issuer.fail(500)
        with pytest.raises(KeySetUnavailableError):
            verifier.refresh()
    spans = exporter.get_finished_spans()
    assert [(s.name, s.attributes["cognito_jwt.reason"]) for s in spans] == [
        ("cognito_jwt.keyset.fetch", "initial"),
        ("cognito_jwt.keyset.fetch", "manual"),
        ("cognito_jwt.keyset.fetch", "manual"),
    ]
    assert [s.status.status_code for s in spans] == [
        StatusCode.UNSET,
        StatusCode.UNSET,
        StatusCode.ERROR,
    ]
    assert spans[2].attributes["cognito_jwt.error"] == "ERR_JWKS_UNAVAILABLE"
    assert all(s.attributes["cognito_jwt.key_set"] == issuer.jwks_uri for s in spans)
    assert all(s.end_time is not None and s.end_time >= s.start_time for s in spans)
