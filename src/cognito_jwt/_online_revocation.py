"""Online revocation checks: ask the issuer whether a verified token is still live.

* :class:`CognitoRevocationCheck` calls Cognito's ``GetUser`` with the access token (no IAM
  credentials needed): Cognito refuses a token that ``RevokeToken``, ``GlobalSignOut`` or
  ``AdminUserGlobalSignOut`` invalidated.
* :class:`IntrospectionCheck` asks any OAuth server's RFC 7662 introspection endpoint,
  authenticating with ``private_key_jwt`` (a :class:`ClientAssertionSigner`) or a client secret.

Both satisfy the revocation protocol (``is_revoked(claims, token)`` and
``is_revoked_async(claims, token)``) and share one machinery, written once: an answer cache
(keyed by a hash of the token, never the token), a circuit breaker and the fail mode. Each
check is a *plan*: a generator that yields the I/O it needs (sign an assertion, post a request)
and receives the results; a sync and an async driver run it, as ``stores/_redis.py`` does.

Nothing here logs or raises with a token, an assertion or a secret in it.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote, urlsplit

from ._claims import Claims
from ._errors import ConfigurationError, JwtError, RevocationUnavailableError
from ._json import loads_object
from ._options import FetchOptions
from ._plan import run_plan, run_plan_async
from ._url_policy import check_url

if TYPE_CHECKING:
    from dataclasses import dataclass

    from ._client._assertion import ClientAssertionSigner
    from ._http import FormFields, HttpFetcher, Posted
else:
    from ._record import dataclass

__all__ = ["CognitoRevocationCheck", "IntrospectionCheck"]

logger = logging.getLogger("cognito_jwt")

OnError = Literal["closed", "open"]

_REGION = re.compile(r"[a-z]{2,4}(?:-[a-z]+)+-[0-9]{1,2}")
# Both Cognito issuer formats name a Region in the host: cognito-idp.{region}.{suffix} (the
# original, the Region that issued) and issuer-cognito-idp.{region}.{suffix} (the primary).
_COGNITO_HOST = re.compile(
    r"(?:issuer-)?cognito-idp\.(?P<region>[a-z]{2,4}(?:-[a-z]+)+-[0-9]{1,2})\."
)
_GET_USER = "AWSCognitoIdentityProviderService.GetUser"
# GetUser refusals that mean "Cognito no longer accepts this access token": revoked, signed
# out, expired, user deleted, disabled or forced to reset. The signature verified already, so
# a refusal is about the token's standing, not its form: every one counts as revoked (strict).
_COGNITO_REVOKED = frozenset(
    {
        "NotAuthorizedException",
        "UserNotFoundException",
        "PasswordResetRequiredException",
        "UserNotConfirmedException",
    }
)


def _cannot_decide(message: str) -> JwtError:
    """The error for "the check cannot decide" (fail closed): the ONE place that names it."""
    return RevocationUnavailableError(message)


# --- Shared machinery -----------------------------------------------------------------------------
class _AnswerCache:
    """Recent answers per token hash, for ``ttl`` seconds, at most ``size`` of them (LRU)."""

    __slots__ = ("_entries", "_lock", "size", "ttl")

    def __init__(self, ttl: float, size: int) -> None:
        self.ttl = ttl
        self.size = size
        self._entries: OrderedDict[bytes, tuple[float, bool]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: bytes, now: float) -> bool | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if now >= entry[0]:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key: bytes, now: float, *, revoked: bool) -> None:
        if self.ttl <= 0:
            return
        with self._lock:
            self._entries[key] = (now + self.ttl, revoked)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


class _Breaker:
    """Opens after ``threshold`` consecutive failures; one probe per ``cool_off`` while open."""

    __slots__ = ("_lock", "cool_off", "failures", "open_until", "threshold")

    def __init__(self, threshold: int, cool_off: float) -> None:
        self.threshold = threshold
        self.cool_off = cool_off
        self.failures = 0
        self.open_until: float | None = None
        self._lock = threading.Lock()

    def allow(self, now: float) -> bool:
        with self._lock:
            if self.open_until is None:
                return True
            if now < self.open_until:
                return False
            self.open_until = now + self.cool_off  # half-open: this call probes, others wait
            return True

    def succeeded(self) -> bool:
        """Record a success; return whether it ended an outage."""
        with self._lock:
            ended = self.failures > 0
            self.failures = 0
            self.open_until = None
            return ended

    def failed(self, now: float) -> None:
        with self._lock:
            self.failures += 1
            if self.failures >= self.threshold:
                self.open_until = now + self.cool_off


@dataclass(frozen=True, slots=True)
class _Post:
    """A step of a plan: POST a form or a JSON document; the reply is a ``Posted``."""

    url: str
    form: FormFields | None = None
    document: Mapping[str, Any] | None = None
    headers: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class _Sign:
    """A step of a plan: the client assertion form fields for *audience*."""

    signer: ClientAssertionSigner
    audience: str | Sequence[str]


_Step = _Post | _Sign
_Plan = Generator[_Step, Any, bool]


def _check_options(
    cache_ttl: object,
    cache_size: object,
    failure_threshold: object,
    cool_off: object,
    on_error: object,
) -> None:
    def number(value: object) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0

    if not number(cache_ttl) or float(cache_ttl) > 3600:  # type: ignore[arg-type]
        raise ConfigurationError("cache_ttl must be a number of seconds from 0 to 3600")
    if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 1:
        raise ConfigurationError("cache_size must be a positive int")
    if (
        isinstance(failure_threshold, bool)
        or not isinstance(failure_threshold, int)
        or failure_threshold < 1
    ):
        raise ConfigurationError("failure_threshold must be a positive int")
    if not number(cool_off) or float(cool_off) <= 0:  # type: ignore[arg-type]
        raise ConfigurationError("cool_off must be a positive number of seconds")
    if on_error not in ("closed", "open"):
        raise ConfigurationError(f"on_error must be 'closed' or 'open', got {on_error!r}")


class _OnlineCheck:
    """The cache, breaker, fail mode and the two drivers; subclasses write :meth:`_ask`."""

    _what = "online revocation check"

    def __init__(
        self,
        *,
        cache_ttl: float,
        cache_size: int,
        failure_threshold: int,
        cool_off: float,
        on_error: OnError,
        fetch: FetchOptions | None,
        clock: Callable[[], float],
    ) -> None:
        _check_options(cache_ttl, cache_size, failure_threshold, cool_off, on_error)
        if fetch is not None and not isinstance(fetch, FetchOptions):
            raise ConfigurationError("fetch must be a FetchOptions")
        self._fetch = fetch if fetch is not None else FetchOptions()
        self._cache = _AnswerCache(float(cache_ttl), cache_size)
        self._breaker = _Breaker(failure_threshold, float(cool_off))
        self._on_error = on_error
        self._clock = clock
        self._http: HttpFetcher | None = None
        self._outage_logged = False

    @property
    def on_error(self) -> OnError:
        """``"closed"`` (cannot decide → raise) or ``"open"`` (cannot decide → not revoked)."""
        return self._on_error

    def _fetcher(self) -> HttpFetcher:
        if self._http is None:
            from ._http import HttpFetcher  # the HTTP layer is imported on the first check

            self._http = HttpFetcher(self._fetch)
        return self._http

    # -- the protocol ------------------------------------------------------------------------
    def is_revoked(self, claims: Claims, token: str | None = None) -> bool:
        """Whether the issuer no longer accepts *token* (whose verified claims are *claims*).

        Raises:
            RevocationUnavailableError: The issuer could not be asked or gave no usable answer,
                and ``on_error="closed"`` (the default).
            ConfigurationError: *token* is missing, or the check cannot apply to it.
        """
        result: bool = run_plan(self._plan(claims, token), self._run)
        return result

    async def is_revoked_async(self, claims: Claims, token: str | None = None) -> bool:
        """Like :meth:`is_revoked`, without blocking the event loop (the same plan)."""
        result: bool = await run_plan_async(self._plan(claims, token), self._run_async)
        return result

    def _run(self, step: _Step) -> Any:
        if isinstance(step, _Sign):
            return step.signer.form_fields(step.audience)
        http = self._fetcher()
        if step.document is not None:
            return http.post_json(step.url, step.document, headers=step.headers)
        assert step.form is not None  # noqa: S101 - a _Post carries one body
        return http.post_form(step.url, step.form, headers=step.headers)

    async def _run_async(self, step: _Step) -> Any:
        if isinstance(step, _Sign):
            return await step.signer.form_fields_async(step.audience)
        http = self._fetcher()
        if step.document is not None:
            return await http.post_json_async(step.url, step.document, headers=step.headers)
        assert step.form is not None  # noqa: S101 - a _Post carries one body
        return await http.post_form_async(step.url, step.form, headers=step.headers)

    # -- the plan ------------------------------------------------------------------------------
    def _plan(self, claims: Claims, token: str | None) -> _Plan:
        if not isinstance(token, str) or not token:
            raise ConfigurationError(
                f"{type(self).__name__} needs the token itself: call is_revoked(claims, token)"
            )
        if not self._applies(claims):
            return False
        key = hashlib.blake2b(token.encode("utf-8", "replace"), digest_size=16).digest()
        now = self._clock()
        cached = self._cache.get(key, now)
        if cached is not None:
            return cached
        if not self._breaker.allow(now):
            return self._undecided("the circuit breaker is open after repeated failures")
        try:
            verdict = yield from self._ask(claims, token)
        except ConfigurationError:
            raise
        except JwtError as exc:
            verdict = str(exc)
        if isinstance(verdict, str):
            self._breaker.failed(self._clock())
            return self._undecided(verdict)
        if self._breaker.succeeded() and self._outage_logged:
            self._outage_logged = False
            logger.warning("%s: the issuer answers again", self._what)
        self._cache.put(key, self._clock(), revoked=verdict)
        return verdict

    def _undecided(self, reason: str) -> bool:
        if self._on_error == "closed":
            raise _cannot_decide(f"{self._what} cannot decide: {reason}")
        if not self._outage_logged:  # once per outage: an outage must not flood the logs
            self._outage_logged = True
            logger.warning(
                "%s cannot decide (%s): tokens count as not revoked until it recovers "
                "(on_error='open')",
                self._what,
                reason,
            )
        return False

    def _applies(self, claims: Claims) -> bool:
        """Whether this check asks about tokens with these claims (others are not revoked)."""
        return True

    def _ask(self, claims: Claims, token: str) -> Generator[_Step, Any, bool | str]:
        """Yield the steps that ask the issuer; return revoked, or why it cannot decide."""
        raise NotImplementedError  # pragma: no cover


def _answer_type(posted: Posted) -> str | None:
    """The AWS JSON error type (``__type``, without its namespace), or ``None``."""
    try:
        body = loads_object(posted.body)
    except (JwtError, ValueError):
        return None
    value = body.get("__type")
    if not isinstance(value, str) or len(value) > 200:
        return None
    name = value.rsplit("#", 1)[-1]
    return name if re.fullmatch(r"[A-Za-z]{1,100}", name) else None


def _is_get_user_answer(posted: Posted) -> bool:
    try:
        return isinstance(loads_object(posted.body).get("Username"), str)
    except ValueError:
        return False


def _region_of(issuer: object) -> str | None:
    if not isinstance(issuer, str):
        return None
    match = _COGNITO_HOST.match(urlsplit(issuer).hostname or "")
    return match["region"] if match else None


# --- Cognito GetUser ------------------------------------------------------------------------------
class CognitoRevocationCheck(_OnlineCheck):
    """Asks Cognito (``GetUser``) whether an access token is still accepted.

    Cognito refuses an access token after ``RevokeToken`` (of the refresh token it came from),
    ``GlobalSignOut`` or ``AdminUserGlobalSignOut``; a JWT check alone cannot know. One HTTPS
    call per token and ``cache_ttl``; no AWS credentials are needed (the token authenticates).

    Answers: HTTP 200 with the user's record → not revoked; a refusal
    (``NotAuthorizedException`` such as "Access Token has been revoked", a deleted, disabled or
    reset user) → revoked; throttling, server errors, network failures and unexpected answers
    (a 200 without a user) → cannot decide: with ``on_error="closed"``
    (the default) the check raises :class:`RevocationUnavailableError`, with ``on_error="open"`` the
    token counts as not revoked (a warning is logged once per outage).

    Only access tokens (``token_use == "access"``) are checked: ``GetUser`` does not take ID
    tokens, so any other token is answered "not revoked" without a call. To cover ID tokens,
    use a deny-list.

    Args:
        region: The Region to call. ``None`` (default): the Region in the token's ``iss``
            (either issuer format; the updated format names the pool's primary Region).
        endpoint_url: Call this URL instead of ``https://cognito-idp.{region}.amazonaws.com/``
            (an emulator such as MiniStack, or a VPC endpoint). https, or http to loopback.
        cache_ttl: Seconds an answer is kept (default 60; 0: no cache). A token revoked
            meanwhile keeps passing for at most this long.
        cache_size: Most answers kept (default 10000, least recently used dropped first;
            about 200 bytes each).
        failure_threshold: Consecutive failures that open the circuit breaker (default 5):
            then no call is made for *cool_off* seconds, every check answering per *on_error*,
            after which one call probes.
        cool_off: Seconds the breaker stays open (default 30).
        on_error: ``"closed"`` (default) or ``"open"``, see above.
        fetch: HTTP settings (timeouts, size cap, your own httpx clients).
        clock: Monotonic seconds, for the cache and the breaker (injected by tests).

    Raises:
        ConfigurationError: A bad Region, URL or option.
    """

    _what = "Cognito revocation check (GetUser)"

    def __init__(
        self,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        cache_ttl: float = 60.0,
        cache_size: int = 10_000,
        failure_threshold: int = 5,
        cool_off: float = 30.0,
        on_error: OnError = "closed",
        fetch: FetchOptions | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            cache_ttl=cache_ttl,
            cache_size=cache_size,
            failure_threshold=failure_threshold,
            cool_off=cool_off,
            on_error=on_error,
            fetch=fetch,
            clock=clock,
        )
        if region is not None and not (isinstance(region, str) and _REGION.fullmatch(region)):
            raise ConfigurationError(f"region {region!r} is not an AWS Region name")
        if endpoint_url is not None:
            check_url(
                endpoint_url,
                allow_insecure_http=self._fetch.allow_insecure_http,
                what="endpoint_url",
            )
        self._region = region
        self._endpoint_url = endpoint_url

    def __repr__(self) -> str:
        where = self._endpoint_url or self._region or "the token's Region"
        return f"{type(self).__name__}({where!r}, on_error={self._on_error!r})"

    def _applies(self, claims: Claims) -> bool:
        return claims.get("token_use") == "access"

    def _url(self, claims: Claims) -> str:
        if self._endpoint_url is not None:
            return self._endpoint_url
        region = self._region or _region_of(claims.get("iss"))
        if region is None:
            raise ConfigurationError(
                "CognitoRevocationCheck: the token's iss is not a Cognito issuer; give region="
            )
        from ._cognito import _partition_suffix

        return f"https://cognito-idp.{region}.{_partition_suffix(region)}/"

    def _ask(self, claims: Claims, token: str) -> Generator[_Step, Any, bool | str]:
        url = self._url(claims)
        posted: Posted = yield _Post(
            url,
            document={"AccessToken": token},
            headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": _GET_USER},
        )
        if posted.status == 200:
            # Only Cognito's own answer counts: a proxy or portal that answers 200 to anything
            # must not pass every token.
            return False if _is_get_user_answer(posted) else "GetUser answered 200 without a user"
        error = _answer_type(posted)
        if 400 <= posted.status < 500 and error in _COGNITO_REVOKED:
            logger.debug("%s: %s (HTTP %d)", self._what, error, posted.status)
            return True
        return f"GetUser answered HTTP {posted.status} {error or '(no error type)'}"


# --- RFC 7662 introspection -----------------------------------------------------------------------
def _basic_auth(client_id: str, secret: str) -> str:
    """``client_secret_basic`` (RFC 6749 §2.3.1: both parts form-urlencoded first)."""
    pair = f"{quote(client_id, safe='')}:{quote(secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode()).decode("ascii")


class IntrospectionCheck(_OnlineCheck):
    """Asks an OAuth server's token introspection endpoint (RFC 7662) whether a token is active.

    Posts ``token=...&token_type_hint=access_token``, authenticating the client with
    ``private_key_jwt`` (a fresh assertion from *assertion_signer* per call) or
    ``client_secret_basic`` (*client_secret*). ``{"active": true}`` → not revoked;
    ``{"active": false}`` → revoked; anything else (an error status, a refused client, a server
    that cannot introspect this kind of token, a network failure) → cannot decide, answered per
    *on_error*. Caching, breaker and fail modes are :class:`CognitoRevocationCheck`'s.

    Args:
        endpoint: The introspection endpoint (the ``introspection_endpoint`` of the server's
            metadata). https, or http to loopback.
        client_id: The client that introspects (the signer's, with *assertion_signer*).
        assertion_signer: Authenticate with ``private_key_jwt``.
        client_secret: Authenticate with ``client_secret_basic``. Give exactly one of the two.
        assertion_audience: The assertions' ``aud`` (default: *endpoint*; some servers want
            their issuer identifier).
        token_type_hint: Sent with each request (default ``"access_token"``; ``None``: none).
        cache_ttl: As :class:`CognitoRevocationCheck`.
        cache_size: As :class:`CognitoRevocationCheck`.
        failure_threshold: As :class:`CognitoRevocationCheck`.
        cool_off: As :class:`CognitoRevocationCheck`.
        on_error: As :class:`CognitoRevocationCheck`.
        fetch: As :class:`CognitoRevocationCheck`.
        clock: As :class:`CognitoRevocationCheck`.

    Raises:
        ConfigurationError: A bad URL, not exactly one client authentication, a signer for
            another client, or a bad option.
    """

    _what = "token introspection"

    def __init__(
        self,
        endpoint: str,
        client_id: str,
        *,
        assertion_signer: ClientAssertionSigner | None = None,
        client_secret: str | None = None,
        assertion_audience: str | Sequence[str] | None = None,
        token_type_hint: str | None = "access_token",  # noqa: S107 - a token type, not a secret
        cache_ttl: float = 60.0,
        cache_size: int = 10_000,
        failure_threshold: int = 5,
        cool_off: float = 30.0,
        on_error: OnError = "closed",
        fetch: FetchOptions | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            cache_ttl=cache_ttl,
            cache_size=cache_size,
            failure_threshold=failure_threshold,
            cool_off=cool_off,
            on_error=on_error,
            fetch=fetch,
            clock=clock,
        )
        check_url(endpoint, allow_insecure_http=self._fetch.allow_insecure_http, what="endpoint")
        if not isinstance(client_id, str) or not client_id:
            raise ConfigurationError("client_id must be a non-empty string")
        if (assertion_signer is None) == (client_secret is None):
            raise ConfigurationError("give exactly one of assertion_signer= and client_secret=")
        if assertion_signer is not None:
            from ._client._assertion import ClientAssertionSigner, _audience

            if not isinstance(assertion_signer, ClientAssertionSigner):
                raise ConfigurationError("assertion_signer must be a ClientAssertionSigner")
            if assertion_signer.client_id != client_id:
                raise ConfigurationError("assertion_signer signs for another client_id")
            if assertion_audience is not None:
                _audience(assertion_audience, "assertion_audience")
        elif not isinstance(client_secret, str) or not client_secret:
            raise ConfigurationError("client_secret must be a non-empty string")
        if token_type_hint is not None and not isinstance(token_type_hint, str):
            raise ConfigurationError("token_type_hint must be a string or None")
        self._endpoint = endpoint
        self._client_id = client_id
        self._signer = assertion_signer
        self._headers = (
            {"Authorization": _basic_auth(client_id, client_secret)}
            if client_secret is not None
            else None
        )
        self._audience = assertion_audience if assertion_audience is not None else endpoint
        self._hint = token_type_hint

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self._endpoint!r}, client_id={self._client_id!r}, "
            f"on_error={self._on_error!r})"
        )

    def _ask(self, claims: Claims, token: str) -> Generator[_Step, Any, bool | str]:
        form: FormFields = {"token": token}
        if self._hint is not None:
            form["token_type_hint"] = self._hint
        if self._signer is not None:
            form["client_id"] = self._client_id
            form.update((yield _Sign(self._signer, self._audience)))
        posted: Posted = yield _Post(self._endpoint, form=form, headers=self._headers)
        if posted.status != 200:
            return f"the introspection endpoint answered HTTP {posted.status}"
        try:
            active = loads_object(posted.body).get("active")
        except (JwtError, ValueError):
            return "the introspection endpoint answered no JSON object"
        if not isinstance(active, bool):
            return "the introspection answer has no boolean 'active'"
        return not active
