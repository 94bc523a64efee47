"""AWS Lambda authorizers for API Gateway: verify the bearer token and answer in one call.

```python
from cognito_jwt import CognitoVerifier
from cognito_jwt.adapters.lambda_authorizer import authorizer

verifier = CognitoVerifier(
    user_pool_id="eu-west-1_AbCdEf123", client_id="1example23456789abcdefghij", token_use="access"
)
handler = authorizer(verifier)  # module scope: built (and keys loaded) in the init phase
```

One handler serves every authorizer event type, recognised from the event itself:

* REST API ``TOKEN`` authorizers (``authorizationToken``, ``methodArn``);
* REST API ``REQUEST`` authorizers (payload 1.0: headers, query string, ``methodArn``);
* HTTP API Lambda authorizers, payload 2.0 (``routeArn``, ``identitySource``), answering in
  the simple format (``isAuthorized``) or with an IAM policy, as configured;
* WebSocket API ``$connect`` authorizers (token from a header or a query-string parameter).

Outcomes follow API Gateway's conventions: a missing or invalid token is 401 (the handler
raises ``Exception("Unauthorized")``; HTTP simple responses answer ``isAuthorized: false``),
or an explicit Deny when ``on_invalid="deny"``; a valid token that the ``authorize`` callback,
``groups`` or ``scopes`` refuse gets an explicit Deny (403); a key set outage raises an
ordinary exception (500), so clients retry rather than drop their token. The split is the one
web decision every adapter makes (``adapters/_web.py``), and each refusal is logged as they log
it: ``refused with <status> (<code>): <reason>``, never the token.

The default policy resource is a wildcard over the API's stage, so that API Gateway's cached
authorizer result (keyed by the token) is right for every route, not only the first one.
Per-route rules (``routes={"GET /admin": Route(groups="admins"), ...}``) answer a policy that
allows exactly the routes the caller may call, whatever route was asked about, so a cached
policy never opens a route the caller may not call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, Protocol, TypedDict

from .. import Claims, ConfigurationError, JwtError, KeySetUnavailableError
from .. import Verifier as PublicVerifier
from .._log import logger
from .._normalise import string_set, string_tuple
from .._record import dataclass, field
from .._verifier import check_sync_use
from ._web import Decision as WebDecision
from ._web import Rejection, RequestFacts, WebPolicy, decide, one_word, refusal

__all__ = [
    "ApiArn",
    "AuthorizerEvent",
    "AuthorizerRequest",
    "Decision",
    "HttpAuthorizerEventV2",
    "LambdaAuthorizer",
    "LambdaContext",
    "PolicyResponse",
    "RequestAuthorizerEvent",
    "Route",
    "SimpleResponse",
    "TokenAuthorizerEvent",
    "TokenSource",
    "Unauthorized",
    "authorizer",
    "deny_all",
    "extract_token",
    "flatten_context",
    "parse_api_arn",
    "parse_request",
]


# API Gateway accepts only string, number and boolean context values; we serialise the rest.
ContextValue = str | int | float | bool
# WebSocket authorizer results are limited to 8 KB in all; keep the context well under that so
# principal and policy fit too (REST and HTTP APIs document no limit; the same cap is safe).
_CONTEXT_LIMIT = 6 * 1024
_WHITESPACE = frozenset(" \t\r\n\v\f")


class Verifier(PublicVerifier, Protocol):
    """What the adapter needs of a verifier: :class:`cognito_jwt.Verifier` and ``hydrate``."""

    def hydrate(self) -> object:
        """Load keys ahead of the first verification."""
        ...


class LambdaContext(Protocol):
    """The parts of the Lambda context object this adapter may read."""

    function_name: str
    aws_request_id: str


class TokenAuthorizerEvent(TypedDict):
    """A REST API ``TOKEN`` authorizer event."""

    type: Literal["TOKEN"]
    authorizationToken: str
    methodArn: str


class RequestAuthorizerEvent(TypedDict, total=False):
    """A REST API ``REQUEST`` authorizer event, HTTP API payload 1.0, or WebSocket ``$connect``."""

    type: Literal["REQUEST"]
    version: str
    methodArn: str
    resource: str
    path: str
    httpMethod: str
    headers: dict[str, str]
    multiValueHeaders: dict[str, list[str]]
    queryStringParameters: dict[str, str]
    multiValueQueryStringParameters: dict[str, list[str]]
    pathParameters: dict[str, str]
    stageVariables: dict[str, str]
    requestContext: dict[str, Any]


class HttpAuthorizerEventV2(TypedDict, total=False):
    """An HTTP API Lambda authorizer event, payload format 2.0."""

    version: Literal["2.0"]
    type: Literal["REQUEST"]
    routeArn: str
    identitySource: list[str]
    routeKey: str
    rawPath: str
    rawQueryString: str
    cookies: list[str]
    headers: dict[str, str]
    queryStringParameters: dict[str, str]
    requestContext: dict[str, Any]
    pathParameters: dict[str, str]
    stageVariables: dict[str, str]


AuthorizerEvent = TokenAuthorizerEvent | RequestAuthorizerEvent | HttpAuthorizerEventV2
"""Any event an API Gateway Lambda authorizer receives."""


class PolicyStatement(TypedDict):
    """One statement of an IAM policy document."""

    Action: str
    Effect: Literal["Allow", "Deny"]
    Resource: list[str]


class PolicyDocument(TypedDict):
    """An IAM policy document as API Gateway expects it."""

    Version: Literal["2012-10-17"]
    Statement: list[PolicyStatement]


class _PolicyResponseBase(TypedDict):
    principalId: str
    policyDocument: PolicyDocument


class PolicyResponse(_PolicyResponseBase, total=False):
    """The IAM policy answer of REST, WebSocket and HTTP (IAM format) authorizers."""

    context: dict[str, ContextValue]
    usageIdentifierKey: str


class _SimpleResponseBase(TypedDict):
    isAuthorized: bool


class SimpleResponse(_SimpleResponseBase, total=False):
    """The simple answer of HTTP API authorizers (payload 2.0, simple responses enabled)."""

    context: dict[str, ContextValue]


class Unauthorized(Exception):  # noqa: N818 - the name API Gateway's convention calls for
    """Raised to make API Gateway answer 401: its message must be exactly ``Unauthorized``."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


@dataclass(frozen=True, slots=True)
class ApiArn:
    """An ``execute-api`` ARN, ``arn:{partition}:execute-api:{region}:{account}:{api}/{stage}/...``.

    Attributes:
        partition: ``aws``, ``aws-us-gov``, ``aws-cn`` ...
        region: e.g. ``eu-west-1``.
        account: The AWS account id.
        api_id: The API id.
        stage: The stage name.
        route: What follows the stage: ``GET/orders/1``, ``$connect`` ...
    """

    partition: str
    region: str
    account: str
    api_id: str
    stage: str
    route: str

    def resource(self, route: str) -> str:
        """The ARN of *route* (e.g. ``*`` or ``GET/orders/*``) on the same API and stage."""
        return (
            f"arn:{self.partition}:execute-api:{self.region}:{self.account}:"
            f"{self.api_id}/{self.stage}/{route}"
        )

    @property
    def stage_wildcard(self) -> str:
        """Every method and path of the stage: ``.../{api}/{stage}/*``."""
        return self.resource("*")

    def __str__(self) -> str:
        return self.resource(self.route)


_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):execute-api:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"(?P<api_id>[A-Za-z0-9]+)/(?P<stage>[^/]+)/?(?P<route>.*)"
)


# An ARN, parsed, with its stage wildcard (what most answers allow or deny): the last few
# are remembered, since they repeat.
_ARN_CACHE: dict[str, tuple[ApiArn, str]] = {}
_ARN_CACHE_SIZE = 256


def parse_api_arn(arn: str) -> ApiArn:
    """Parse a ``methodArn``/``routeArn`` (the last few are remembered: they repeat).

    Raises:
        ValueError: Not an ``execute-api`` ARN.
    """
    return _parse_arn(arn)[0]


def _parse_arn(arn: str) -> tuple[ApiArn, str]:
    """:func:`parse_api_arn`, and the ARN's stage wildcard.

    Raises:
        ValueError: Not an ``execute-api`` ARN.
    """
    cached = _ARN_CACHE.get(arn) if isinstance(arn, str) else None
    if cached is not None:
        return cached
    match = _ARN.fullmatch(arn) if isinstance(arn, str) else None
    if match is None:
        raise ValueError(f"not an execute-api ARN: {str(arn)[:200]!r}")
    parsed = ApiArn(**match.groupdict())
    if len(_ARN_CACHE) >= _ARN_CACHE_SIZE:
        _ARN_CACHE.clear()
    cached = _ARN_CACHE[arn] = (parsed, parsed.stage_wildcard)
    return cached


@dataclass(frozen=True, slots=True)
class TokenSource:
    """Where the token is taken from in ``REQUEST``, HTTP API and WebSocket events.

    ``TOKEN`` authorizers always get it from ``authorizationToken``. Header names are matched
    case-insensitively; a header value (and ``authorizationToken``) must be ``Bearer <token>``
    (scheme in any case) or, when ``allow_bare`` is true, just the token. Query parameters
    carry the bare token.

    Attributes:
        header: The header carrying the token, or ``None``.
        query: A query-string parameter carrying the token (browsers can't set headers on
            WebSocket connections), or ``None``.
        allow_bare: Accept a header value with no ``Bearer`` scheme.
    """

    header: str | None = "authorization"
    query: str | None = None
    allow_bare: bool = True

    def __post_init__(self) -> None:
        """Check the fields.

        Raises:
            ConfigurationError: A name that is not a non-empty string, or neither source set.
        """
        for name, value in (("header", self.header), ("query", self.query)):
            if value is not None and (not isinstance(value, str) or not value):
                raise ConfigurationError(f"TokenSource.{name} must be a non-empty string or None")
        if self.header is None and self.query is None:
            raise ConfigurationError("TokenSource needs a header, a query parameter or both")
        if not isinstance(self.allow_bare, bool):
            raise ConfigurationError("TokenSource.allow_bare must be True or False")


@dataclass(frozen=True, slots=True)
class AuthorizerRequest:
    """The request an authorizer is asked about, whatever the event type.

    Attributes:
        kind: ``"token"``, ``"request"`` (REST), ``"http"`` (HTTP API 2.0) or ``"websocket"``.
        arn: The ``methodArn``/``routeArn``, parsed.
        headers: Header names lowercased (empty for ``TOKEN`` events).
        query: Query-string parameters (empty for ``TOKEN`` events).
        path_parameters: Path parameters, if the event has them.
        stage_variables: Stage variables, if the event has them.
        event: The raw event.
    """

    kind: Literal["token", "request", "http", "websocket"]
    arn: ApiArn
    headers: Mapping[str, str]
    query: Mapping[str, str]
    path_parameters: Mapping[str, str]
    stage_variables: Mapping[str, str]
    event: Mapping[str, Any] = field(repr=False)


@dataclass(frozen=True, slots=True)
class Decision:
    """What an ``authorize`` callback may return instead of ``True``/``False``.

    ``resources`` are the routes to **allow**, and only that: a refusal
    (``allow=False``) always denies the whole stage (or the method ARN with
    ``resource="method"``), so ``Decision(allow=False, resources=[...])`` is refused rather
    than read as "deny just these". To allow some routes and not the one asked about, return
    ``Decision(allow=True, resources=[...])`` listing the allowed ones; to deny some routes
    explicitly alongside an Allow, use ``deny_resources``. With ``routes=`` the handler
    computes the resources itself and a ``Decision`` may not set them.

    Attributes:
        allow: Whether to allow.
        resources: ARNs to allow (default: the stage wildcard, or the method ARN with
            ``resource="method"``). Only with ``allow=True``.
        deny_resources: Extra ARNs to deny explicitly, alongside an Allow.
        context: Extra context values for the backend (merged over the claims).
        principal_id: Overrides the principal id.
        usage_identifier_key: An API key value for usage plans (REST APIs).

    Raises:
        ConfigurationError: ``resources`` with ``allow=False``, or a resource list given as
            one string.
    """

    allow: bool
    resources: Sequence[str] | None = None
    deny_resources: Sequence[str] = ()
    context: Mapping[str, Any] = field(default_factory=dict)
    principal_id: str | None = None
    usage_identifier_key: str | None = None

    def __post_init__(self) -> None:
        """Refuse the combinations that would not mean what they seem to."""
        if not isinstance(self.allow, bool):
            raise ConfigurationError("Decision.allow must be True or False")
        if self.resources is not None:
            if not self.allow:
                raise ConfigurationError(
                    "Decision(allow=False) takes no resources: a refusal denies the whole "
                    "stage. To allow some routes but not this one, return "
                    "Decision(allow=True, resources=[...the allowed routes...])"
                )
            object.__setattr__(
                self, "resources", string_tuple(self.resources, "Decision.resources")
            )
        object.__setattr__(
            self,
            "deny_resources",
            string_tuple(self.deny_resources, "Decision.deny_resources", allow_empty=True),
        )


@dataclass(frozen=True, slots=True)
class Route:
    """What a caller needs to call one route, for ``authorizer(routes={...})``.

    ``Route()`` lets any valid token in. ``groups`` is any-of against ``cognito:groups``,
    ``scopes`` any-of against the token's scopes; with both, the caller needs one of each.

    Attributes:
        groups: The groups of which the caller must be in one (one string is one group), or
            ``None``.
        scopes: The scopes of which the token must grant one (one string is one scope), or
            ``None``.

    Raises:
        ConfigurationError: A value that is not a name, or a collection of names.
    """

    groups: Iterable[str] | str | None = None
    scopes: Iterable[str] | str | None = None

    def __post_init__(self) -> None:
        """Normalise the names to frozen sets."""
        object.__setattr__(self, "groups", string_set(self.groups, "Route.groups"))
        object.__setattr__(self, "scopes", string_set(self.scopes, "Route.scopes"))

    def permits(self, claims: Claims) -> bool:
        """Whether a caller with *claims* may call the route."""
        groups, scopes = self.groups, self.scopes
        return (groups is None or not frozenset(groups).isdisjoint(claims.groups)) and (
            scopes is None or not frozenset(scopes).isdisjoint(claims.scopes)
        )


# A route key as API Gateway writes it: "GET /orders/{id}", "ANY /{proxy+}", "$default".
_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "ANY"})
_PATH_SEGMENT = re.compile(r"[A-Za-z0-9._~!$&'()+,;=:@%-]+|\{[A-Za-z0-9._-]+\+?\}")


def _route_arn(key: str) -> str:
    """The ARN route (after ``{api}/{stage}/``) of a route key; path parameters become ``*``.

    ``GET /orders/{id}`` is ``GET/orders/*``; ``ANY`` is any method (``*``); ``$default``
    (the HTTP API catch-all) is every method and path, ``*``; ``$connect`` is itself.

    Raises:
        ConfigurationError: Not a route key.
    """
    if key in ("$default", "$connect"):
        return "*" if key == "$default" else key
    method, _, path = key.partition(" ")
    segments = path.split("/")
    if (
        method not in _METHODS
        or segments[0] != ""
        or (path != "/" and not all(_PATH_SEGMENT.fullmatch(part) for part in segments[1:]))
    ):
        raise ConfigurationError(
            f"routes: {key[:200]!r} is not a route key like 'GET /orders/{{id}}' "
            f"(method in upper case, one space, a path from /), '$default' or '$connect'"
        )
    arn_path = "/".join("*" if segment.startswith("{") else segment for segment in segments)
    return ("*" if method == "ANY" else method) + arn_path


def _glob(arn_route: str) -> re.Pattern[str]:
    """An ARN route as IAM matches it: ``*`` stands for any run of characters, ``/`` too."""
    return re.compile(".*".join(re.escape(part) for part in arn_route.split("*")))


@dataclass(frozen=True, slots=True)
class _Rule:
    key: str
    arn_route: str
    route: Route
    pattern: re.Pattern[str] = field(repr=False, compare=False)


def _rules(routes: object) -> dict[str, _Rule]:
    if not isinstance(routes, Mapping) or not routes:
        raise ConfigurationError("routes must be a non-empty mapping of route key to Route")
    rules: dict[str, _Rule] = {}
    for key, route in routes.items():
        if not isinstance(key, str) or not isinstance(route, Route):
            raise ConfigurationError("routes must map route keys (str) to Route records")
        arn_route = _route_arn(key)
        rules[key] = _Rule(key, arn_route, route, _glob(arn_route))
    return rules


Authorize = Callable[[Claims, AuthorizerRequest], "bool | Decision | None"]

_NO_FACTS = RequestFacts()  # the authorizer reads its events itself: decide() sees outcomes only


# Lists and objects in a context value: compact JSON, one encoder built once.
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=str)
_json_string: Callable[[str], str] = json.encoder.encode_basestring


def flatten_context(
    values: Mapping[str, Any], limit: int = _CONTEXT_LIMIT
) -> dict[str, ContextValue]:
    """Turn claims into an authorizer ``context``: strings, numbers and booleans only.

    Lists and objects become compact JSON strings; ``None`` values are left out. When the
    serialised map would exceed *limit* bytes, entries are kept in order until it fits and the
    rest are dropped (and logged), since API Gateway refuses an oversized authorizer response.
    """
    context: dict[str, ContextValue] = {}
    texts: list[str] = []  # every string value, for the size bound below
    plain = 0  # the bound of the numbers and booleans, which are never escaped
    for key, value in values.items():
        kind = type(value)
        if kind is str:
            context[key] = value
            texts.append(value)
        elif kind is int or kind is bool or kind is float:
            context[key] = value
            plain += len(repr(value)) + 5  # as long as its repr (inf is Infinity in JSON)
        elif value is not None:
            if kind is list and all(type(item) is str for item in value):
                flat = "[" + ",".join(map(_json_string, value)) + "]"  # groups: no encoder
            else:
                flat = _COMPACT.encode(value)
            context[key] = flat
            texts.append(flat)
    # The bound, in escaped JSON (what older Python runtimes send): an ASCII character takes
    # at most 6 bytes (\u0000), any other at most 12 (a surrogate pair), and each entry 4 more
    # (quotes, colon, comma). Usually that settles it without serialising the map.
    text = "".join(context) + "".join(texts)
    bound = 2 + 4 * len(context) + plain + (6 if text.isascii() else 12) * len(text)
    if bound <= limit or len(json.dumps(context).encode()) <= limit:
        return context
    kept: dict[str, ContextValue] = {}
    size = 2
    for key, kept_value in context.items():
        entry = len(json.dumps({key: kept_value}).encode())
        if size + entry > limit:
            logger.warning("authorizer context over %d bytes: left out %r and after", limit, key)
            break
        kept[key] = kept_value
        size += entry
    return kept


# Lambda hands events over as parsed JSON: plain dicts. Checking for dict (not the Mapping ABC,
# ten times slower) keeps the adapter's own cost small next to the signature check.
def _lower(mapping: object) -> dict[str, str]:
    if not isinstance(mapping, dict) or not mapping:
        return {}
    try:  # names are strings in a JSON event
        return {k.lower(): v for k, v in mapping.items() if isinstance(v, str)}
    except AttributeError:
        return {str(k).lower(): v for k, v in mapping.items() if isinstance(v, str)}


def _strings(mapping: object) -> dict[str, str]:
    if not isinstance(mapping, dict) or not mapping:
        return {}
    return {str(k): v for k, v in mapping.items() if isinstance(v, str)}


def _kind(event: Mapping[str, Any]) -> Literal["token", "request", "http", "websocket"]:
    declared = event.get("type")
    if declared == "TOKEN":
        return "token"
    if event.get("version") == "2.0":
        return "http"
    context = event.get("requestContext")
    if isinstance(context, dict) and (
        context.get("eventType") == "CONNECT" or context.get("routeKey") == "$connect"
    ):
        return "websocket"
    if declared == "REQUEST":
        return "request"
    raise ValueError("not an API Gateway authorizer event")


def parse_request(event: AuthorizerEvent | Mapping[str, Any]) -> AuthorizerRequest:
    """Recognise an authorizer event and normalise it.

    Raises:
        ValueError: Not an authorizer event, or without a usable ARN.
    """
    return _read(event).full()


class _Event:
    """An event, parsed as far as an answer needs: its kind and ARN (the record on demand).

    The handler reads the token straight from the event (:func:`_token_of`); the full
    :class:`AuthorizerRequest` (every header name lowered, the query string, path parameters,
    stage variables) is built only for an ``authorize`` callback, which is handed one.
    """

    __slots__ = ("arn", "event", "kind", "stage_wildcard")

    def __init__(
        self,
        kind: Literal["token", "request", "http", "websocket"],
        arn: tuple[ApiArn, str],
        event: dict[str, Any],
    ) -> None:
        self.kind = kind
        self.arn, self.stage_wildcard = arn
        self.event = event

    def full(self) -> AuthorizerRequest:
        """The request as :func:`parse_request` makes it."""
        event = self.event
        if self.kind == "token":  # a TOKEN event has nothing else
            return AuthorizerRequest("token", self.arn, {}, {}, {}, {}, event)
        return AuthorizerRequest(
            self.kind,
            self.arn,
            _lower(event.get("headers")),
            _strings(event.get("queryStringParameters")),
            _strings(event.get("pathParameters")),
            _strings(event.get("stageVariables")),
            event,
        )


def _read(event: object) -> _Event:
    """Recognise an authorizer event and parse its ARN.

    Raises:
        ValueError: Not an authorizer event, or without a usable ARN.
    """
    if not isinstance(event, dict):
        raise ValueError("the event is not a JSON object")
    kind = _kind(event)
    arn = _parse_arn(str(event.get("routeArn" if kind == "http" else "methodArn") or ""))
    return _Event(kind, arn, event)


def _token_value(event: Mapping[str, Any], source: TokenSource) -> str | None:
    """The token of a ``TOKEN`` event: its ``authorizationToken``."""
    value = event.get("authorizationToken")
    return _from_value(value if isinstance(value, str) else None, source.allow_bare)


def _from_value(value: str | None, allow_bare: bool) -> str | None:  # noqa: FBT001
    """``Bearer <token>`` (scheme in any case, RFC 6750 §2.1), or a bare token if allowed."""
    if not value:
        return None
    scheme, _, rest = value.partition(" ")
    if scheme.lower() == "bearer" and one_word(rest):
        return rest  # the usual case, without splitting (and copying) the token
    parts = value.split()
    if len(parts) == 2 and parts[0].lower() == "bearer":
        return parts[1]
    if len(parts) == 1 and allow_bare and parts[0].lower() != "bearer":
        return parts[0]
    return None  # empty, another scheme, or extra words


# The header names of an API's events repeat from one request to the next: where the token's
# header (in whatever case) is among them is remembered for the last few sets of names, so that
# a request costs a tuple and a look-up rather than a lower() per name.
_MATCHES: dict[tuple[str, tuple[Any, ...]], tuple[int, ...] | None] = {}
_MATCHES_SIZE = 64
_UNCACHED: Any = object()


def _matching(mapping: dict[Any, Any], name: str) -> tuple[tuple[Any, ...], tuple[int, ...] | None]:
    """The names of *mapping*, and the positions of those that are *name* (lower case).

    The positions are in order; ``None`` when a name is not a ``str`` (the caller then reads
    the names one by one, as it always did).
    """
    names = tuple(mapping)
    key = (name, names)
    found = _MATCHES.get(key, _UNCACHED)
    if found is _UNCACHED:
        found = (
            tuple(at for at, each in enumerate(names) if each.lower() == name)
            if all(type(each) is str for each in names)
            else None
        )
        if len(_MATCHES) >= _MATCHES_SIZE:
            _MATCHES.clear()
        _MATCHES[key] = found
    return names, found


def _sent(multi: dict[Any, Any], name: str) -> int:
    """How many values ``multiValueHeaders`` holds under *name* (lower case), in any case."""
    names, found = _matching(multi, name)
    if found is not None:
        if len(found) == 1:  # the usual case: one Authorization header, its one value
            values = multi[names[found[0]]]
            return len(values) if isinstance(values, list) else 0
        values_of = [multi[names[at]] for at in found]
    else:
        size = len(name)  # lower() only the names of the right length
        values_of = [
            values
            for key, values in multi.items()
            if type(key) is str and len(key) == size and key.lower() == name
        ]
    return sum(len(values) for values in values_of if isinstance(values, list))


def _header(headers: object, name: str) -> str | None:
    """``_lower(headers).get(name)``: the last string value of *name* in any case."""
    if not isinstance(headers, dict) or not headers:
        return None
    names, found = _matching(headers, name)
    if found is None:
        return _lower(headers).get(name)
    for at in reversed(found):
        value = headers[names[at]]
        if isinstance(value, str):
            return value
    return None


def _token_of(  # noqa: PLR0911, PLR0917 - internal, each argument used
    kind: str,
    event: Mapping[str, Any],
    source: TokenSource,
    name: str | None,
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
) -> str | None:
    """The token of an event (``None`` when absent, empty or ambiguous).

    *headers* and *query* as an ``AuthorizerRequest`` has them, or ``None``: read from the
    event, without lowering every header name.
    """
    if kind == "token":
        return _token_value(event, source)
    if name is not None:  # source.header, lowered
        multi = event.get("multiValueHeaders")
        if isinstance(multi, dict) and _sent(multi, name) > 1:
            return None  # two Authorization headers: refuse to guess which one counts
        header = _header(event.get("headers"), name) if headers is None else headers.get(name)
        if header is not None:
            if kind == "http" and "," in header:
                return None  # HTTP APIs join repeated headers with commas
            return _from_value(header, source.allow_bare)
    if source.query is not None:
        multi_query = event.get("multiValueQueryStringParameters")
        if isinstance(multi_query, dict) and len(multi_query.get(source.query) or []) > 1:
            return None
        if query is None:
            query = _strings(event.get("queryStringParameters"))
        return _from_value(query.get(source.query), allow_bare=True)
    return None


def extract_token(request: AuthorizerRequest, source: TokenSource) -> str | None:
    """The bearer token of *request*, or ``None`` when absent, empty or ambiguous."""
    name = None if source.header is None else source.header.lower()
    return _token_of(request.kind, request.event, source, name, request.headers, request.query)


def _policy(  # noqa: PLR0917 - internal, every argument a field of the response
    principal_id: str,
    effect: Literal["Allow", "Deny"],
    resources: Sequence[str],
    deny_resources: Sequence[str] = (),
    context: dict[str, ContextValue] | None = None,
    usage_identifier_key: str | None = None,
) -> PolicyResponse:
    statements: list[PolicyStatement] = [
        {"Action": "execute-api:Invoke", "Effect": effect, "Resource": list(resources)}
    ]
    if deny_resources:
        statements.append(
            {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": list(deny_resources)}
        )
    response: PolicyResponse = {
        "principalId": principal_id,
        "policyDocument": {"Version": "2012-10-17", "Statement": statements},
    }
    if context:
        response["context"] = context
    if usage_identifier_key is not None:
        response["usageIdentifierKey"] = usage_identifier_key
    return response


def deny_all(principal_id: str, arn: str | ApiArn) -> PolicyResponse:
    """A ready Deny of the whole stage for *principal_id* (403 on every route)."""
    parsed = parse_api_arn(arn) if isinstance(arn, str) else arn
    return _policy(principal_id, "Deny", [parsed.stage_wildcard])


class LambdaAuthorizer:
    """A Lambda handler for API Gateway authorizers; build it with :func:`authorizer`."""

    def __init__(
        self,
        verifier: Verifier,
        *,
        authorize: Authorize | None,
        groups: Iterable[str] | str | None,
        scopes: Iterable[str] | str | None,
        token_source: TokenSource,
        principal_claim: str,
        context_claims: Iterable[str] | str | None,
        resource: Literal["stage", "method"],
        http_response: Literal["simple", "iam"],
        on_invalid: Literal["unauthorized", "deny"],
        routes: Mapping[str, Route] | None = None,
    ) -> None:
        if resource not in ("stage", "method"):
            raise ConfigurationError("resource must be 'stage' or 'method'")
        if http_response not in ("simple", "iam"):
            raise ConfigurationError("http_response must be 'simple' or 'iam'")
        if on_invalid not in ("unauthorized", "deny"):
            raise ConfigurationError("on_invalid must be 'unauthorized' or 'deny'")
        if not isinstance(token_source, TokenSource):
            raise ConfigurationError("token_source must be a TokenSource")
        if not isinstance(principal_claim, str) or not principal_claim:
            raise ConfigurationError("principal_claim must be a claim name")
        if authorize is not None and not callable(authorize):
            raise ConfigurationError("authorize must be callable")
        if routes is not None and resource == "method":
            raise ConfigurationError(
                "routes= computes the policy's resources itself: leave resource at 'stage'"
            )
        check_sync_use(verifier, "the Lambda authorizer")
        self.rules = None if routes is None else _rules(routes)
        self.verifier = verifier
        self.authorize = authorize
        self.groups = string_set(groups, "groups")
        self.scopes = string_set(scopes, "scopes")
        self._policy = WebPolicy.of(scopes=self.scopes, groups=self.groups)
        self.token_source = token_source
        self._header_name = None if token_source.header is None else token_source.header.lower()
        self.principal_claim = principal_claim
        self.context_claims: tuple[str, ...] | Literal["all"] | None = (
            "all"
            if context_claims == "all"
            else None
            if context_claims is None
            else string_tuple(context_claims, "context_claims", allow_empty=True)
        )
        self.resource = resource
        self.http_response = http_response
        self.on_invalid = on_invalid

    def __call__(
        self, event: AuthorizerEvent | Mapping[str, Any], context: LambdaContext | None = None
    ) -> PolicyResponse | SimpleResponse:
        """Answer one authorizer event (the Lambda entry point)."""
        del context
        try:
            request = _read(event)
        except ValueError as exc:
            logger.warning("authorizer: unusable event (%s)", exc)
            raise Unauthorized from None
        token = _token_of(request.kind, request.event, self.token_source, self._header_name)
        # The web decision: the same refusals, log lines and 401/403/5xx split as every adapter.
        outcome: Claims | JwtError | None = None
        if token is None:
            answer: WebDecision | None = decide(self._policy, _NO_FACTS)
        else:
            try:
                outcome = self.verifier.verify(token)
            except JwtError as exc:
                outcome = exc
            answer = refusal(self._policy, outcome)  # decide()'s, without an Admit record
            if answer is None and isinstance(outcome, Claims):
                return self._decide(outcome, request)
        status = answer.status if isinstance(answer, Rejection) else 401
        if status >= 500 and isinstance(outcome, JwtError):
            # Our outage (no keys, revocation unknown) or our bug (a verifier that can't serve
            # the call): a plain error (500), so the client retries rather than drop its token.
            raise outcome
        if status == 403:
            # A valid token refused by groups=/scopes= (the verifier's or ours): an explicit Deny.
            if isinstance(outcome, Claims):
                principal = outcome.get(self.principal_claim)
                principal_id = "unknown" if principal is None else str(principal)
            else:  # the verifier's own check: its claims ride on the error, unverified
                unverified = outcome.unverified_claims if outcome is not None else None
                principal = (unverified or {}).get(self.principal_claim)
                principal_id = str(principal or "anonymous")
            return self._answer(request, allow=False, principal_id=principal_id)
        if self.on_invalid == "deny" or (request.kind == "http" and self.http_response == "simple"):
            return self._answer(request, allow=False, principal_id="anonymous")
        raise Unauthorized

    def _decide(self, claims: Claims, request: _Event) -> PolicyResponse | SimpleResponse:
        principal = claims._data.get(self.principal_claim)  # noqa: SLF001 - a dict reads faster
        principal_id = str(principal) if principal is not None else "unknown"
        decision: Decision | None = None
        allow = True  # groups= and scopes= were checked by the web decision
        if self.authorize is not None:
            result = self.authorize(claims, request.full())
            if isinstance(result, Decision):
                decision, allow = result, result.allow
                principal_id = result.principal_id or principal_id
            else:
                allow = result is None or result is True
        if not allow:
            logger.info("authorizer: 403 for %s", principal_id)
            return self._answer(request, allow=False, principal_id=principal_id, decision=decision)
        context = self._context_of(claims, decision.context if decision else {})
        if self.rules is not None:
            return self._answer_routes(self.rules, claims, request, principal_id, decision, context)
        return self._answer(
            request, allow=True, principal_id=principal_id, decision=decision, context=context
        )

    def _answer_routes(  # noqa: PLR0917 - internal, each argument used
        self,
        rules: Mapping[str, _Rule],
        claims: Claims,
        request: _Event,
        principal_id: str,
        decision: Decision | None,
        context: dict[str, ContextValue],
    ) -> PolicyResponse | SimpleResponse:
        """The answer under ``routes=``: what this caller may call, not only this route."""
        if decision is not None and decision.resources is not None:
            raise ConfigurationError("with routes=, a Decision may not set resources")
        if request.kind == "http" and self.http_response == "simple":
            # A simple answer holds no resources: it can only speak of the route asked about
            # (API Gateway must have the route in the cache key, or caching off).
            key = request.event.get("routeKey")
            rule = rules.get(key) if isinstance(key, str) else None
            if rule is None or not rule.route.permits(claims):
                logger.info("authorizer: 403 for %s on %.200r", principal_id, key)
                return self._answer(request, allow=False, principal_id=principal_id)
            return self._answer(request, allow=True, principal_id=principal_id, context=context)
        # A policy is cached by token and evaluated against every later request: it must be
        # a function of the caller alone, listing every route the caller may call.
        allowed = [rule for rule in rules.values() if rule.route.permits(claims)]
        if not allowed:
            logger.info("authorizer: 403 for %s (no route allowed)", principal_id)
            return self._answer(request, allow=False, principal_id=principal_id, decision=decision)
        # A wildcard (GET/orders/*) also matches deeper routes (GET/orders/*/items): deny
        # explicitly those the caller may not call, since IAM's Deny wins over any Allow.
        covered = [
            rule
            for rule in rules.values()
            if not rule.route.permits(claims)
            and any(a.pattern.fullmatch(rule.arn_route) for a in allowed)
        ]
        arn = request.arn
        return _policy(
            principal_id,
            "Allow",
            list(dict.fromkeys(arn.resource(rule.arn_route) for rule in allowed)),
            [
                *dict.fromkeys(arn.resource(rule.arn_route) for rule in covered),
                *(decision.deny_resources if decision else ()),
            ],
            context,
            decision.usage_identifier_key if decision else None,
        )

    def _context_of(self, claims: Claims, extra: Mapping[str, Any]) -> dict[str, ContextValue]:
        if self.context_claims is None:
            chosen: dict[str, Any] = {}
        elif self.context_claims == "all":
            data = claims._data  # noqa: SLF001 - a plain dict reads faster than the Mapping
            if not extra:
                return flatten_context(data)  # it only reads them: no copy
            chosen = dict(data)
        else:
            chosen = {name: claims.get(name) for name in self.context_claims}
        return flatten_context({**chosen, **extra} if extra else chosen)

    def _answer(
        self,
        request: _Event,
        *,
        allow: bool,
        principal_id: str,
        decision: Decision | None = None,
        context: dict[str, ContextValue] | None = None,
    ) -> PolicyResponse | SimpleResponse:
        if request.kind == "http" and self.http_response == "simple":
            simple: SimpleResponse = {"isAuthorized": allow}
            if context and allow:
                simple["context"] = context
            return simple
        default = request.stage_wildcard if self.resource == "stage" else str(request.arn)
        resources = [default]
        if allow and decision is not None and decision.resources is not None:
            resources = list(decision.resources)
        return _policy(
            principal_id,
            "Allow" if allow else "Deny",
            resources,
            decision.deny_resources if decision else (),
            context if allow else None,
            decision.usage_identifier_key if decision else None,
        )


def authorizer(
    verifier: Verifier,
    *,
    authorize: Authorize | None = None,
    groups: Iterable[str] | str | None = None,
    scopes: Iterable[str] | str | None = None,
    token_source: TokenSource | None = None,
    principal_claim: str = "sub",
    context_claims: Iterable[str] | str | None = "all",
    resource: Literal["stage", "method"] = "stage",
    http_response: Literal["simple", "iam"] = "simple",
    on_invalid: Literal["unauthorized", "deny"] = "unauthorized",
    routes: Mapping[str, Route] | None = None,
    hydrate: bool = True,
) -> LambdaAuthorizer:
    """Build a Lambda handler that authorizes API Gateway requests with *verifier*.

    Call it at module scope, so the verifier and its keys are ready in the init phase.

    Args:
        verifier: Any verifier of this package (``CognitoVerifier``, ``JwtVerifier`` ...).
        authorize: ``(claims, request) -> bool | Decision`` for your own rules, called for
            valid tokens only. ``True``/``None`` allows, ``False`` denies (403).
        groups: Deny (403) unless the user is in one of these ``cognito:groups`` (one string
            is one group).
        scopes: Deny (403) unless the token grants one of these scopes (one string is one
            scope).
        token_source: Where ``REQUEST``/HTTP/WebSocket events carry the token.
        principal_claim: The claim used as ``principalId``.
        context_claims: Claims handed to the backend in ``context``: ``"all"``, a list of
            names (one other string is one name), or ``None``. Lists and objects are
            serialised to JSON strings.
        resource: ``"stage"`` (default) allows or denies every route of the stage, which
            stays right under authorizer caching; ``"method"`` names only the route asked
            about (turn caching off, or a cached Allow becomes a Deny on other routes).
            Ignored with ``routes=`` (``"method"`` is refused there).
        http_response: For HTTP APIs (payload 2.0): ``"simple"`` (``isAuthorized``) or
            ``"iam"`` (a policy); match the API's "simple responses" setting.
        on_invalid: ``"unauthorized"`` (401, API Gateway's convention; the invocation counts
            as an error in Lambda metrics) or ``"deny"`` (an explicit Deny, 403). Use
            ``"deny"`` for HTTP APIs with IAM policy answers: API Gateway documents the
            ``Unauthorized`` convention for REST APIs only (an emulator answers 500).
        routes: Per-route rules, ``{"GET /orders/{id}": Route(scopes="orders/read"), ...}``
            (route keys as API Gateway writes them; ``ANY``, ``{param}``, ``{proxy+}`` and
            ``$default`` allowed). A valid token gets a policy allowing exactly the routes
            its caller may call (path parameters become ``*`` in the ARNs, and routes a
            wildcard would open to a caller who may not call them are denied explicitly), so
            the policy stays right when API Gateway caches it by token. A route not listed
            is denied. HTTP APIs with simple answers check the event's ``routeKey``: put
            ``$context.routeKey`` in the authorizer's identity sources, or turn caching off.
            The ``groups``, ``scopes`` and ``authorize`` options still apply to every route.
        hydrate: Load the verifier's keys now (from the store or the network).

    Returns:
        The handler: ``handler(event, context)``.

    Raises:
        ConfigurationError: An option has an unusable value.
    """
    handler = LambdaAuthorizer(
        verifier,
        authorize=authorize,
        groups=groups,
        scopes=scopes,
        token_source=TokenSource() if token_source is None else token_source,
        principal_claim=principal_claim,
        context_claims=context_claims,
        resource=resource,
        http_response=http_response,
        on_invalid=on_invalid,
        routes=routes,
    )
    if hydrate:
        try:
            verifier.hydrate()
        except KeySetUnavailableError as exc:
            # The first request tries again; a slow issuer must not fail the init phase.
            logger.warning("authorizer: could not load keys at init (%s); will retry", exc.code)
    return handler
