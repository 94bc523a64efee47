"""``AlbVerifier``: trust the ``x-amzn-oidc-data`` header an Application Load Balancer adds.

What the load balancer sends, from the Elastic Load Balancing user guide, "Authenticate users
using an Application Load Balancer", section "User claims encoding and signature verification"
(https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-authenticate-users.html#user-claims-encoding;
source: awsdocs/elb-application-load-balancers-user-guide, listener-authenticate-users.md):

* ``x-amzn-oidc-data`` holds the user claims as a JWT "base64 URL encoded and includes padding
  characters at the end"; the signature is "ECDSA + P-256 + SHA256" (ES256, ``R || S`` as
  RFC 7518 §3.4 has it: the guide's own sample verifies it with PyJWT's ``ES256``).
* The JWT header carries ``alg``, ``kid`` (shaped ``12345678-1234-1234-1234-123456789012``),
  ``signer`` (the load balancer's ARN), ``iss`` (the IdP), ``client`` (the app client id) and
  ``exp``. The payload holds the claims of the IdP's user info endpoint.
* The public key of a ``kid`` is one PEM document at
  ``https://public-keys.auth.elb.{region}.amazonaws.com/{kid}``; in AWS GovCloud (US) at
  ``https://s3-us-gov-west-1.amazonaws.com/aws-elb-public-keys-prod-us-gov-west-1/{kid}`` (and
  the same with ``us-gov-east-1``). The guide names no endpoint for the China regions: there we
  use the regional endpoint under the partition's DNS suffix, ``amazonaws.com.cn`` (set
  ``public_key_url`` if AWS publishes another).
* ``x-amzn-oidc-identity`` (the ``sub``) and ``x-amzn-oidc-accesstoken`` come in plain text,
  unsigned: only the data token can be verified.

Every ALB in a region signs with the same published keys, so a token from *any* load balancer
(another account's, reached directly) verifies: the ``signer`` check is what makes the token
yours. It and the ``client`` check run before any key is fetched.

The padding: the signature covers the header and payload segments *as sent* (padded), so the
signing input is the token's own text, never a re-encoding. Each segment is accepted padded as
ALB sends it, or unpadded as RFC 7515 has it (the signature covers the exact text, so neither
form can be turned into the other), in the URL-safe alphabet only: ALB stopped using standard
base64 in 2019, and ``+``/``/`` are refused.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ._audit import Audit, DecisionHook
from ._cache import Admission, FetchGate
from ._errors import (
    AudienceMismatchError,
    ConfigurationError,
    InvalidJwksError,
    IssuerMismatchError,
    JwtError,
    KeyNotFoundError,
    KeySetUnavailableError,
    MalformedTokenError,
    MissingClaimError,
    bounded_repr,
)
from ._jwk import jwk_from_public_key
from ._keysource import (
    EventHook,
    KeySetState,
    KeySetStats,
    KeySource,
    RemoteKeySource,
    backoff_error,
    emit,
)
from ._normalise import string_set
from ._options import FetchOptions, RefreshPolicy
from ._plan import Plan, Step, run_plan, run_plan_async
from ._record import dataclass, replace
from ._token import DEFAULT_LIMITS, ParsedToken, TokenLimits, parse_token
from ._url_policy import check_url
from ._validate import check_issuer, check_required, check_times
from ._verifier import BaseVerifier, Clock, CustomCheck, KeyConfig, StoreArg, store_of
from .stores._base import KeyStore, StoredKeySet

if TYPE_CHECKING:
    from ._jwk import PreparedKey
    from ._verifier import Revocation

__all__ = [
    "MAX_PEM_BYTES",
    "AlbKeySource",
    "AlbVerifier",
    "alb_public_key_url",
    "is_alb_kid",
    "parse_alb_arn",
    "parse_alb_token",
    "pem_document",
]

_ARN = re.compile(
    r"arn:(?P<partition>aws|aws-us-gov|aws-cn):elasticloadbalancing:"
    r"(?P<region>[a-z]{2,4}(?:-[a-z]+)+-[0-9]{1,2}):[0-9]{12}:"
    r"loadbalancer/app/[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?/[0-9A-Za-z]{1,64}"
)
_KID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# Three URL-safe segments, each optionally padded; the signature may be empty so that `alg:
# none` tokens get the error that names the real problem.
_PADDED = re.compile(r"([A-Za-z0-9_-]+={0,2})\.([A-Za-z0-9_-]+={0,2})\.([A-Za-z0-9_-]*={0,2})")
_PEM = re.compile(
    rb"\s*-----BEGIN PUBLIC KEY-----\r?\n(?:[A-Za-z0-9+/=]{1,128}\r?\n){1,16}"
    rb"-----END PUBLIC KEY-----\s*"
)

MAX_PEM_BYTES = 2048
"""Largest key document accepted from the key endpoint (a P-256 key in PEM is ~180 bytes)."""

# ALB keys are immutable (a kid always names the same key): a key, once had, never goes stale.
_NEVER_STALE = 100 * 365 * 86_400.0
_NOT_FOUND = frozenset({403, 404, 410})  # S3-backed endpoints answer 403 for a missing object
_MAX_WAITS = 4


def parse_alb_arn(arn: object) -> tuple[str, str]:
    """Return the partition and region of an Application Load Balancer ARN.

    ``arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/my-alb/50dc6c495c0c9188``
    gives ``("aws", "eu-west-1")``; the GovCloud (``aws-us-gov``) and China (``aws-cn``)
    partitions are accepted with their own regions.

    Raises:
        ConfigurationError: Not such an ARN, or a region outside its partition.
    """
    match = _ARN.fullmatch(arn) if isinstance(arn, str) else None
    if match is None:
        raise ConfigurationError(
            f"alb_arn {bounded_repr(arn, 200)} is not an Application Load Balancer ARN "
            "('arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/app/<name>/<id>')"
        )
    partition, region = match["partition"], match["region"]
    expected = {"us-gov-": "aws-us-gov", "cn-": "aws-cn"}
    owner = next((p for prefix, p in expected.items() if region.startswith(prefix)), "aws")
    if owner != partition:
        raise ConfigurationError(f"alb_arn: region {region} is not in partition {partition}")
    return partition, region


def alb_public_key_url(partition: str, region: str) -> str:
    """The base URL of the load balancer key endpoint; a key is at ``{base}/{kid}``."""
    if partition == "aws-us-gov":
        return f"https://s3-{region}.amazonaws.com/aws-elb-public-keys-prod-{region}"
    suffix = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
    return f"https://public-keys.auth.elb.{region}.{suffix}"


def is_alb_kid(kid: object) -> bool:
    """Whether *kid* has the shape of an ALB key id (a UUID): safe to put in a URL path."""
    return isinstance(kid, str) and _KID.fullmatch(kid) is not None


def _unpad(segment: str, what: str) -> str:
    stripped = segment.rstrip("=")
    padding = len(segment) - len(stripped)
    # Padding completes the last quantum of four characters, and is there only when needed.
    if padding and padding != -len(stripped) % 4:
        raise MalformedTokenError(f"{what} has wrong base64 padding")
    return stripped


def parse_alb_token(token: object, limits: TokenLimits = DEFAULT_LIMITS) -> ParsedToken:
    """Split and decode a token as an Application Load Balancer sends it, verifying nothing.

    Like :func:`~cognito_jwt._token.parse_token` (same size caps and header rules), but each
    segment may carry the ``=`` padding ALB adds; the signing input is the token's own text.

    Raises:
        MalformedTokenError: See :func:`~cognito_jwt._token.parse_token`; also wrong padding.
    """
    text = token.decode("ascii", "replace") if isinstance(token, bytes) else token
    if not isinstance(text, str) or "=" not in text or len(text) > limits.max_token_length:
        return parse_token(token, limits)  # the unpadded form, or the error parse_token names
    match = _PADDED.fullmatch(text)
    if match is None:
        raise MalformedTokenError(
            "token is not a compact JWS (three base64url segments separated by '.')"
        )
    header, payload, signature = match.groups()
    parts = (_unpad(header, "header"), _unpad(payload, "payload"), _unpad(signature, "signature"))
    parsed = parse_token(".".join(parts), limits)
    return replace(parsed, signing_input=f"{header}.{payload}".encode("ascii"))


def pem_document(kid: str, body: bytes, url: str) -> dict[str, Any]:
    """Turn the key endpoint's answer for *kid* into a one-key JWKS document.

    The answer must be one PEM ``PUBLIC KEY`` (SubjectPublicKeyInfo) of at most
    :data:`MAX_PEM_BYTES` holding an EC P-256 key; the JWK gets *kid* and ``alg: ES256``.

    Raises:
        InvalidJwksError: Anything else (another format, key type or curve).
    """
    if len(body) > MAX_PEM_BYTES or _PEM.fullmatch(body) is None:
        raise InvalidJwksError(f"the answer of {url} is not one PEM public key")
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    from ._jwk import quiet_key_loading

    try:
        with quiet_key_loading():  # a DSA key is refused below, without cryptography's warning
            key = load_pem_public_key(body)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise InvalidJwksError(f"the answer of {url} is not a valid public key") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise InvalidJwksError(f"the key at {url} is not an EC P-256 key")
    jwk = {**jwk_from_public_key(key), "kid": kid, "alg": "ES256", "use": "sig"}
    return {"keys": [jwk]}


_Pending = tuple[str, RemoteKeySource]
_Decision = tuple[RemoteKeySource | None, _Pending | None, JwtError | None]


class AlbKeySource:
    """The load balancer's public keys: one PEM document per ``kid`` at ``{base_url}/{kid}``.

    Each ``kid`` gets a :class:`RemoteKeySource` of its own for that one URL, so every key
    has the two cache levels (memory, and the store keyed by the key's URL) and single-flight
    fetches for threads and tasks. Keys are immutable, so a key once had is never refetched;
    at most *max_kids* of them are held in memory (the oldest are dropped first).

    A ``kid`` not held yet costs a lookup, and lookups are rationed (the penalty box):

    * a ``kid`` the endpoint did not know is refused without a fetch for
      ``policy.negative_kid_ttl`` seconds;
    * after such a miss, no other unknown ``kid`` is looked up for ``policy.cooldown`` seconds:
      a flood of random ``kid`` values costs at most one fetch per window;
    * one lookup runs at a time; another new ``kid`` arriving meanwhile waits for it (a
      lookup that found its key frees the way at once, so real keys are never held back);
    * after a failure (network, 5xx, a body that is not a P-256 key) lookups back off like
      key-set fetches do, and fail with the same :class:`KeySetUnavailableError` meanwhile;
    * a key the store holds needs no lookup: it is served whatever the cooldown or the
      backoff say.

    Args:
        base_url: Where the keys are, without the trailing ``/``.
        fetch: HTTP settings; bodies are capped at :data:`MAX_PEM_BYTES` whatever they say.
        policy: Cooldown, negative cache and backoff settings (ages don't apply).
        store: The L2 store, or ``None``.
        clock: Epoch seconds.
        on_event: Optional observability hook, as for :class:`RemoteKeySource`.
        max_kids: How many keys to hold in memory.
    """

    def __init__(
        self,
        *,
        base_url: str,
        fetch: FetchOptions,
        policy: RefreshPolicy,
        store: KeyStore | None,
        clock: Clock,
        on_event: EventHook | None = None,
        max_kids: int = 64,
    ) -> None:
        if isinstance(max_kids, bool) or not isinstance(max_kids, int) or max_kids < 1:
            raise ConfigurationError("max_cached_keys must be a positive int")
        self.base_url = base_url
        self.stats = KeySetStats()
        self._fetch = replace(
            fetch,
            max_bytes=min(fetch.max_bytes, MAX_PEM_BYTES),
            headers={"Accept": "*/*", **fetch.headers},
        )
        self._policy = policy
        self._kid_policy = replace(
            policy,
            min_max_age=_NEVER_STALE,
            max_age=_NEVER_STALE,
            max_max_age=_NEVER_STALE,
            max_stale=_NEVER_STALE,
            stale_if_error=_NEVER_STALE,
        )
        self._store = store
        self._clock = clock
        self._on_event = on_event
        self._max_kids = max_kids
        self._sources: dict[str, RemoteKeySource] = {}
        self._gate = FetchGate.for_policy(policy, clock)  # backoff and the penalty box
        self._pending: _Pending | None = None
        self._last_error: JwtError | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"AlbKeySource({self.base_url!r}, kids={len(self._sources)})"

    @property
    def kids(self) -> frozenset[str]:
        """The key ids held in memory (including one being looked up)."""
        with self._lock:
            return frozenset(self._sources)

    # Lookups ------------------------------------------------------------------------------------
    def find(self, kid: str | None, alg: str) -> PreparedKey:
        """Return the key of *kid*, looking it up (store, then endpoint) if it is new.

        Raises:
            MalformedTokenError: *kid* is not shaped like an ALB key id.
            KeyNotFoundError: The endpoint has no such key, or the penalty box refused a lookup.
            KeySetUnavailableError: The endpoint failed or answered with something unusable.
        """
        key = self._held(kid, alg)
        return key if key is not None else run_plan(self._find_plan(kid, alg), self._do)

    async def find_async(self, kid: str | None, alg: str) -> PreparedKey:
        """Like :meth:`find`, without blocking the event loop."""
        key = self._held(kid, alg)
        if key is not None:
            return key
        return await run_plan_async(self._find_plan(kid, alg), self._do_async)

    def _held(self, kid: str | None, alg: str) -> PreparedKey | None:
        """The hot path: the key of a *kid* held in memory, no lookup running; else ``None``.

        ``None`` sends the call through the plan, which finds the key again or reports
        whatever failure applies (so this path decides nothing but a plain hit).
        """
        source = self._sources.get(kid) if kid is not None else None
        if source is None or self._pending is not None:
            return None
        snapshot = source.snapshot
        if snapshot is None or self._clock() - snapshot.fetched_at >= snapshot.max_age:
            return None
        try:
            key = snapshot.keyset.find(kid, alg)
        except JwtError:
            return None
        self.stats.l1_hits += 1
        return key

    def _find_plan(self, kid: str | None, alg: str) -> Plan[PreparedKey]:
        """The steps of a lookup, written once (``find`` and ``find_async`` drive them).

        Steps: ``hydrate`` (wait for another new kid's lookup), ``load`` (the store, for a
        refused kid) and ``find`` (the kid's own source).
        """
        source = self._sources.get(kid) if kid is not None else None
        for _ in range(_MAX_WAITS):
            if source is not None:
                break
            source, pending, refusal = self._admit(kid)
            if pending is not None:  # another new kid is being looked up: wait for it
                try:
                    yield Step("hydrate", pending[1])
                except JwtError as exc:
                    self._failed(*pending, exc)
                else:
                    self._succeeded(pending[1])
            elif refusal is not None:
                record = (yield Step("load", self._url(kid))) if self._store is not None else None
                source = self._adopt(kid, refusal, record)
        else:
            raise self._busy(kid)
        try:
            key: PreparedKey = yield Step("find", (source, kid, alg))
        except JwtError as exc:
            raise self._failed(kid, source, exc) from None
        self._succeeded(source)
        return key

    def _do(self, step: Step) -> Any:
        """The sync face of a step."""
        if step.kind == "find":
            source, kid, alg = step.arg
            return source.find(kid, alg)
        if step.kind == "hydrate":
            return step.arg.hydrate()
        assert self._store is not None  # noqa: S101 - a load needs a store
        return self._store.load(step.arg)

    async def _do_async(self, step: Step) -> Any:
        """The async face of a step."""
        if step.kind == "find":
            source, kid, alg = step.arg
            return await source.find_async(kid, alg)
        if step.kind == "hydrate":
            return await step.arg.hydrate_async()
        assert self._store is not None  # noqa: S101 - a load needs a store
        return await self._store.load_async(step.arg)

    def _url(self, kid: str | None) -> str:
        return f"{self.base_url}/{kid}"

    def _busy(self, kid: str | None) -> KeyNotFoundError:
        self.stats.unknown_kid_rejections += 1
        return KeyNotFoundError(f"key {kid!r} is not known and other keys are being looked up")

    def _admit(self, kid: str | None) -> _Decision:
        """Decide about a *kid* not held: look it up, wait for another lookup, or refuse.

        A refusal returned (not raised) may still be overruled by the store: a key the store
        holds costs no fetch, so neither the cooldown nor a backoff has a reason to refuse it.
        """
        if kid is None or not is_alb_kid(kid):
            raise MalformedTokenError(
                "header 'kid' must be an ALB key id (a UUID such as "
                "12345678-1234-1234-1234-123456789012)"
            )
        now = self._clock()
        with self._lock:
            source = self._sources.get(kid)
            if source is not None:
                return source, None, None
            admission = self._gate.admit(kid, now, self._policy.cooldown)
            if admission is Admission.BACKOFF:
                note = f" (key lookups back off; next in {self._gate.retry_at - now:.0f} s)"
                return None, None, backoff_error(self._last_error, note)
            if admission is Admission.LEAD:
                source = self._new_source(kid)
                self._pending = (kid, source)
                return source, None, None
            if admission is Admission.COOLDOWN:
                if self._pending is not None:
                    return None, self._pending, None
                return (
                    None,
                    None,
                    KeyNotFoundError(
                        f"key {kid!r} is not known and another unknown key was looked up less "
                        f"than {self._policy.cooldown:g} s ago"
                    ),
                )
        raise self._refused(kid, KeyNotFoundError(f"the load balancer has no key {kid!r}"))

    def _adopt(
        self, kid: str | None, refusal: JwtError, record: StoredKeySet | None
    ) -> RemoteKeySource:
        """Take a key the store holds without a lookup; else raise *refusal*."""
        if kid is None or record is None or record.jwks_uri != self._url(kid):
            raise self._refused(kid, refusal)
        with self._lock:
            return self._sources.get(kid) or self._new_source(kid)

    def _refused(self, kid: str | None, error: JwtError) -> JwtError:
        if isinstance(error, KeyNotFoundError):
            self.stats.unknown_kid_rejections += 1
            emit(self._on_event, self.base_url, "unknown_kid", {"kid": kid, "refreshed": False})
        return error

    def _new_source(self, kid: str) -> RemoteKeySource:
        """The source of the key *kid*, held from now on (under the lock)."""
        url = self._url(kid)
        source = RemoteKeySource(
            cache_key=url,
            jwks_uri=url,
            issuer=None,
            fetch=self._fetch,
            policy=self._kid_policy,
            store=self._store,
            clock=self._clock,
            on_event=self._on_event,
            max_keys=1,
            parse_body=functools.partial(pem_document, kid),
            stats=self.stats,
        )
        self._sources[kid] = source
        while len(self._sources) > self._max_kids:
            del self._sources[next(iter(self._sources))]  # the oldest; never the new one
        return source

    def _succeeded(self, source: RemoteKeySource) -> None:
        """A lookup found its key: the cooldown is not charged (real keys are never held)."""
        if self._pending is None or self._pending[1] is not source:
            return  # the hot path: a key already held
        with self._lock:
            if self._pending is None or self._pending[1] is not source:
                return
            self._pending = None
            self._gate.release()
            self._gate.record_success()

    def _failed(self, kid: str | None, source: RemoteKeySource, error: JwtError) -> JwtError:
        """Record a failed lookup (once) and return the error to raise."""
        missing = isinstance(error, KeySetUnavailableError) and error.status_code in _NOT_FOUND
        with self._lock:
            first = kid is not None and self._sources.get(kid) is source
            if self._pending is not None and self._pending[1] is source:
                self._pending = None
            if first:
                assert kid is not None  # noqa: S101 - narrowed by `first`
                del self._sources[kid]
                if missing:
                    self._gate.forget_kid(kid)  # the cooldown stays charged
                else:
                    self._gate.release()  # backoff rations retries now
                    self._gate.record_failure(self._clock(), self._policy)
                    self._last_error = error
        if not missing:
            return error
        if first:
            self.stats.unknown_kid_rejections += 1
            emit(self._on_event, self.base_url, "unknown_kid", {"kid": kid, "refreshed": True})
        return KeyNotFoundError(f"the load balancer has no key {kid!r}")

    # The rest of the KeySource protocol ---------------------------------------------------------
    def state(self) -> KeySetState:
        """The keys held in memory, each looked up once from the network or the store."""
        with self._lock:
            kids, failures = frozenset(self._sources), self._gate.failures
        return KeySetState(
            self.base_url,
            kids,
            source="network" if kids else None,
            last_error=self._last_error if failures else None,
            consecutive_failures=failures,
        )

    def record_signature(self, ok: bool) -> None:  # noqa: FBT001 - hot path, positional
        """Nothing to do: a key never changes, so failures can't call for a refresh."""

    def hydrate(self) -> None:
        """Nothing to load ahead: keys are looked up per ``kid``, as tokens name them."""

    async def hydrate_async(self) -> None:
        """Nothing to load ahead: keys are looked up per ``kid``, as tokens name them."""

    def refresh(self) -> None:
        """Nothing to refresh: a ``kid`` always names the same key."""

    async def refresh_async(self) -> None:
        """Nothing to refresh: a ``kid`` always names the same key."""


@dataclass(frozen=True, slots=True)
class _AlbKeyConfig(KeyConfig):
    """Where an :class:`AlbVerifier` gets its keys."""

    public_key_url: str = ""
    max_kids: int = 64

    def build(self, clock: Clock) -> KeySource:
        """Make the key source: an :class:`AlbKeySource` on the (checked) key endpoint."""
        fetch, policy = self.fetch_settings()
        url = check_url(
            self.public_key_url,
            allow_insecure_http=fetch.allow_insecure_http,
            what="public_key_url",
        )
        if urlsplit(url).query:
            raise ConfigurationError("public_key_url must not have a query")
        return AlbKeySource(
            base_url=url.rstrip("/"),
            fetch=fetch,
            policy=policy,
            store=store_of(self.store),
            clock=clock,
            on_event=self.on_event,
            max_kids=self.max_kids,
        )


def _show(value: object) -> str:
    return bounded_repr(value, 120)


class AlbVerifier(BaseVerifier):
    """Verify the ``x-amzn-oidc-data`` token an Application Load Balancer adds to requests.

    A load balancer that authenticates users (with Cognito or any OpenID Connect provider)
    forwards their claims in ``x-amzn-oidc-data``, a JWT it signs itself with ES256. Anyone who
    reaches the application without passing the load balancer can send that header too: verify
    it before trusting the claims. ``issuer`` and ``client_id`` have no defaults on purpose:
    write ``None`` to skip a check, so that skipping it is a visible decision.

    Checked: ``alg`` is exactly ES256; ``kid`` is an ALB key id (a UUID); the ``signer`` header
    is one of *alb_arn*; the ``client`` header is one of *client_id* (these three before any key
    is fetched); the signature, with the key the endpoint publishes for ``kid``; the header's
    ``exp`` (required) and the payload's ``exp``/``nbf``/``iat`` when present, with *leeway*;
    the header's ``iss`` (and the payload's, when present) against *issuer*.

    Args:
        alb_arn: The load balancer's ARN, or several (all in one region). Region and partition
            (``aws``, ``aws-us-gov``, ``aws-cn``) choose the key endpoint.
        issuer: The expected ``iss``: your IdP's issuer (for Cognito,
            ``https://cognito-idp.{region}.amazonaws.com/{user_pool_id}``), or ``None``.
        client_id: The app client id(s) the load balancer authenticates with, or ``None``.
        leeway: Seconds of clock skew tolerated for ``exp`` (default 0); ``nbf``/``iat`` get at
            least 60 s (see ``docs/security.md``).
        clock: Returns the current time in epoch seconds (default ``time.time``).
        required_claims: Payload claims that must be present.
        custom_check: Called with the :class:`Claims` after every other check; return
            ``True``/``None`` to accept, anything else (or raise) to reject.
        limits: Token size caps.
        fetch: HTTP settings for the key endpoint (timeouts, your own ``httpx`` client).
        refresh: ``cooldown``, ``negative_kid_ttl``/``negative_kid_max`` and ``backoff_*``
            ration the lookups of unknown ``kid`` values (see :class:`RefreshPolicy`); the age
            settings don't apply, a key never changes.
        store: The persistent (L2) key store: ``"default"`` (a :class:`FileStore`), your own
            :class:`KeyStore`, or ``None``.
        on_event: Called with ``(name, details)`` on fetches, failures and rejections.
        public_key_url: Fetch keys from ``{public_key_url}/{kid}`` instead of the regional
            endpoint (a test server, a proxy); https, or http to a loopback host.
        max_cached_keys: How many keys to hold in memory.
        revocation: A :class:`RevocationCheck` (a :class:`DenyList`, a
            ``RedisDenyList`` ...) or a sequence of them, asked after every other check and
            on every verified-token-cache hit: a revoked token raises
            :class:`TokenRevokedError`, a check that cannot decide
            :class:`RevocationUnavailableError`. See the revocation guide.
        on_decision: Called once per verification with a :class:`VerificationRecord`
            (never the token); an :class:`Audit` sets privacy and timing.

    Raises:
        ConfigurationError: An argument has an unusable value.
    """

    __slots__ = ("_client_ids", "_signers", "partition", "public_key_url", "region")
    _require_kid = True  # ALB always sends kid (the key's URL is built from it)

    def __init__(
        self,
        *,
        alb_arn: str | Sequence[str],
        issuer: str | Sequence[str] | None,
        client_id: str | Sequence[str] | None,
        leeway: float = 0,
        clock: Clock | None = None,
        required_claims: Iterable[str] = (),
        custom_check: CustomCheck | None = None,
        limits: TokenLimits | None = None,
        fetch: FetchOptions | None = None,
        refresh: RefreshPolicy | None = None,
        store: StoreArg = "default",
        on_event: EventHook | None = None,
        public_key_url: str | None = None,
        max_cached_keys: int = 64,
        revocation: Revocation = None,
        on_decision: DecisionHook | Audit | None = None,
    ) -> None:
        signers = string_set(alb_arn, "alb_arn")
        if signers is None:
            raise ConfigurationError("alb_arn is required: the ARN of your load balancer")
        places = {parse_alb_arn(arn) for arn in signers}
        if len(places) != 1:
            raise ConfigurationError("every alb_arn must be in the same region")
        self.partition, self.region = places.pop()
        self.public_key_url = public_key_url or alb_public_key_url(self.partition, self.region)
        super().__init__(
            issuers=string_set(issuer, "issuer"),
            keys=_AlbKeyConfig(
                fetch=fetch,
                refresh=refresh,
                store=store,
                on_event=on_event,
                public_key_url=self.public_key_url,
                max_kids=max_cached_keys,
            ),
            algorithms=("ES256",),
            leeway=leeway,
            clock=clock,
            required_claims=required_claims,
            custom_check=custom_check,
            limits=limits,
            revocation=revocation,
            on_decision=on_decision,
        )
        self._signers = signers
        self._client_ids = string_set(client_id, "client_id")

    @property
    def alb_arns(self) -> frozenset[str]:
        """The accepted ``signer`` ARNs."""
        return self._signers

    @property
    def client_ids(self) -> frozenset[str] | None:
        """The accepted ``client`` values, or ``None`` when not checked."""
        return self._client_ids

    # The pipeline's ALB steps -------------------------------------------------------------------
    def _parse(self, token: object) -> ParsedToken:
        parsed = parse_alb_token(token, self._limits)
        self._check_alg(parsed)
        return parsed

    def _find(self, parsed: ParsedToken, source: KeySource) -> PreparedKey:
        self._check_before_fetch(parsed.header)
        return super()._find(parsed, source)

    async def _find_async(self, parsed: ParsedToken, source: KeySource) -> PreparedKey:
        self._check_before_fetch(parsed.header)
        return await super()._find_async(parsed, source)

    def _check_before_fetch(self, header: Mapping[str, Any]) -> None:
        """``kid``, ``signer`` and ``client``: cheap, and they decide whether to fetch a key."""
        if not is_alb_kid(header.get("kid")):
            raise MalformedTokenError(
                "header 'kid' must be an ALB key id (a UUID such as "
                "12345678-1234-1234-1234-123456789012)",
                unverified_header=header,
            )
        signer = header.get("signer")
        if not isinstance(signer, str) or signer not in self._signers:
            expected = _show(sorted(self._signers)[0]) + (
                f" or {len(self._signers) - 1} more" if len(self._signers) > 1 else ""
            )
            raise IssuerMismatchError(
                f"header 'signer' {_show(signer)} is not the load balancer {expected}",
                claim="signer",
                expected=expected,
                found=_show(signer),
                unverified_header=header,
            )
        if self._client_ids is not None:
            client = header.get("client")
            if not isinstance(client, str) or client not in self._client_ids:
                expected = ", ".join(_show(c) for c in sorted(self._client_ids)[:5])
                raise AudienceMismatchError(
                    f"header 'client' {_show(client)} is not {expected}",
                    claim="client",
                    expected=expected,
                    found=_show(client),
                    unverified_header=header,
                )

    def _check_claims(self, payload: dict[str, Any], header: Mapping[str, Any]) -> None:
        now = self._clock()
        if header.get("exp") is None:
            raise MissingClaimError("header 'exp' is required", claim="exp", found="missing")
        check_times({"exp": header["exp"]}, now, self._leeway)
        times: dict[str, Any] = {
            name: payload[name] for name in ("exp", "nbf", "iat") if name in payload
        }
        if times:
            times.setdefault("exp", header["exp"])
            check_times(times, now, self._leeway)
        if self._issuers is not None:
            check_issuer({"iss": header.get("iss")}, self._issuers)
            if "iss" in payload:
                check_issuer(payload, self._issuers)
        if self._required:
            check_required(payload, self._required)
