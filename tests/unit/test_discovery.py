"""Well-known URLs and issuer metadata checks (``_discovery``), the URL policy (``_url_policy``).

Pure functions.
"""

from __future__ import annotations

import json

import pytest

from cognito_jwt import ConfigurationError, DiscoveryError, KeySetUnavailableError
from cognito_jwt._discovery import cognito_jwks_uri, discovery_urls, jwks_uri_from_metadata
from cognito_jwt._url_policy import check_url, is_loopback_host

ISS = "https://login.example.com"
COGNITO = "https://cognito-idp.eu-west-1.amazonaws.com"


# === discovery_urls ===============================================================================
@pytest.mark.parametrize(
    ("issuer", "oidc", "oauth"),
    [
        (
            "https://login.example.com",
            "https://login.example.com/.well-known/openid-configuration",
            "https://login.example.com/.well-known/oauth-authorization-server",
        ),
        (
            "https://login.example.com/",
            "https://login.example.com/.well-known/openid-configuration",
            "https://login.example.com/.well-known/oauth-authorization-server",
        ),
        (
            "https://login.example.com/tenant/a",
            "https://login.example.com/tenant/a/.well-known/openid-configuration",
            "https://login.example.com/.well-known/oauth-authorization-server/tenant/a",
        ),
        (
            "https://login.example.com/tenant/a/",
            "https://login.example.com/tenant/a/.well-known/openid-configuration",
            "https://login.example.com/.well-known/oauth-authorization-server/tenant/a",
        ),
        (
            COGNITO + "/eu-west-1_Abc",
            COGNITO + "/eu-west-1_Abc/.well-known/openid-configuration",
            COGNITO + "/.well-known/oauth-authorization-server/eu-west-1_Abc",
        ),
        (
            "http://127.0.0.1:8080/realms/x",
            "http://127.0.0.1:8080/realms/x/.well-known/openid-configuration",
            "http://127.0.0.1:8080/.well-known/oauth-authorization-server/realms/x",
        ),
    ],
)
def test_discovery_urls(issuer: str, oidc: str, oauth: str) -> None:
    assert discovery_urls(issuer) == (oidc, oauth)


def test_cognito_jwks_uri_appends_well_known_path() -> None:
    assert (
        cognito_jwks_uri("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Abc")
        == "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Abc/.well-known/jwks.json"
    )


# === check_url ====================================================================================
@pytest.mark.parametrize(
    "url",
    [
        "https://login.example.com/jwks",
        "https://login.example.com:8443/.well-known/jwks.json?x=1",
        "http://127.0.0.1/jwks",
        "http://127.5.5.5:9000/jwks",
        "http://[::1]:8080/jwks",
        "http://localhost/jwks",
        "http://LOCALHOST:1234/jwks",
    ],
)
def test_check_url_accepts_https_and_loopback_http(url: str) -> None:
    assert check_url(url, allow_insecure_http=False) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://login.example.com/jwks",
        "http://10.0.0.1/jwks",
        "http://[2001:db8::1]/jwks",
        "http://localhost.example.com/jwks",
        "http://127.0.0.1.nip.io/jwks",
        "http://0x7f000001/jwks",
    ],
)
def test_check_url_refuses_plain_http_to_other_hosts(url: str) -> None:
    with pytest.raises(ConfigurationError, match="plain http") as info:
        check_url(url, allow_insecure_http=False)
    assert info.value.code == "ERR_CONFIGURATION"


def test_check_url_allows_plain_http_with_opt_in() -> None:
    url = "http://login.example.com/jwks"
    assert check_url(url, allow_insecure_http=True) == url


@pytest.mark.parametrize(
    "url",
    [
        "ftp://login.example.com/jwks",
        "file:///etc/passwd",
        "/relative/jwks",
        "login.example.com/jwks",
        "https:///no-host",
        "",
        None,
        42,
        b"https://login.example.com/jwks",
    ],
)
@pytest.mark.parametrize("allow_insecure_http", [False, True])
def test_check_url_refuses_non_http_urls(url: object, allow_insecure_http: bool) -> None:
    with pytest.raises(ConfigurationError):
        check_url(url, allow_insecure_http=allow_insecure_http)


def test_check_url_refuses_fragment() -> None:
    with pytest.raises(ConfigurationError, match="fragment"):
        check_url("https://login.example.com/jwks#frag", allow_insecure_http=False)


def test_check_url_names_what_was_checked() -> None:
    with pytest.raises(ConfigurationError, match=r"^jwks_uri "):
        check_url("ftp://x/y", allow_insecure_http=False, what="jwks_uri")


def test_check_url_message_is_bounded() -> None:
    url = "http://evil.example.com/" + "a" * 100_000
    with pytest.raises(ConfigurationError) as info:
        check_url(url, allow_insecure_http=False)
    assert len(str(info.value)) < 600
    with pytest.raises(ConfigurationError) as info:
        check_url("ftp://" + "b" * 100_000, allow_insecure_http=False)
    assert len(str(info.value)) < 600


def test_check_url_malformed_ipv6_is_a_configuration_error() -> None:
    # urlsplit raises a bare ValueError for an unclosed IPv6 bracket; the policy must turn it into
    # its own error so callers that catch ConfigurationError/JwtError see it.
    with pytest.raises(ConfigurationError):
        check_url("https://[::1/jwks", allow_insecure_http=False)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("localhost", True),
        ("LocalHost", True),
        ("127.0.0.1", True),
        ("127.255.255.254", True),
        ("::1", True),
        ("[::1]", True),
        ("128.0.0.1", False),
        ("example.com", False),
        ("", False),
        (None, False),
    ],
)
def test_is_loopback_host(host: str | None, expected: bool) -> None:
    assert is_loopback_host(host) is expected


# === jwks_uri_from_metadata =======================================================================
def _doc(**members: object) -> bytes:
    return json.dumps(members).encode()


def _jwks_uri(document: bytes, *, issuer: str = ISS, insecure: bool = False) -> str:
    return jwks_uri_from_metadata(
        document, issuer=issuer, allow_insecure_http=insecure, source="https://src/.well-known"
    )


def test_metadata_returns_jwks_uri() -> None:
    assert _jwks_uri(_doc(issuer=ISS, jwks_uri=ISS + "/jwks")) == ISS + "/jwks"


def test_metadata_loopback_http_jwks_uri_is_accepted() -> None:
    assert _jwks_uri(_doc(issuer=ISS, jwks_uri="http://127.0.0.1:9/k")) == "http://127.0.0.1:9/k"


@pytest.mark.parametrize(
    "found",
    [
        ISS + "/",
        "https://LOGIN.example.com",
        "https://login.example.com:443",
        "http://login.example.com",
        "https://login.example.com ",
        None,
        123,
        [ISS],
    ],
)
def test_metadata_issuer_must_match_exactly(found: object) -> None:
    with pytest.raises(DiscoveryError, match="expected") as info:
        _jwks_uri(_doc(issuer=found, jwks_uri=ISS + "/jwks"))
    assert info.value.code == "ERR_DISCOVERY"


def test_metadata_issuer_missing_is_refused() -> None:
    with pytest.raises(DiscoveryError):
        _jwks_uri(_doc(jwks_uri=ISS + "/jwks"))


@pytest.mark.parametrize(
    "jwks_uri",
    [
        None,
        "",
        42,
        ["https://login.example.com/jwks"],
        {"href": "https://login.example.com/jwks"},
        "http://login.example.com/jwks",
        "ftp://login.example.com/jwks",
        "/jwks",
        "https://login.example.com/jwks#x",
    ],
)
def test_metadata_bad_jwks_uri_is_a_discovery_error(jwks_uri: object) -> None:
    members: dict[str, object] = {"issuer": ISS}
    if jwks_uri is not None:
        members["jwks_uri"] = jwks_uri
    with pytest.raises(DiscoveryError) as info:
        _jwks_uri(_doc(**members))
    assert info.value.code == "ERR_DISCOVERY"
    assert "https://src/.well-known" in str(info.value)


def test_metadata_http_jwks_uri_allowed_with_opt_in() -> None:
    doc = _doc(issuer=ISS, jwks_uri="http://login.example.com/jwks")
    assert _jwks_uri(doc, insecure=True) == "http://login.example.com/jwks"


def test_metadata_malformed_ipv6_jwks_uri_is_a_discovery_error() -> None:
    # A hostile or broken metadata document must produce DiscoveryError, not a bare ValueError.
    with pytest.raises(DiscoveryError):
        _jwks_uri(_doc(issuer=ISS, jwks_uri="https://[::1/jwks"))


@pytest.mark.parametrize(
    "document",
    [
        b"<html>Login</html>",
        b"",
        b"[]",
        b'"string"',
        b'{"issuer": "https://login.example.com", "issuer": "https://login.example.com"}',
        b"\xff\xfe{}",
        b'{"issuer": NaN}',
    ],
)
def test_metadata_not_a_json_object_is_a_discovery_error(document: bytes) -> None:
    with pytest.raises(DiscoveryError, match="not a JSON object"):
        _jwks_uri(document)


def test_metadata_messages_are_bounded() -> None:
    long_issuer = "https://evil.example.com/" + "x" * 100_000
    with pytest.raises(DiscoveryError) as info:
        _jwks_uri(_doc(issuer=long_issuer, jwks_uri=ISS + "/jwks"))
    assert len(str(info.value)) < 800
    long_uri = "http://evil.example.com/" + "y" * 100_000
    with pytest.raises(DiscoveryError) as info:
        _jwks_uri(_doc(issuer=ISS, jwks_uri=long_uri))
    assert len(str(info.value)) < 800
    with pytest.raises(DiscoveryError) as info:
        _jwks_uri(b"{" + b'"a":' * 50_000)
    assert len(str(info.value)) < 800


# === metadata_plan: discovery with its RFC 8414 fallback, written once ===========================
def _drive(issuer: str, answers: dict[str, object]) -> tuple[list[str], object]:
    """Run the plan against canned answers (an exception instance is raised at that URL)."""
    from cognito_jwt._discovery import metadata_plan

    asked: list[str] = []
    plan = metadata_plan(issuer)
    url = next(plan)
    while True:
        asked.append(url)
        answer = answers[url]
        try:
            url = plan.throw(answer) if isinstance(answer, Exception) else plan.send(answer)
        except StopIteration as done:
            return asked, done.value
        except Exception as exc:  # noqa: BLE001 - the outcome is asserted
            return asked, exc


OIDC = "https://id.example.com/t1/.well-known/openid-configuration"
OAUTH = "https://id.example.com/.well-known/oauth-authorization-server/t1"


def test_plan_takes_the_oidc_document_first() -> None:
    assert _drive("https://id.example.com/t1", {OIDC: "doc"}) == ([OIDC], "doc")


def test_plan_falls_back_to_rfc8414_on_a_4xx() -> None:
    missing = KeySetUnavailableError("404", status_code=404)
    assert _drive("https://id.example.com/t1", {OIDC: missing, OAUTH: "doc"}) == (
        [OIDC, OAUTH],
        "doc",
    )


def test_plan_keeps_a_5xx_or_network_failure_as_it_is() -> None:
    down = KeySetUnavailableError("503", status_code=503)
    asked, outcome = _drive("https://id.example.com/t1", {OIDC: down})
    assert asked == [OIDC]
    assert outcome is down


def test_plan_says_discovery_error_when_neither_url_exists() -> None:
    asked, outcome = _drive(
        "https://id.example.com/t1",
        {
            OIDC: KeySetUnavailableError("404", status_code=404),
            OAUTH: KeySetUnavailableError("410", status_code=410),
        },
    )
    assert asked == [OIDC, OAUTH]
    assert isinstance(outcome, DiscoveryError)
    assert outcome.status_code == 410
