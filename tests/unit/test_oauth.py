"""TokenClient, build_authorization_url and PkcePair, against a token endpoint on MockTransport.

Each request case runs through the sync and the async face (``mode``). No server, no network:
the provider is a :class:`tests.fake_issuer.FakeIssuer` with a token endpoint added.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import httpx
import pytest

from cognito_jwt import (
    ClientAssertionSigner,
    ConfigurationError,
    DiscoveryError,
    FetchOptions,
    InvalidClientError,
    InvalidGrantError,
    JwtError,
    JwtVerifier,
    OAuthError,
    TokenClient,
    TokenEndpointUnavailableError,
)
from cognito_jwt._b64 import b64url_decode, b64url_encode
from cognito_jwt._client._assertion import CLIENT_ASSERTION_TYPE
from cognito_jwt._client._oauth import (
    AuthorizationRequest,
    PkcePair,
    TokenResponse,
    build_authorization_url,
)
from tests.fake_issuer import FakeIssuer
from tests.helpers import FIXED_NOW, OIDC_ISSUER, all_keys

ISSUER = OIDC_ISSUER
TOKEN_PATH = "/oauth2/token"
TOKEN_URL = ISSUER + TOKEN_PATH
AUTHZ_URL = ISSUER + "/oauth2/authorize"
CLIENT = "urn:gov:gsa:openidconnect.profiles:sp:sso:agency:app"
REDIRECT = "https://app.example.com/callback"
ACCESS = "at-" + "A" * 40
REFRESH = "rt-" + "R" * 40
ID_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"
GOOD: dict[str, Any] = {
    "access_token": ACCESS,
    "token_type": "Bearer",
    "expires_in": 3600,
    "refresh_token": REFRESH,
    "id_token": ID_TOKEN,
    "scope": "openid orders:read",
}
UNRESERVED = re.compile(r"[A-Za-z0-9\-._~]+")
URLSAFE = re.compile(r"[A-Za-z0-9_-]+")


def clock() -> float:
    return float(FIXED_NOW)


def make_signer() -> ClientAssertionSigner:
    return ClientAssertionSigner(client_id=CLIENT, key=all_keys()["EdDSA"].private, clock=clock)


class Provider:
    """A FakeIssuer (discovery) plus a token endpoint whose answer the test sets."""

    def __init__(self, issuer: str = ISSUER) -> None:
        self.fake = FakeIssuer(issuer)
        origin = self.fake.origin
        self.token_url = origin + TOKEN_PATH
        self.fake.metadata.update(
            token_endpoint=self.token_url,
            authorization_endpoint=origin + "/oauth2/authorize",
            token_endpoint_auth_methods_supported=["client_secret_basic", "private_key_jwt"],
        )
        self.fake.extra[TOKEN_PATH] = self._token
        self.requests: list[httpx.Request] = []
        self.forms: list[dict[str, list[str]]] = []
        self.signer = make_signer()
        self.answer: Callable[[], httpx.Response] = lambda: httpx.Response(200, json=GOOD)

    def reply(self, status: int = 200, body: Any = None, **kwargs: Any) -> None:
        """Answer token requests with *status* and a JSON *body* (or ``content=``/``html=``)."""
        if body is not None:
            kwargs["json"] = body
        self.answer = lambda: httpx.Response(status, **kwargs)

    def _token(self, request: httpx.Request, _is_async: bool) -> httpx.Response:
        self.requests.append(request)
        self.forms.append(parse_qs(request.content.decode("ascii"), keep_blank_values=True))
        return self.answer()

    def client(self, **kwargs: Any) -> TokenClient:
        fetch = kwargs.pop("fetch", None) or self.fake.fetch_options()
        if "issuer" not in kwargs and "token_endpoint" not in kwargs:
            kwargs["token_endpoint"] = self.token_url
        kwargs.setdefault("clock", clock)
        return TokenClient(self.signer, fetch=fetch, **kwargs)

    @property
    def form(self) -> dict[str, list[str]]:
        assert self.forms, "no token request was made"
        return self.forms[-1]

    def assertion_claims(self, index: int = -1) -> dict[str, Any]:
        token = self.forms[index]["client_assertion"][0]
        return json.loads(b64url_decode(token.split(".")[1]))  # type: ignore[no-any-return]

    def token_posts(self) -> int:
        return self.fake.count(TOKEN_PATH)


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def provider() -> Provider:
    return Provider()


def call(client: TokenClient, mode: str, method: str, *args: Any, **kwargs: Any) -> Any:
    """Call *method* through the sync face, or its ``_async`` twin."""
    if mode == "sync":
        return getattr(client, method)(*args, **kwargs)
    return asyncio.run(getattr(client, method + "_async")(*args, **kwargs))


def failure(
    error: type[BaseException], client: TokenClient, mode: str, method: str, *a: Any, **kw: Any
) -> Any:
    with pytest.raises(error) as info:
        call(client, mode, method, *a, **kw)
    assert isinstance(info.value, JwtError)
    return info.value


def verify_assertion(provider: Provider, audience: str, index: int = -1) -> None:
    token = provider.forms[index]["client_assertion"][0]
    assert provider.signer.public_jwk is not None
    verifier = JwtVerifier(
        issuer=CLIENT, audience=audience, jwks={"keys": [provider.signer.public_jwk]}, clock=clock
    )
    verifier.verify(token)


# === Construction =================================================================================
def test_signer_must_be_a_client_assertion_signer() -> None:
    for signer in (None, "signer", make_signer().form_fields):
        with pytest.raises(ConfigurationError, match="signer"):
            TokenClient(signer, token_endpoint=TOKEN_URL)  # type: ignore[arg-type]


def test_issuer_or_token_endpoint_is_required() -> None:
    with pytest.raises(ConfigurationError, match="issuer"):
        TokenClient(make_signer())


@pytest.mark.parametrize(
    "options",
    [
        {"issuer": "http://login.example.com"},
        {"token_endpoint": "http://login.example.com/token"},
        {"token_endpoint": TOKEN_URL, "authorization_endpoint": "http://login.example.com/a"},
        {"token_endpoint": "ftp://login.example.com/token"},
        {"token_endpoint": "https://login.example.com/token#frag"},
        {"token_endpoint": "not a url"},
        {"token_endpoint": ""},
        {"issuer": 5},
    ],
)
def test_refused_urls(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        TokenClient(make_signer(), **options)


def test_plain_http_is_fine_for_loopback_or_with_the_opt_in() -> None:
    TokenClient(make_signer(), token_endpoint="http://127.0.0.1:8080/token")
    TokenClient(make_signer(), issuer="http://localhost:8080")
    TokenClient(
        make_signer(),
        token_endpoint="http://idp.internal/token",
        fetch=FetchOptions(allow_insecure_http=True),
    )


@pytest.mark.parametrize("audience", ["", [], [""], ["ok", 5], 5, None, b"aud"])
def test_bad_assertion_audience(audience: Any) -> None:
    with pytest.raises(ConfigurationError):
        TokenClient(make_signer(), token_endpoint=TOKEN_URL, assertion_audience=audience)


def test_assertion_audience_issuer_needs_an_issuer() -> None:
    with pytest.raises(ConfigurationError, match="issuer"):
        TokenClient(make_signer(), token_endpoint=TOKEN_URL, assertion_audience="issuer")


@pytest.mark.parametrize("fetch", [{}, {"timeout": 1}, "fast", 5])
def test_fetch_must_be_fetch_options(fetch: Any) -> None:
    with pytest.raises(ConfigurationError, match="fetch"):
        TokenClient(make_signer(), token_endpoint=TOKEN_URL, fetch=fetch)


def test_repr_and_client_id() -> None:
    client = TokenClient(make_signer(), issuer=ISSUER)
    assert client.client_id == CLIENT
    assert repr(client) == f"TokenClient(client_id={CLIENT!r}, {ISSUER!r})"
    assert client.metadata is None


# === The form that is posted ======================================================================
def test_client_credentials_posts_the_assertion(provider: Provider, mode: str) -> None:
    call(provider.client(), mode, "client_credentials")
    form = provider.form
    assert form == {
        "grant_type": ["client_credentials"],
        "client_id": [CLIENT],
        "client_assertion_type": [CLIENT_ASSERTION_TYPE],
        "client_assertion": form["client_assertion"],
    }
    assert len(form["client_assertion"]) == 1
    claims = provider.assertion_claims()
    assert claims["iss"] == claims["sub"] == CLIENT
    assert claims["aud"] == TOKEN_URL
    verify_assertion(provider, TOKEN_URL)
    (request,) = provider.requests
    assert request.method == "POST"
    assert request.url == TOKEN_URL
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.headers["accept"] == "application/json"
    assert "authorization" not in request.headers


def test_each_request_has_a_fresh_assertion(provider: Provider, mode: str) -> None:
    client = provider.client()
    for _ in range(3):
        call(client, mode, "client_credentials")
    jtis = {provider.assertion_claims(i)["jti"] for i in range(3)}
    assert len(jtis) == 3


def test_assertion_audience_issuer(provider: Provider, mode: str) -> None:
    client = provider.client(issuer=ISSUER, assertion_audience="issuer")
    call(client, mode, "client_credentials")
    assert provider.assertion_claims()["aud"] == ISSUER
    verify_assertion(provider, ISSUER)


@pytest.mark.parametrize("audience", ["https://idp.example.com", [TOKEN_URL, ISSUER]])
def test_assertion_audience_explicit(
    provider: Provider, mode: str, audience: str | list[str]
) -> None:
    call(provider.client(assertion_audience=audience), mode, "client_credentials")
    assert provider.assertion_claims()["aud"] == audience


def test_client_credentials_scope_resource_and_extra(provider: Provider, mode: str) -> None:
    call(
        provider.client(),
        mode,
        "client_credentials",
        scope=["orders:read", "orders:write"],
        resource=["https://api.example.com/a", "https://api.example.com/b"],
        extra={"audience": "api://orders"},
    )
    form = provider.form
    assert form["scope"] == ["orders:read orders:write"]
    assert form["resource"] == ["https://api.example.com/a", "https://api.example.com/b"]
    assert form["audience"] == ["api://orders"]
    assert form["grant_type"] == ["client_credentials"]


def test_client_credentials_scope_and_resource_as_strings(provider: Provider, mode: str) -> None:
    call(provider.client(), mode, "client_credentials", scope="a b", resource="https://api/x")
    assert provider.form["scope"] == ["a b"]
    assert provider.form["resource"] == ["https://api/x"]


def test_empty_scope_is_left_out(provider: Provider, mode: str) -> None:
    call(provider.client(), mode, "client_credentials", scope=[])
    assert "scope" not in provider.form
    call(provider.client(), mode, "client_credentials", scope="")
    assert "scope" not in provider.form


@pytest.mark.parametrize(
    "options",
    [
        {"scope": ["ok", ""]},
        {"scope": [5]},
        {"scope": 5},
        {"resource": []},
        {"resource": [5]},
        {"resource": 5},
        {"extra": {"x": 5}},
        {"extra": [("a", "b")]},
        {"extra": {5: "x"}},
    ],
)
def test_client_credentials_bad_arguments(provider: Provider, mode: str, options: Any) -> None:
    failure(ConfigurationError, provider.client(), mode, "client_credentials", **options)
    assert provider.token_posts() == 0


@pytest.mark.parametrize(
    "name",
    ["grant_type", "client_id", "client_assertion", "client_assertion_type", "client_secret"],
)
def test_reserved_extra_fields_are_refused(provider: Provider, mode: str, name: str) -> None:
    client = provider.client()
    exc = failure(ConfigurationError, client, mode, "client_credentials", extra={name: "x"})
    assert name in str(exc)
    failure(
        ConfigurationError, client, mode, "authorization_code", "c", redirect_uri=REDIRECT,
        extra={name: "x"},
    )  # fmt: skip
    failure(ConfigurationError, client, mode, "refresh_token", "r", extra={name: "x"})
    failure(ConfigurationError, client, mode, "request", "urn:x", {name: "x"})
    assert provider.token_posts() == 0


def test_authorization_code_fields(provider: Provider, mode: str) -> None:
    verifier = PkcePair.generate().verifier
    call(
        provider.client(),
        mode,
        "authorization_code",
        "the-code",
        redirect_uri=REDIRECT,
        code_verifier=verifier,
        extra={"nonce_hint": "n"},
    )
    form = provider.form
    assert form["grant_type"] == ["authorization_code"]
    assert form["code"] == ["the-code"]
    assert form["redirect_uri"] == [REDIRECT]
    assert form["code_verifier"] == [verifier]
    assert form["nonce_hint"] == ["n"]
    assert form["client_assertion_type"] == [CLIENT_ASSERTION_TYPE]
    verify_assertion(provider, TOKEN_URL)


def test_authorization_code_without_pkce(provider: Provider, mode: str) -> None:
    call(provider.client(), mode, "authorization_code", "c", redirect_uri=REDIRECT)
    assert "code_verifier" not in provider.form


@pytest.mark.parametrize("length", [43, 128])
def test_code_verifier_length_bounds_ok(provider: Provider, mode: str, length: int) -> None:
    verifier = "a" * length
    call(provider.client(), mode, "authorization_code", "c", redirect_uri=REDIRECT,
         code_verifier=verifier)  # fmt: skip
    assert provider.form["code_verifier"] == [verifier]


@pytest.mark.parametrize("verifier", ["a" * 42, "a" * 129, "", 5, b"a" * 50])
def test_code_verifier_length_bounds_refused(provider: Provider, mode: str, verifier: Any) -> None:
    exc = failure(
        ConfigurationError, provider.client(), mode, "authorization_code", "c",
        redirect_uri=REDIRECT, code_verifier=verifier,
    )  # fmt: skip
    assert "code_verifier" in str(exc)
    assert provider.token_posts() == 0


@pytest.mark.parametrize(("code", "redirect_uri"), [("", REDIRECT), ("c", ""), (None, REDIRECT)])
def test_authorization_code_needs_code_and_redirect_uri(
    provider: Provider, mode: str, code: Any, redirect_uri: str
) -> None:
    failure(
        ConfigurationError, provider.client(), mode, "authorization_code", code,
        redirect_uri=redirect_uri,
    )  # fmt: skip


def test_refresh_token_fields(provider: Provider, mode: str) -> None:
    call(provider.client(), mode, "refresh_token", "the-refresh-token", scope=["openid"])
    form = provider.form
    assert form["grant_type"] == ["refresh_token"]
    assert form["refresh_token"] == ["the-refresh-token"]
    assert form["scope"] == ["openid"]
    verify_assertion(provider, TOKEN_URL)


@pytest.mark.parametrize("token", ["", None, 5])
def test_refresh_token_must_be_a_string(provider: Provider, mode: str, token: Any) -> None:
    failure(ConfigurationError, provider.client(), mode, "refresh_token", token)


def test_generic_request(provider: Provider, mode: str) -> None:
    grant = "urn:ietf:params:oauth:grant-type:token-exchange"
    call(
        provider.client(),
        mode,
        "request",
        grant,
        {
            "subject_token": "subject",
            "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
            "audience": ["svc-a", "svc-b"],
            "scope": "x y",
        },
    )
    form = provider.form
    assert form["grant_type"] == [grant]
    assert form["audience"] == ["svc-a", "svc-b"]
    assert form["subject_token"] == ["subject"]
    assert form["client_id"] == [CLIENT]


@pytest.mark.parametrize(
    ("grant_type", "fields"),
    [
        ("", {}),
        (None, {}),
        ("urn:x", [("a", "b")]),
        ("urn:x", {"a": []}),
        ("urn:x", {"a": [5]}),
        ("urn:x", {"a": 5}),
        ("urn:x", {"a": None}),
        ("urn:x", {5: "a"}),
    ],
)
def test_generic_request_bad_arguments(
    provider: Provider, mode: str, grant_type: Any, fields: Any
) -> None:
    failure(ConfigurationError, provider.client(), mode, "request", grant_type, fields)
    assert provider.token_posts() == 0


# === Discovery ====================================================================================
def test_token_endpoint_from_the_openid_configuration(provider: Provider, mode: str) -> None:
    client = provider.client(issuer=ISSUER)
    assert call(client, mode, "token_endpoint") == TOKEN_URL
    call(client, mode, "client_credentials")
    assert provider.token_posts() == 1
    assert provider.fake.count(provider.fake.oidc_path) == 1
    assert provider.fake.count(provider.fake.oauth_path) == 0
    assert client.metadata is not None
    assert client.metadata["token_endpoint"] == TOKEN_URL


@pytest.mark.parametrize("issuer", [ISSUER, ISSUER + "/tenants/a"])
def test_rfc8414_fallback_on_404(mode: str, issuer: str) -> None:
    provider = Provider(issuer)
    provider.fake.metadata_at = {provider.fake.oauth_path}
    client = provider.client(issuer=issuer)
    call(client, mode, "client_credentials")
    assert provider.fake.count(provider.fake.oidc_path) == 1
    assert provider.fake.count(provider.fake.oauth_path) == 1
    assert provider.token_posts() == 1


def test_no_fallback_on_a_server_error(provider: Provider, mode: str) -> None:
    provider.fake.fail("500", provider.fake.oidc_path)
    client = provider.client(issuer=ISSUER)
    failure(DiscoveryError, client, mode, "client_credentials")
    assert provider.fake.count(provider.fake.oauth_path) == 0
    assert provider.token_posts() == 0
    # a failed discovery is not remembered: the next call tries again and succeeds
    provider.fake.recover()
    call(client, mode, "client_credentials")
    assert provider.fake.count(provider.fake.oidc_path) == 2


@pytest.mark.parametrize("failure_mode", ["timeout", "connect", "html", "notjson", "redirect"])
def test_discovery_failures_are_discovery_errors(
    provider: Provider, mode: str, failure_mode: str
) -> None:
    provider.fake.fail(failure_mode, provider.fake.oidc_path)
    failure(DiscoveryError, provider.client(issuer=ISSUER), mode, "client_credentials")
    assert provider.token_posts() == 0


def test_discovery_404_everywhere(provider: Provider, mode: str) -> None:
    provider.fake.metadata_at = set()
    failure(DiscoveryError, provider.client(issuer=ISSUER), mode, "discover")
    assert provider.fake.count(provider.fake.oauth_path) == 1


def test_issuer_mismatch_is_a_discovery_error(provider: Provider, mode: str) -> None:
    provider.fake.metadata["issuer"] = "https://evil.example.com"
    exc = failure(DiscoveryError, provider.client(issuer=ISSUER), mode, "client_credentials")
    assert "evil.example.com" in str(exc)
    assert provider.token_posts() == 0


def test_trailing_slash_is_a_different_issuer(provider: Provider, mode: str) -> None:
    provider.fake.metadata["issuer"] = ISSUER + "/"
    failure(DiscoveryError, provider.client(issuer=ISSUER), mode, "discover")


@pytest.mark.parametrize("value", [None, "", 5, "/relative/token", "ftp://x/token"])
def test_missing_or_bad_token_endpoint_is_a_discovery_error(
    provider: Provider, mode: str, value: Any
) -> None:
    if value is None:
        del provider.fake.metadata["token_endpoint"]
    else:
        provider.fake.metadata["token_endpoint"] = value
    exc = failure(DiscoveryError, provider.client(issuer=ISSUER), mode, "client_credentials")
    assert "token_endpoint" in str(exc)
    assert provider.token_posts() == 0


def test_plain_http_token_endpoint_on_another_host_is_refused(
    provider: Provider, mode: str
) -> None:
    provider.fake.metadata["token_endpoint"] = "http://login.example.com" + TOKEN_PATH
    exc = failure(DiscoveryError, provider.client(issuer=ISSUER), mode, "client_credentials")
    assert "http" in str(exc)
    assert provider.token_posts() == 0


def test_plain_http_token_endpoint_with_the_opt_in(provider: Provider, mode: str) -> None:
    provider.fake.metadata["token_endpoint"] = "http://login.example.com" + TOKEN_PATH
    client = provider.client(
        issuer=ISSUER, fetch=provider.fake.fetch_options(allow_insecure_http=True)
    )
    call(client, mode, "client_credentials")
    assert provider.token_posts() == 1


def test_loopback_issuer_over_plain_http(mode: str) -> None:
    provider = Provider("http://127.0.0.1:8080")
    client = provider.client(issuer="http://127.0.0.1:8080")
    response = call(client, mode, "client_credentials")
    assert response.access_token == ACCESS
    assert provider.assertion_claims()["aud"] == "http://127.0.0.1:8080" + TOKEN_PATH


def test_metadata_is_fetched_once_and_reused(provider: Provider, mode: str) -> None:
    client = provider.client(issuer=ISSUER)
    for _ in range(3):
        call(client, mode, "client_credentials")
    call(client, mode, "refresh_token", "r")
    call(client, mode, "authorization_url", REDIRECT)
    call(client, "sync" if mode == "async" else "async", "client_credentials")  # other face
    assert call(client, mode, "discover") is client.metadata
    assert provider.fake.count(provider.fake.oidc_path) == 1
    assert provider.token_posts() == 5


def test_given_token_endpoint_needs_no_discovery(provider: Provider, mode: str) -> None:
    client = provider.client(issuer=ISSUER, token_endpoint=TOKEN_URL)
    call(client, mode, "client_credentials")
    assert provider.fake.count(provider.fake.oidc_path) == 0
    # ... but the authorization endpoint is discovered when asked for
    request = call(client, mode, "authorization_url", REDIRECT)
    assert request.url.startswith(AUTHZ_URL + "?")
    assert provider.fake.count(provider.fake.oidc_path) == 1


def test_given_token_endpoint_overrides_the_discovered_one(provider: Provider, mode: str) -> None:
    provider.fake.metadata["token_endpoint"] = ISSUER + "/elsewhere"
    client = provider.client(issuer=ISSUER, token_endpoint=TOKEN_URL)
    call(client, mode, "authorization_url", REDIRECT)
    call(client, mode, "client_credentials")
    assert provider.token_posts() == 1
    assert provider.assertion_claims()["aud"] == TOKEN_URL


def test_discover_without_issuer(provider: Provider, mode: str) -> None:
    failure(ConfigurationError, provider.client(), mode, "discover")


def test_authorization_url_without_any_endpoint(provider: Provider, mode: str) -> None:
    del provider.fake.metadata["authorization_endpoint"]
    failure(DiscoveryError, provider.client(issuer=ISSUER), mode, "authorization_url", REDIRECT)


def test_warning_when_private_key_jwt_is_not_advertised(
    provider: Provider, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    provider.fake.metadata["token_endpoint_auth_methods_supported"] = ["client_secret_basic"]
    with caplog.at_level(logging.WARNING, logger="cognito_jwt"):
        call(provider.client(issuer=ISSUER), mode, "discover")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "private_key_jwt" in warnings[0].getMessage()
    assert warnings[0].name == "cognito_jwt"


@pytest.mark.parametrize("methods", [["private_key_jwt"], None, "private_key_jwt"])
def test_no_warning_when_advertised_or_not_said(
    provider: Provider, mode: str, caplog: pytest.LogCaptureFixture, methods: Any
) -> None:
    if methods is None:
        del provider.fake.metadata["token_endpoint_auth_methods_supported"]
    else:
        provider.fake.metadata["token_endpoint_auth_methods_supported"] = methods
    with caplog.at_level(logging.WARNING, logger="cognito_jwt"):
        call(provider.client(issuer=ISSUER), mode, "discover")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


# === Token responses ==============================================================================
def test_good_response(provider: Provider, mode: str) -> None:
    response = call(provider.client(), mode, "client_credentials", scope="openid")
    assert isinstance(response, TokenResponse)
    assert response.access_token == ACCESS
    assert response.token_type == "Bearer"
    assert response.expires_in == 3600
    assert response.refresh_token == REFRESH
    assert response.id_token == ID_TOKEN
    assert response.scope == "openid orders:read"
    assert response.scopes == frozenset({"openid", "orders:read"})
    assert response.received_at == FIXED_NOW
    assert response.expires_at == FIXED_NOW + 3600
    assert response.raw == GOOD


def test_repr_of_a_response_hides_the_tokens(provider: Provider, mode: str) -> None:
    response = call(provider.client(), mode, "client_credentials")
    text = repr(response)
    assert "Bearer" in text
    for secret in (ACCESS, REFRESH, ID_TOKEN):
        assert secret not in text
        assert secret not in str(response)


def test_minimal_response(provider: Provider, mode: str) -> None:
    provider.reply(200, {"access_token": ACCESS, "token_type": "bearer"})
    response = call(provider.client(), mode, "client_credentials")
    assert (response.expires_in, response.expires_at) == (None, None)
    assert (response.refresh_token, response.id_token, response.scope) == (None, None, None)
    assert response.scopes == frozenset()


def test_scope_defaults_to_what_was_asked(provider: Provider, mode: str) -> None:
    provider.reply(200, {"access_token": ACCESS, "token_type": "Bearer"})
    response = call(provider.client(), mode, "client_credentials", scope=["a", "b"])
    assert response.scope == "a b"
    assert response.scopes == frozenset({"a", "b"})
    response = call(provider.client(), mode, "request", "urn:x", {"scope": "c d"})
    assert response.scope == "c d"


@pytest.mark.parametrize(
    ("value", "expected"),
    [(3600, 3600), ("3600", 3600), (3600.0, 3600), (0, 0), ("0", 0), (10**10, 10**10)],
)
def test_expires_in_forms(provider: Provider, mode: str, value: Any, expected: int) -> None:
    provider.reply(200, {**GOOD, "expires_in": value})
    response = call(provider.client(), mode, "client_credentials")
    assert response.expires_in == expected
    assert response.expires_at == FIXED_NOW + expected


@pytest.mark.parametrize(
    "value", [-1, "-1", 1.5, True, "soon", "", " 60", "³", 10**10 + 1, "9" * 13, [60], {"s": 1}]
)
def test_expires_in_unusable(provider: Provider, mode: str, value: Any) -> None:
    provider.reply(200, {**GOOD, "expires_in": value})
    exc = failure(TokenEndpointUnavailableError, provider.client(), mode, "client_credentials")
    assert "expires_in" in str(exc)
    assert exc.status_code == 200


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"token_type": "Bearer"}, "access_token"),
        ({"access_token": "", "token_type": "Bearer"}, "access_token"),
        ({"access_token": 5, "token_type": "Bearer"}, "access_token"),
        ({"access_token": ACCESS}, "token_type"),
        ({"access_token": ACCESS, "token_type": ""}, "token_type"),
        ({"access_token": ACCESS, "token_type": ["Bearer"]}, "token_type"),
        ({**GOOD, "refresh_token": 5}, "refresh_token"),
        ({**GOOD, "id_token": ["x"]}, "id_token"),
        ({**GOOD, "scope": ["a"]}, "scope"),
        ({"error": "invalid_grant"}, "access_token"),  # an error in a 200 is no token
    ],
)
def test_200_that_is_not_a_token_response(
    provider: Provider, mode: str, body: dict[str, Any], words: str
) -> None:
    provider.reply(200, body)
    exc = failure(TokenEndpointUnavailableError, provider.client(), mode, "client_credentials")
    assert words in str(exc)
    assert (exc.status_code, exc.error) == (200, None)
    assert ACCESS not in str(exc)


@pytest.mark.parametrize(
    "content",
    [b"", b"not json", b"[1, 2]", b'"token"', b'{"access_token": "a", "access_token": "b"}',
     b"\xff\xfe", b'{"access_token": NaN}'],
)  # fmt: skip
def test_200_that_is_not_json(provider: Provider, mode: str, content: bytes) -> None:
    provider.reply(200, content=content, headers={"content-type": "application/json"})
    exc = failure(TokenEndpointUnavailableError, provider.client(), mode, "client_credentials")
    assert exc.status_code == 200


def test_200_html(provider: Provider, mode: str) -> None:
    provider.reply(200, html="<html>Maintenance</html>")
    failure(TokenEndpointUnavailableError, provider.client(), mode, "client_credentials")


@pytest.mark.parametrize(
    ("status", "code", "cls"),
    [
        (400, "invalid_grant", InvalidGrantError),
        (401, "invalid_client", InvalidClientError),
        (400, "invalid_client", InvalidClientError),
        (400, "invalid_scope", OAuthError),
        (400, "invalid_request", OAuthError),
        (400, "unauthorized_client", OAuthError),
        (400, "unsupported_grant_type", OAuthError),
        (400, "invalid_target", OAuthError),
        (403, "access_denied", OAuthError),
        (500, "server_error", TokenEndpointUnavailableError),
        (503, "temporarily_unavailable", TokenEndpointUnavailableError),
    ],
)
def test_oauth_error_responses(
    provider: Provider, mode: str, status: int, code: str, cls: type[OAuthError]
) -> None:
    provider.reply(
        status,
        {"error": code, "error_description": "what went wrong", "error_uri": "https://x/e"},
    )
    exc = failure(cls, provider.client(), mode, "client_credentials")
    assert type(exc) is cls
    assert exc.error == code
    assert exc.error_description == "what went wrong"
    assert exc.error_uri == "https://x/e"
    assert exc.status_code == status
    assert code in str(exc)
    assert "what went wrong" in str(exc)
    assert "client_credentials" in str(exc)


def test_error_codes_are_stable(provider: Provider, mode: str) -> None:
    provider.reply(400, {"error": "invalid_grant"})
    exc = failure(InvalidGrantError, provider.client(), mode, "refresh_token", "r")
    assert exc.code == "ERR_OAUTH_INVALID_GRANT"
    assert exc.error_description is None
    assert exc.error_uri is None
    assert isinstance(exc, OAuthError)
    provider.reply(401, {"error": "invalid_client"})
    assert failure(InvalidClientError, provider.client(), mode, "client_credentials").code == (
        "ERR_OAUTH_INVALID_CLIENT"
    )


@pytest.mark.parametrize(
    "body",
    [
        {"error": 'bad"quote'},
        {"error": "back\\slash"},
        {"error": "x" * 101},
        {"error": ""},
        {"error": 5},
        {"error": ["invalid_grant"]},
        {"error": "caf\u00e9"},
        {"message": "no error member"},
    ],
)
def test_error_response_without_a_valid_error_code(
    provider: Provider, mode: str, body: dict[str, Any]
) -> None:
    provider.reply(400, body)
    exc = failure(TokenEndpointUnavailableError, provider.client(), mode, "client_credentials")
    assert (exc.error, exc.status_code) == (None, 400)
    assert "without an OAuth error response" in str(exc)


def test_503_html(provider: Provider, mode: str) -> None:
    provider.reply(503, html="<html><body>Service Unavailable</body></html>")
    exc = failure(TokenEndpointUnavailableError, provider.client(), mode, "client_credentials")
    assert (exc.error, exc.status_code) == (None, 503)
    assert "503" in str(exc)


def test_500_empty(provider: Provider, mode: str) -> None:
    provider.reply(500, content=b"")
    exc = failure(TokenEndpointUnavailableError, provider.client(), mode, "client_credentials")
    assert exc.status_code == 500


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirect_is_not_followed(provider: Provider, mode: str, status: int) -> None:
    provider.reply(status, headers={"location": ISSUER + "/elsewhere"})
    client = provider.client(fetch=provider.fake.fetch_options(follow_redirects=True))
    exc = failure(TokenEndpointUnavailableError, client, mode, "client_credentials")
    assert exc.status_code == status
    assert "redirect" in str(exc)
    assert provider.fake.count("/elsewhere") == 0
    assert provider.token_posts() == 1


def test_huge_body(provider: Provider, mode: str) -> None:
    provider.fake.fail("huge", TOKEN_PATH)
    exc = failure(TokenEndpointUnavailableError, provider.client(), mode, "client_credentials")
    assert "limit" in str(exc)
    assert provider.fake.chunks_sent < 20  # stopped reading early


def test_body_over_a_small_limit(provider: Provider, mode: str) -> None:
    provider.reply(200, {**GOOD, "padding": "x" * 2000})
    client = provider.client(fetch=provider.fake.fetch_options(max_bytes=1000))
    failure(TokenEndpointUnavailableError, client, mode, "client_credentials")


def test_declared_length_over_the_limit(provider: Provider, mode: str) -> None:
    provider.reply(400, content=b"x" * 5000, headers={"content-type": "text/plain"})
    client = provider.client(fetch=provider.fake.fetch_options(max_bytes=1000))
    exc = failure(TokenEndpointUnavailableError, client, mode, "client_credentials")
    assert "5000 bytes" in str(exc)


def test_gzip_bomb(provider: Provider, mode: str) -> None:
    provider.fake.fail("gzip_bomb", TOKEN_PATH)
    failure(TokenEndpointUnavailableError, provider.client(), mode, "client_credentials")


@pytest.mark.parametrize(("failure_mode", "attempts"), [("connect", 2), ("connect_timeout", 2)])
def test_connection_failures_are_retried_once(
    provider: Provider, mode: str, failure_mode: str, attempts: int
) -> None:
    provider.fake.fail(failure_mode, TOKEN_PATH)
    exc = failure(TokenEndpointUnavailableError, provider.client(), mode, "client_credentials")
    assert provider.token_posts() == attempts
    assert (exc.status_code, exc.error) == (None, None)
    assert exc.code == "ERR_TOKEN_ENDPOINT_UNAVAILABLE"


def test_connection_failure_without_retries(provider: Provider, mode: str) -> None:
    provider.fake.fail("connect", TOKEN_PATH)
    client = provider.client(fetch=provider.fake.fetch_options(retries=0))
    exc = failure(TokenEndpointUnavailableError, client, mode, "client_credentials")
    assert "connection failed" in str(exc)
    assert provider.token_posts() == 1


def test_retry_after_a_refused_connection_succeeds(provider: Provider, mode: str) -> None:
    attempts: list[int] = []

    def flaky(request: httpx.Request, _is_async: bool) -> httpx.Response:
        attempts.append(1)
        if len(attempts) == 1:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json=GOOD)

    provider.fake.extra[TOKEN_PATH] = flaky
    response = call(provider.client(), mode, "client_credentials")
    assert response.access_token == ACCESS
    assert len(attempts) == 2


def test_read_timeout_is_not_retried(provider: Provider, mode: str) -> None:
    provider.fake.fail("timeout", TOKEN_PATH)
    exc = failure(TokenEndpointUnavailableError, provider.client(), mode, "client_credentials")
    assert "timed out" in str(exc)
    assert provider.token_posts() == 1


@pytest.mark.parametrize(
    "error",
    [httpx.RemoteProtocolError("bad"), httpx.ReadError("reset"), httpx.WriteTimeout("slow")],
)
def test_other_transport_errors(provider: Provider, mode: str, error: Exception) -> None:
    def broken(_request: httpx.Request, _is_async: bool) -> httpx.Response:
        raise error

    provider.fake.extra[TOKEN_PATH] = broken
    exc = failure(TokenEndpointUnavailableError, provider.client(), mode, "client_credentials")
    assert exc.__cause__ is None
    assert provider.token_posts() == 1


def test_error_description_is_cleaned_and_capped(provider: Provider, mode: str) -> None:
    description = "line one\nline two\r\x00\x1b[31mred\x7f\x85" + "y" * 10_000
    provider.reply(
        400,
        {"error": "invalid_grant", "error_description": description, "error_uri": "u" * 5000},
    )
    exc = failure(InvalidGrantError, provider.client(), mode, "client_credentials")
    assert exc.error_description is not None
    assert exc.error_description.startswith("line one?line two???[31mred??yyy")
    assert len(exc.error_description) == 300
    assert not re.search(r"[\x00-\x1f\x7f-\x9f]", str(exc))
    assert len(str(exc)) < 600
    assert exc.error_uri is not None
    assert len(exc.error_uri) == 500


@pytest.mark.parametrize("description", [5, ["x"], None, ""])
def test_error_description_that_is_not_text(
    provider: Provider, mode: str, description: Any
) -> None:
    provider.reply(400, {"error": "invalid_grant", "error_description": description})
    exc = failure(InvalidGrantError, provider.client(), mode, "client_credentials")
    assert exc.error_description in (None, "")
    assert str(exc) == "token endpoint refused the client_credentials request: invalid_grant"


# === Secrets never reach logs or errors ===========================================================
def test_no_secret_in_logs_or_errors(
    provider: Provider, mode: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    code = "code-" + secrets.token_urlsafe(24)
    verifier = PkcePair.generate().verifier
    refresh = "refresh-" + secrets.token_urlsafe(24)
    issued = {
        "access_token": "access-" + secrets.token_urlsafe(24),
        "refresh_token": "newrefresh-" + secrets.token_urlsafe(24),
        "id_token": "id-" + secrets.token_urlsafe(24),
        "token_type": "Bearer",
        "expires_in": 60,
    }
    client = provider.client(issuer=ISSUER)
    seen: list[object] = []
    provider.reply(200, issued)
    seen.append(call(client, mode, "authorization_code", code, redirect_uri=REDIRECT,
                     code_verifier=verifier))  # fmt: skip
    seen.append(call(client, mode, "refresh_token", refresh))
    seen.append(call(client, mode, "client_credentials", scope="openid"))
    for status, body in (
        (400, {"error": "invalid_grant", "error_description": "code expired"}),
        (401, {"error": "invalid_client"}),
        (500, {"error": "server_error"}),
        (200, {"token_type": "Bearer"}),
        (502, None),
    ):
        if body is None:
            provider.reply(status, html="<html>bad gateway</html>")
        else:
            provider.reply(status, body)
        with pytest.raises(OAuthError) as info:
            call(client, mode, "authorization_code", code, redirect_uri=REDIRECT,
                 code_verifier=verifier)  # fmt: skip
        seen.append(info.value)
        with pytest.raises(OAuthError) as info:
            call(client, mode, "refresh_token", refresh)
        seen.append(info.value)
    provider.fake.fail("connect", TOKEN_PATH)
    with pytest.raises(TokenEndpointUnavailableError) as info:
        call(
            client, mode, "authorization_code", code, redirect_uri=REDIRECT, code_verifier=verifier
        )
    seen.append(info.value)

    assertions = [form["client_assertion"][0] for form in provider.forms]
    assert len(assertions) == 3 + 2 * 5
    payloads_and_signatures = [part for a in assertions for part in a.split(".")[1:]]
    secret_values = [
        code,
        verifier,
        refresh,
        issued["access_token"],
        issued["refresh_token"],
        issued["id_token"],
        *assertions,
        *payloads_and_signatures,
    ]
    texts = [caplog.text, *(record.getMessage() for record in caplog.records)]
    for thing in seen:
        texts += [str(thing), repr(thing)]
        if isinstance(thing, BaseException):
            texts += [str(a) for a in thing.args]
            texts += [str(vars(thing))]
    for secret in secret_values:
        for text in texts:
            assert secret not in text
    # the log is not empty: the requests were logged, by grant type and URL only
    messages = [r.getMessage() for r in caplog.records if r.name == "cognito_jwt"]
    assert any("authorization_code" in m and TOKEN_URL in m for m in messages)
    assert any("no answer" in m for m in messages)


# === build_authorization_url ======================================================================
def query(url: str) -> dict[str, str]:
    pairs = parse_qsl(urlsplit(url).query, keep_blank_values=True)
    result = dict(pairs)
    assert len(result) == len(pairs), "a parameter is repeated"
    return result


def test_authorization_url_parameters() -> None:
    request = build_authorization_url(AUTHZ_URL, client_id=CLIENT, redirect_uri=REDIRECT)
    assert isinstance(request, AuthorizationRequest)
    assert request.url.startswith(AUTHZ_URL + "?")
    params = query(request.url)
    assert params == {
        "response_type": "code",
        "client_id": CLIENT,
        "redirect_uri": REDIRECT,
        "scope": "openid",
        "state": request.state,
        "nonce": request.nonce,
        "code_challenge": params["code_challenge"],
        "code_challenge_method": "S256",
    }
    assert request.redirect_uri == REDIRECT
    assert request.code_verifier is not None
    digest = hashlib.sha256(request.code_verifier.encode("ascii")).digest()
    assert params["code_challenge"] == b64url_encode(digest)
    assert "=" not in params["code_challenge"]


def test_state_and_nonce_are_random_and_long() -> None:
    requests = [
        build_authorization_url(AUTHZ_URL, client_id=CLIENT, redirect_uri=REDIRECT)
        for _ in range(20)
    ]
    for field in ("state", "nonce", "code_verifier"):
        values = [getattr(r, field) for r in requests]
        assert len(set(values)) == 20
        for value in values:
            assert len(value) >= 43
            assert URLSAFE.fullmatch(value)


def test_given_state_and_nonce() -> None:
    request = build_authorization_url(
        AUTHZ_URL,
        client_id=CLIENT,
        redirect_uri=REDIRECT,
        state="state-0123456789abcdef",
        nonce="nonce-0123456789abcdef",
    )
    assert (request.state, request.nonce) == ("state-0123456789abcdef", "nonce-0123456789abcdef")
    assert query(request.url)["state"] == "state-0123456789abcdef"
    assert query(request.url)["nonce"] == "nonce-0123456789abcdef"


@pytest.mark.parametrize("nonce", [False])
def test_nonce_false_omits_it(nonce: Any) -> None:
    request = build_authorization_url(
        AUTHZ_URL, client_id=CLIENT, redirect_uri=REDIRECT, nonce=nonce
    )
    assert request.nonce is None
    assert "nonce" not in query(request.url)


def test_pkce_false_omits_the_challenge() -> None:
    request = build_authorization_url(
        AUTHZ_URL, client_id=CLIENT, redirect_uri=REDIRECT, pkce=False
    )
    assert request.code_verifier is None
    assert "code_challenge" not in query(request.url)
    assert "code_challenge_method" not in query(request.url)


def test_scope_forms() -> None:
    def scope_of(scope: Any) -> str | None:
        url = build_authorization_url(
            AUTHZ_URL, client_id=CLIENT, redirect_uri=REDIRECT, scope=scope
        ).url
        return query(url).get("scope")

    assert scope_of(["openid", "email", "profile"]) == "openid email profile"
    assert scope_of("openid email") == "openid email"
    assert scope_of(None) is None
    assert scope_of([]) is None
    with pytest.raises(ConfigurationError):
        scope_of(["openid", ""])
    with pytest.raises(ConfigurationError):
        scope_of(5)


def test_existing_query_of_the_endpoint_is_kept() -> None:
    endpoint = "https://tenant.b2clogin.com/tenant/oauth2/v2.0/authorize?p=B2C_1_signin&x="
    request = build_authorization_url(endpoint, client_id=CLIENT, redirect_uri=REDIRECT)
    pairs = parse_qsl(urlsplit(request.url).query, keep_blank_values=True)
    assert pairs[:2] == [("p", "B2C_1_signin"), ("x", "")]
    assert dict(pairs)["client_id"] == CLIENT
    assert request.url.startswith("https://tenant.b2clogin.com/tenant/oauth2/v2.0/authorize?p=")


def test_extra_params_are_added_and_encoded() -> None:
    acr = "http://idmanagement.gov/ns/assurance/ial/1 urn:acr.login.gov:verified"
    request = build_authorization_url(
        AUTHZ_URL,
        client_id=CLIENT,
        redirect_uri=REDIRECT,
        extra_params={"acr_values": acr, "prompt": "select_account", "locale": "é&=?"},
    )
    params = query(request.url)
    assert params["acr_values"] == acr
    assert params["prompt"] == "select_account"
    assert params["locale"] == "é&=?"
    assert " " not in request.url


@pytest.mark.parametrize(
    "name",
    [
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
    ],
)
def test_reserved_extra_params_are_refused(name: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        build_authorization_url(
            AUTHZ_URL, client_id=CLIENT, redirect_uri=REDIRECT, extra_params={name: "x"}
        )


@pytest.mark.parametrize("extra", [{"a": 5}, {5: "a"}, [("a", "b")], "a=b"])
def test_extra_params_must_map_strings_to_strings(extra: Any) -> None:
    with pytest.raises(ConfigurationError):
        build_authorization_url(
            AUTHZ_URL, client_id=CLIENT, redirect_uri=REDIRECT, extra_params=extra
        )


@pytest.mark.parametrize(
    "endpoint",
    [
        "http://login.example.com/authorize",
        "ftp://login.example.com/authorize",
        "https://login.example.com/authorize#frag",
        "/authorize",
        "",
        None,
    ],
)
def test_refused_authorization_endpoints(endpoint: Any) -> None:
    with pytest.raises(ConfigurationError):
        build_authorization_url(endpoint, client_id=CLIENT, redirect_uri=REDIRECT)


def test_plain_http_endpoint_for_loopback_or_with_opt_in() -> None:
    build_authorization_url("http://127.0.0.1:9000/auth", client_id=CLIENT, redirect_uri=REDIRECT)
    build_authorization_url("http://[::1]:9000/auth", client_id=CLIENT, redirect_uri=REDIRECT)
    build_authorization_url(
        "http://idp.internal/auth",
        client_id=CLIENT,
        redirect_uri=REDIRECT,
        allow_insecure_http=True,
    )


@pytest.mark.parametrize(
    ("client_id", "redirect_uri"), [("", REDIRECT), (CLIENT, ""), (5, REDIRECT)]
)
def test_client_id_and_redirect_uri_are_required(client_id: Any, redirect_uri: Any) -> None:
    with pytest.raises(ConfigurationError):
        build_authorization_url(AUTHZ_URL, client_id=client_id, redirect_uri=redirect_uri)


def test_repr_of_the_request_hides_the_secrets() -> None:
    request = build_authorization_url(AUTHZ_URL, client_id=CLIENT, redirect_uri=REDIRECT)
    text = repr(request)
    assert REDIRECT in text
    for secret in (request.state, request.nonce, request.code_verifier, request.url):
        assert secret is not None
        assert secret not in text


def test_token_client_authorization_url(provider: Provider, mode: str) -> None:
    client = provider.client(issuer=ISSUER)
    request = call(
        client, mode, "authorization_url", REDIRECT, scope=["openid", "email"],
        extra_params={"acr_values": "urn:acr.login.gov:auth-only"},
    )  # fmt: skip
    assert request.url.startswith(AUTHZ_URL + "?")
    params = query(request.url)
    assert params["client_id"] == CLIENT
    assert params["scope"] == "openid email"
    assert params["acr_values"] == "urn:acr.login.gov:auth-only"
    # and the code it leads to is exchanged with the same redirect URI and verifier
    call(client, mode, "authorization_code", "c", redirect_uri=request.redirect_uri,
         code_verifier=request.code_verifier)  # fmt: skip
    assert provider.form["code_verifier"] == [request.code_verifier]
    assert provider.form["redirect_uri"] == [REDIRECT]


def test_token_client_authorization_url_given_endpoint(provider: Provider, mode: str) -> None:
    client = provider.client(authorization_endpoint="https://other.example.com/authorize")
    request = call(client, mode, "authorization_url", REDIRECT, nonce=False, pkce=False)
    assert request.url.startswith("https://other.example.com/authorize?")
    assert provider.fake.total == 0


# === PkcePair =====================================================================================
def test_pkce_pair() -> None:
    pairs = [PkcePair.generate() for _ in range(50)]
    assert len({p.verifier for p in pairs}) == 50
    for pair in pairs:
        assert 43 <= len(pair.verifier) <= 128
        assert UNRESERVED.fullmatch(pair.verifier)
        assert pair.method == "S256"
        digest = hashlib.sha256(pair.verifier.encode("ascii")).digest()
        assert pair.challenge == b64url_encode(digest)
        assert len(pair.challenge) == 43
        assert pair.verifier not in repr(pair)


@pytest.mark.parametrize("state", ["", "short", 12345])
def test_a_weak_or_non_string_state_is_refused(state: object) -> None:
    with pytest.raises(ConfigurationError, match="state"):
        build_authorization_url(
            "https://idp.example/authorize",
            client_id="c",
            redirect_uri="https://app.example/cb",
            state=state,  # type: ignore[arg-type]
        )


@pytest.mark.parametrize("nonce", ["", "short", 7])
def test_a_weak_or_non_string_nonce_is_refused(nonce: object) -> None:
    with pytest.raises(ConfigurationError, match="nonce"):
        build_authorization_url(
            "https://idp.example/authorize",
            client_id="c",
            redirect_uri="https://app.example/cb",
            nonce=nonce,  # type: ignore[arg-type]
        )
