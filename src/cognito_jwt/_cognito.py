"""``CognitoVerifier``: the Amazon Cognito user pool rules on top of the shared pipeline.

Cognito specifics (see the Cognito developer guide, "Verifying a JSON Web Token"):

* two issuer formats (the pool's ``IssuerConfiguration``): ORIGINAL
  ``https://cognito-idp.{region}.{dns suffix}/{user_pool_id}`` and UPDATED
  ``https://issuer-cognito-idp.{region}.amazonaws.com/{user_pool_id}`` (the primary Region;
  recommended by AWS, used by multi-Region replication); region read from the pool id, DNS
  suffix from the AWS partition of that region. With the original format, a replica Region
  issues tokens naming itself: ``https://cognito-idp.{replica}.{dns suffix}/{user_pool_id}``;
* keys at ``{issuer}/.well-known/jwks.json`` for each issuer, fetched lazily per issuer;
  tokens are signed with RS256;
* ``token_use`` is ``id`` or ``access``; ID tokens carry the app client id in ``aud``, access
  tokens carry it in ``client_id`` and have no ``aud``;
* groups in ``cognito:groups``, scopes (access tokens) in the space-separated ``scope``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from ._discovery import cognito_jwks_uri
from ._errors import (
    AudienceMismatchError,
    ConfigurationError,
    TokenUseMismatchError,
    bounded_repr,
)
from ._keysource import EventHook, JwksInput
from ._normalise import string_set, string_tuple
from ._options import FetchOptions, RefreshPolicy
from ._token import TokenLimits
from ._validate import check_any_group, check_any_scope, check_audience
from ._verifier import BaseVerifier, Clock, CustomCheck, KeyConfig, StoreArg

if TYPE_CHECKING:
    from ._audit import Audit, DecisionHook
    from ._verifier import Revocation

__all__ = [
    "CognitoVerifier",
    "IssuerFormat",
    "cognito_issuer",
    "cognito_issuers",
    "parse_user_pool_id",
]

TokenUse = Literal["id", "access"]

# Patterns compiled on first use (re's own cache), not at import: only a CognitoVerifier (or
# cognito_issuer) reads them, at construction, and a cold start of a JwtVerifier never does.
_POOL_ID = r"(?P<region>[a-z]{2,4}(?:-[a-z]+)+-[0-9]{1,2})_[0-9A-Za-z]{1,32}"

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
    match = re.fullmatch(_POOL_ID, user_pool_id) if isinstance(user_pool_id, str) else None
    if match is None:
        raise ConfigurationError(
            f"user_pool_id {user_pool_id!r} is not of the form '<region>_<id>' "
            "(e.g. 'eu-west-1_AbCdEf123')"
        )
    return match["region"]


IssuerFormat = Literal["original", "updated"]

_REGION = r"[a-z]{2,4}(?:-[a-z]+)+-[0-9]{1,2}"


def _partition_suffix(region: str) -> str:
    """The DNS suffix of *region*'s AWS partition."""
    return next(
        (sfx for prefix, sfx in _PARTITION_SUFFIXES if region.startswith(prefix)),
        "amazonaws.com",
    )


def _is_commercial(region: str) -> bool:
    """Whether *region* is in the ``aws`` partition (no special prefix)."""
    return not any(region.startswith(prefix) for prefix, _ in _PARTITION_SUFFIXES)


def cognito_issuer(
    user_pool_id: str, *, issuer_format: IssuerFormat = "original", region: str | None = None
) -> str:
    """Return the ``iss`` Cognito puts in the tokens of *user_pool_id*.

    Args:
        user_pool_id: The pool, e.g. ``"eu-west-1_AbCdEf123"``.
        issuer_format: ``"original"`` (``https://cognito-idp.{region}...``) or ``"updated"``
            (``https://issuer-cognito-idp.{region}.amazonaws.com/...``, the primary Region).
        region: For the original format, a replica Region of a multi-Region pool (its tokens
            name the Region that issued them); default the pool's own Region.

    Raises:
        ConfigurationError: The id does not have the ``{region}_{id}`` form, a bad *region*,
            or the updated format in a partition for which AWS documents no updated-issuer
            host (only the commercial ``aws`` partition has one documented).
    """
    home = parse_user_pool_id(user_pool_id)
    if issuer_format == "updated":
        if region is not None and region != home:
            raise ConfigurationError(
                "the updated issuer always names the pool's primary Region: replicas issue it too"
            )
        if not _is_commercial(home):
            raise ConfigurationError(
                f"AWS documents no updated-issuer host for the partition of {home!r}: give the "
                "issuer URL your pool reports (DescribeUserPool) as updated_issuer="
            )
        return f"https://issuer-cognito-idp.{home}.amazonaws.com/{user_pool_id}"
    if issuer_format != "original":
        raise _bad_format(issuer_format)
    where = home if region is None else _check_region(region, home)
    return f"https://cognito-idp.{where}.{_partition_suffix(where)}/{user_pool_id}"


def _bad_format(issuer_format: object) -> ConfigurationError:
    return ConfigurationError(
        f"issuer_format must be 'original', 'updated' or None, got {bounded_repr(issuer_format)}"
    )


def _check_region(region: object, home: str) -> str:
    """*region* if it is a Region name in the same partition as the pool's Region *home*."""
    if not isinstance(region, str) or re.fullmatch(_REGION, region) is None:
        raise ConfigurationError(
            f"a replica Region must be a Region name such as 'eu-central-1', got "
            f"{bounded_repr(region)}"
        )
    if _partition_suffix(region) != _partition_suffix(home) or _is_commercial(
        region
    ) != _is_commercial(home):
        raise ConfigurationError(
            f"replica Region {region!r} is not in the partition of the pool's Region {home!r}"
        )
    return region


def cognito_issuers(
    user_pool_id: str,
    *,
    issuer_format: IssuerFormat | None = None,
    replica_regions: Iterable[str] = (),
    updated_issuer: str | None = None,
) -> tuple[str, ...]:
    """Every ``iss`` a :class:`CognitoVerifier` with these settings accepts, primary first.

    Raises:
        ConfigurationError: See :class:`CognitoVerifier`.
    """
    home = parse_user_pool_id(user_pool_id)
    if issuer_format not in (None, "original", "updated"):
        raise _bad_format(issuer_format)
    replicas = string_tuple(replica_regions, "replica_regions", allow_empty=True)
    issuers: list[str] = []
    if issuer_format in (None, "original"):
        issuers.append(cognito_issuer(user_pool_id))
        for region in replicas:
            if region == home:
                raise ConfigurationError(f"replica Region {region!r} is the pool's own Region")
            issuers.append(cognito_issuer(user_pool_id, region=region))
    elif replicas:
        raise ConfigurationError(
            "replica_regions applies to the original issuer format: with the updated format "
            "every replica issues the primary Region's updated issuer"
        )
    if issuer_format in (None, "updated"):
        if updated_issuer is not None:
            issuers.append(_check_updated_issuer(updated_issuer, user_pool_id))
        elif _is_commercial(home):
            issuers.append(cognito_issuer(user_pool_id, issuer_format="updated"))
        elif issuer_format == "updated":
            cognito_issuer(user_pool_id, issuer_format="updated")  # raises: say how to give it
    elif updated_issuer is not None:
        raise ConfigurationError("updated_issuer= goes with the updated issuer format")
    if len(set(issuers)) != len(issuers):
        raise ConfigurationError("replica_regions names a Region twice")
    return tuple(issuers)


def _check_updated_issuer(url: object, user_pool_id: str) -> str:
    """A user-given updated issuer: an https URL whose path is exactly ``/{user_pool_id}``."""
    if not isinstance(url, str) or not url.startswith("https://"):
        raise ConfigurationError("updated_issuer must be an https URL")
    if not url.endswith("/" + user_pool_id) or url.count("/") != 3:
        raise ConfigurationError(
            f"updated_issuer must be 'https://<host>/{user_pool_id}' (the issuer your pool reports)"
        )
    return url


class CognitoVerifier(BaseVerifier):
    """Verify ID and access tokens of an Amazon Cognito user pool.

    ``client_id`` and ``token_use`` have no defaults on purpose: write ``None`` to skip a check,
    so that skipping it is a visible decision. Omitting one is a ``TypeError``. For several user
    pools, combine one ``CognitoVerifier`` per pool in a :class:`MultiIssuerVerifier`.

    Issuers: by default both of the pool's issuer formats are accepted, each with its own key
    set fetched on first use: ORIGINAL ``https://cognito-idp.{region}.amazonaws.com/{pool}``
    and UPDATED ``https://issuer-cognito-idp.{region}.amazonaws.com/{pool}`` (which AWS
    recommends, and which multi-Region replicas issue too). A format the pool does not use
    costs nothing until a token names it; then its key-set URL answers 404 and the token is
    refused (:class:`KeyNotFoundError`), never the other format's tokens.

    Args:
        user_pool_id: The pool, e.g. ``"eu-west-1_AbCdEf123"``; fixes the expected issuers.
        client_id: Accepted app client id(s), compared with ``aud`` in ID tokens and with
            ``client_id`` in access tokens; ``None`` to not check.
        token_use: ``"id"`` or ``"access"``; ``None`` accepts either (the claim must still be
            one of the two).
        issuer_format: ``"original"`` or ``"updated"`` to accept only that format (the pool's
            ``IssuerConfiguration.Type``); ``None`` (default) accepts both.
        replica_regions: Regions of the pool's replicas (multi-Region user pools). With the
            original format a replica issues tokens naming its own Region; each listed one is
            accepted, with its own key set. Not needed for the updated format.
        updated_issuer: The updated-format issuer URL, for partitions where AWS documents no
            updated-issuer host (China, GovCloud, ISO): the ``Issuer`` your pool reports.
        audience: For access tokens that carry ``aud`` (bound to a resource server, or
            machine-to-machine): accepted value(s), any-of; an access token without ``aud``
            is refused. ``None`` (default): ``aud`` of access tokens is not checked. Not for
            ``token_use="id"`` (an ID token's ``aud`` is the app client: use *client_id*).
        groups: If given, the user must be in at least one of these ``cognito:groups``.
        scopes: If given, the ``scope`` claim must hold at least one of these.
        jwks: The pool's key set in memory: a JWKS mapping, its JSON text or a ``KeySet``.
            Without it, keys are fetched from ``{issuer}/.well-known/jwks.json`` (no
            discovery round trip) and cached, per issuer.
        jwks_uri: Fetch the keys from here instead, e.g. a local test server, while tokens
            are still expected to carry the real Cognito issuer(s).
        endpoint_url: An emulator standing in for Cognito (MiniStack, moto, LocalStack): keys
            from ``{endpoint_url}/{user_pool_id}/.well-known/jwks.json``, while tokens are still
            expected to carry the real Cognito issuer(s). Plain http only to a loopback host
            (or with ``FetchOptions(allow_insecure_http=True)``).
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
            signature check (``exp``/``nbf``, the key's presence, *custom_check* and
            *revocation* are still checked on every hit). ``0``, the default, turns the cache
            off; see the performance guide for the trade-offs.
        fetch: HTTP settings (timeouts, size cap, your own ``httpx`` client).
        refresh: When to refresh the cached key set (see :class:`RefreshPolicy`).
        store: The persistent (L2) key store: ``"default"`` (a :class:`FileStore` in the user
            cache directory, ``/tmp`` on Lambda), your own :class:`KeyStore`, or ``None``.
        on_event: Called with ``(name, details)`` on fetches, failures and refreshes.
        revocation: A :class:`RevocationCheck` (a :class:`DenyList`, a
            ``RedisDenyList`` ...) or a sequence of them, asked after every other check and
            on every verified-token-cache hit: a revoked token raises
            :class:`TokenRevokedError`, a check that cannot decide
            :class:`RevocationUnavailableError`. See the revocation guide.
        on_decision: Called once per verification with a :class:`VerificationRecord`
            (never the token); an :class:`Audit` sets privacy and timing.

    Raises:
        ConfigurationError: An argument has an unusable value.
        InvalidJwksError: *jwks* holds no usable key.
    """

    __slots__ = (
        "_audiences",
        "_client_ids",
        "_groups",
        "_primary",
        "_scopes",
        "_token_use",
        "user_pool_id",
    )
    _require_kid = True  # Cognito always sends kid: no single-key fallback

    def __init__(
        self,
        *,
        user_pool_id: str,
        client_id: str | Sequence[str] | None,
        token_use: TokenUse | None,
        issuer_format: IssuerFormat | None = None,
        replica_regions: Iterable[str] = (),
        updated_issuer: str | None = None,
        audience: str | Sequence[str] | None = None,
        groups: str | Sequence[str] | None = None,
        scopes: str | Sequence[str] | None = None,
        jwks: JwksInput | None = None,
        jwks_uri: str | None = None,
        endpoint_url: str | None = None,
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
        revocation: Revocation = None,
        on_decision: DecisionHook | Audit | None = None,
    ) -> None:
        issuers = cognito_issuers(
            user_pool_id,
            issuer_format=issuer_format,
            replica_regions=replica_regions,
            updated_issuer=updated_issuer,
        )
        if token_use not in ("id", "access", None):
            raise ConfigurationError(
                f"token_use must be 'id', 'access' or None, got {bounded_repr(token_use)}"
            )
        audiences = string_set(audience, "audience")
        if audiences is not None and token_use == "id":
            raise ConfigurationError(
                "audience= checks the aud of access tokens; an ID token's aud is the app "
                "client: use client_id="
            )
        if endpoint_url is not None:
            if jwks_uri is not None:
                raise ConfigurationError("pass either jwks_uri= or endpoint_url=, not both")
            if not isinstance(endpoint_url, str) or not endpoint_url:
                raise ConfigurationError("endpoint_url must be a URL")
            jwks_uri = f"{endpoint_url.rstrip('/')}/{user_pool_id}/.well-known/jwks.json"
        self._primary = issuers[0]
        super().__init__(
            issuers=frozenset(issuers),
            keys=KeyConfig(
                jwks=jwks,
                jwks_uri=jwks_uri,
                issuer_jwks_uris={issuer: cognito_jwks_uri(issuer) for issuer in issuers},
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
        self.user_pool_id = user_pool_id
        self._token_use = token_use
        self._audiences = audiences
        self._client_ids = string_set(client_id, "client_id")
        self._groups = string_set(groups, "groups")
        self._scopes = string_set(scopes, "scopes")

    @property
    def issuer(self) -> str:
        """The pool's primary issuer URL (the original format, unless only updated is accepted).

        :attr:`issuers` lists every accepted issuer.
        """
        return self._primary

    def _check_claims(self, payload: dict[str, Any], header: Mapping[str, Any]) -> None:
        BaseVerifier._check_claims(self, payload, header)  # noqa: SLF001 - not super(): per token
        token_use = payload.get("token_use")
        # The hot path is two comparisons; what an error says is worked out only on failure.
        if token_use != self._token_use or self._token_use is None:
            self._check_token_use(payload, token_use)
        clients = self._client_ids
        if clients is not None:
            value = payload.get("aud" if token_use == "id" else "client_id")
            if type(value) is not str or value not in clients:
                self._check_client(payload, token_use)  # raises
        if self._audiences is not None and token_use == "access":
            check_audience(payload, self._audiences)
        if self._groups is not None:
            check_any_group(payload, self._groups)
        if self._scopes is not None:
            check_any_scope(payload, self._scopes)

    def _check_token_use(self, payload: dict[str, Any], token_use: object) -> None:
        """Refuse a ``token_use`` that is not ``id``/``access``, or not the pinned one."""
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

    def _check_client(self, payload: dict[str, Any], token_use: Any) -> None:
        """Refuse a token not for one of the app clients (returns if it is for one)."""
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
