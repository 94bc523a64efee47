"""``CognitoVerifier``: the Amazon Cognito user pool rules on top of the shared pipeline.

Cognito specifics (see the Cognito developer guide, "Verifying a JSON Web Token"):

* issuer ``https://cognito-idp.{region}.{dns suffix}/{user_pool_id}``, region read from the
  pool id, DNS suffix from the AWS partition of that region;
* keys at ``{issuer}/.well-known/jwks.json``; tokens are signed with RS256;
* ``token_use`` is ``id`` or ``access``; ID tokens carry the app client id in ``aud``, access
  tokens carry it in ``client_id`` and have no ``aud``;
* groups in ``cognito:groups``, scopes (access tokens) in the space-separated ``scope``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from ._discovery import cognito_jwks_uri
from ._errors import (
    AudienceMismatchError,
    ConfigurationError,
    TokenUseMismatchError,
    bounded_repr,
)
from ._keysource import EventHook, JwksInput
from ._normalise import string_set
from ._options import FetchOptions, RefreshPolicy
from ._token import TokenLimits
from ._validate import check_any_group, check_any_scope
from ._verifier import BaseVerifier, Clock, CustomCheck, KeyConfig, StoreArg

__all__ = ["CognitoVerifier", "cognito_issuer", "parse_user_pool_id"]

TokenUse = Literal["id", "access"]

_POOL_ID = re.compile(r"(?P<region>[a-z]{2,4}(?:-[a-z]+)+-[0-9]{1,2})_[0-9A-Za-z]{1,32}")

# AWS partitions by region prefix → DNS suffix (from the partitions' published metadata).
# Checked in order: the more specific prefixes first.
_PARTITION_SUFFIXES = (
    ("us-gov-", "amazonaws.com"),
    ("us-isob-", "sc2s.sgov.gov"),
    ("us-isof-", "csp.hci.ic.gov"),
    ("us-iso-", "c2s.ic.gov"),
    ("eu-isoe-", "cloud.adc-e.uk"),
    ("eusc-", "amazonaws.eu"),
    ("cn-", "amazonaws.com.cn"),
)


def parse_user_pool_id(user_pool_id: str) -> str:
    """Return the region of a user pool id such as ``eu-west-1_AbCdEf123``.

    Raises:
        ConfigurationError: The id does not have the ``{region}_{id}`` form.
    """
    match = _POOL_ID.fullmatch(user_pool_id) if isinstance(user_pool_id, str) else None
    if match is None:
        raise ConfigurationError(
            f"user_pool_id {user_pool_id!r} is not of the form '<region>_<id>' "
            "(e.g. 'eu-west-1_AbCdEf123')"
        )
    return match["region"]


def cognito_issuer(user_pool_id: str) -> str:
    """Return the ``iss`` Cognito puts in the tokens of *user_pool_id*.

    Raises:
        ConfigurationError: The id does not have the ``{region}_{id}`` form.
    """
    region = parse_user_pool_id(user_pool_id)
    suffix = next(
        (sfx for prefix, sfx in _PARTITION_SUFFIXES if region.startswith(prefix)),
        "amazonaws.com",
    )
    return f"https://cognito-idp.{region}.{suffix}/{user_pool_id}"


class CognitoVerifier(BaseVerifier):
    """Verify ID and access tokens of an Amazon Cognito user pool.

    ``client_id`` and ``token_use`` have no defaults on purpose: write ``None`` to skip a check,
    so that skipping it is a visible decision. Omitting one is a ``TypeError``. For several user
    pools, combine one ``CognitoVerifier`` per pool in a :class:`MultiIssuerVerifier`.

    Args:
        user_pool_id: The pool, e.g. ``"eu-west-1_AbCdEf123"``; fixes the expected issuer.
        client_id: Accepted app client id(s), compared with ``aud`` in ID tokens and with
            ``client_id`` in access tokens; ``None`` to not check.
        token_use: ``"id"`` or ``"access"``; ``None`` accepts either (the claim must still be
            one of the two).
        groups: If given, the user must be in at least one of these ``cognito:groups``.
        scopes: If given, the ``scope`` claim must hold at least one of these.
        jwks: The pool's key set in memory: a JWKS mapping, its JSON text or a ``KeySet``.
            Without it, keys are fetched from ``{issuer}/.well-known/jwks.json`` (no
            discovery round trip) and cached.
        jwks_uri: Fetch the keys from here instead, e.g. a local test server, while tokens
            are still expected to carry the real Cognito issuer.
        algorithms: Allowlist; Cognito signs with RS256 only, so that is the default.
        leeway: Seconds of clock skew tolerated for ``exp`` (default 0); ``nbf``/``iat`` get at
            least 60 s (see ``docs/security.md``).
        clock: Returns the current time in epoch seconds (default ``time.time``).
        required_claims: Claims that must be present (``exp`` always is).
        custom_check: Called with the :class:`Claims` after every other check; return
            ``True``/``None`` to accept, anything else (or raise) to reject. An ``async def``
            check (or an object with an async ``__call__``) is awaited by ``verify_async``;
            ``verify`` refuses such a verifier with :class:`ConfigurationError`.
        limits: Token size caps.
        token_cache_size: Remember up to this many verified tokens, so that a repeat skips the
            signature check (``exp``/``nbf``, the key's presence and *custom_check* are still
            checked on every hit). ``0``, the default, turns the cache off; see the
            performance guide for the trade-offs.
        fetch: HTTP settings (timeouts, size cap, your own ``httpx`` client).
        refresh: When to refresh the cached key set (see :class:`RefreshPolicy`).
        store: The persistent (L2) key store: ``"default"`` (a :class:`FileStore` in the user
            cache directory, ``/tmp`` on Lambda), your own :class:`KeyStore`, or ``None``.
        on_event: Called with ``(name, details)`` on fetches, failures and refreshes.

    Raises:
        ConfigurationError: An argument has an unusable value.
        InvalidJwksError: *jwks* holds no usable key.
    """

    __slots__ = ("_client_ids", "_groups", "_scopes", "_token_use", "user_pool_id")
    _require_kid = True  # Cognito always sends kid: no single-key fallback

    def __init__(
        self,
        *,
        user_pool_id: str,
        client_id: str | Sequence[str] | None,
        token_use: TokenUse | None,
        groups: str | Sequence[str] | None = None,
        scopes: str | Sequence[str] | None = None,
        jwks: JwksInput | None = None,
        jwks_uri: str | None = None,
        algorithms: Iterable[str] = ("RS256",),
        leeway: float = 0,
        clock: Clock | None = None,
        required_claims: Iterable[str] = (),
        custom_check: CustomCheck | None = None,
        limits: TokenLimits | None = None,
        token_cache_size: int = 0,
        fetch: FetchOptions | None = None,
        refresh: RefreshPolicy | None = None,
        store: StoreArg = "default",
        on_event: EventHook | None = None,
    ) -> None:
        issuer = cognito_issuer(user_pool_id)
        if token_use not in ("id", "access", None):
            raise ConfigurationError(f"token_use must be 'id', 'access' or None, got {token_use!r}")
        super().__init__(
            issuers=frozenset((issuer,)),
            keys=KeyConfig(
                jwks=jwks,
                jwks_uri=jwks_uri,
                default_jwks_uri=cognito_jwks_uri(issuer),
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
        )
        self.user_pool_id = user_pool_id
        self._token_use = token_use
        self._client_ids = string_set(client_id, "client_id")
        self._groups = string_set(groups, "groups")
        self._scopes = string_set(scopes, "scopes")

    @property
    def issuer(self) -> str:
        """The pool's issuer URL."""
        return next(iter(self._issuers or ()))

    def _check_claims(self, payload: dict[str, Any], header: Mapping[str, Any]) -> None:
        super()._check_claims(payload, header)
        token_use = payload.get("token_use")
        expected = "'id' or 'access'" if self._token_use is None else repr(self._token_use)
        if token_use not in ("id", "access"):
            raise TokenUseMismatchError(
                "claim 'token_use' must be 'id' or 'access'"
                + ("" if self._token_use is None else f" (expected {self._token_use!r})"),
                claim="token_use",
                expected=expected,
                found="missing" if "token_use" not in payload else bounded_repr(token_use),
            )
        if self._token_use is not None and token_use != self._token_use:
            raise TokenUseMismatchError(
                f"token_use is {token_use!r}, expected {self._token_use!r}",
                claim="token_use",
                expected=expected,
                found=repr(token_use),
            )
        if self._client_ids is not None:
            self._check_client(payload, token_use)
        if self._groups is not None:
            check_any_group(payload, self._groups)
        if self._scopes is not None:
            check_any_scope(payload, self._scopes)

    def _check_client(self, payload: dict[str, Any], token_use: str) -> None:
        assert self._client_ids is not None  # noqa: S101 - checked by the caller
        # ID tokens name the app client in `aud`, access tokens in `client_id`.
        name = "aud" if token_use == "id" else "client_id"
        value = payload.get(name)
        expected = "one of " + ", ".join(bounded_repr(c) for c in sorted(self._client_ids)[:5])
        if not isinstance(value, str):
            raise AudienceMismatchError(
                f"claim {name!r} is missing or not a string in this {token_use} token",
                claim=name,
                expected=expected,
                found="missing" if name not in payload else bounded_repr(value),
            )
        if value not in self._client_ids:
            shown = bounded_repr(value, 64)
            raise AudienceMismatchError(
                f"{token_use} token is for client {shown}, not this one",
                claim=name,
                expected=expected,
                found=shown,
            )
