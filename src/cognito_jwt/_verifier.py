"""``JwtVerifier`` and ``MultiIssuerVerifier``: one verification pipeline, sync and async.

The pipeline, in order: parse (size caps, header rules) → algorithm allowlist → key lookup
(the only step that may do I/O, and the only one that differs between ``verify`` and
``verify_async``) → signature → payload → time claims → issuer → audience and other claim
rules → custom check → revocation checks → :class:`Claims`.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable, Generator, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeAlias, cast

from ._alg_names import ALGORITHM_NAMES, DEFAULT_ALGORITHMS, check_allowlist, is_forbidden
from ._claims import Claims
from ._errors import (
    AlgorithmNotAllowedError,
    ConfigurationError,
    CustomCheckError,
    InvalidSignatureError,
    IssuerMismatchError,
    JwtError,
    KeyNotFoundError,
    KeySetUnavailableError,
    MalformedTokenError,
    bounded_repr,
)
from ._issuer_keys import IssuerKeySources, is_unused_issuer
from ._keysource import (
    EventHook,
    JwksInput,
    KeySetState,
    KeySetStats,
    KeySource,
    RemoteKeySource,
    static_key_source,
)
from ._log import logger
from ._normalise import string_set, string_tuple
from ._options import FetchOptions, RefreshPolicy
from ._plan import run_plan, run_plan_async
from ._revocation import check_revocation, check_revocation_async, revocation_checks
from ._token import DEFAULT_LIMITS, ParsedToken, TokenLimits, decode_payload, parse_token
from ._url_policy import check_url
from ._validate import (
    FUTURE_SKEW,
    check_any_scope,
    check_audience,
    check_custom,
    check_issuer,
    check_required,
    check_times,
)
from .stores._base import KeyStore

if TYPE_CHECKING:
    from dataclasses import dataclass

    from ._audit import Audit, DecisionHook, Scope
    from ._jwk import KeySet, PreparedKey
    from ._revocation import RevocationCheck

    Revocation = RevocationCheck | Sequence[RevocationCheck] | None
    """A ``revocation=`` argument: one check, several (any may refuse), or none."""
    from ._token_cache import CachedToken, TokenCache
else:
    from ._record import dataclass

__all__ = ["BaseVerifier", "JwtVerifier", "MultiIssuerVerifier", "check_sync_use"]

Clock = Callable[[], float]
CustomCheck = Callable[[Claims], object]
"""``(claims) -> bool | None``, or an ``async def`` of the same (awaited by ``verify_async``)."""
StoreArg = KeyStore | Literal["default"] | None
Routed = tuple[ParsedToken, dict[str, Any], TokenLimits]
"""What a router read of a token to route it: the parse, the payload and the caps it used."""

_ASYNC_CHECK_IN_SYNC_VERIFY = (
    "custom_check is async (it returns an awaitable): call verify_async(), or pass a plain "
    "function to use verify()"
)


def is_async_callable(check: object) -> bool:
    """Whether *check* is known to return an awaitable.

    That is an ``async def`` function or method, an object whose class has an ``async def
    __call__``, or a :func:`functools.partial` of either.
    """
    if check is None:
        return False
    import inspect  # only for verifiers with a custom check (import cognito_jwt stays light)

    while isinstance(check, functools.partial):
        check = check.func
    if inspect.iscoroutinefunction(check):
        return True
    if isinstance(check, type):
        return False  # a class: calling it makes an instance
    return inspect.iscoroutinefunction(inspect.getattr_static(type(check), "__call__", None))


def start_check(check: CustomCheck, claims: Claims) -> Awaitable[object] | None:
    """Run a custom check up to its verdict.

    Returns ``None`` when it accepted, or the awaitable it returned (for the caller to await
    or refuse).

    Raises:
        CustomCheckError: It rejected the token or raised (see :func:`check_custom`).
    """
    pending: Awaitable[object] | None = None

    def call(value: Claims) -> object:
        nonlocal pending
        result = check(value)
        if result is None or result is True or not isinstance(result, Awaitable):
            return result
        pending = result
        return None

    check_custom(call, claims)
    return pending


async def finish_check(pending: Awaitable[object]) -> None:
    """Await what an async custom check returned and judge it like :func:`check_custom`.

    Raises:
        CustomCheckError: It rejected the token or raised.
    """
    try:
        result = await pending
    except JwtError:
        raise
    except Exception as exc:
        raise CustomCheckError(f"custom_check raised {type(exc).__name__}") from exc
    check_custom(lambda _: result, None)


def check_sync_use(verifier: object, where: str) -> None:
    """Refuse, when it is built, a sync adapter around a verifier with an async custom check.

    Raises:
        ConfigurationError: *verifier* (or one routed to by a ``MultiIssuerVerifier``) has an
            ``async def`` custom check, which only ``verify_async`` can run.
    """
    inner = getattr(verifier, "_verifiers", (verifier,))
    if any(isinstance(v, BaseVerifier) and v._async_check for v in inner):  # noqa: SLF001
        raise ConfigurationError(
            f"{where} calls verify(), but the verifier's custom_check is async: use an async "
            "adapter (ASGI, FastAPI) or a plain function as custom_check"
        )


def _text(token: object) -> str | None:
    """The raw token for a revocation check (it verified, so it is ASCII)."""
    if isinstance(token, str):
        return token
    if isinstance(token, bytes | bytearray | memoryview):
        return bytes(token).decode("ascii", "replace")
    return None


def _blame(exc: JwtError, claims: Claims) -> None:
    """Attach the token's (verified) header and claims to an error of the custom check."""
    exc.unverified_header = claims.header
    exc.unverified_claims = claims._data  # noqa: SLF001 - same package


def _loaded(source: KeySource) -> KeySet | JwtError:
    """The key set *source* holds after a successful hydrate."""
    keyset = getattr(source, "keyset", None)  # a StaticKeySource
    if keyset is None:
        snapshot = getattr(source, "snapshot", None)  # a RemoteKeySource
        keyset = getattr(snapshot, "keyset", None)
    if keyset is None:
        return KeySetUnavailableError("no key set is held after loading")
    return cast("KeySet", keyset)


def _hydrated(report: dict[str, KeySet | JwtError]) -> dict[str, KeySet | JwtError]:
    """*report* if one issuer loaded; else raise the error that says most."""
    if any(not isinstance(result, JwtError) for result in report.values()):
        for issuer, result in report.items():
            if isinstance(result, JwtError) and not is_unused_issuer(result):
                logger.warning("keys of issuer %s could not be loaded: %s", issuer, result)
        return report
    errors = [r for r in report.values() if isinstance(r, JwtError)]
    # An outage says more than "this format is not in use" (which every format but one is).
    raise next((e for e in errors if not is_unused_issuer(e)), errors[0])


_KeyStep: TypeAlias = "tuple[Literal['hydrate', 'refresh'], KeySource]"
"""A step of :meth:`BaseVerifier.hydrate` or ``refresh``: what to do to which key source."""


def _key_step(step: _KeyStep) -> None:
    """The sync driver's way of doing a step: ``source.hydrate()`` or ``source.refresh()``."""
    kind, source = step
    if kind == "hydrate":
        source.hydrate()
    else:
        source.refresh()


async def _key_step_async(step: _KeyStep) -> None:
    """The async driver's way: ``await source.hydrate_async()`` or ``refresh_async()``."""
    kind, source = step
    await (source.hydrate_async() if kind == "hydrate" else source.refresh_async())


class _NoSource:
    """Stands in for the single key source of a verifier that has one per issuer."""

    stats = KeySetStats()

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"a verifier with one key source per issuer has no {name!r}")


_NO_SOURCE = cast("KeySource", _NoSource())


@dataclass(frozen=True, slots=True)
class KeyConfig:
    """Where a verifier's keys come from (internal: gathered from constructor arguments).

    Attributes:
        jwks: A key set in memory; excludes everything below.
        jwks_uri: Where to fetch the key set.
        default_jwks_uri: Used when *jwks_uri* is ``None`` (Cognito's well-known path).
        discovery_issuer: Issuer to discover ``jwks_uri`` from when neither URI is known.
        fetch, refresh, store, on_event: See :class:`RemoteKeySource`.
    """

    jwks: JwksInput | None = None
    jwks_uri: str | None = None
    default_jwks_uri: str | None = None
    discovery_issuer: str | None = None
    fetch: FetchOptions | None = None
    refresh: RefreshPolicy | None = None
    store: StoreArg = "default"
    on_event: EventHook | None = None
    issuer_jwks_uris: Mapping[str, str] | None = None

    def build(self, clock: Clock) -> KeySource | IssuerKeySources:
        """Make the key source this configuration describes.

        With *issuer_jwks_uris* (issuer -> its key-set URL; Cognito's issuer formats) and no
        *jwks* or *jwks_uri*, one source per issuer, each built on first use.
        """
        if self.jwks is not None:
            if self.jwks_uri is not None:
                raise ConfigurationError("pass either jwks= or jwks_uri=, not both")
            if self.fetch is not None or self.refresh is not None:
                raise ConfigurationError("fetch= and refresh= apply only to fetched key sets")
            return static_key_source(self.jwks)
        uris = self.issuer_jwks_uris
        if self.jwks_uri is None and uris is not None and len(uris) > 1:
            fetch, _ = self.fetch_settings()
            for uri in uris.values():
                check_url(uri, allow_insecure_http=fetch.allow_insecure_http, what="jwks_uri")
            return IssuerKeySources(uris, lambda uri: self._remote(clock, uri))
        if self.jwks_uri is None and uris:
            return self._remote(clock, next(iter(uris.values())))
        return self._remote(clock, self.jwks_uri or self.default_jwks_uri)

    def _remote(self, clock: Clock, uri: str | None) -> RemoteKeySource:
        fetch, policy = self.fetch_settings()
        issuer = None
        if uri is not None:
            check_url(uri, allow_insecure_http=fetch.allow_insecure_http, what="jwks_uri")
            cache_key = uri
        else:
            issuer = self.discovery_issuer
            if issuer is None:
                raise ConfigurationError(
                    "no key set: pass jwks= or jwks_uri=, or a single issuer= to discover from"
                )
            check_url(issuer, allow_insecure_http=fetch.allow_insecure_http, what="issuer")
            cache_key = f"discovery:{issuer}"
        return RemoteKeySource(
            cache_key=cache_key,
            jwks_uri=uri,
            issuer=issuer,
            fetch=fetch,
            policy=policy,
            store=store_of(self.store),
            clock=clock,
            on_event=self.on_event,
        )

    def fetch_settings(self) -> tuple[FetchOptions, RefreshPolicy]:
        """The HTTP and refresh settings, defaults filled in, with ``on_event`` checked.

        Raises:
            ConfigurationError: ``fetch``, ``refresh`` or ``on_event`` has the wrong type.
        """
        fetch = self.fetch or FetchOptions()
        if not isinstance(fetch, FetchOptions):
            raise ConfigurationError("fetch must be a FetchOptions")
        policy = self.refresh or RefreshPolicy()
        if not isinstance(policy, RefreshPolicy):
            raise ConfigurationError("refresh must be a RefreshPolicy")
        if self.on_event is not None and not callable(self.on_event):
            raise ConfigurationError("on_event must be callable")
        return fetch, policy


def store_of(store: StoreArg) -> KeyStore | None:
    if store is None:
        return None
    if store == "default":
        from .stores._file import FileStore

        return FileStore()
    if not isinstance(store, KeyStore):
        raise ConfigurationError("store must be a KeyStore, 'default' or None")
    return store


def _check_leeway(leeway: object) -> float:
    if isinstance(leeway, bool) or not isinstance(leeway, int | float):
        raise ConfigurationError(f"leeway must be a number of seconds, got {type(leeway).__name__}")
    if not 0 <= leeway <= _MAX_LEEWAY:
        raise ConfigurationError(
            f"leeway must be between 0 and {_MAX_LEEWAY} seconds, got {bounded_repr(leeway)}"
        )
    return float(leeway)


# A day: far more than any clock skew; larger values are a unit mistake (ms for s).
_MAX_LEEWAY = 86_400


# The audit module is imported by the first verifier given ``on_decision=`` (or by a scope
# lookup, which only a tracked verifier makes): a cold start without a hook never loads it.
def _as_audit(on_decision: DecisionHook | Audit | None) -> Audit | None:
    if on_decision is None:
        return None
    from ._audit import as_audit

    return as_audit(on_decision)


def _audit_scope() -> Scope | None:
    from ._audit import audit_scope

    return audit_scope.get()


class BaseVerifier:
    """The shared pipeline. Use :class:`JwtVerifier` or :class:`CognitoVerifier`."""

    __slots__ = (
        "_algorithms",
        "_async_check",
        "_audit",
        "_by_issuer",
        "_clock",
        "_custom_check",
        "_issuers",
        "_keys",
        "_leeway",
        "_limits",
        "_required",
        "_revocation",
        "_token_cache",
        "_tracked",
    )

    # Whether a token must name its key (``kid``); without it, a key set holding exactly one
    # key for the token's ``alg`` lends that key. Issuers that always send ``kid`` say True.
    _require_kid = False

    def __init__(
        self,
        *,
        issuers: frozenset[str] | None,
        keys: KeyConfig,
        algorithms: Iterable[str],
        leeway: float,
        clock: Clock | None,
        required_claims: Iterable[str],
        custom_check: CustomCheck | None,
        limits: TokenLimits | None,
        token_cache_size: int = 0,
        revocation: Revocation = None,
        on_decision: DecisionHook | Audit | None = None,
    ) -> None:
        self._audit = _as_audit(on_decision)
        # Whether an audit (its own, or a router's) may want to hear of a cache hit.
        self._tracked = self._audit is not None
        self._issuers = issuers
        self._algorithms = check_allowlist(algorithms)
        self._leeway = _check_leeway(leeway)
        if clock is not None and not callable(clock):
            raise ConfigurationError("clock must be a callable returning epoch seconds")
        self._clock: Clock = clock or time.time
        built = keys.build(self._clock)
        # One key source, or (Cognito's issuer formats) one per issuer, chosen by the token's
        # 'iss' once it matched the accepted issuers exactly.
        self._by_issuer = built if isinstance(built, IssuerKeySources) else None
        self._keys: KeySource = built if not isinstance(built, IssuerKeySources) else _NO_SOURCE
        self._required = string_tuple(required_claims, "required_claims", allow_empty=True)
        if custom_check is not None and not callable(custom_check):
            raise ConfigurationError("custom_check must be callable")
        self._custom_check = custom_check
        self._async_check = is_async_callable(custom_check)
        if limits is not None and not isinstance(limits, TokenLimits):
            raise ConfigurationError("limits must be a TokenLimits")
        self._limits = limits or DEFAULT_LIMITS
        self._token_cache: TokenCache | None = None
        if token_cache_size != 0 or type(token_cache_size) is not int:
            # Imported only when asked for (it needs hashlib, and most verifiers don't cache).
            from ._token_cache import TokenCache, check_cache_size

            self._token_cache = TokenCache(check_cache_size(token_cache_size))
        self._revocation: tuple[RevocationCheck, ...] = ()
        if revocation is not None:
            self._revocation = revocation_checks(revocation)

    @property
    def issuers(self) -> frozenset[str] | None:
        """The issuers this verifier accepts, or ``None`` when ``iss`` is not checked."""
        return self._issuers

    @property
    def algorithms(self) -> frozenset[str]:
        """The algorithm allowlist."""
        return self._algorithms

    @property
    def token_cache_stats(self) -> dict[str, int] | None:
        """Hits, misses, size and max_size of the verified-token cache; ``None`` when it is off.

        The hit and miss counts are approximate under concurrent use.
        """
        cache = self._token_cache
        if cache is None:
            return None
        return {
            "hits": cache.hits,
            "misses": cache.misses,
            "size": len(cache.entries),
            "max_size": cache.max_size,
        }

    # The pipeline -------------------------------------------------------------------------------
    # verify and verify_async are twins that share every step but two: how the key is found
    # (the only I/O) and how an async custom_check is run. A MultiIssuerVerifier enters through
    # _verify_routed/_verify_routed_async with the token it already parsed to route it.
    def verify(self, token: str | bytes) -> Claims:
        """Verify *token* and return its claims.

        Raises:
            JwtError: A subclass naming what was wrong; nothing else escapes for bad input.
            ConfigurationError: *custom_check* is async (use :meth:`verify_async`).
        """
        if self._audit is None:
            return self._verify_routed(token, None)
        from ._audit import run

        return run(
            self._audit,
            self._verify_routed,
            token,
            None,
            self._issuers,
            track=self._token_cache is not None,
        )

    async def verify_async(self, token: str | bytes) -> Claims:
        """Verify *token* like :meth:`verify`, without blocking the event loop on key fetches.

        An async *custom_check* is awaited here.

        Raises:
            JwtError: A subclass naming what was wrong.
        """
        if self._audit is None:
            return await self._verify_routed_async(token, None)
        from ._audit import run_async

        return await run_async(
            self._audit,
            self._verify_routed_async,
            token,
            None,
            self._issuers,
            track=self._token_cache is not None,
        )

    def _verify_routed(self, token: object, routed: Routed | None) -> Claims:
        """The sync pipeline; *routed* is ``(parsed, payload)`` when a router parsed *token*."""
        if self._async_check:
            raise ConfigurationError(_ASYNC_CHECK_IN_SYNC_VERIFY)
        cache = self._token_cache
        digest = None
        if cache is not None:
            digest, entry = cache.lookup(token)
            if entry is not None:
                try:
                    hit_key = self._cached_source(entry.iss).find(entry.kid, entry.alg)
                except JwtError:
                    hit_key = None  # the full pipeline below raises the error that applies
                hit = self._cache_hit(cache, entry, hit_key)
                if hit is not None:
                    self._accept(hit, token)
                    return hit
        # The full pipeline, its steps written out: this runs for every token not answered
        # by the cache, and each call saved is ~0.1 us (the async twin below is the same;
        # _parse and _find stay calls: an AlbVerifier overrides them).
        if routed is None:
            parsed, payload = self._parse(token), None
        else:
            parsed, payload = self._parsed(token, routed)
        if self._by_issuer is None:
            source = self._keys
        else:
            source, payload = self._source(parsed, payload)
        key = self._find(parsed, source)
        claims = self._finish(parsed, key, payload, source)
        if self._custom_check is not None or self._revocation:
            self._accept(claims, token)
        if cache is not None:  # a miss that passed: count it, keep it
            cache.misses += 1
            if digest is not None:
                cache.remember(digest, parsed, key, claims._data)  # noqa: SLF001 - our own Claims
        return claims

    async def _verify_routed_async(self, token: object, routed: Routed | None) -> Claims:
        """The async twin of :meth:`_verify_routed`, step for step."""
        cache = self._token_cache
        digest = None
        if cache is not None:
            digest, entry = cache.lookup(token)
            if entry is not None:
                hit_key: PreparedKey | None
                try:
                    hit_key = await self._cached_source(entry.iss).find_async(entry.kid, entry.alg)
                except JwtError:
                    hit_key = None
                hit = self._cache_hit(cache, entry, hit_key)
                if hit is not None:
                    await self._accept_async(hit, token)
                    return hit
        if routed is None:
            parsed, payload = self._parse(token), None
        else:
            parsed, payload = self._parsed(token, routed)
        if self._by_issuer is None:
            source = self._keys
        else:
            source, payload = self._source(parsed, payload)
        key = await self._find_async(parsed, source)
        claims = self._finish(parsed, key, payload, source)
        if self._custom_check is not None or self._revocation:
            await self._accept_async(claims, token)
        if cache is not None:  # a miss that passed: count it, keep it
            cache.misses += 1
            if digest is not None:
                cache.remember(digest, parsed, key, claims._data)  # noqa: SLF001 - our own Claims
        return claims

    def _accept(self, claims: Claims, token: object) -> None:
        """The last steps, on every path (cache hits too): custom check, then revocation."""
        if self._custom_check is not None:
            self._run_check(self._custom_check, claims)
        if self._revocation:
            check_revocation(self._revocation, claims, _text(token))

    async def _accept_async(self, claims: Claims, token: object) -> None:
        """The async twin of :meth:`_accept` (awaits the checks)."""
        if self._custom_check is not None:
            await self._run_check_async(self._custom_check, claims)
        if self._revocation:
            await check_revocation_async(self._revocation, claims, _text(token))

    def _parsed(
        self, token: object, routed: Routed | None
    ) -> tuple[ParsedToken, dict[str, Any] | None]:
        """Parse *token* under this verifier's caps (reusing a router's parse when it can)."""
        if routed is None:
            return self._parse(token), None
        parsed, payload, limits = routed
        if limits != self._limits:
            parsed = parse_token(token, self._limits)  # this verifier's own size caps
        self._check_alg(parsed)
        return parsed, payload

    def _cache_hit(
        self, cache: TokenCache, entry: CachedToken, key: PreparedKey | None
    ) -> Claims | None:
        """Claims for a cached token after the checks a hit repeats, or ``None`` to verify it.

        *key* is what the key source holds now for the token's ``kid`` and ``alg``. The
        custom check is the caller's to run (it may have to be awaited).
        """
        if key is not entry.key:
            if key is None or key.jwk != entry.key.jwk:
                cache.discard(entry.digest)  # the key that verified it left the key set
                return None
            entry = entry._replace(key=key)  # the same key, re-read by a key set refresh
            cache.replace(entry.digest, entry)
        now, leeway = self._clock(), self._leeway
        if now >= entry.exp + leeway:
            cache.discard(entry.digest)
            return None  # expired: the full pipeline names it
        if entry.nbf is not None and now + max(leeway, FUTURE_SKEW) < entry.nbf:
            return None  # a clock that went back: the full pipeline decides
        stored = entry.payload
        if stored is not None and not entry.nested:
            payload = stored.copy()  # the usual hit: flat claims
        else:
            decoded = cache.claims_of(entry)  # the first hit decodes; nested values are copied
            if decoded is None:
                return None  # pragma: no cover - see TokenCache.claims_of
            payload = decoded
        cache.hits += 1
        if self._tracked and (scope := _audit_scope()) is not None:
            scope.cache_hit = True  # an audited verification records that the cache answered
        return Claims._adopt(payload, entry.header)  # noqa: SLF001 - same package

    @staticmethod
    def _run_check(check: CustomCheck, claims: Claims) -> None:
        """The custom check, sync: an awaitable it returns is closed and refused."""
        try:
            pending = start_check(check, claims)
            if pending is not None:
                close = getattr(pending, "close", None)
                if callable(close):
                    close()  # never awaited: closing it keeps a RuntimeWarning away
                raise ConfigurationError(_ASYNC_CHECK_IN_SYNC_VERIFY)
        except JwtError as exc:
            _blame(exc, claims)
            raise

    @staticmethod
    async def _run_check_async(check: CustomCheck, claims: Claims) -> None:
        """The custom check, async: an awaitable it returns is awaited."""
        try:
            pending = start_check(check, claims)
            if pending is not None:
                await finish_check(pending)
        except JwtError as exc:
            _blame(exc, claims)
            raise

    def hydrate(self) -> dict[str, KeySet | JwtError]:
        """Load the key set now (store or network), e.g. in a Lambda function's init phase.

        Returns:
            What was loaded, by issuer (by key-set URL where the verifier has no single
            issuer): the :class:`KeySet`, or the error of an issuer that could not be loaded.
            With several issuers (a Cognito pool's issuer formats), an issuer whose key-set
            URL does not exist (403/404: a format the pool does not use) is reported and does
            not fail the call, as long as one issuer loaded.

        Raises:
            KeySetUnavailableError: No usable key set could be had (for any issuer).
        """
        return run_plan(self._hydrate_plan(), _key_step)

    async def hydrate_async(self) -> dict[str, KeySet | JwtError]:
        """Like :meth:`hydrate`, without blocking the event loop.

        Raises:
            KeySetUnavailableError: No usable key set could be had (for any issuer).
        """
        return await run_plan_async(self._hydrate_plan(), _key_step_async)

    def refresh(self) -> None:
        """Fetch the key set now, e.g. after the issuer announced a rotation.

        With several issuers, the key set of every issuer that tokens have named so far
        (hydrating them all when none has been used yet).

        Raises:
            KeySetUnavailableError: The fetch failed; the current keys stay in use.
        """
        run_plan(self._refresh_plan(), _key_step)

    async def refresh_async(self) -> None:
        """Fetch the key set now without blocking the event loop.

        Raises:
            KeySetUnavailableError: The fetch failed; the current keys stay in use.
        """
        await run_plan_async(self._refresh_plan(), _key_step_async)

    def _hydrate_plan(self) -> Generator[_KeyStep, None, dict[str, KeySet | JwtError]]:
        """The steps of :meth:`hydrate`, written once: each yields a source to hydrate."""
        by_issuer = self._by_issuer
        if by_issuer is None:
            yield "hydrate", self._keys
            return dict.fromkeys(self._report_names(), _loaded(self._keys))
        report: dict[str, KeySet | JwtError] = {}
        for issuer in by_issuer.uris:
            source = by_issuer.source(issuer)
            try:
                yield "hydrate", source
            except JwtError as exc:
                report[issuer] = exc
            else:
                report[issuer] = _loaded(source)
        return _hydrated(report)

    def _refresh_plan(self) -> Generator[_KeyStep, None, None]:
        """The steps of :meth:`refresh`, written once."""
        if self._by_issuer is None:
            yield "refresh", self._keys
            return
        built = self._by_issuer.built()
        if not built:
            yield from self._hydrate_plan()
        for source in built.values():
            yield "refresh", source

    @property
    def stats(self) -> KeySetStats:
        """Counters of the key set: fetches, failures, refreshes by reason, cache hits.

        With one key set per issuer, the counters of all of them added up.
        """
        return self._keys.stats if self._by_issuer is None else self._by_issuer.stats()

    @property
    def key_state(self) -> dict[str, KeySetState]:
        """What the verifier holds of its keys now, for health checks (no I/O, read-only).

        Keyed like :meth:`hydrate`: by issuer (by key-set URL where the verifier has no single
        issuer). With one key set per issuer (a Cognito pool's issuer formats), each issuer
        has its own entry, empty until a token names it or :meth:`hydrate` runs.
        """
        by_issuer = self._by_issuer
        if by_issuer is None:
            return dict.fromkeys(self._report_names(), self._keys.state())
        built = by_issuer.built()
        return {
            issuer: built[issuer].state() if issuer in built else KeySetState(uri, frozenset())
            for issuer, uri in by_issuer.uris.items()
        }

    def _report_names(self) -> list[str]:
        """What :meth:`hydrate` names the one key set: each issuer, else its URL."""
        if self._issuers is not None:
            return sorted(self._issuers)
        return [getattr(self._keys, "jwks_uri", None) or "jwks"]

    def _parse(self, token: object) -> ParsedToken:
        parsed = parse_token(token, self._limits)
        if parsed.alg not in self._algorithms or (parsed.kid is None and self._require_kid):
            self._check_alg(parsed)  # raises, naming the problem
        return parsed

    def _source(
        self, parsed: ParsedToken, payload: dict[str, Any] | None
    ) -> tuple[KeySource, dict[str, Any] | None]:
        """The key source for this token, and its payload if that had to be read to choose.

        With one source per issuer, the payload is decoded before the signature is checked
        (as a router does) and its ``iss`` must be one of the accepted issuers exactly: an
        unknown issuer is refused before any key is looked up or fetched.
        """
        by_issuer = self._by_issuer
        if by_issuer is None:
            return self._keys, payload
        if payload is None:
            payload = decode_payload(parsed)
        iss = payload.get("iss")
        if not isinstance(iss, str) or iss not in by_issuer.uris:
            check_issuer(payload, frozenset(by_issuer.uris))  # raises: iss is not accepted
            raise IssuerMismatchError("token issuer is not accepted")  # pragma: no cover
        return by_issuer.source(iss), payload

    def _cached_source(self, iss: Any) -> KeySource:
        """The key source of a token that verified before (*iss*, its ``iss``, is accepted)."""
        by_issuer = self._by_issuer
        return self._keys if by_issuer is None else by_issuer.source(iss)

    def _find(self, parsed: ParsedToken, source: KeySource) -> PreparedKey:
        try:
            return source.find(parsed.kid, parsed.alg)
        except JwtError as exc:
            raise self._lookup_failed(exc, parsed)  # noqa: B904 - the same error, or a plainer one

    async def _find_async(self, parsed: ParsedToken, source: KeySource) -> PreparedKey:
        try:
            return await source.find_async(parsed.kid, parsed.alg)
        except JwtError as exc:
            raise self._lookup_failed(exc, parsed)  # noqa: B904 - the same error, or a plainer one

    def _lookup_failed(self, exc: JwtError, parsed: ParsedToken) -> JwtError:
        """The error for a failed key lookup, with the token's header attached.

        Among several issuers, a key-set URL that does not exist (403/404) means the pool
        does not use that issuer: the token names keys that are not there (401), which is no
        outage (503).
        """
        if self._by_issuer is not None and is_unused_issuer(exc):
            exc = KeyNotFoundError(
                "the token's issuer publishes no key set "
                f"(HTTP {exc.status_code}): this pool does not issue tokens "
                "under that issuer format"
            )
        exc.unverified_header = parsed.header
        return exc

    def _check_alg(self, parsed: ParsedToken) -> None:
        alg = parsed.alg
        if alg not in self._algorithms:
            if is_forbidden(alg):
                reason = "is never accepted by a public-key verifier"
            elif alg in ALGORITHM_NAMES:
                reason = f"is not allowed here (allowed: {', '.join(sorted(self._algorithms))})"
            else:
                reason = "is not supported"
            raise AlgorithmNotAllowedError(
                f"algorithm {alg[:32]!r} {reason}", unverified_header=parsed.header
            )
        if parsed.kid is None and self._require_kid:
            raise MalformedTokenError(
                "header 'kid' is required: this issuer always names the signing key",
                unverified_header=parsed.header,
            )

    def _finish(
        self,
        parsed: ParsedToken,
        key: PreparedKey,
        payload: dict[str, Any] | None,
        source: KeySource,
    ) -> Claims:
        ok = key.checks[parsed.alg](parsed.signature, parsed.signing_input)
        source.record_signature(ok)
        if not ok:
            raise InvalidSignatureError(
                "signature does not verify with the selected key", unverified_header=parsed.header
            )
        if payload is None:
            payload = decode_payload(parsed)
        try:
            self._check_claims(payload, parsed.header)
        except JwtError as exc:
            exc.unverified_header = parsed.header
            exc.unverified_claims = payload
            raise
        return Claims._adopt(payload, parsed.header)  # noqa: SLF001 - same package

    def _check_claims(self, payload: dict[str, Any], header: Mapping[str, Any]) -> None:
        """The claim rules, after the signature verified; *header* is the verified header."""
        del header  # the generic rules read only the payload
        check_times(payload, self._clock(), self._leeway)
        issuers = self._issuers
        if issuers is not None:
            iss = payload.get("iss")
            if type(iss) is not str or iss not in issuers:  # the hot path: one set lookup
                check_issuer(payload, issuers)  # raises, naming what was wrong
        if self._required:
            check_required(payload, self._required)


class JwtVerifier(BaseVerifier):
    """Verify JWTs from an OpenID Connect / OAuth 2.0 issuer.

    ``issuer`` and ``audience`` have no defaults on purpose: write ``None`` to skip a check,
    so that skipping it is a visible decision. Omitting one is a ``TypeError``.

    Args:
        issuer: The expected ``iss`` (exact string match), a collection of accepted issuers,
            or ``None`` to not check ``iss``.
        audience: Accepted ``aud`` value(s) (any-of), or ``None`` to not check ``aud``.
        jwks: The issuer's key set in memory: a JWKS mapping, its JSON text or a ``KeySet``.
            Without it, keys are fetched from *jwks_uri*, or from the ``jwks_uri`` that OIDC
            discovery (RFC 8414 as a fallback) finds for *issuer*, and cached.
        jwks_uri: Where to fetch the key set, skipping discovery.
        algorithms: Allowlist of JWS algorithms; default every supported asymmetric one.
            ``none`` and HMAC are refused whatever this says.
        leeway: Seconds of clock skew tolerated for ``exp`` (default 0); ``nbf``/``iat`` get at
            least 60 s (see ``docs/security.md``).
        clock: Returns the current time in epoch seconds (default ``time.time``).
        scopes: If given, the ``scope`` claim must hold at least one of these.
        required_claims: Claims that must be present (``exp`` always is).
        custom_check: Called with the :class:`Claims` after every other check; return
            ``True``/``None`` to accept, anything else (or raise) to reject. An ``async def``
            check (or an object with an async ``__call__``) is awaited by ``verify_async``;
            ``verify`` refuses such a verifier with :class:`ConfigurationError`.
        limits: Token size caps.
        token_cache_size: Remember up to this many verified tokens, so that a repeat skips the
            signature check (``exp``/``nbf``, the key's presence, *custom_check* and
            *revocation* are still checked on every hit). ``0``, the default, turns the cache
            off; see the performance guide for the trade-offs.
        fetch: HTTP settings for discovery and JWKS (timeouts, size cap, your own client).
        refresh: When to refresh the cached key set (see :class:`RefreshPolicy`).
        store: The persistent (L2) key store: ``"default"`` (a :class:`FileStore` in the user
            cache directory, ``/tmp`` on Lambda), your own :class:`KeyStore`, or ``None``.
        on_event: Called with ``(name, details)`` on fetches, failures and refreshes.
        revocation: A :class:`RevocationCheck` (a :class:`DenyList`, a
            ``RedisDenyList`` ...) or a sequence of them, asked after every other check and
            on every verified-token-cache hit: a revoked token raises
            :class:`TokenRevokedError`, a check that cannot decide
            :class:`RevocationUnavailableError`. See the revocation guide.
        on_decision: Called once per verification with a :class:`VerificationRecord` (allow
            or deny; never the token); an :class:`Audit` sets privacy and timing. See the
            observability guide.

    Raises:
        ConfigurationError: An argument has an unusable value.
        InvalidJwksError: *jwks* holds no usable key.
    """

    __slots__ = ("_audiences", "_scopes")

    def __init__(
        self,
        *,
        issuer: str | Sequence[str] | None,
        audience: str | Sequence[str] | None,
        jwks: JwksInput | None = None,
        jwks_uri: str | None = None,
        algorithms: Iterable[str] = DEFAULT_ALGORITHMS,
        leeway: float = 0,
        clock: Clock | None = None,
        scopes: str | Sequence[str] | None = None,
        required_claims: Iterable[str] = (),
        custom_check: CustomCheck | None = None,
        limits: TokenLimits | None = None,
        token_cache_size: int = 0,
        fetch: FetchOptions | None = None,
        refresh: RefreshPolicy | None = None,
        store: StoreArg = "default",
        on_event: EventHook | None = None,
        revocation: Revocation = None,
        on_decision: DecisionHook | Audit | None = None,
    ) -> None:
        issuers = string_set(issuer, "issuer")
        super().__init__(
            issuers=issuers,
            keys=KeyConfig(
                jwks=jwks,
                jwks_uri=jwks_uri,
                discovery_issuer=next(iter(issuers)) if issuers and len(issuers) == 1 else None,
                fetch=fetch,
                refresh=refresh,
                store=store,
                on_event=on_event,
            ),
            algorithms=algorithms,
            leeway=leeway,
            clock=clock,
            required_claims=required_claims,
            custom_check=custom_check,
            limits=limits,
            token_cache_size=token_cache_size,
            revocation=revocation,
            on_decision=on_decision,
        )
        self._audiences = string_set(audience, "audience")
        self._scopes = string_set(scopes, "scopes")

    def _check_claims(self, payload: dict[str, Any], header: Mapping[str, Any]) -> None:
        BaseVerifier._check_claims(self, payload, header)  # noqa: SLF001 - not super(): per token
        if self._audiences is not None:
            check_audience(payload, self._audiences)
        if self._scopes is not None:
            check_any_scope(payload, self._scopes)


class MultiIssuerVerifier:
    """Route each token to the verifier for its issuer: several pools, tenants or providers.

    The token's ``iss`` is read unverified only to choose a verifier; that verifier then runs
    the whole pipeline, including the exact issuer check.

    Each token goes through the chosen verifier's own pipeline, its verified-token cache and
    ``custom_check`` included.

    Args:
        verifiers: ``JwtVerifier`` and ``CognitoVerifier`` instances with distinct, explicit
            issuers (none may have ``issuer=None``).
        limits: Size caps for the routing parse.
        on_decision: Called once per verification with a :class:`VerificationRecord`,
            including tokens refused before routing (unknown issuer, malformed). A routed
            token's record also goes to the chosen verifier's own hook, if it has one: one
            record, timed from the router, given to each hook once (the router's first).

    Raises:
        ConfigurationError: No verifiers, a verifier without issuer, an issuer claimed twice,
            or a verifier whose tokens can't be routed by ``iss`` (an ``AlbVerifier``).
    """

    __slots__ = ("_audit", "_by_issuer", "_limits", "_verifiers")

    def __init__(
        self,
        verifiers: Iterable[BaseVerifier],
        *,
        limits: TokenLimits | None = None,
        on_decision: DecisionHook | Audit | None = None,
    ):
        self._audit = _as_audit(on_decision)
        self._verifiers = tuple(verifiers)
        if not self._verifiers:
            raise ConfigurationError("MultiIssuerVerifier needs at least one verifier")
        self._by_issuer: dict[str, BaseVerifier] = {}
        for verifier in self._verifiers:
            if not isinstance(verifier, BaseVerifier):
                raise ConfigurationError(f"not a verifier: {type(verifier).__name__}")
            if type(verifier)._parse is not BaseVerifier._parse:  # noqa: SLF001
                # Its tokens are not compact JWS routed by 'iss' (an AlbVerifier's carry
                # 'iss' in the header): the router would refuse every one as malformed.
                raise ConfigurationError(
                    f"a MultiIssuerVerifier cannot route tokens to a {type(verifier).__name__}"
                )
            if verifier.issuers is None:
                raise ConfigurationError("every verifier in a MultiIssuerVerifier needs an issuer")
            for issuer in verifier.issuers:
                if issuer in self._by_issuer:
                    raise ConfigurationError(f"issuer {issuer!r} is handled by two verifiers")
                self._by_issuer[issuer] = verifier
            if self._audit is not None:
                verifier._tracked = True  # noqa: SLF001 - it reports cache hits to our audit
        self._limits = limits or DEFAULT_LIMITS

    @property
    def issuers(self) -> frozenset[str]:
        """Every accepted issuer."""
        return frozenset(self._by_issuer)

    def _route(self, token: object) -> tuple[BaseVerifier, Routed]:
        parsed = parse_token(token, self._limits)
        payload = decode_payload(parsed)
        iss = payload.get("iss")
        verifier = self._by_issuer.get(iss) if isinstance(iss, str) else None
        if verifier is None:
            raise IssuerMismatchError(
                "token issuer is not one this verifier accepts",
                unverified_header=parsed.header,
                unverified_claims=payload,
            )
        return verifier, (parsed, payload, self._limits)

    def verify(self, token: str | bytes) -> Claims:
        """Verify *token* with the verifier for its issuer.

        Raises:
            JwtError: A subclass naming what was wrong.
        """
        if self._audit is not None:
            from ._audit import run

            return run(self._audit, self._verify_audited, token, None, None)
        verifier, routed = self._route(token)
        if verifier._audit is not None:  # noqa: SLF001
            from ._audit import run

            return run(verifier._audit, verifier._verify_routed, token, routed, verifier.issuers)  # noqa: SLF001
        return verifier._verify_routed(token, routed)  # noqa: SLF001 - the routed entry

    async def verify_async(self, token: str | bytes) -> Claims:
        """Verify *token* like :meth:`verify`, without blocking the event loop.

        Raises:
            JwtError: A subclass naming what was wrong.
        """
        if self._audit is not None:
            from ._audit import run_async

            return await run_async(self._audit, self._verify_audited_async, token, None, None)
        verifier, routed = self._route(token)
        if verifier._audit is not None:  # noqa: SLF001
            from ._audit import run_async

            return await run_async(
                verifier._audit,  # noqa: SLF001
                verifier._verify_routed_async,  # noqa: SLF001
                token,
                routed,
                verifier.issuers,
            )
        return await verifier._verify_routed_async(token, routed)  # noqa: SLF001

    def _verify_audited(self, token: object, _: object) -> Claims:
        """Route and verify under the router's audit, telling it where the token went."""
        verifier, routed = self._route_audited(token)
        return verifier._verify_routed(token, routed)  # noqa: SLF001

    async def _verify_audited_async(self, token: object, _: object) -> Claims:
        """Like :meth:`_verify_audited`, awaiting the routed verifier (the routing is shared)."""
        verifier, routed = self._route_audited(token)
        return await verifier._verify_routed_async(token, routed)  # noqa: SLF001

    def _route_audited(self, token: object) -> tuple[BaseVerifier, Routed]:
        """Route *token* and tell the router's audit (if it watches) which verifier took it."""
        verifier, routed = self._route(token)
        from ._audit import current_scope

        scope = current_scope()
        if scope is not None:
            scope.routed(verifier.issuers, verifier._audit)  # noqa: SLF001
        return verifier, routed

    def hydrate(self) -> dict[str, KeySet | JwtError]:
        """Load every verifier's key set now; what each loaded, by issuer.

        See :meth:`BaseVerifier.hydrate`.

        Raises:
            KeySetUnavailableError: A verifier could load no key set at all.
        """
        report: dict[str, KeySet | JwtError] = {}
        for verifier in self._verifiers:
            report.update(verifier.hydrate())
        return report

    async def hydrate_async(self) -> dict[str, KeySet | JwtError]:
        """Like :meth:`hydrate`, without blocking the event loop.

        Raises:
            KeySetUnavailableError: A verifier could load no key set at all.
        """
        report: dict[str, KeySet | JwtError] = {}
        for verifier in self._verifiers:
            report.update(await verifier.hydrate_async())
        return report

    @property
    def key_state(self) -> dict[str, KeySetState]:
        """Every verifier's :attr:`BaseVerifier.key_state`, merged (by issuer)."""
        state: dict[str, KeySetState] = {}
        for verifier in self._verifiers:
            state.update(verifier.key_state)
        return state

    def refresh(self) -> None:
        """Fetch every verifier's key set now."""
        for verifier in self._verifiers:
            verifier.refresh()

    async def refresh_async(self) -> None:
        """Fetch every verifier's key set now without blocking the event loop."""
        for verifier in self._verifiers:
            await verifier.refresh_async()
