"""Where keys live: well-known URLs and issuer metadata checks. Pure, no I/O.

* OpenID Connect Discovery 1.0 §4: ``{issuer}/.well-known/openid-configuration`` (appended to
  the issuer, path included).
* RFC 8414 §3: ``/.well-known/oauth-authorization-server`` inserted between the host and the
  issuer's path; tried when the OpenID document is not there.
* The document's ``issuer`` must equal the configured issuer exactly (OIDC Discovery §4.3,
  RFC 8414 §3.3), and ``jwks_uri`` must pass the URL policy (``_url_policy``).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any, TypeVar
from urllib.parse import urlsplit

from ._errors import ConfigurationError, DiscoveryError, KeySetUnavailableError
from ._json import loads_object
from ._url_policy import check_url

__all__ = [
    "cognito_jwks_uri",
    "discovery_urls",
    "endpoint_from_metadata",
    "is_client_error",
    "jwks_uri_from_metadata",
    "metadata_from_document",
    "metadata_plan",
]

T = TypeVar("T")


def discovery_urls(issuer: str) -> tuple[str, str]:
    """Return the OpenID Connect and the RFC 8414 metadata URLs of *issuer*, in that order."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    oidc = issuer.rstrip("/") + "/.well-known/openid-configuration"
    oauth = f"{parts.scheme}://{parts.netloc}/.well-known/oauth-authorization-server{path}"
    return oidc, oauth


def is_client_error(exc: KeySetUnavailableError) -> bool:
    """Whether *exc* is a 4xx answer (the typed ``status_code``): nothing is at that URL."""
    return exc.status_code is not None and 400 <= exc.status_code < 500


def metadata_plan(issuer: str) -> Generator[str, T, T]:
    """Discovery with its RFC 8414 fallback, as a plan: yields each URL to GET, gets the answer.

    The driver (``_http.fetch_metadata`` and its async twin) GETs each URL yielded and sends
    the answer back, or throws the :class:`KeySetUnavailableError` the GET raised into the
    plan. A 4xx at the OpenID Connect URL moves on to the RFC 8414 URL; a 4xx there too means
    the issuer publishes no metadata (a :class:`DiscoveryError` carrying that status); any
    other failure propagates as it is.
    """
    oidc, oauth = discovery_urls(issuer)
    try:
        return (yield oidc)
    except KeySetUnavailableError as exc:
        if not is_client_error(exc):
            raise
    try:
        return (yield oauth)
    except KeySetUnavailableError as again:
        if not is_client_error(again):
            raise
        raise DiscoveryError(
            f"no issuer metadata at {oidc} nor at the RFC 8414 URL: {again}",
            status_code=again.status_code,
        ) from None


def cognito_jwks_uri(issuer: str) -> str:
    """Return where a Cognito user pool publishes its keys: ``{issuer}/.well-known/jwks.json``."""
    return issuer + "/.well-known/jwks.json"


def metadata_from_document(document: bytes, *, issuer: str, source: str) -> dict[str, Any]:
    """Parse an issuer metadata document and check that it names *issuer* exactly.

    Raises:
        DiscoveryError: Not a JSON object, or ``issuer`` is not exactly the configured one.
    """
    try:
        metadata: dict[str, Any] = loads_object(document)
    except ValueError as exc:
        raise DiscoveryError(f"metadata at {source} is not a JSON object: {exc}") from None
    found = metadata.get("issuer")
    if found != issuer:
        shown = repr(found)[:200]
        raise DiscoveryError(
            f"metadata at {source} names issuer {shown}, expected {issuer!r} exactly"
        )
    return metadata


def endpoint_from_metadata(
    metadata: dict[str, Any], name: str, *, allow_insecure_http: bool, source: str
) -> str:
    """Return the URL member *name* (``jwks_uri``, ``token_endpoint`` ...) of checked metadata.

    Raises:
        DiscoveryError: The member is missing or refused by the URL policy.
    """
    try:
        return check_url(metadata.get(name), allow_insecure_http=allow_insecure_http, what=name)
    except ConfigurationError as exc:
        raise DiscoveryError(f"metadata at {source}: {exc}") from None


def jwks_uri_from_metadata(
    document: bytes, *, issuer: str, allow_insecure_http: bool, source: str
) -> str:
    """Check an issuer metadata document and return its ``jwks_uri``.

    Raises:
        DiscoveryError: Not a JSON object, ``issuer`` not exactly the configured one, or
            ``jwks_uri`` missing or refused by the URL policy.
    """
    metadata = metadata_from_document(document, issuer=issuer, source=source)
    return endpoint_from_metadata(
        metadata, "jwks_uri", allow_insecure_http=allow_insecure_http, source=source
    )
