r"""``MultiTenantVerifier``: one user pool (or one OIDC issuer) per tenant, routed by ``iss``.

The token's ``iss`` is read unverified, under the size caps, only to choose a verifier. Before
anything is built or fetched it must pass an allowlist that cannot name an arbitrary host:

* exact issuers (``issuers=``) and Cognito pool ids (``cognito_pools=``);
* any Cognito pool of listed Regions (``cognito_regions=``): the issuer must be exactly
  ``https://cognito-idp.{region}.{partition suffix}/{pool_id}`` or
  ``https://issuer-cognito-idp.{region}.amazonaws.com/{pool_id}``, rebuilt from the pool id
  (whose Region is the host's Region) by :func:`cognito_issuer`; a replica Region's issuer
  must be listed in ``issuers=``;
* a regular expression (``issuer_pattern=``) anchored to a fixed scheme and host suffix: its
  source starts with ``https://`` and its host part ends with a literal domain of two or more
  labels (``https://[a-z0-9-]+\.auth\.example\.com``); a matching issuer must also have a
  host made of ``[a-z0-9.-]`` that ends with that domain.

A verifier is then built by the caller's factory on first use (one build per issuer, whatever
the number of threads or tasks), kept in a bounded LRU, and new issuers are limited by a token
bucket, so that a flood of invented issuers costs at most that many builds (and key fetches)
per minute.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Generator, Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from ._audit import Audit, DecisionHook, as_audit, current_scope, run, run_async
from ._cognito import cognito_issuer, cognito_issuers, parse_user_pool_id
from ._errors import (
    ConfigurationError,
    IssuerMismatchError,
    JwtError,
    KeySetUnavailableError,
    TenantRateLimitError,
    bounded_repr,
)
from ._plan import run_plan, run_plan_async
from ._token import DEFAULT_LIMITS, TokenLimits, decode_payload, parse_token
from ._verifier import BaseVerifier

if TYPE_CHECKING:
    from ._claims import Claims
    from ._jwk import KeySet
    from ._keysource import KeySetState
    from ._verifier import Routed

__all__ = ["MultiTenantVerifier"]

TenantFactory = Callable[[str, "str | None"], "BaseVerifier | None"]
"""``(issuer, pool_id) -> verifier | None``: *pool_id* is set for a Cognito issuer."""

_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-")
_LITERAL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-")


def _pool_issuers(pool_id: str) -> tuple[str, ...]:
    """Every issuer a pool's tokens may carry in its own Region (both formats, where known)."""
    return cognito_issuers(pool_id)


def _pool_of(issuer: str) -> tuple[str, str] | None:
    """``(pool_id, host_region)`` of a Cognito issuer, rebuilt and compared exactly, or ``None``.

    The host's Region is the pool's own (either format) or, in the original format only, a
    replica Region of a multi-Region pool.
    """
    if not issuer.startswith("https://"):
        return None
    host, slash, pool_id = issuer[8:].partition("/")
    labels = host.split(".", 2)
    if not slash or "/" in pool_id or len(labels) != 3 or not _is_region(labels[1]):
        return None
    region = labels[1]
    try:
        home = parse_user_pool_id(pool_id)
    except ConfigurationError:
        return None  # not of the form '<region>_<id>'
    if region == home:
        return (pool_id, region) if issuer in _pool_issuers(pool_id) else None
    # A replica Region: the original-format issuer of the same pool, naming that Region.
    try:
        rebuilt = cognito_issuer(pool_id, region=region)
    except ConfigurationError:
        return None  # not a Region of the pool's partition
    return (pool_id, region) if issuer == rebuilt else None


def _is_region(region: str) -> bool:
    """Whether *region* has the shape of an AWS Region name (as in a pool id)."""
    try:
        parse_user_pool_id(f"{region}_x")
    except ConfigurationError:
        return False
    return True


def _host_suffix(source: str) -> str:
    """The literal host suffix (``.auth.example.com``) an ``issuer_pattern`` is anchored to.

    Raises:
        ConfigurationError: The pattern does not start with ``https://`` or its host part does
            not end with a literal domain of two or more labels.
    """
    if not source.startswith("https://"):
        raise ConfigurationError("issuer_pattern must start with the literal scheme 'https://'")
    host = _host_part(source[8:])
    labels: list[str] = []  # the trailing literal run, read backwards
    i = len(host)
    while i > 0:
        if host[i - 1] in _LITERAL_CHARS and not (i >= 2 and host[i - 2] == "\\"):
            labels.append(host[i - 1])
            i -= 1
        elif i >= 2 and host[i - 2] == "\\" and host[i - 1] in ".-":
            labels.append(host[i - 1])
            i -= 2
        else:
            break
    suffix = "".join(reversed(labels))
    whole = i == 0
    if not whole and not suffix.startswith("."):
        suffix = suffix[suffix.find(".") :] if "." in suffix else ""
    domain = suffix.lstrip(".")
    if domain.count(".") < 1 or "" in domain.split("."):
        raise ConfigurationError(
            "issuer_pattern must pin the host to a literal domain of two or more labels, "
            r"e.g. r'https://[a-z0-9-]+\.auth\.example\.com' (dots escaped)"
        )
    return domain if whole else "." + domain


def _host_part(rest: str) -> str:
    """The host part of a pattern's source: up to the first ``/`` outside a class or escape."""
    escaped = in_class = False
    for index, char in enumerate(rest):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "/":
            return rest[:index]
    return rest


def _under(issuer: str, suffix: str) -> bool:
    """Whether *issuer* is ``https://`` with a plain host equal to or under *suffix*."""
    if not issuer.startswith("https://"):
        return False
    host = issuer[8:].partition("/")[0]
    if not host or not _HOST_CHARS.issuperset(host):
        return False  # userinfo, port, query, fragment, upper case or escapes: refused
    if suffix.startswith("."):
        return host.endswith(suffix) and len(host) > len(suffix) and host[0] != "."
    return host == suffix


def _at_least(value: object, what: str, minimum: int) -> int:
    if type(value) is not int or value < minimum:
        raise ConfigurationError(f"{what} must be an int of at least {minimum}")
    return value


def _strings(value: object, what: str) -> tuple[str, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        raise ConfigurationError(f"{what} must be a collection of strings")
    items = tuple(value)
    if not all(isinstance(item, str) and item for item in items):
        raise ConfigurationError(f"{what} must hold non-empty strings")
    return items


def _report(outcomes: list[tuple[str, KeySetUnavailableError | None]]) -> None:
    """Raise one error for the key sets :meth:`MultiTenantVerifier.hydrate` could not load."""
    failed = [(iss, exc) for iss, exc in outcomes if exc is not None]
    if failed:
        names = ", ".join(f"{bounded_repr(iss, 80)} ({exc.code})" for iss, exc in failed[:5])
        more = f" and {len(failed) - 5} more" if len(failed) > 5 else ""
        raise KeySetUnavailableError(
            f"{len(failed)} of {len(outcomes)} tenants' key sets could not be loaded: {names}{more}"
        ) from failed[0][1]


class _Context(NamedTuple):
    """What an error about a token's routing carries: its unverified header and claims."""

    header: Mapping[str, Any] | None
    claims: Mapping[str, Any] | None

    def refuse(self, message: str) -> IssuerMismatchError:
        return IssuerMismatchError(
            message, unverified_header=self.header, unverified_claims=self.claims
        )


class _Bucket:
    """A token bucket: *per_minute* new issuers, refilled continuously, burst *per_minute*."""

    __slots__ = ("_at", "_capacity", "_clock", "_rate", "_tokens")

    def __init__(self, per_minute: int, clock: Callable[[], float]) -> None:
        self._capacity = float(per_minute)
        self._rate = per_minute / 60.0
        self._tokens = self._capacity
        self._clock = clock
        self._at = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._capacity, self._tokens + max(0.0, now - self._at) * self._rate)
        self._at = now

    def take(self) -> float:
        """Take one token: ``0.0`` when taken, else the seconds until one is available."""
        self._refill()
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return 60.0 if self._rate == 0 else (1.0 - self._tokens) / self._rate

    @property
    def available(self) -> int:
        self._refill()
        return int(self._tokens)


class _Call(NamedTuple):
    """The one step of :meth:`MultiTenantVerifier._verify_plan`: the tenant verifies."""

    verifier: BaseVerifier
    token: object
    routed: Routed
    audit: Audit | None  # the tenant's own audit, to run under; None when the router's runs


def _verify_step(call: _Call) -> Claims:
    """The sync face of the step: the tenant's routed pipeline (under its own audit, if any)."""
    verifier, token, routed, audit = call
    if audit is None:
        return verifier._verify_routed(token, routed)  # noqa: SLF001 - the routed entry
    return run(audit, verifier._verify_routed, token, routed, verifier.issuers)  # noqa: SLF001


async def _verify_step_async(call: _Call) -> Claims:
    """The async face of the step."""
    verifier, token, routed, audit = call
    if audit is None:
        return await verifier._verify_routed_async(token, routed)  # noqa: SLF001
    return await run_async(audit, verifier._verify_routed_async, token, routed, verifier.issuers)  # noqa: SLF001


class MultiTenantVerifier:
    """Route each token to its tenant's verifier, built on first use: one pool per tenant.

    The token's ``iss`` is read unverified only to route it. An issuer outside the allowlist
    is refused (:class:`IssuerMismatchError`) before any verifier is built or any request is
    made. An allowed issuer seen for the first time costs one token of a bucket of
    *max_new_per_minute*; then *build* makes its verifier, which runs the whole pipeline
    (signature, exact issuer, client, token_use ...). Concurrent first tokens of one issuer
    (threads or tasks) cause one build.

    Built verifiers live in an LRU of *max_verifiers*. A verifier that has not yet verified a
    token is evicted first, so that a flood of invented issuers never pushes out a tenant
    that works. An evicted verifier is rebuilt on demand (that counts as a new issuer) and
    loses its in-memory keys; the persistent (L2) store, if its verifier has one, keeps them
    across rebuilds.

    A pattern (``cognito_regions``, ``issuer_pattern``) bounds the cost, it is not an
    authorization: anyone can create a user pool in your Region. *build* decides who is a
    tenant (look the pool up in your tenant table, return ``None`` for strangers) and with
    which app client. It runs under a lock and must be quick: no I/O (load the table first).

    Args:
        build: ``build(issuer, pool_id)`` returns the verifier for *issuer* (a
            ``CognitoVerifier`` or ``JwtVerifier`` whose ``issuers`` contain it), or ``None``
            when it is not a tenant. *pool_id* is the Cognito pool id for a Cognito issuer,
            else ``None``.
        issuers: Exact issuers allowed.
        cognito_pools: Cognito pool ids allowed (both issuer formats of each).
        cognito_regions: Any Cognito pool of these Regions is allowed.
        issuer_pattern: A regular expression an issuer must fully match, anchored to
            ``https://`` and a literal host suffix (see the module documentation).
        max_verifiers: How many tenant verifiers to keep.
        max_new_per_minute: How many new issuers may be built per minute (the burst too);
            ``0`` allows only those loaded by :meth:`hydrate`.
        limits: Size caps for the routing parse.
        clock: Monotonic seconds for the rate limit (default ``time.monotonic``).
        on_decision: Called once per verification with a :class:`VerificationRecord`,
            including tokens refused before routing. A routed token's record also goes to
            the tenant verifier's own hook, if it has one: one record, given to each hook
            once (the router's first).

    Raises:
        ConfigurationError: No allowlist, an unusable pool id, Region or pattern, or a bad
            number.
    """

    __slots__ = (
        "_audit",
        "_bucket",
        "_build",
        "_build_lock",
        "_counts",
        "_issuers",
        "_limits",
        "_lock",
        "_max",
        "_pattern",
        "_probation",
        "_proven",
        "_regions",
        "_suffix",
    )

    def __init__(
        self,
        *,
        build: TenantFactory,
        issuers: Iterable[str] = (),
        cognito_pools: Iterable[str] = (),
        cognito_regions: Iterable[str] = (),
        issuer_pattern: str | re.Pattern[str] | None = None,
        max_verifiers: int = 256,
        max_new_per_minute: int = 30,
        limits: TokenLimits | None = None,
        clock: Callable[[], float] | None = None,
        on_decision: DecisionHook | Audit | None = None,
    ) -> None:
        self._audit = as_audit(on_decision)
        if not callable(build):
            raise ConfigurationError("build must be a callable (issuer, pool_id) -> verifier")
        self._build = build
        allowed = set(_strings(issuers, "issuers"))
        for pool_id in _strings(cognito_pools, "cognito_pools"):
            allowed.update(_pool_issuers(pool_id))  # ConfigurationError for a bad pool id
        self._issuers = frozenset(allowed)
        regions = _strings(cognito_regions, "cognito_regions")
        bad = [region for region in regions if not _is_region(region)]
        if bad:
            raise ConfigurationError(
                f"cognito_regions: {bounded_repr(bad[0])} is not an AWS Region name"
            )
        self._regions = frozenset(regions)
        self._pattern: re.Pattern[str] | None = None
        self._suffix = ""
        if issuer_pattern is not None:
            try:
                pattern = re.compile(issuer_pattern)
            except (re.error, TypeError) as exc:
                raise ConfigurationError(f"issuer_pattern does not compile: {exc}") from None
            if not isinstance(pattern.pattern, str):
                raise ConfigurationError("issuer_pattern must be a str pattern")
            self._suffix = _host_suffix(pattern.pattern)
            self._pattern = pattern
        if not (self._issuers or self._regions or self._pattern):
            raise ConfigurationError(
                "MultiTenantVerifier needs an allowlist: issuers=, cognito_pools=, "
                "cognito_regions= or issuer_pattern="
            )
        self._max = _at_least(max_verifiers, "max_verifiers", 1)
        per_minute = _at_least(max_new_per_minute, "max_new_per_minute", 0)
        if clock is not None and not callable(clock):
            raise ConfigurationError("clock must be a callable returning monotonic seconds")
        if limits is not None and not isinstance(limits, TokenLimits):
            raise ConfigurationError("limits must be a TokenLimits")
        self._limits = limits or DEFAULT_LIMITS
        self._bucket = _Bucket(per_minute, clock or time.monotonic)
        self._lock = threading.Lock()  # the maps, the bucket and the counters
        self._build_lock = threading.Lock()  # one build at a time: single flight
        # A verifier stays on probation until it verified a token (or was hydrated); the
        # probation segment is evicted first.
        self._probation: OrderedDict[str, BaseVerifier] = OrderedDict()
        self._proven: OrderedDict[str, BaseVerifier] = OrderedDict()
        self._counts = dict.fromkeys(
            ("builds", "evictions", "refused_issuer", "refused_rate", "not_tenant"), 0
        )
        self._counts["factory_errors"] = 0

    # Introspection ------------------------------------------------------------------------------
    @property
    def tenants(self) -> tuple[str, ...]:
        """The issuers with a built verifier, least recently used first."""
        with self._lock:
            return (*self._probation, *self._proven)

    def verifier_for(self, issuer: str) -> BaseVerifier | None:
        """The verifier built for *issuer*, or ``None`` (nothing is built, the LRU is untouched)."""
        with self._lock:
            return self._proven.get(issuer) or self._probation.get(issuer)

    def allows(self, issuer: str) -> bool:
        """Whether *issuer* passes the allowlist (the factory may still refuse it)."""
        return isinstance(issuer, str) and self._allowed(issuer)[0]

    @property
    def stats(self) -> dict[str, int]:
        """Counters of the tenant verifiers and of the new-issuer allowance.

        ``tenants`` built (``proven`` of them verified a token or were hydrated),
        ``max_verifiers``, ``builds``, ``evictions``, ``refused_issuer`` (not allowed),
        ``refused_rate`` (over the cap), ``not_tenant`` (the factory said ``None``),
        ``factory_errors`` and ``new_available`` (new issuers that may be tried now).
        """
        with self._lock:
            return {
                "tenants": len(self._probation) + len(self._proven),
                "proven": len(self._proven),
                "max_verifiers": self._max,
                **self._counts,
                "new_available": self._bucket.available,
            }

    # Verification ---------------------------------------------------------------------------------
    # verify and verify_async run one plan (_verify_plan): routing, the tenant's audit, and
    # promotion out of probation are written once; only the call into the tenant differs.
    def verify(self, token: str | bytes) -> Claims:
        """Verify *token* with its tenant's verifier, built on first use.

        Raises:
            IssuerMismatchError: ``iss`` is not allowed, or the factory said it is no tenant.
            KeySetUnavailableError: A new issuer over the cap (code
                ``ERR_TENANT_RATE_LIMITED``, with ``retry_after`` in seconds): nothing was
                built or fetched.
            ConfigurationError: The factory raised or returned something unroutable.
            JwtError: A subclass naming what was wrong.
        """
        if self._audit is not None:
            return run(self._audit, self._verify_audited, token, None, None)
        return run_plan(self._verify_plan(token, audited=False), _verify_step)

    async def verify_async(self, token: str | bytes) -> Claims:
        """Verify *token* like :meth:`verify`; key fetches never block the event loop.

        Building a verifier is CPU work only (the factory must not do I/O).

        Raises:
            JwtError: As :meth:`verify`.
        """
        if self._audit is not None:
            return await run_async(self._audit, self._verify_audited_async, token, None, None)
        return await run_plan_async(self._verify_plan(token, audited=False), _verify_step_async)

    def _verify_audited(self, token: object, _: object) -> Claims:
        """Route and verify under the router's audit, telling it where the token went."""
        return run_plan(self._verify_plan(token, audited=True), _verify_step)

    async def _verify_audited_async(self, token: object, _: object) -> Claims:
        """Like :meth:`_verify_audited`, without blocking the event loop."""
        return await run_plan_async(self._verify_plan(token, audited=True), _verify_step_async)

    def _verify_plan(self, token: object, *, audited: bool) -> Generator[_Call, Claims, Claims]:
        """The steps of a verification, written once: route, have the tenant verify, promote.

        *audited*: the router's own audit watches (its scope is told where the token went,
        and the tenant's hook gets the router's record); else a tenant with a hook of its
        own is run under it.
        """
        verifier, routed, iss, on_probation = self._route(token)
        if audited:
            verifier._tracked = True  # noqa: SLF001 - it reports cache hits to our audit
            scope = current_scope()
            if scope is not None:
                scope.routed(verifier.issuers, verifier._audit)  # noqa: SLF001
        claims = yield _Call(verifier, token, routed, None if audited else verifier._audit)  # noqa: SLF001
        if on_probation:
            self._promote(iss, verifier)
        return claims

    def hydrate(self, issuers: Iterable[str] = ()) -> dict[str, KeySet | JwtError]:
        """Build the verifiers of known tenants and load their key sets, e.g. at start-up.

        Hydrated tenants count as proven (evicted last) and do not use the new-issuer
        allowance. Without *issuers*, the key sets of the tenants already built are loaded
        (a Lambda authorizer calls ``hydrate()`` at init: a no-op for a fresh verifier).

        Returns:
            What was loaded, by issuer, as :meth:`JwtVerifier.hydrate` reports it: each
            tenant verifier's report, merged (a Cognito tenant names both issuer formats of
            its pool; a format the pool does not use is reported with its error).

        Raises:
            ConfigurationError: An issuer outside the allowlist or refused by the factory, a
                factory error, or more issuers than *max_verifiers*.
            KeySetUnavailableError: Some key sets could not be loaded (the others were).
        """
        return run_plan(self._hydrate_plan(issuers), lambda verifier: verifier.hydrate())

    async def hydrate_async(self, issuers: Iterable[str] = ()) -> dict[str, KeySet | JwtError]:
        """Like :meth:`hydrate`, without blocking the event loop on key fetches.

        Raises:
            ConfigurationError: As :meth:`hydrate`.
            KeySetUnavailableError: As :meth:`hydrate`.
        """
        return await run_plan_async(
            self._hydrate_plan(issuers), lambda verifier: verifier.hydrate_async()
        )

    def _hydrate_plan(
        self, issuers: Iterable[str]
    ) -> Generator[BaseVerifier, dict[str, KeySet | JwtError], dict[str, KeySet | JwtError]]:
        """The steps of :meth:`hydrate`, written once: each yields a tenant verifier to load."""
        report: dict[str, KeySet | JwtError] = {}
        outcomes: list[tuple[str, KeySetUnavailableError | None]] = []
        for iss, verifier in self._hydrated(issuers):
            try:
                report.update((yield verifier))
            except KeySetUnavailableError as exc:  # noqa: PERF203 - one per tenant
                outcomes.append((iss, exc))
            else:
                outcomes.append((iss, None))
        _report(outcomes)
        return report

    @property
    def key_state(self) -> dict[str, KeySetState]:
        """What the tenant verifiers hold of their keys now, for health checks (no I/O).

        Every built tenant's :attr:`JwtVerifier.key_state`, merged (by issuer).
        """
        with self._lock:
            verifiers = [*self._probation.values(), *self._proven.values()]
        state: dict[str, KeySetState] = {}
        for verifier in verifiers:
            state.update(verifier.key_state)
        return state

    # Internals ------------------------------------------------------------------------------------
    def _allowed(self, iss: str) -> tuple[bool, str | None]:
        """Whether *iss* passes the allowlist, and its Cognito pool id if it has one."""
        parts = _pool_of(iss)
        pool_id = None if parts is None else parts[0]
        if iss in self._issuers:
            return True, pool_id
        # The Region rule: the pool's own Region only (list replica issuers explicitly).
        if (
            parts is not None
            and parts[1] in self._regions
            and parse_user_pool_id(parts[0]) == parts[1]
        ):
            return True, pool_id
        pattern = self._pattern
        if pattern is not None and pattern.fullmatch(iss) and _under(iss, self._suffix):
            return True, pool_id
        return False, None

    def _route(self, token: object) -> tuple[BaseVerifier, Routed, str, bool]:
        parsed = parse_token(token, self._limits)
        payload = decode_payload(parsed)
        routed: Routed = (parsed, payload, self._limits)
        iss = payload.get("iss")
        context = _Context(parsed.header, payload)
        if not isinstance(iss, str):
            self._count("refused_issuer")
            raise context.refuse("token has no string 'iss' to route it by")
        with self._lock:
            verifier = self._proven.get(iss)
            if verifier is not None:
                self._proven.move_to_end(iss)
                return verifier, routed, iss, False
            verifier = self._probation.get(iss)
            if verifier is not None:
                self._probation.move_to_end(iss)
                return verifier, routed, iss, True
        allowed, pool_id = self._allowed(iss)
        if not allowed:
            self._count("refused_issuer")
            raise context.refuse("token issuer is not one this verifier accepts")
        with self._build_lock:
            with self._lock:  # built by whoever held the build lock before us?
                verifier = self._proven.get(iss) or self._probation.get(iss)
                if verifier is not None:
                    return verifier, routed, iss, iss in self._probation
                wait = self._bucket.take()
                if wait:
                    self._counts["refused_rate"] += 1
                    raise TenantRateLimitError(
                        "too many new issuers this minute: the token's issuer was not tried",
                        retry_after=wait,
                        unverified_header=context.header,
                        unverified_claims=context.claims,
                    )
            verifier = self._make(iss, pool_id, context)
            self._admit(iss, verifier, proven=False)
        return verifier, routed, iss, True

    def _make(self, iss: str, pool_id: str | None, context: _Context) -> BaseVerifier:
        """Call the factory (build lock held) and check what it returned."""
        try:
            verifier = self._build(iss, pool_id)
        except Exception as exc:
            self._count("factory_errors")
            raise ConfigurationError(
                f"the tenant factory raised {type(exc).__name__} for issuer {bounded_repr(iss)}"
            ) from exc
        if verifier is None:
            self._count("not_tenant")
            raise context.refuse("token issuer is not a tenant")
        if not isinstance(verifier, BaseVerifier) or iss not in (verifier.issuers or ()):
            self._count("factory_errors")
            what = type(verifier).__name__
            raise ConfigurationError(
                f"the tenant factory returned a {what} that does not accept issuer "
                f"{bounded_repr(iss)}: return a CognitoVerifier or JwtVerifier for it, or None"
            )
        return verifier

    def _count(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1

    def _admit(self, iss: str, verifier: BaseVerifier, *, proven: bool) -> None:
        with self._lock:
            self._counts["builds"] += 1
            (self._proven if proven else self._probation)[iss] = verifier
            # Probation is evicted first, but never the verifier just built: a new tenant
            # always gets a slot (one taken from the proven, if it must).
            keep = 0 if proven else 1
            while len(self._probation) + len(self._proven) > self._max:
                victims = self._probation if len(self._probation) > keep else self._proven
                victims.popitem(last=False)
                self._counts["evictions"] += 1

    def _promote(self, iss: str, verifier: BaseVerifier) -> None:
        """*verifier* verified a token: move it out of probation."""
        with self._lock:
            if self._probation.get(iss) is verifier:
                del self._probation[iss]
                self._proven[iss] = verifier

    def _hydrated(self, issuers: Iterable[str]) -> list[tuple[str, BaseVerifier]]:
        """Get or build (no allowance used) the verifier of each issuer, marked proven."""
        wanted = list(dict.fromkeys(_strings(issuers, "issuers")))
        if not wanted:
            with self._lock:
                return [*self._probation.items(), *self._proven.items()]
        if len(wanted) > self._max:
            raise ConfigurationError(
                f"{len(wanted)} issuers to hydrate, more than max_verifiers ({self._max})"
            )
        built: list[tuple[str, BaseVerifier]] = []
        for iss in wanted:
            allowed, pool_id = self._allowed(iss)
            if not allowed:
                raise ConfigurationError(f"issuer {bounded_repr(iss)} is not in the allowlist")
            with self._build_lock:
                with self._lock:
                    verifier = self._proven.get(iss) or self._probation.pop(iss, None)
                    if verifier is not None:
                        self._proven[iss] = verifier
                        self._proven.move_to_end(iss)
                if verifier is None:
                    try:
                        verifier = self._make(iss, pool_id, _Context(None, None))
                    except IssuerMismatchError:
                        raise ConfigurationError(
                            f"the tenant factory says issuer {bounded_repr(iss)} is no tenant"
                        ) from None
                    self._admit(iss, verifier, proven=True)
            built.append((iss, verifier))
        return built
