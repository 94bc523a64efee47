"""A small OAuth 2.0 / OpenID Connect client that authenticates with ``private_key_jwt``.

* :func:`build_authorization_url` and :class:`PkcePair`: the front-channel leg (RFC 6749 §4.1.1,
  RFC 7636 PKCE with S256, OpenID Connect ``nonce``).
* :class:`TokenClient`: the back-channel leg, posting a fresh client assertion (RFC 7523 §2.2)
  with each ``client_credentials``, ``authorization_code`` or ``refresh_token`` request and
  turning the answer into a :class:`TokenResponse` or a typed :class:`OAuthError`.

Nothing here logs a code, an assertion, a verifier or a token. httpx is imported on the first
request, not before.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import threading
import time
import weakref
from collections.abc import Callable, Generator, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .._b64 import b64url_encode
from .._discovery import endpoint_from_metadata, metadata_from_document, metadata_plan
from .._errors import (
    ConfigurationError,
    DiscoveryError,
    InvalidClientError,
    InvalidGrantError,
    KeySetUnavailableError,
    OAuthError,
    TokenEndpointUnavailableError,
)
from .._json import loads_object
from .._options import FetchOptions
from .._plan import Step, run_plan, run_plan_async
from .._url_policy import check_url

if TYPE_CHECKING:
    import asyncio
    from dataclasses import dataclass, field

    from .._http import Fetched, FormFields, HttpFetcher, Posted
    from ._assertion import ClientAssertionSigner
else:
    from .._record import dataclass, field

__all__ = ["AuthorizationRequest", "PkcePair", "TokenClient", "TokenResponse"]

logger = logging.getLogger("cognito_jwt")

_RESERVED_FIELDS = frozenset(
    {"grant_type", "client_id", "client_assertion", "client_assertion_type", "client_secret"}
)
_RESERVED_PARAMS = frozenset(
    {
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
    }
)
# RFC 6749 §5.2: error is %x20-21 / %x23-5B / %x5D-7E; the description the same.
_ERROR_CODE = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]{1,100}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_ERROR_CLASSES: dict[str, type[OAuthError]] = {
    "invalid_client": InvalidClientError,
    "invalid_grant": InvalidGrantError,
}


def _random() -> str:
    return secrets.token_urlsafe(32)  # 256 bits


# --- Front channel --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class PkcePair:
    """A PKCE code verifier and its S256 challenge (RFC 7636 §4.1-4.2).

    Attributes:
        verifier: The secret sent with the token request (86 characters, 512 random bits).
        challenge: ``BASE64URL(SHA256(verifier))``, sent in the authorization URL.
        method: Always ``"S256"`` (``plain`` is not offered).
    """

    verifier: str = field(repr=False)
    challenge: str
    method: str = "S256"

    @classmethod
    def generate(cls) -> PkcePair:
        """Return a new random pair."""
        verifier = secrets.token_urlsafe(64)
        return cls(verifier, b64url_encode(hashlib.sha256(verifier.encode("ascii")).digest()))


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """An authorization URL and the values to keep (server side, per user) until the callback.

    Attributes:
        url: Where to send the user's browser.
        redirect_uri: The redirect URI in the URL; the code exchange must repeat it.
        state: Compare with the ``state`` of the callback (CSRF protection).
        nonce: Compare with the ``nonce`` claim of the ID token, or ``None`` if not sent.
        code_verifier: The PKCE verifier for the code exchange, or ``None`` without PKCE.
    """

    url: str = field(repr=False)
    redirect_uri: str
    state: str = field(repr=False)
    nonce: str | None = field(repr=False)
    code_verifier: str | None = field(repr=False)


def _scope(scope: str | Sequence[str] | None, what: str = "scope") -> str | None:
    if scope is None:
        return None
    if isinstance(scope, str):
        return scope
    if isinstance(scope, Sequence) and all(isinstance(s, str) and s for s in scope):
        return " ".join(scope)
    raise ConfigurationError(f"{what} must be a string or a list of strings")


def _extra(extra: Mapping[str, str] | None, reserved: frozenset[str], what: str) -> dict[str, str]:
    if extra is None:
        return {}
    if not isinstance(extra, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in extra.items()
    ):
        raise ConfigurationError(f"{what} must map strings to strings")
    clash = sorted(reserved.intersection(extra))
    if clash:
        raise ConfigurationError(f"{what} may not set {', '.join(clash)}")
    return dict(extra)


def build_authorization_url(
    authorization_endpoint: str,
    *,
    client_id: str,
    redirect_uri: str,
    scope: str | Sequence[str] | None = "openid",
    state: str | None = None,
    nonce: str | bool = True,
    pkce: bool = True,
    response_type: str = "code",
    extra_params: Mapping[str, str] | None = None,
    allow_insecure_http: bool = False,
) -> AuthorizationRequest:
    """Build the URL that starts an authorization code flow.

    Args:
        authorization_endpoint: The provider's authorization endpoint (https).
        client_id: The OAuth client id.
        redirect_uri: A redirect URI registered for the client.
        scope: Space-separated string or list; default ``"openid"``.
        state: Default: 256 random bits. A value of your own needs at least 16 characters.
        nonce: ``True`` (default): 256 random bits; a string (16 characters or more): that
            value; ``False``: none.
        pkce: Add an S256 PKCE challenge (default); its verifier is in the result.
        response_type: Default ``"code"``.
        extra_params: More parameters, e.g. Login.gov's ``acr_values`` or ``prompt``; may not
            replace the ones above.
        allow_insecure_http: Accept a plain-http endpoint on a host that is not loopback.

    Raises:
        ConfigurationError: A refused endpoint URL, an empty client id or redirect URI, or an
            extra parameter that replaces a reserved one.
    """
    check_url(
        authorization_endpoint,
        allow_insecure_http=allow_insecure_http,
        what="authorization_endpoint",
    )
    for name, value in (("client_id", client_id), ("redirect_uri", redirect_uri)):
        if not isinstance(value, str) or not value:
            raise ConfigurationError(f"{name} must be a non-empty string")
    params = {"response_type": response_type, "client_id": client_id, "redirect_uri": redirect_uri}
    scope_text = _scope(scope)
    if scope_text:
        params["scope"] = scope_text
    state = _random() if state is None else state
    # An empty or guessable state would quietly switch off the CSRF protection it exists for.
    if not isinstance(state, str) or len(state) < 16:
        raise ConfigurationError("state must be a string of at least 16 characters")
    if nonce is not True and nonce is not False and (not isinstance(nonce, str) or len(nonce) < 16):
        raise ConfigurationError("nonce must be True, False or a string of at least 16 characters")
    params["state"] = state
    nonce_value = _random() if nonce is True else (nonce or None)
    if nonce_value is not None:
        params["nonce"] = nonce_value
    pair = PkcePair.generate() if pkce else None
    if pair is not None:
        params["code_challenge"] = pair.challenge
        params["code_challenge_method"] = pair.method
    params.update(_extra(extra_params, _RESERVED_PARAMS, "extra_params"))
    parts = urlsplit(authorization_endpoint)
    # Keep a query the endpoint already has (e.g. an Azure AD B2C policy), ours appended.
    query = urlencode([*parse_qsl(parts.query, keep_blank_values=True), *params.items()])
    url = urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
    return AuthorizationRequest(
        url, redirect_uri, state, nonce_value, pair.verifier if pair is not None else None
    )


# --- Back channel ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class TokenResponse:
    """A successful token response (RFC 6749 §5.1, OpenID Connect Core §3.1.3.3).

    The tokens are kept out of ``repr()``. Verify an ``id_token`` (and an access token you
    intend to trust) with a verifier before acting on its claims.

    Attributes:
        access_token: The access token.
        token_type: ``"Bearer"`` usually (compare case-insensitively).
        expires_in: Lifetime in seconds, if the server said.
        refresh_token: A refresh token, if one was issued.
        id_token: An OpenID Connect ID token, if one was issued.
        scope: The granted scope, if the server said (else: what was asked for).
        received_at: Unix time the response arrived (from the client's clock).
        raw: The whole JSON response.
    """

    access_token: str = field(repr=False)
    token_type: str
    expires_in: int | None
    refresh_token: str | None = field(repr=False)
    id_token: str | None = field(repr=False)
    scope: str | None
    received_at: float
    raw: Mapping[str, Any] = field(repr=False)

    @property
    def expires_at(self) -> float | None:
        """Unix time the access token expires, if ``expires_in`` was given."""
        return None if self.expires_in is None else self.received_at + self.expires_in

    @property
    def scopes(self) -> frozenset[str]:
        """The granted scope as a set."""
        return frozenset((self.scope or "").split())


def _clean(value: object, limit: int = 300) -> str | None:
    if not isinstance(value, str):
        return None
    return _CONTROL.sub("?", value)[:limit]


def _oauth_error(posted: Posted, grant_type: str) -> OAuthError:
    """Turn a non-200 answer into the right :class:`OAuthError`."""
    try:
        body: dict[str, Any] | None = loads_object(posted.body)
    except ValueError:
        body = None
    code = body.get("error") if body is not None else None
    if not isinstance(code, str) or not _ERROR_CODE.fullmatch(code):
        return TokenEndpointUnavailableError(
            f"POST {posted.url} ({grant_type}) answered HTTP {posted.status} without an OAuth "
            "error response",
            status_code=posted.status,
        )
    assert body is not None  # noqa: S101 - code came from it
    description = _clean(body.get("error_description"))
    cls = _ERROR_CLASSES.get(code, OAuthError)
    if code in ("server_error", "temporarily_unavailable"):
        cls = TokenEndpointUnavailableError
    message = f"token endpoint refused the {grant_type} request: {code}"
    if description:
        message += f" ({description})"
    return cls(
        message,
        error=code,
        error_description=description,
        error_uri=_clean(body.get("error_uri"), 500),
        status_code=posted.status,
    )


def _expires_in(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("expires_in is not a number")
    # isascii(): str.isdigit() is also true for "³" and other digits int() refuses.
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 12:
        value = int(value)  # some servers send a string
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or not 0 <= value <= 10**10:
        raise ValueError("expires_in is not a non-negative number of seconds")
    return value


def _token_response(
    posted: Posted, grant_type: str, received_at: float, requested_scope: str | None
) -> TokenResponse:
    if posted.status != 200:
        raise _oauth_error(posted, grant_type)
    try:
        body = loads_object(posted.body)
        access_token = body.get("access_token")
        token_type = body.get("token_type")
        if not isinstance(access_token, str) or not access_token:
            raise ValueError("no access_token")
        if not isinstance(token_type, str) or not token_type:
            raise ValueError("no token_type")
        expires_in = _expires_in(body.get("expires_in"))
        optional = {}
        for name in ("refresh_token", "id_token", "scope"):
            value = body.get(name)
            if value is not None and not isinstance(value, str):
                raise ValueError(f"{name} is not a string")
            optional[name] = value
    except ValueError as exc:
        raise TokenEndpointUnavailableError(
            f"POST {posted.url} ({grant_type}): unusable token response: {exc}",
            status_code=posted.status,
        ) from None
    return TokenResponse(
        access_token=access_token,
        token_type=token_type,
        expires_in=expires_in,
        refresh_token=optional["refresh_token"],
        id_token=optional["id_token"],
        scope=optional["scope"] if optional["scope"] is not None else requested_scope,
        received_at=received_at,
        raw=body,
    )


@dataclass(frozen=True, slots=True)
class _Request:
    """One token request, before the client assertion is added."""

    grant_type: str
    fields: FormFields
    scope: str | None


class TokenClient:
    """Gets tokens from a token endpoint, authenticating with ``private_key_jwt``.

    Every request carries a new client assertion from *signer* (fresh ``jti``, short ``exp``).
    Endpoints come from the issuer's discovery document (fetched once, then kept) unless given.
    Thread-safe; the sync and async methods may be mixed.

    Args:
        signer: Signs the client assertions; its ``client_id`` is the client's.
        issuer: The provider's issuer identifier, for discovery (OpenID Connect, then RFC 8414).
            The document must name exactly this issuer.
        token_endpoint: The token endpoint, if you don't want discovery (or as an override).
        authorization_endpoint: The authorization endpoint, likewise.
        assertion_audience: The assertions' ``aud``: ``"token_endpoint"`` (default; what
            Login.gov and most providers expect), ``"issuer"``, or an explicit string or list.
        fetch: HTTP settings (timeouts, size cap, your own httpx clients). Token requests are
            retried only when the connection could not be made, and never follow redirects.
        clock: Returns the current Unix time (for ``received_at``).

    Raises:
        ConfigurationError: Neither *issuer* nor *token_endpoint*, a URL refused by the URL
            policy (https, or http to loopback), a bad *assertion_audience*, or a *fetch* that
            is not a :class:`FetchOptions`.
    """

    def __init__(
        self,
        signer: ClientAssertionSigner,
        *,
        issuer: str | None = None,
        token_endpoint: str | None = None,
        authorization_endpoint: str | None = None,
        assertion_audience: str | Sequence[str] = "token_endpoint",
        fetch: FetchOptions | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        from ._assertion import ClientAssertionSigner

        if not isinstance(signer, ClientAssertionSigner):
            raise ConfigurationError("signer must be a ClientAssertionSigner")
        if issuer is None and token_endpoint is None:
            raise ConfigurationError("give issuer= (for discovery) or token_endpoint=")
        if fetch is not None and not isinstance(fetch, FetchOptions):
            raise ConfigurationError("fetch must be a FetchOptions")
        self._fetch = fetch if fetch is not None else FetchOptions()
        insecure = self._fetch.allow_insecure_http
        if issuer is not None:
            check_url(issuer, allow_insecure_http=insecure, what="issuer")
        for what, url in (
            ("token_endpoint", token_endpoint),
            ("authorization_endpoint", authorization_endpoint),
        ):
            if url is not None:
                check_url(url, allow_insecure_http=insecure, what=what)
        if assertion_audience == "issuer" and issuer is None:
            raise ConfigurationError("assertion_audience='issuer' needs issuer=")
        if assertion_audience not in ("token_endpoint", "issuer"):
            from ._assertion import _audience

            _audience(assertion_audience, "assertion_audience")
        self._signer = signer
        self._issuer = issuer
        self._endpoints = {
            "token_endpoint": token_endpoint,
            "authorization_endpoint": authorization_endpoint,
        }
        self._assertion_audience = assertion_audience
        self._clock = clock
        self._metadata: dict[str, Any] | None = None
        self._lock = threading.Lock()
        self._discovery_lock = threading.Lock()
        self._async_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self._http: HttpFetcher | None = None

    def __repr__(self) -> str:
        where = self._issuer or self._endpoints["token_endpoint"]
        return f"{type(self).__name__}(client_id={self._signer.client_id!r}, {where!r})"

    @property
    def client_id(self) -> str:
        """The client id (the signer's)."""
        return self._signer.client_id

    @property
    def metadata(self) -> Mapping[str, Any] | None:
        """The discovery document, once fetched; ``None`` before (or without discovery)."""
        return self._metadata

    # -- discovery ----------------------------------------------------------------------------
    def _fetcher(self) -> HttpFetcher:
        if self._http is None:
            from .._http import HttpFetcher  # the HTTP layer is imported on the first request

            self._http = HttpFetcher(self._fetch)
        return self._http

    def _needs_discovery(self, name: str) -> bool:
        return self._endpoints[name] is None and self._metadata is None

    def _accept_metadata(self, body: bytes, source: str) -> dict[str, Any]:
        assert self._issuer is not None  # noqa: S101 - only called with an issuer
        metadata = metadata_from_document(body, issuer=self._issuer, source=source)
        methods = metadata.get("token_endpoint_auth_methods_supported")
        if isinstance(methods, list) and "private_key_jwt" not in methods:
            logger.warning(
                "%s does not list private_key_jwt in token_endpoint_auth_methods_supported",
                source,
            )
        with self._lock:
            if self._metadata is None:
                self._metadata = metadata
            return self._metadata

    def discover(self) -> Mapping[str, Any]:
        """Fetch the issuer's metadata now (once; later calls return the kept document).

        Raises:
            ConfigurationError: The client was built without ``issuer``.
            DiscoveryError: The document can't be fetched, isn't JSON, or names another issuer.
        """
        if self._metadata is not None:
            return self._metadata
        if self._issuer is None:
            raise ConfigurationError("discovery needs issuer=")
        # Single flight: concurrent first requests wait for one fetch instead of each fetching.
        with self._discovery_lock:
            kept = self._kept()  # fetched by another thread while this one waited?
            return kept if kept is not None else self._discover_sync(self._issuer)

    def _discover_sync(self, issuer: str) -> Mapping[str, Any]:
        with self._fetcher().session() as get:
            return run_plan(self._discovery_plan(issuer), get)

    def _discovery_plan(self, issuer: str) -> Generator[str, Fetched, Mapping[str, Any]]:
        """Discovery written once: the RFC 8414 fallback's GETs, then the document's checks."""
        try:
            fetched: Fetched = yield from metadata_plan(issuer)
        except DiscoveryError:
            raise
        except KeySetUnavailableError as exc:
            raise DiscoveryError(f"discovery of {issuer} failed: {exc}") from None
        return self._accept_metadata(fetched.body, fetched.url)

    async def discover_async(self) -> Mapping[str, Any]:
        """Like :meth:`discover`, without blocking the event loop."""
        if self._metadata is not None:
            return self._metadata
        if self._issuer is None:
            raise ConfigurationError("discovery needs issuer=")
        async with self._async_discovery_lock():
            kept = self._kept()  # fetched by another task while this one waited?
            return kept if kept is not None else await self._discover_async(self._issuer)

    def _kept(self) -> Mapping[str, Any] | None:
        return self._metadata

    def _async_discovery_lock(self) -> asyncio.Lock:
        """One lock per event loop (an asyncio.Lock is bound to the loop that first waits)."""
        import asyncio

        loop = asyncio.get_running_loop()
        with self._lock:
            lock = self._async_locks.get(loop)
            if lock is None:
                lock = self._async_locks[loop] = asyncio.Lock()
            return lock

    async def _discover_async(self, issuer: str) -> Mapping[str, Any]:
        async with self._fetcher().session_async() as get:
            return await run_plan_async(self._discovery_plan(issuer), get)

    def _endpoint(self, name: str) -> str:
        given = self._endpoints[name]
        if given is not None:
            return given
        assert self._metadata is not None  # noqa: S101 - discovered before
        return endpoint_from_metadata(
            self._metadata,
            name,
            allow_insecure_http=self._fetch.allow_insecure_http,
            source=f"the metadata of {self._issuer}",
        )

    def token_endpoint(self) -> str:
        """The token endpoint URL (discovered on first use unless given).

        Raises:
            DiscoveryError: Discovery failed or the document has no acceptable endpoint.
        """
        if self._needs_discovery("token_endpoint"):
            self.discover()
        return self._endpoint("token_endpoint")

    async def token_endpoint_async(self) -> str:
        """Like :meth:`token_endpoint`, without blocking the event loop."""
        if self._needs_discovery("token_endpoint"):
            await self.discover_async()
        return self._endpoint("token_endpoint")

    # -- front channel ------------------------------------------------------------------------
    def authorization_url(self, redirect_uri: str, **options: Any) -> AuthorizationRequest:
        """Build the authorization URL for this client (see :func:`build_authorization_url`).

        *options* are ``scope``, ``state``, ``nonce``, ``pkce``, ``response_type`` and
        ``extra_params``, as there.

        Raises:
            DiscoveryError: The authorization endpoint could not be discovered.
            ConfigurationError: As :func:`build_authorization_url`.
        """
        if self._needs_discovery("authorization_endpoint"):
            self.discover()
        return self._build_url(redirect_uri, options)

    async def authorization_url_async(
        self, redirect_uri: str, **options: Any
    ) -> AuthorizationRequest:
        """Like :meth:`authorization_url`, discovering without blocking the event loop."""
        if self._needs_discovery("authorization_endpoint"):
            await self.discover_async()
        return self._build_url(redirect_uri, options)

    def _build_url(self, redirect_uri: str, options: dict[str, Any]) -> AuthorizationRequest:
        return build_authorization_url(
            self._endpoint("authorization_endpoint"),
            client_id=self.client_id,
            redirect_uri=redirect_uri,
            allow_insecure_http=self._fetch.allow_insecure_http,
            **options,
        )

    # -- requests ------------------------------------------------------------------------------
    def _audience(self, token_endpoint: str) -> str | Sequence[str]:
        if self._assertion_audience == "token_endpoint":
            return token_endpoint
        if self._assertion_audience == "issuer":
            assert self._issuer is not None  # noqa: S101 - checked in __init__
            return self._issuer
        return self._assertion_audience

    def _form(self, request: _Request, assertion: dict[str, str]) -> FormFields:
        form: FormFields = {"grant_type": request.grant_type, "client_id": self.client_id}
        form.update(request.fields)
        form.update(assertion)
        return form

    def _log(self, request: _Request, url: str, status: int | None) -> None:
        # Names only: never a value (codes, verifiers, tokens and assertions are secrets).
        logger.debug("token request %s to %s -> %s", request.grant_type, url, status or "no answer")

    def request(self, grant_type: str, fields: Mapping[str, str | Sequence[str]]) -> TokenResponse:
        """Send any token request (e.g. RFC 8693 token exchange) with a client assertion.

        Args:
            grant_type: The ``grant_type`` value.
            fields: The other form fields (a sequence value repeats the field); they may not
                set ``grant_type``, ``client_id`` or the assertion fields.

        Raises:
            InvalidClientError: The provider refused the client assertion.
            InvalidGrantError: The grant (code, refresh token ...) is invalid.
            OAuthError: Any other OAuth error response (``.error`` says which).
            TokenEndpointUnavailableError: Network failure, timeout, redirect, server error, or
                an answer that is not a token response.
            DiscoveryError: The token endpoint could not be discovered.
        """
        return self._send(_request(grant_type, fields, None))

    async def request_async(
        self, grant_type: str, fields: Mapping[str, str | Sequence[str]]
    ) -> TokenResponse:
        """Like :meth:`request`, without blocking the event loop."""
        return await self._send_async(_request(grant_type, fields, None))

    def _send(self, request: _Request) -> TokenResponse:
        return run_plan(self._send_plan(request), self._do)

    async def _send_async(self, request: _Request) -> TokenResponse:
        return await run_plan_async(self._send_plan(request), self._do_async)

    def _send_plan(self, request: _Request) -> Generator[Step, Any, TokenResponse]:
        """A token request written once: endpoint, assertion, POST, the answer read.

        Steps: ``endpoint`` (the token endpoint, discovered on first use), ``sign`` (the
        client assertion for an audience) and ``post`` (the form to the endpoint).
        """
        url: str = yield Step("endpoint")
        assertion: dict[str, str] = yield Step("sign", self._audience(url))
        try:
            posted: Posted = yield Step("post", (url, self._form(request, assertion)))
        except TokenEndpointUnavailableError:
            self._log(request, url, None)
            raise
        self._log(request, url, posted.status)
        return _token_response(posted, request.grant_type, self._clock(), request.scope)

    def _do(self, step: Step) -> Any:
        """The sync face of a step of :meth:`_send_plan`."""
        if step.kind == "endpoint":
            return self.token_endpoint()
        if step.kind == "sign":
            return self._signer.form_fields(step.arg)
        return self._fetcher().post_form(*step.arg)

    async def _do_async(self, step: Step) -> Any:
        """The async face of a step of :meth:`_send_plan`."""
        if step.kind == "endpoint":
            return await self.token_endpoint_async()
        if step.kind == "sign":
            return await self._signer.form_fields_async(step.arg)
        return await self._fetcher().post_form_async(*step.arg)

    def client_credentials(
        self,
        *,
        scope: str | Sequence[str] | None = None,
        resource: str | Sequence[str] | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> TokenResponse:
        """Get a token for the client itself (RFC 6749 §4.4).

        Args:
            scope: Space-separated string or list.
            resource: RFC 8707 resource indicator(s): the API the token is for.
            extra: More form fields (e.g. ``audience`` for some providers).

        Raises:
            OAuthError: As :meth:`request` (``InvalidClientError`` for a refused assertion).
        """
        return self._send(_client_credentials(scope, resource, extra))

    async def client_credentials_async(
        self,
        *,
        scope: str | Sequence[str] | None = None,
        resource: str | Sequence[str] | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> TokenResponse:
        """Like :meth:`client_credentials`, without blocking the event loop."""
        return await self._send_async(_client_credentials(scope, resource, extra))

    def authorization_code(
        self,
        code: str,
        *,
        redirect_uri: str,
        code_verifier: str | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> TokenResponse:
        """Exchange an authorization code (RFC 6749 §4.1.3) for tokens.

        Args:
            code: The ``code`` from the callback (check its ``state`` first).
            redirect_uri: The redirect URI used in the authorization URL.
            code_verifier: The PKCE verifier (``AuthorizationRequest.code_verifier``).
            extra: More form fields.

        Raises:
            InvalidGrantError: The code is invalid, expired, used, or the redirect URI or PKCE
                verifier doesn't match.
            OAuthError: As :meth:`request`.
        """
        return self._send(_authorization_code(code, redirect_uri, code_verifier, extra))

    async def authorization_code_async(
        self,
        code: str,
        *,
        redirect_uri: str,
        code_verifier: str | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> TokenResponse:
        """Like :meth:`authorization_code`, without blocking the event loop."""
        return await self._send_async(_authorization_code(code, redirect_uri, code_verifier, extra))

    def refresh_token(
        self,
        refresh_token: str,
        *,
        scope: str | Sequence[str] | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> TokenResponse:
        """Use a refresh token (RFC 6749 §6); *scope* may only narrow the original grant.

        Raises:
            InvalidGrantError: The refresh token is invalid, expired or revoked.
            OAuthError: As :meth:`request`.
        """
        return self._send(_refresh(refresh_token, scope, extra))

    async def refresh_token_async(
        self,
        refresh_token: str,
        *,
        scope: str | Sequence[str] | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> TokenResponse:
        """Like :meth:`refresh_token`, without blocking the event loop."""
        return await self._send_async(_refresh(refresh_token, scope, extra))


def _values(name: str, value: str | Sequence[str]) -> str | list[str]:
    if isinstance(value, str):
        return value
    if isinstance(value, Sequence) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise ConfigurationError(f"{name} must be a string or a non-empty list of strings")


def _request(
    grant_type: str, fields: Mapping[str, str | Sequence[str]], scope: str | None
) -> _Request:
    if not isinstance(grant_type, str) or not grant_type:
        raise ConfigurationError("grant_type must be a non-empty string")
    if not isinstance(fields, Mapping):
        raise ConfigurationError("fields must be a mapping")
    clash = sorted(_RESERVED_FIELDS.intersection(fields))
    if clash:
        raise ConfigurationError(f"fields may not set {', '.join(clash)}")
    form: FormFields = {}
    for name, value in fields.items():
        if not isinstance(name, str):
            raise ConfigurationError("field names must be strings")
        form[name] = _values(name, value)
    scope_value = form.get("scope")
    return _Request(grant_type, form, scope_value if isinstance(scope_value, str) else scope)


def _client_credentials(
    scope: str | Sequence[str] | None,
    resource: str | Sequence[str] | None,
    extra: Mapping[str, str] | None,
) -> _Request:
    fields: dict[str, str | Sequence[str]] = dict(_extra(extra, _RESERVED_FIELDS, "extra"))
    scope_text = _scope(scope)
    if scope_text:
        fields["scope"] = scope_text
    if resource is not None:
        fields["resource"] = _values("resource", resource)
    return _request("client_credentials", fields, scope_text)


def _authorization_code(
    code: str, redirect_uri: str, code_verifier: str | None, extra: Mapping[str, str] | None
) -> _Request:
    for name, value in (("code", code), ("redirect_uri", redirect_uri)):
        if not isinstance(value, str) or not value:
            raise ConfigurationError(f"{name} must be a non-empty string")
    fields: dict[str, str | Sequence[str]] = dict(_extra(extra, _RESERVED_FIELDS, "extra"))
    fields.update({"code": code, "redirect_uri": redirect_uri})
    if code_verifier is not None:
        if not isinstance(code_verifier, str) or not 43 <= len(code_verifier) <= 128:
            raise ConfigurationError("code_verifier must be 43 to 128 characters (RFC 7636)")
        fields["code_verifier"] = code_verifier
    return _request("authorization_code", fields, None)


def _refresh(
    refresh_token: str, scope: str | Sequence[str] | None, extra: Mapping[str, str] | None
) -> _Request:
    if not isinstance(refresh_token, str) or not refresh_token:
        raise ConfigurationError("refresh_token must be a non-empty string")
    fields: dict[str, str | Sequence[str]] = dict(_extra(extra, _RESERVED_FIELDS, "extra"))
    fields["refresh_token"] = refresh_token
    scope_text = _scope(scope)
    if scope_text:
        fields["scope"] = scope_text
    return _request("refresh_token", fields, scope_text)
