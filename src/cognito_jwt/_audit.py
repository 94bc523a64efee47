"""Audit events: one :class:`VerificationRecord` per verification, and ready-made sinks.

A verifier given ``on_decision=`` times each verification and hands a small immutable record to
the hook, allow or deny. Without it, nothing here runs: no timer is read, no record is built.

The record never holds the token. ``sub`` is personal data: it is left out unless the hook is
wrapped in :class:`Audit` with ``include_subject=True`` (the value) or ``"hash"`` (a keyed
HMAC-SHA256 of it). On a deny the fields are read from a token that did not verify: an attacker
may have written them, so each is cut to a bounded length, and metric sinks bucket an issuer
the verifier does not accept as ``"other"``.

Sinks: :class:`JsonLogSink` (one JSON line per decision to a :mod:`logging` logger),
:class:`EmfSink` (CloudWatch Embedded Metric Format on stdout) and :class:`OpenTelemetrySink`
(counters and a histogram; the ``otel`` extra). This module imports nothing heavy until a sink
or a hashed subject needs it.
"""

from __future__ import annotations

import contextvars
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Container, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, NamedTuple, TextIO

from ._errors import ConfigurationError, JwtError
from ._log import logger

if TYPE_CHECKING:
    from dataclasses import dataclass, field

    from ._claims import Claims
else:
    from ._record import dataclass, field

__all__ = [
    "Audit",
    "DecisionHook",
    "EmfSink",
    "JsonLogSink",
    "OpenTelemetrySink",
    "VerificationRecord",
]

DecisionHook = Callable[["VerificationRecord"], object]
"""``(record) -> None``: called once per verification when set as ``on_decision=``."""

MAX_FIELD = 256
"""Longest value kept from a token (``iss``, ``kid``, ``client_id``, ``aud``, ``sub`` ...)."""
MAX_AUDIENCES = 8
"""Most ``aud`` values kept."""
OTHER_ISSUER = "other"
"""The metric sinks' issuer for a deny whose ``iss`` is not one the verifier accepts."""


class VerificationRecord(NamedTuple):
    """One verification, as an ``on_decision`` hook sees it. Never holds the token.

    An immutable named tuple (cheap to build: a hook costs little per request).

    On ``"allow"`` the values come from the verified token. On ``"deny"`` they come from the
    token as it was sent, unverified: an attacker may have written them. Each string is cut
    to 256 characters (8 ``aud`` values at most) and is ``None`` when the token did not carry
    it as a string or could not be decoded (then every token field is ``None``).

    Attributes:
        outcome: ``"allow"`` or ``"deny"``.
        error: The error's stable code on a deny (``"ERR_TOKEN_EXPIRED"`` ...); ``None`` on
            allow. An exception that is no :class:`JwtError` (a bug) is ``"ERR_UNEXPECTED"``.
        iss: The token's ``iss`` (for an ALB token, the header's).
        issuer_known: Whether *iss* is one the verifier accepts (always ``True`` on allow with
            an ``iss``). Metric sinks use only known issuers as dimension values.
        kid: The header's ``kid``.
        alg: The header's ``alg``.
        client_id: ``client_id`` (Cognito access tokens), else the ALB header's ``client``.
        audience: The ``aud`` values (one for a string ``aud``; empty when absent).
        token_use: Cognito's ``token_use``.
        cache_hit: Whether the verified-token cache answered (no signature was checked).
        duration: Seconds spent in the verification (``time.perf_counter`` by default).
        subject: ``sub``, only with ``include_subject`` (see :class:`Audit`); else ``None``.
    """

    outcome: Literal["allow", "deny"]
    error: str | None
    iss: str | None
    issuer_known: bool
    kid: str | None
    alg: str | None
    client_id: str | None
    audience: tuple[str, ...]
    token_use: str | None
    cache_hit: bool
    duration: float
    subject: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The record as a JSON-ready dict (``audience`` as a list)."""
        values: dict[str, Any] = dict(zip(self._fields, self, strict=True))
        values["audience"] = list(self.audience)
        return values


@dataclass(frozen=True, slots=True)
class Audit:
    """An ``on_decision`` hook with its privacy and timing settings.

    A plain callable passed as ``on_decision=`` is ``Audit(hook)``: no subject, real time.

    Attributes:
        hook: Called with each :class:`VerificationRecord`, in the verifying thread or task:
            keep it quick. If it raises, the error is logged (logger ``cognito_jwt``; never the
            token) and the verification result stands. An ``async def`` hook is refused.
        include_subject: ``False`` (default) leaves ``sub`` out; ``True`` records it as is;
            ``"hash"`` records ``"hmac-sha256:" + hex(HMAC-SHA256(subject_key, sub))``.
        subject_key: The HMAC key for ``"hash"`` (at least 16 bytes). Without it, a random key
            made once per process: hashes then match only within that process. Give a key
            (kept as a secret) to correlate one user's decisions across a fleet or restarts.
        timer: Seconds from an arbitrary start (default ``time.perf_counter``); for tests.

    Raises:
        ConfigurationError: An unusable value.
    """

    hook: DecisionHook
    include_subject: bool | Literal["hash"] = False
    subject_key: bytes | None = field(default=None, repr=False)
    timer: Callable[[], float] = time.perf_counter

    def __post_init__(self) -> None:
        if not callable(self.hook):
            raise ConfigurationError("on_decision must be callable (record) -> None")
        from ._verifier import is_async_callable  # imported by then: no cycle at run time

        if is_async_callable(self.hook):
            raise ConfigurationError(
                "on_decision must be a plain function: it is called, never awaited (hand the "
                "record to a queue or a task of yours for async work)"
            )
        if self.include_subject not in (False, True, "hash"):
            raise ConfigurationError("include_subject must be False, True or 'hash'")
        key = self.subject_key
        if key is not None and (not isinstance(key, bytes) or len(key) < 16):
            raise ConfigurationError("subject_key must be bytes, at least 16 of them")
        if key is None and self.include_subject == "hash":
            import secrets

            object.__setattr__(self, "subject_key", secrets.token_bytes(32))
        if not callable(self.timer):
            raise ConfigurationError("timer must be a callable returning seconds")

    def subject(self, sub: object) -> str | None:
        """What the record holds for *sub* under this setting."""
        if not self.include_subject or not isinstance(sub, str):
            return None
        if self.include_subject is True:
            return sub[:MAX_FIELD]
        import hashlib
        import hmac

        key = self.subject_key or b""
        return "hmac-sha256:" + hmac.new(key, sub.encode(), hashlib.sha256).hexdigest()


def as_audit(on_decision: DecisionHook | Audit | None) -> Audit | None:
    """The :class:`Audit` for a verifier's ``on_decision=`` argument.

    Raises:
        ConfigurationError: Not callable.
    """
    if on_decision is None or isinstance(on_decision, Audit):
        return on_decision
    return Audit(on_decision)


# Running a verification under audit -------------------------------------------------------------
class Scope:
    """What one audited verification learns on the way: cache hit, routing."""

    __slots__ = ("audits", "cache_hit", "known")

    def __init__(self, audits: list[Audit], known: Container[str] | None) -> None:
        self.audits = audits
        self.cache_hit = False
        self.known = known

    def routed(self, known: Container[str] | None, audit: Audit | None) -> None:
        """A router chose a verifier: its issuers, and its own hook (which gets the record too)."""
        self.known = known
        if audit is not None and audit not in self.audits:
            self.audits.append(audit)


audit_scope: contextvars.ContextVar[Scope | None] = contextvars.ContextVar(
    "cognito_jwt_audit", default=None
)


def current_scope() -> Scope | None:
    """The audited verification running in this thread or task, if any."""
    return audit_scope.get()


Step = Callable[[object, Any], "Claims"]
AsyncStep = Callable[[object, Any], Awaitable["Claims"]]


def run(
    audit: Audit,
    step: Step,
    token: object,
    routed: object,
    known: Container[str] | None,
    *,
    track: bool = True,
) -> Claims:
    """``step(token, routed)`` timed, with one record to every hook on the way.

    *track* ``False`` (a verifier with no token cache, not routing) skips the context
    variable through which a cache hit or a routing choice is reported.
    """
    scope = Scope([audit], known) if track else None
    reset = None if scope is None else audit_scope.set(scope)
    timer = audit.timer
    start = timer()
    try:
        claims = step(token, routed)
    except Exception as exc:
        _deny(exc, token, audit, scope, known, timer() - start, reset)
        raise
    _allowed_to(audit, claims, scope, timer() - start, reset)
    return claims


async def run_async(
    audit: Audit,
    step: AsyncStep,
    token: object,
    routed: object,
    known: Container[str] | None,
    *,
    track: bool = True,
) -> Claims:
    """The async twin of :func:`run` (a task's context keeps the scope across awaits)."""
    scope = Scope([audit], known) if track else None
    reset = None if scope is None else audit_scope.set(scope)
    timer = audit.timer
    start = timer()
    try:
        claims = await step(token, routed)
    except Exception as exc:
        _deny(exc, token, audit, scope, known, timer() - start, reset)
        raise
    _allowed_to(audit, claims, scope, timer() - start, reset)
    return claims


Reset = contextvars.Token[Scope | None] | None


def _allowed_to(
    audit: Audit, claims: Claims, scope: Scope | None, duration: float, reset: Reset
) -> None:
    """Tell *audit* (and, through *scope*, every audit watching) that *claims* passed."""
    if scope is None and not audit.include_subject:  # the common case, kept short
        record = _allowed(claims, duration, cache_hit=False)
        try:
            audit.hook(record)
        except Exception:  # noqa: BLE001 - a broken hook never changes the verdict (logged)
            _hook_failed(record)
        return
    _allow(claims, audit, scope, duration, reset)


def _allow(
    claims: Claims, audit: Audit, scope: Scope | None, duration: float, reset: Reset
) -> None:
    if scope is None:
        _deliver((audit,), _allowed(claims, duration, cache_hit=False), claims)
        return
    if reset is not None:
        audit_scope.reset(reset)
    _deliver(scope.audits, _allowed(claims, duration, cache_hit=scope.cache_hit), claims)


def _deny(  # noqa: PLR0917 - the whole state of one verification
    exc: Exception,
    token: object,
    audit: Audit,
    scope: Scope | None,
    known: Container[str] | None,
    duration: float,
    reset: Reset,
) -> None:
    if reset is not None:
        audit_scope.reset(reset)
    audits: Sequence[Audit] = (audit,) if scope is None else scope.audits
    if scope is not None:
        known = scope.known
    try:
        record = _denied(
            exc, token, known, duration, cache_hit=scope is not None and scope.cache_hit
        )
    except Exception:  # noqa: BLE001 - the verdict's own error is the one to raise (logged)
        logger.exception("cognito_jwt could not describe a denied token for on_decision")
        return
    _deliver(audits, *record)


def _deliver(audits: Sequence[Audit], base: VerificationRecord, claims: Mapping[str, Any]) -> None:
    """Give the record to each hook, with ``sub`` (from *claims*) as its setting says."""
    for audit in audits:
        value = base
        if audit.include_subject:
            subject = audit.subject(claims.get("sub"))
            if subject is not None:
                value = base._replace(subject=subject)
        try:
            audit.hook(value)
        except Exception:  # noqa: BLE001 - a broken hook never changes the verdict (logged)
            _hook_failed(base)


def _hook_failed(record: VerificationRecord) -> None:
    logger.exception("cognito_jwt on_decision hook raised (outcome %s)", record.outcome)


def _text(value: object) -> str | None:
    return value[:MAX_FIELD] if type(value) is str else None


def _audience(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value[:MAX_FIELD],)
    if isinstance(value, list):
        return tuple(v[:MAX_FIELD] for v in value[:MAX_AUDIENCES] if isinstance(v, str))
    return ()


def _record(
    outcome: Literal["allow", "deny"],
    error: str | None,
    *,
    header: Mapping[str, Any],
    claims: Mapping[str, Any],
    known: Container[str] | None,
    cache_hit: bool,
    duration: float,
) -> tuple[VerificationRecord, Mapping[str, Any]]:
    get = claims.get
    iss = get("iss")
    if type(iss) is not str:
        iss = header.get("iss")  # an ALB token names its issuer in the header
    iss = _text(iss)
    if outcome == "allow":
        accepted = iss is not None
    else:
        accepted = iss is not None and known is not None and iss in known
    client_id = get("client_id")
    if client_id is None:
        client_id = header.get("client")
    aud = get("aud")
    record = VerificationRecord(
        outcome,
        error,
        iss,
        accepted,
        _text(header.get("kid")),
        _text(header.get("alg")),
        _text(client_id),
        () if aud is None else _audience(aud),
        _text(get("token_use")),
        cache_hit,
        duration,
    )
    return record, claims


_new_record = tuple.__new__  # builds the record without the named tuple's Python __new__


def _allowed(claims: Claims, duration: float, *, cache_hit: bool) -> VerificationRecord:
    """The record of a verified token: the hot path of an audited verifier, kept tight."""
    data = claims._data  # noqa: SLF001 - a plain dict reads faster than the Mapping
    header = claims._header  # noqa: SLF001
    get = data.get
    iss = get("iss")
    if iss is None:
        iss = header.get("iss")  # an ALB token names its issuer in the header
    client_id = get("client_id")
    if client_id is None:
        client_id = header.get("client")
    aud = get("aud")
    token_use = get("token_use")
    kid = header.get("kid")
    return _new_record(
        VerificationRecord,
        (
            "allow",
            None,
            iss if type(iss) is str else None,
            type(iss) is str,
            kid if type(kid) is str else None,
            header["alg"],  # checked against the allowlist
            client_id if type(client_id) is str else None,
            () if aud is None else _audience(aud),
            token_use if type(token_use) is str else None,
            cache_hit,
            duration,
            None,
        ),
    )


def _denied(
    exc: Exception,
    token: object,
    known: Container[str] | None,
    duration: float,
    *,
    cache_hit: bool,
) -> tuple[VerificationRecord, Mapping[str, Any]]:
    code = exc.code if isinstance(exc, JwtError) else "ERR_UNEXPECTED"
    header = getattr(exc, "unverified_header", None)
    claims = getattr(exc, "unverified_claims", None)
    if header is not None and claims is None:
        claims = _unverified_payload(token)
    return _record(
        "deny",
        code,
        header=header if isinstance(header, Mapping) else {},
        claims=claims if isinstance(claims, Mapping) else {},
        known=known,
        cache_hit=cache_hit,
        duration=duration,
    )


def _unverified_payload(token: object) -> Mapping[str, Any] | None:
    """The payload of a token whose header decoded but that failed before its payload was read.

    Read under the default size caps, only for the record; ``None`` when it does not decode.
    """
    from ._token import DEFAULT_LIMITS, decode_payload, parse_token

    try:
        return decode_payload(parse_token(token, DEFAULT_LIMITS))
    except Exception:  # noqa: BLE001 - anything unreadable is simply absent from the record
        return None


# Sinks -------------------------------------------------------------------------------------------
def metric_issuer(record: VerificationRecord) -> str:
    """The issuer as a metric dimension: an accepted issuer, else ``"other"`` (bounded)."""
    return record.iss if record.issuer_known and record.iss is not None else OTHER_ISSUER


class JsonLogSink:
    """Log each decision as one JSON line (the fields of :meth:`VerificationRecord.as_dict`).

    Args:
        logger: The :mod:`logging` logger's name (default ``"cognito_jwt.audit"``).
        level: The level of allows (default ``INFO``).
        deny_level: The level of denies (default ``WARNING``).
    """

    __slots__ = ("_allow", "_deny", "_logger")

    def __init__(
        self, logger: str = "cognito_jwt.audit", *, level: int = 20, deny_level: int = 30
    ) -> None:
        import logging

        self._logger = logging.getLogger(logger)
        self._allow = level
        self._deny = deny_level

    def __call__(self, record: VerificationRecord) -> None:
        """Log *record*."""
        import json

        level = self._allow if record.outcome == "allow" else self._deny
        if self._logger.isEnabledFor(level):
            self._logger.log(level, "%s", json.dumps(record.as_dict(), separators=(",", ":")))


class EmfSink:
    """Print CloudWatch Embedded Metric Format lines: counts and latency per issuer.

    One JSON line per decision, which CloudWatch Logs turns into metrics (a Lambda function's
    stdout goes there with no agent). Metrics, in *namespace*:

    - ``Allow`` and ``Deny`` (``Count``, 1 or 0) and ``Latency`` (``Milliseconds``) by
      ``Issuer``;
    - on a deny, ``Deny`` by ``Issuer`` and ``ErrorCode`` as well.

    Dimension values are bounded: ``Issuer`` is an issuer the verifier accepts, or ``"other"``;
    ``ErrorCode`` is one of the library's stable codes (or your own errors' codes).

    Args:
        namespace: The CloudWatch namespace (default ``"CognitoJwt"``).
        stream: Where to write (default ``sys.stdout``, looked up at each write).
        dimensions: Fixed dimensions added to every metric (``{"Service": "orders"}``); at
            most 28 of them, values at most 1024 characters.
        clock: Epoch seconds for ``Timestamp`` (default ``time.time``).

    Raises:
        ConfigurationError: An unusable namespace or dimension.
    """

    __slots__ = ("_clock", "_directives", "_fixed", "_fixed_json", "_json", "_namespace", "_stream")

    def __init__(
        self,
        namespace: str = "CognitoJwt",
        *,
        stream: TextIO | None = None,
        dimensions: Mapping[str, str] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        if not isinstance(namespace, str) or not 1 <= len(namespace) <= 1024:
            raise ConfigurationError("namespace must be a string of 1 to 1024 characters")
        fixed = dict(dimensions or {})
        if len(fixed) > 28 or any(
            not isinstance(k, str) or not isinstance(v, str) or not 0 < len(v) <= 1024
            for k, v in fixed.items()
        ):
            raise ConfigurationError("dimensions: at most 28 string names and values")
        if {"Issuer", "ErrorCode"} & fixed.keys():
            raise ConfigurationError("dimensions may not be named Issuer or ErrorCode")
        self._namespace = namespace
        self._stream = stream
        self._fixed = fixed
        self._clock = clock or time.time
        # What every line shares is serialised once; a line is then formatted, not encoded.
        import json

        allow, deny = self._directive_list(allow=True), self._directive_list(allow=False)
        compact = (",", ":")
        self._directives = (
            json.dumps(allow, separators=compact),
            json.dumps(deny, separators=compact),
        )
        self._fixed_json = "".join(f"{json.dumps(k)}:{json.dumps(v)}," for k, v in fixed.items())
        self._json: dict[str, str] = {}  # encoded issuers and codes (bounded: see _encoded)

    def _directive_list(self, *, allow: bool) -> list[dict[str, Any]]:
        names = list(self._fixed)
        directives: list[dict[str, Any]] = [
            {
                "Namespace": self._namespace,
                "Dimensions": [[*names, "Issuer"]],
                "Metrics": [
                    {"Name": "Allow", "Unit": "Count"},
                    {"Name": "Deny", "Unit": "Count"},
                    {"Name": "Latency", "Unit": "Milliseconds"},
                ],
            }
        ]
        if not allow:
            directives.append(
                {
                    "Namespace": self._namespace,
                    "Dimensions": [[*names, "Issuer", "ErrorCode"]],
                    "Metrics": [{"Name": "Deny", "Unit": "Count"}],
                }
            )
        return directives

    def _encoded(self, value: str) -> str:
        """*value* as a JSON string, remembered (up to 256 values: issuers and codes)."""
        encoded = self._json.get(value)
        if encoded is None:
            import json

            encoded = json.dumps(value)
            if len(self._json) < 256:
                self._json[value] = encoded
        return encoded

    def document(self, record: VerificationRecord) -> dict[str, Any]:
        """The EMF document for *record* (what :meth:`__call__` prints as one line)."""
        allow = record.outcome == "allow"
        directives = self._directive_list(allow=allow)
        document: dict[str, Any] = {
            "_aws": {"Timestamp": int(self._clock() * 1000), "CloudWatchMetrics": directives},
            **self._fixed,
            "Issuer": metric_issuer(record),
            "Allow": 1 if allow else 0,
            "Deny": 0 if allow else 1,
            "Latency": round(record.duration * 1000, 3),
        }
        if not allow:
            document["ErrorCode"] = (record.error or "ERR_JWT")[:MAX_FIELD]
        return document

    def __call__(self, record: VerificationRecord) -> None:
        """Print *record*'s EMF document (:meth:`document`) as one line."""
        allow = record.outcome == "allow"
        latency = repr(round(record.duration * 1000, 3))
        if allow:
            tail = f'"Allow":1,"Deny":0,"Latency":{latency}'
        else:
            code = self._encoded((record.error or "ERR_JWT")[:MAX_FIELD])
            tail = f'"Allow":0,"Deny":1,"Latency":{latency},"ErrorCode":{code}'
        line = (
            f'{{"_aws":{{"Timestamp":{int(self._clock() * 1000)},'
            f'"CloudWatchMetrics":{self._directives[0 if allow else 1]}}},'
            f'{self._fixed_json}"Issuer":{self._encoded(metric_issuer(record))},{tail}}}\n'
        )
        (self._stream or sys.stdout).write(line)


class OpenTelemetrySink:
    """Record decisions and key-set events as OpenTelemetry metrics (the ``otel`` extra).

    Instruments, on the meter ``cognito_jwt``:

    - ``cognito_jwt.verifications`` (counter) by ``outcome``, ``error`` (``"none"`` on allow)
      and ``issuer`` (an accepted issuer or ``"other"``);
    - ``cognito_jwt.verification.duration`` (histogram, seconds) by ``outcome`` and ``issuer``;
    - ``cognito_jwt.keyset.events`` (counter) by ``event`` (``fetch_start``, ``fetch``,
      ``fetch_failed``, ``unknown_kid``, ``l2_load``, ``failure_rate``), ``reason`` (a fetch's
      refresh reason, else ``"none"``) and ``key_set``: pass :meth:`on_event` as a verifier's
      ``on_event=``.

    With :meth:`on_event` as the hook, each key-set fetch is also a span,
    ``cognito_jwt.keyset.fetch``, on the tracer ``cognito_jwt``: from the request to the key
    set installed (or the failure, status ``ERROR`` with ``cognito_jwt.error``), with
    ``cognito_jwt.key_set`` and ``cognito_jwt.reason``. It opens in the thread or task that
    fetches, so a fetch made for a request is a child of that request's span; a background
    refresh has no parent.

    Args:
        meter_provider: The meter provider (default: the global one).
        tracer_provider: The tracer provider (default: the global one).

    Raises:
        ImportError: ``opentelemetry-api`` is not installed (``pip install cognito-jwt[otel]``).
    """

    __slots__ = ("_duration", "_events", "_fetches", "_lock", "_tracer", "_verifications")

    def __init__(self, meter_provider: Any = None, tracer_provider: Any = None) -> None:
        from opentelemetry import metrics, trace

        from ._version import __version__

        self._tracer = trace.get_tracer("cognito_jwt", __version__, tracer_provider)
        self._fetches: dict[str, Any] = {}  # key set -> the span of its fetch in flight
        self._lock = threading.Lock()
        meter = metrics.get_meter("cognito_jwt", __version__, meter_provider)
        self._verifications = meter.create_counter(
            "cognito_jwt.verifications", unit="{verification}", description="Token verifications"
        )
        self._duration = meter.create_histogram(
            "cognito_jwt.verification.duration", unit="s", description="Time to verify a token"
        )
        self._events = meter.create_counter(
            "cognito_jwt.keyset.events", unit="{event}", description="Key-set events"
        )

    def __call__(self, record: VerificationRecord) -> None:
        """Count *record* and its duration."""
        issuer = metric_issuer(record)
        self._verifications.add(
            1, {"outcome": record.outcome, "error": record.error or "none", "issuer": issuer}
        )
        self._duration.record(record.duration, {"outcome": record.outcome, "issuer": issuer})

    def on_event(self, name: str, details: Mapping[str, Any]) -> None:
        """An ``on_event=`` hook: count a key-set event; a fetch's events make its span."""
        reason = details.get("reason")
        key_set = str(details.get("key_set", ""))[:MAX_FIELD]
        reason_text = reason[:64] if isinstance(reason, str) else "none"
        self._events.add(1, {"event": str(name)[:64], "reason": reason_text, "key_set": key_set})
        if name == "fetch_start":
            span = self._tracer.start_span(
                "cognito_jwt.keyset.fetch",
                attributes={"cognito_jwt.key_set": key_set, "cognito_jwt.reason": reason_text},
            )
            with self._lock:
                abandoned = self._fetches.pop(key_set, None)
                self._fetches[key_set] = span
            if abandoned is not None:  # a fetch that never reported back (cancelled)
                abandoned.set_attribute("cognito_jwt.error", "abandoned")
                abandoned.end()
        elif name in ("fetch", "fetch_failed"):
            with self._lock:
                span = self._fetches.pop(key_set, None)
            if span is None:
                return
            if name == "fetch_failed":
                from opentelemetry.trace import Status, StatusCode

                code = str(details.get("code", "ERR_JWT"))[:64]
                span.set_attribute("cognito_jwt.error", code)
                span.set_status(Status(StatusCode.ERROR, code))
            span.end()
