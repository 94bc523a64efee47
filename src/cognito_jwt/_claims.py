"""``Claims``: the verified payload as a read-only mapping with typed helpers."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ._validate import groups_of, scopes_of

if TYPE_CHECKING:
    from datetime import datetime

__all__ = ["Claims"]


def _timestamp(value: object) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        from datetime import datetime, timezone  # imported on use: cold starts

        try:
            return datetime.fromtimestamp(value, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            return None  # a valid NumericDate beyond what datetime can represent
    return None


def _copy_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_json(v) for v in value]
    return value  # str, int, float, bool, None: immutable


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _str_tuple(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(v for v in value if isinstance(v, str))
    return ()


class Claims(Mapping[str, Any]):
    """The claims of a verified token: a read-only mapping of the JWT payload.

    Index it like a dict (``claims["email"]``) or use the typed helpers for the common
    fields; a helper returns ``None`` (or an empty collection) when its claim is absent or has
    an unexpected type. The verified JOSE header is available as :attr:`header`. For JSON (a
    log line, an API answer), use ``json.dumps(claims.to_dict())``.
    """

    __slots__ = ("_data", "_header")

    def __init__(self, payload: Mapping[str, Any], header: Mapping[str, Any] | None = None) -> None:
        self._data: dict[str, Any] = dict(payload)
        self._header: Mapping[str, Any] = MappingProxyType(dict(header or {}))

    @classmethod
    def _adopt(cls, payload: dict[str, Any], header: Mapping[str, Any]) -> Claims:
        """Wrap a freshly decoded payload without copying it (the verifier's hot path).

        The caller hands over *payload* (nobody else holds it) and a read-only *header*.
        """
        claims = cls.__new__(cls)
        claims._data = payload  # noqa: SLF001 - initialising our own instance
        claims._header = header  # noqa: SLF001
        return claims

    # Mapping protocol -------------------------------------------------------------------------
    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __repr__(self) -> str:
        try:
            return f"Claims({self._data!r})"
        except (ValueError, RecursionError):  # a Python int too large to print, deep nesting
            return f"Claims(<{len(self._data)} claims>)"

    def to_dict(self) -> dict[str, Any]:
        """Return a copy of the payload as a plain ``dict``, nested lists and objects included.

        ``Claims`` is a read-only mapping, not a ``dict``, so ``json.dumps(claims)`` raises
        ``TypeError``; serialise ``json.dumps(claims.to_dict())`` instead (a verified payload
        holds only JSON values). Changing the copy never changes the claims.
        """
        return {name: _copy_json(value) for name, value in self._data.items()}

    # Helpers ----------------------------------------------------------------------------------
    @property
    def header(self) -> Mapping[str, Any]:
        """The verified JOSE header (``alg``, ``kid`` ...)."""
        return self._header

    @property
    def sub(self) -> str | None:
        """The subject (``sub``): the user or client the token speaks for."""
        return _str(self._data.get("sub"))

    @property
    def issuer(self) -> str | None:
        """The issuer (``iss``)."""
        return _str(self._data.get("iss"))

    @property
    def audience(self) -> tuple[str, ...]:
        """The audience (``aud``) as a tuple, whether the claim is a string or a list."""
        return _str_tuple(self._data.get("aud"))

    @property
    def client_id(self) -> str | None:
        """The OAuth client: ``client_id`` (Cognito access tokens), else ``azp``."""
        return _str(self._data.get("client_id")) or _str(self._data.get("azp"))

    @property
    def token_use(self) -> str | None:
        """Cognito's ``token_use``: ``"id"`` or ``"access"``."""
        return _str(self._data.get("token_use"))

    @property
    def username(self) -> str | None:
        """The user name: ``username`` (Cognito access tokens) or ``cognito:username`` (ID)."""
        return _str(self._data.get("username")) or _str(self._data.get("cognito:username"))

    @property
    def scopes(self) -> frozenset[str]:
        """The granted scopes, read as the verifier's ``scopes=`` check reads them.

        The ``scope`` claim split on single spaces (U+0020, RFC 6749 §3.3). A claim that is
        not such a string (another kind of space, an empty token, a list ...) grants nothing:
        the result is empty. ``scp`` is not read.
        """
        return scopes_of(self._data) or frozenset()

    @property
    def groups(self) -> tuple[str, ...]:
        """Cognito user pool groups, read as the verifier's ``groups=`` check reads them.

        ``cognito:groups`` must be a list of strings; anything else (a single string
        included) is no group at all: the result is empty.
        """
        return groups_of(self._data) or ()

    @property
    def jti(self) -> str | None:
        """The token's unique id (``jti``)."""
        return _str(self._data.get("jti"))

    @property
    def expires_at(self) -> datetime | None:
        """``exp`` as an aware UTC ``datetime``."""
        return _timestamp(self._data.get("exp"))

    @property
    def issued_at(self) -> datetime | None:
        """``iat`` as an aware UTC ``datetime``."""
        return _timestamp(self._data.get("iat"))

    @property
    def not_before(self) -> datetime | None:
        """``nbf`` as an aware UTC ``datetime``."""
        return _timestamp(self._data.get("nbf"))

    @property
    def auth_time(self) -> datetime | None:
        """``auth_time`` (when the user authenticated) as an aware UTC ``datetime``."""
        return _timestamp(self._data.get("auth_time"))
