"""``on_decision``: one :class:`VerificationRecord` per verification, and the ready-made sinks."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cognito_jwt import (
    Audit,
    ConfigurationError,
    EmfSink,
    ExpiredTokenError,
    InvalidSignatureError,
    IssuerMismatchError,
    JsonLogSink,
    JwtError,
    MalformedTokenError,
    MultiIssuerVerifier,
    MultiTenantVerifier,
    VerificationRecord,
)
from cognito_jwt import _audit as audit_module
from tests.helpers import (
    CLIENT_ID,
    FIXED_NOW,
    ISSUER,
    OIDC_ISSUER,
    SigningKey,
    access_claims,
    oidc_claims,
    raw_token,
)

SUB = "8d2f5f0e-1111-4222-8333-444455556666"


class Ticks:
    """A perf_counter stand-in: each call is 0.25 s after the one before."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> float:
        self.calls += 1
        return self.calls * 0.25


@pytest.fixture
def records() -> list[VerificationRecord]:
    return []


@pytest.fixture
def audit(records: list[VerificationRecord]) -> Audit:
    return Audit(records.append, timer=Ticks())


def test_an_allow_is_recorded_with_the_token_fields_and_its_time(
    make_cognito, keys, records, audit
):
    token = keys["RS256"].sign(access_claims())
    verifier = make_cognito(on_decision=audit)
    verifier.verify(token)
    assert records == [
        VerificationRecord(
            outcome="allow",
            error=None,
            iss=ISSUER,
            issuer_known=True,
            kid=keys["RS256"].kid,
            alg="RS256",
            client_id=CLIENT_ID,
            audience=(),
            token_use="access",
            cache_hit=False,
            duration=0.25,
            subject=None,
        )
    ]
    assert token not in repr(records[0])
    assert SUB not in json.dumps(records[0].as_dict())


def test_a_deny_carries_the_error_code_and_the_unverified_fields(make_cognito, keys, records):
    verifier = make_cognito(on_decision=records.append)
    with pytest.raises(ExpiredTokenError):
        verifier.verify(keys["RS256"].sign(access_claims(exp=FIXED_NOW - 10)))
    (record,) = records
    assert (record.outcome, record.error) == ("deny", "ERR_TOKEN_EXPIRED")
    assert (record.iss, record.issuer_known, record.token_use) == (ISSUER, True, "access")


def test_a_bad_signature_still_names_the_issuer_read_from_the_payload(make_cognito, keys, records):
    forged = keys["RS256"].sign(access_claims()).rsplit(".", 1)[0] + ".AAAA"
    with pytest.raises(InvalidSignatureError):
        make_cognito(on_decision=records.append).verify(forged)
    assert (records[0].error, records[0].iss, records[0].client_id) == (
        "ERR_INVALID_SIGNATURE",
        ISSUER,
        CLIENT_ID,
    )


@pytest.mark.parametrize("token", ["not a token", "a.b.c", "", 12345, b"\xff.\xff.\xff"])
def test_input_that_does_not_parse_gives_one_record_with_no_token_fields(
    make_cognito, records, token
):
    with pytest.raises(JwtError):
        make_cognito(on_decision=records.append).verify(token)
    (record,) = records
    assert record.outcome == "deny"
    assert record.error is not None
    fields = (record.iss, record.kid, record.alg, record.client_id, record.token_use)
    assert fields == (None,) * 5
    assert record.audience == ()
    assert not record.issuer_known


def test_an_unknown_issuer_is_not_known_and_attacker_values_are_bounded(
    make_cognito, keys, records
):
    long_iss = "https://evil.example/" + "x" * 600
    token = keys["RS256"].sign(
        access_claims(iss=long_iss, client_id="c" * 600, aud=["a" * 300] * 10), kid="k" * 300
    )
    with pytest.raises(JwtError):
        make_cognito(on_decision=records.append).verify(token)
    (record,) = records
    assert not record.issuer_known
    assert record.iss == long_iss[:256]
    assert len(record.client_id or "") == 256
    assert len(record.kid or "") == 256
    assert len(record.audience) == 8
    assert all(len(a) == 256 for a in record.audience)


def test_a_cache_hit_is_recorded(make_cognito, keys, records):
    verifier = make_cognito(on_decision=records.append, token_cache_size=8)
    token = keys["RS256"].sign(access_claims())
    verifier.verify(token)
    verifier.verify(token)
    assert [r.cache_hit for r in records] == [False, True]


def test_verify_async_records_once(make_cognito, keys, records):
    verifier = make_cognito(on_decision=records.append, token_cache_size=8)
    token = keys["RS256"].sign(access_claims())
    asyncio.run(verifier.verify_async(token))
    asyncio.run(verifier.verify_async(token))
    with pytest.raises(MalformedTokenError):
        asyncio.run(verifier.verify_async("nope"))
    assert [(r.outcome, r.cache_hit) for r in records] == [
        ("allow", False),
        ("allow", True),
        ("deny", False),
    ]


def test_a_hook_that_raises_changes_nothing_and_is_logged_without_the_token(
    make_cognito, keys, caplog
):
    def broken(record: VerificationRecord) -> None:
        raise RuntimeError("sink down")

    verifier = make_cognito(on_decision=broken)
    token = keys["RS256"].sign(access_claims())
    expired = keys["RS256"].sign(access_claims(exp=FIXED_NOW - 10))
    with caplog.at_level(logging.ERROR, logger="cognito_jwt"):
        assert verifier.verify(token)["sub"] == SUB
        with pytest.raises(ExpiredTokenError):
            verifier.verify(expired)
    assert len([r for r in caplog.records if "on_decision" in r.getMessage()]) == 2
    assert token not in caplog.text
    assert expired not in caplog.text


def test_without_a_hook_nothing_is_timed_or_built(make_cognito, keys, monkeypatch):
    def refuse(*args: Any) -> Any:
        raise AssertionError("the audit path ran without on_decision")

    # the verifier imports these from the audit module when it has a hook: patched there
    monkeypatch.setattr(audit_module, "run", refuse)
    monkeypatch.setattr(audit_module, "run_async", refuse)
    verifier = make_cognito(token_cache_size=4)
    token = keys["RS256"].sign(access_claims())
    verifier.verify(token)
    verifier.verify(token)
    asyncio.run(verifier.verify_async(token))
    assert verifier._audit is None


# === The subject =================================================================================
def test_the_subject_is_recorded_only_when_asked(make_cognito, keys, records):
    token = keys["RS256"].sign(access_claims())
    make_cognito(on_decision=Audit(records.append, include_subject=True)).verify(token)
    key = b"0123456789abcdef0123"
    make_cognito(on_decision=Audit(records.append, include_subject="hash", subject_key=key)).verify(
        token
    )
    expected = hmac.new(key, SUB.encode(), hashlib.sha256).hexdigest()
    assert [r.subject for r in records] == [SUB, f"hmac-sha256:{expected}"]


def test_a_hash_without_a_key_is_stable_within_the_process(make_cognito, keys, records):
    verifier = make_cognito(on_decision=Audit(records.append, include_subject="hash"))
    token = keys["RS256"].sign(access_claims())
    verifier.verify(token)
    verifier.verify(token)
    assert records[0].subject == records[1].subject
    assert records[0].subject is not None
    assert SUB not in records[0].subject


@pytest.mark.parametrize(
    "kwargs",
    [
        {"include_subject": "yes"},
        {"include_subject": "hash", "subject_key": b"short"},
        {"include_subject": "hash", "subject_key": "a str key of enough len"},
        {"timer": 3},
    ],
)
def test_bad_audit_settings_are_configuration_errors(kwargs):
    with pytest.raises(ConfigurationError):
        Audit(print, **kwargs)


def test_an_async_hook_is_refused(make_cognito):
    async def hook(record: VerificationRecord) -> None:
        return None

    with pytest.raises(ConfigurationError, match="never awaited"):
        make_cognito(on_decision=hook)


def test_on_decision_must_be_callable(make_cognito):
    with pytest.raises(ConfigurationError, match="on_decision"):
        make_cognito(on_decision="log it")


# === Routers: exactly one record =================================================================
@pytest.fixture
def pair(make_cognito, make_oidc) -> Callable[..., MultiIssuerVerifier]:
    def make(router: Any = None, cognito: Any = None, oidc: Any = None) -> MultiIssuerVerifier:
        return MultiIssuerVerifier(
            [make_cognito(on_decision=cognito), make_oidc(on_decision=oidc)], on_decision=router
        )

    return make


def _three_tokens(keys: dict[str, SigningKey]) -> Iterator[str]:
    yield keys["RS256"].sign(access_claims())
    yield keys["ES256"].sign(oidc_claims())
    yield keys["ES256"].sign(oidc_claims(iss="https://stranger.example"))  # refused by routing


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_a_hook_on_the_router_sees_every_token_once(pair, keys, records, use_async):
    router = pair(router=records.append)
    for token in _three_tokens(keys):
        with contextlib.suppress(IssuerMismatchError):
            if use_async:
                asyncio.run(router.verify_async(token))
            else:
                router.verify(token)
    assert [(r.outcome, r.iss, r.issuer_known) for r in records] == [
        ("allow", ISSUER, True),
        ("allow", OIDC_ISSUER, True),
        ("deny", "https://stranger.example", False),
    ]


def test_a_hook_on_an_inner_verifier_sees_the_tokens_routed_to_it(pair, keys, records):
    router = pair(cognito=records.append)
    for token in _three_tokens(keys):
        with contextlib.suppress(IssuerMismatchError):
            router.verify(token)
    assert [(r.outcome, r.iss) for r in records] == [("allow", ISSUER)]


def test_hooks_on_both_get_the_one_record_each(pair, keys):
    outer: list[VerificationRecord] = []
    inner: list[VerificationRecord] = []
    router = pair(router=outer.append, cognito=inner.append)
    router.verify(keys["RS256"].sign(access_claims()))
    asyncio.run(router.verify_async(keys["RS256"].sign(access_claims())))
    assert len(outer) == len(inner) == 2
    assert outer == inner


def test_the_tenant_router_records_once_with_or_without_inner_hooks(make_cognito, keys):
    outer: list[VerificationRecord] = []
    inner: list[VerificationRecord] = []
    pool = ISSUER.rsplit("/", 1)[1]

    def build(issuer: str, pool_id: str | None) -> Any:
        return make_cognito(on_decision=inner.append) if pool_id == pool else None

    router = MultiTenantVerifier(build=build, cognito_pools=[pool], on_decision=outer.append)
    token = keys["RS256"].sign(access_claims())
    router.verify(token)
    asyncio.run(router.verify_async(token))
    with pytest.raises(IssuerMismatchError):
        router.verify(keys["RS256"].sign(access_claims(iss="https://stranger.example")))
    assert [r.outcome for r in outer] == ["allow", "allow", "deny"]
    assert inner == outer[:2]
    plain = MultiTenantVerifier(build=build, cognito_pools=[pool])
    plain.verify(token)
    assert len(inner) == 3


# === Sinks =======================================================================================
def _record(**overrides: Any) -> VerificationRecord:
    fields: dict[str, Any] = {
        "outcome": "allow",
        "error": None,
        "iss": ISSUER,
        "issuer_known": True,
        "kid": "k1",
        "alg": "RS256",
        "client_id": CLIENT_ID,
        "audience": (),
        "token_use": "access",
        "cache_hit": False,
        "duration": 0.0012345,
    }
    fields.update(overrides)
    return VerificationRecord(**fields)


def test_the_json_log_sink_writes_one_line_per_decision(make_cognito, keys, caplog):
    verifier = make_cognito(on_decision=JsonLogSink())
    token = keys["RS256"].sign(access_claims())
    with caplog.at_level(logging.INFO, logger="cognito_jwt.audit"):
        verifier.verify(token)
        with pytest.raises(JwtError):
            verifier.verify("garbage")
    allow, deny = (r for r in caplog.records if r.name == "cognito_jwt.audit")
    assert (allow.levelno, deny.levelno) == (logging.INFO, logging.WARNING)
    assert json.loads(allow.getMessage())["iss"] == ISSUER
    assert json.loads(deny.getMessage())["error"] == "ERR_MALFORMED_TOKEN"
    assert token not in caplog.text


UNITS = {"Count", "Milliseconds", "Seconds", "None"}


def check_emf(document: dict[str, Any]) -> None:
    """Validate *document* against the CloudWatch Embedded Metric Format specification."""
    meta = document["_aws"]
    assert set(meta) == {"Timestamp", "CloudWatchMetrics"}
    assert isinstance(meta["Timestamp"], int)
    assert meta["Timestamp"] > 0
    for directive in meta["CloudWatchMetrics"]:
        assert set(directive) == {"Namespace", "Dimensions", "Metrics"}
        assert isinstance(directive["Namespace"], str)
        assert 1 <= len(directive["Namespace"]) <= 1024
        for dimension_set in directive["Dimensions"]:
            assert 1 <= len(dimension_set) <= 30
            for name in dimension_set:
                value = document[name]
                assert isinstance(value, str)
                assert 0 < len(value) <= 1024
        assert 1 <= len(directive["Metrics"]) <= 100
        for metric in directive["Metrics"]:
            assert set(metric) <= {"Name", "Unit", "StorageResolution"}
            assert metric["Unit"] in UNITS
            value = document[metric["Name"]]
            assert isinstance(value, int | float)
            assert not isinstance(value, bool)


def test_the_emf_sink_prints_valid_documents_per_issuer_and_error(make_cognito, keys):
    stream = io.StringIO()
    sink = EmfSink(stream=stream, dimensions={"Service": "orders"}, clock=lambda: FIXED_NOW)
    verifier = make_cognito(on_decision=sink)
    verifier.verify(keys["RS256"].sign(access_claims()))
    for bad in (
        keys["RS256"].sign(access_claims(exp=FIXED_NOW - 1)),
        keys["RS256"].sign(access_claims(iss="https://attacker.example/" + "z" * 300)),
    ):
        with pytest.raises(JwtError):
            verifier.verify(bad)
    lines = stream.getvalue().splitlines()
    documents = [json.loads(line) for line in lines]
    for document in documents:
        check_emf(document)
        assert document["_aws"]["Timestamp"] == FIXED_NOW * 1000
        assert document["Service"] == "orders"
    allow, expired, stranger = documents
    assert (allow["Issuer"], allow["Allow"], allow["Deny"]) == (ISSUER, 1, 0)
    assert "ErrorCode" not in allow
    assert len(allow["_aws"]["CloudWatchMetrics"]) == 1
    assert (expired["Issuer"], expired["ErrorCode"], expired["Deny"]) == (
        ISSUER,
        "ERR_TOKEN_EXPIRED",
        1,
    )
    assert expired["_aws"]["CloudWatchMetrics"][1]["Dimensions"] == [
        ["Service", "Issuer", "ErrorCode"]
    ]
    assert stranger["Issuer"] == "other"  # never an attacker-chosen dimension value


@pytest.mark.parametrize(
    "record",
    [
        _record(),
        _record(outcome="deny", error="ERR_TOKEN_EXPIRED", duration=0.5),
        _record(outcome="deny", error='ERR_"\\\u2028', iss='https://a"b', duration=1e-7),
        _record(outcome="deny", error=None, issuer_known=False),
    ],
)
def test_the_emf_line_is_the_document(record):
    stream = io.StringIO()
    sink = EmfSink(stream=stream, dimensions={"Svc": 'x"y', "Env": "prod"}, clock=lambda: 1.5)
    sink(record)
    sink(record)  # the second time from the sink's memory of encoded values
    first, second = stream.getvalue().splitlines()
    assert json.loads(first) == json.loads(second) == sink.document(record)
    check_emf(json.loads(first))


def test_the_emf_sink_writes_to_stdout_by_default(capsys):
    EmfSink()(_record(duration=0.0025))
    document = json.loads(capsys.readouterr().out)
    check_emf(document)
    assert document["Latency"] == 2.5


@pytest.mark.parametrize(
    "kwargs",
    [
        {"namespace": ""},
        {"dimensions": {"Issuer": "x"}},
        {"dimensions": {"Service": ""}},
        {"dimensions": {f"D{i}": "v" for i in range(29)}},
    ],
)
def test_bad_emf_settings_are_configuration_errors(kwargs):
    with pytest.raises(ConfigurationError):
        EmfSink(**kwargs)


def test_malformed_tokens_in_the_emf_sink_are_other(make_cognito):
    stream = io.StringIO()
    with pytest.raises(JwtError):
        make_cognito(on_decision=EmfSink(stream=stream)).verify(raw_token({"alg": "RS256"}, b"x"))
    document = json.loads(stream.getvalue())
    check_emf(document)
    assert document["Issuer"] == "other"


# === Other verifiers and edge cases ===============================================================
def test_an_alb_token_names_its_issuer_and_client_in_the_header():
    from cognito_jwt.testing import LocalLoadBalancer

    records: list[VerificationRecord] = []
    issuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Alb1"
    with LocalLoadBalancer(issuer=issuer, client_id="alb-client") as alb:
        verifier = alb.verifier(store=None, on_decision=records.append)
        verifier.verify(alb.mint({"sub": "alice"}))
        with pytest.raises(JwtError):
            verifier.verify(alb.mint({"sub": "alice"}).replace(".", "..", 1))
    allow, deny = records
    assert (allow.outcome, allow.iss, allow.client_id, allow.alg) == (
        "allow",
        issuer,
        "alb-client",
        "ES256",
    )
    assert deny.outcome == "deny"


def test_concurrent_tasks_each_get_their_own_record(pair, keys, records):
    router = pair(router=records.append)
    cognito_token = keys["RS256"].sign(access_claims())
    oidc_token = keys["ES256"].sign(oidc_claims())

    async def many() -> None:
        await asyncio.gather(*(router.verify_async(t) for t in [cognito_token, oidc_token] * 20))

    asyncio.run(many())
    assert sorted(r.iss or "" for r in records) == sorted([ISSUER, OIDC_ISSUER] * 20)
    assert all(r.outcome == "allow" for r in records)


def test_an_exception_that_is_no_jwt_error_is_recorded_and_propagates(make_cognito, keys):
    records: list[VerificationRecord] = []
    verifier = make_cognito(on_decision=records.append, custom_check=lambda claims: None)

    class Broken(type(verifier)):  # type: ignore[misc]
        __slots__ = ()

        def _verify_routed(self, token: object, routed: Any) -> Any:
            raise RuntimeError("a bug")

    verifier.__class__ = Broken
    with pytest.raises(RuntimeError):
        verifier.verify(keys["RS256"].sign(access_claims()))
    assert [(r.outcome, r.error) for r in records] == [("deny", "ERR_UNEXPECTED")]


def test_a_router_hears_of_an_inner_cache_hit(make_cognito, make_oidc, keys):
    records: list[VerificationRecord] = []
    router = MultiIssuerVerifier(
        [make_cognito(token_cache_size=8), make_oidc()], on_decision=records.append
    )
    token = keys["RS256"].sign(access_claims())
    router.verify(token)
    asyncio.run(router.verify_async(token))
    pool = ISSUER.rsplit("/", 1)[1]
    tenants = MultiTenantVerifier(
        build=lambda issuer, pool_id: make_cognito(token_cache_size=8),
        cognito_pools=[pool],
        on_decision=records.append,
    )
    tenants.verify(token)
    tenants.verify(token)
    assert [r.cache_hit for r in records] == [False, True, False, True]


def test_a_verifier_without_audit_reads_no_audit_state_on_a_cache_hit(make_cognito, keys):
    verifier = make_cognito(token_cache_size=8)
    assert verifier._tracked is False  # the cache-hit path skips the context variable


def test_a_record_that_cannot_be_built_leaves_the_error_as_it_was(make_cognito, keys, caplog):
    records: list[VerificationRecord] = []

    class Odd(dict):  # type: ignore[type-arg]
        def get(self, *args: Any) -> Any:
            raise RuntimeError("odd mapping")

    verifier = make_cognito(on_decision=records.append)

    class Refusing(type(verifier)):  # type: ignore[misc]
        __slots__ = ()

        def _verify_routed(self, token: object, routed: Any) -> Any:
            raise ExpiredTokenError("expired", unverified_header=Odd(), unverified_claims=Odd())

    verifier.__class__ = Refusing
    with caplog.at_level(logging.ERROR, logger="cognito_jwt"), pytest.raises(ExpiredTokenError):
        verifier.verify(keys["RS256"].sign(access_claims()))
    assert records == []
    assert "could not describe" in caplog.text
