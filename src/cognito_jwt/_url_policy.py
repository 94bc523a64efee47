"""The URL policy: which URLs this library fetches or posts to. Pure, no I/O.

``https`` always; plain ``http`` only to a loopback host (``127.0.0.0/8``, ``::1``,
``localhost``) or when the caller opts in with ``allow_insecure_http=True`` (tests only). An
absolute URL with a host, a valid port and no fragment. Every URL a verifier or a client is
configured with, finds in issuer metadata or is redirected to goes through :func:`check_url`.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ._errors import ConfigurationError

__all__ = ["check_url", "is_loopback_host"]


def is_loopback_host(host: str | None) -> bool:
    """Return whether *host* names this machine (``localhost`` or a loopback address)."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        import ipaddress  # only for IP literals

        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_url(url: object, *, allow_insecure_http: bool, what: str = "URL") -> str:
    """Return *url* if it may be fetched, else raise.

    Raises:
        ConfigurationError: Not a string, not http(s), no host, or plain http to a host that
            is not loopback without the opt-in.
    """
    if not isinstance(url, str) or not url:
        raise ConfigurationError(f"{what} must be a non-empty string")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        raise ConfigurationError(f"{what} is not a valid URL: {url[:200]!r}") from None
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ConfigurationError(f"{what} must be an absolute https URL, got {url[:200]!r}")
    if parts.fragment:
        raise ConfigurationError(f"{what} must not have a fragment")
    if parts.scheme == "http" and not allow_insecure_http and not is_loopback_host(parts.hostname):
        raise ConfigurationError(
            f"{what} {url[:200]!r} is plain http; only https is allowed (http is accepted for "
            "loopback hosts, or anywhere with allow_insecure_http=True, for tests)"
        )
    return url
