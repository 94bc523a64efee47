"""The command line's token and key set commands: ``verify``, ``decode`` and ``discover``.

They never print the token back (``--show-token`` does, on request) and never print key
material: only what a developer needs to see why a token or a key set is refused.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TextIO

from ._errors import (
    ConfigurationError,
    InvalidJwksError,
    JwtError,
    KeySetUnavailableError,
    MalformedTokenError,
    TokenEndpointUnavailableError,
)

if TYPE_CHECKING:
    from ._http import Fetched
    from ._verifier import BaseVerifier

__all__ = [
    "EXIT_CODES_HELP",
    "EXIT_INVALID",
    "EXIT_OK",
    "EXIT_UNAVAILABLE",
    "EXIT_USAGE",
    "HelpFormatter",
    "add_commands",
    "exit_code",
]

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
EXIT_UNAVAILABLE = 3

EXIT_CODES_HELP = """\
exit codes:
  0  success (verify: the token is valid)
  1  the token, a key or an input was refused (the error code and reason are printed)
  2  usage error (bad or missing options)
  3  network problem or key set unavailable (ERR_JWKS_UNAVAILABLE, ERR_DISCOVERY, ...):
     not the token's fault
"""

UNVERIFIED_NOTE = (
    "UNVERIFIED: decoded without checking the signature or any claim; do not trust these values"
)
_TIME_CLAIMS = ("exp", "nbf", "iat", "auth_time")
_MAX_STDIN = 1024 * 1024  # far above any token size cap; a runaway pipe is cut here
_METADATA_FIELDS = (
    "issuer",
    "jwks_uri",
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "end_session_endpoint",
    "id_token_signing_alg_values_supported",
    "token_endpoint_auth_methods_supported",
    "token_endpoint_auth_signing_alg_values_supported",
    "grant_types_supported",
    "scopes_supported",
)


class HelpFormatter(argparse.HelpFormatter):
    """Wraps descriptions as usual, but keeps the exit code table's line breaks."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text is EXIT_CODES_HELP:
            return text
        return super()._fill_text(text, width, indent)


Usage = Callable[[str], Any]
"""``parser.error``: prints the usage line and the message, exits with 2."""


def exit_code(exc: JwtError) -> int:
    """The exit code for a failure: 3 when keys or an endpoint could not be had, else 1."""
    if isinstance(exc, KeySetUnavailableError | TokenEndpointUnavailableError):
        return EXIT_UNAVAILABLE
    return EXIT_INVALID


# Shared helpers ---------------------------------------------------------------------------------
def read_token(arg: str, stdin: TextIO) -> str:
    """The token from the argument, or from *stdin* for ``-``; whitespace and ``Bearer`` go.

    Raises:
        MalformedTokenError: Nothing left once stripped.
    """
    text = (stdin.read(_MAX_STDIN) if arg == "-" else arg).strip()
    scheme, _, rest = text.partition(" ")
    if scheme.lower() == "bearer":
        text = rest.strip()
    if not text:
        raise MalformedTokenError("no token given (empty input)")
    return text


def _span(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} d"


def describe_time(name: str, value: object, now: float) -> str | None:
    """``"2024-05-01 12:00:00 UTC, expires in 12 min"`` for a time claim, ``None`` if not one."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    try:
        when = datetime.fromtimestamp(value, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return None
    delta = value - now
    if name == "exp":
        relative = f"expires in {_span(delta)}" if delta > 0 else f"expired {_span(delta)} ago"
    elif name == "nbf":
        relative = f"not valid for {_span(delta)} more" if delta > 0 else "valid now"
    else:
        relative = f"{_span(delta)} in the FUTURE" if delta > 0 else f"{_span(delta)} ago"
    return f"{when}, {relative}"


def _times(claims: Mapping[str, Any], now: float) -> dict[str, str]:
    described = {name: describe_time(name, claims.get(name), now) for name in _TIME_CLAIMS}
    return {name: text for name, text in described.items() if text is not None}


def _write_json(out: TextIO, value: object) -> None:
    out.write(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")


def _write_fields(out: TextIO, title: str, fields: Mapping[str, Any], now: float) -> None:
    out.write(f"{title}:\n")
    width = max((len(name) for name in fields), default=0)
    for name, value in fields.items():
        line = f"  {name:<{width}}  {json.dumps(value, default=str)}"
        when = describe_time(name, value, now) if name in _TIME_CLAIMS else None
        out.write(f"{line}  ({when})\n" if when else line + "\n")


def _fetch_options(args: argparse.Namespace) -> Any:
    from ._options import FetchOptions

    return FetchOptions(allow_insecure_http=args.allow_http, timeout=args.timeout)


def _add_fetch_options(parser: Any) -> None:
    """Add the HTTP options to *parser* (a parser or an argument group)."""
    parser.add_argument(
        "--allow-http",
        action="store_true",
        help="accept plain http URLs for hosts that are not loopback (tests only)",
    )
    parser.add_argument(
        "--timeout", type=float, default=5.0, help="seconds per HTTP request (default 5)"
    )


# verify -----------------------------------------------------------------------------------------
def _cognito_verifier(args: argparse.Namespace, usage: Usage, options: dict[str, Any]) -> Any:
    from . import CognitoVerifier

    if args.audience or args.no_audience_check:
        usage("--audience is for --issuer; a Cognito token's app client is --client-id")
    if not args.client_id and not args.no_client_check:
        usage("--user-pool-id needs --client-id (or --no-client-check to skip that check)")
    if not args.token_use and not args.any_token_use:
        usage("--user-pool-id needs --token-use id|access (or --any-token-use)")
    return CognitoVerifier(
        user_pool_id=args.user_pool_id,
        client_id=None if args.no_client_check else args.client_id,
        token_use=None if args.any_token_use else args.token_use,
        groups=args.group or None,
        **options,
    )


def _oidc_verifier(args: argparse.Namespace, usage: Usage, options: dict[str, Any]) -> Any:
    from . import JwtVerifier

    if args.client_id or args.no_client_check or args.token_use or args.any_token_use:
        usage("--client-id and --token-use are for --user-pool-id; use --audience with --issuer")
    if args.group:
        usage("--group is for --user-pool-id (Cognito groups)")
    if not args.audience and not args.no_audience_check:
        usage("--issuer needs --audience (or --no-audience-check to skip that check)")
    audience = None if args.no_audience_check else args.audience
    return JwtVerifier(issuer=args.issuer, audience=audience, **options)


def _build_verifier(args: argparse.Namespace, usage: Usage) -> BaseVerifier:
    options: dict[str, Any] = {"leeway": args.leeway}
    if args.alg:
        options["algorithms"] = args.alg
    if args.scope:
        options["scopes"] = args.scope
    if args.jwks_file:
        if args.jwks_uri:
            usage("--jwks-file and --jwks-uri exclude each other")
        try:
            with open(args.jwks_file, encoding="utf-8") as file:
                options["jwks"] = file.read()
        except OSError as exc:
            usage(f"cannot read {args.jwks_file}: {exc.strerror}")
    else:
        options["jwks_uri"] = args.jwks_uri
        options["fetch"] = _fetch_options(args)
        options["store"] = None if args.no_cache else "default"
    if args.user_pool_id:
        verifier: BaseVerifier = _cognito_verifier(args, usage, options)
    else:
        verifier = _oidc_verifier(args, usage, options)
    return verifier


def _verify(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    """Verify a token; print its claims, or the reason it was refused."""
    verifier = _build_verifier(args, args.usage)
    now = time.time()
    try:
        token = read_token(args.token, stdin)
        claims = verifier.verify(token)
    except JwtError as exc:
        code = exit_code(exc)
        if args.json:
            report: dict[str, Any] = {"valid": False, "code": exc.code, "message": str(exc)}
            if code == EXIT_UNAVAILABLE:
                report["valid"] = None  # unknown: the keys could not be had
            _write_json(out, report)
            return code
        sys.stderr.write(f"error: {exc.code}: {exc}\n")
        if exc.unverified_claims:
            for name, text in _times(exc.unverified_claims, now).items():
                sys.stderr.write(f"  {name} (UNVERIFIED): {text}\n")
        return code
    payload = claims.to_dict()
    if args.json:
        result = {"valid": True, "header": dict(claims.header), "claims": payload}
        result["times"] = _times(payload, now)
        if args.show_token:
            result["token"] = token
        _write_json(out, result)
        return EXIT_OK
    out.write("VALID: signature and claims verified\n")
    _write_fields(out, "header", claims.header, now)
    _write_fields(out, "claims", payload, now)
    if args.show_token:
        out.write(f"token:\n  {token}\n")
    return EXIT_OK


# decode -----------------------------------------------------------------------------------------
def _decode(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    """Print a token's header and claims without verifying anything (and without network)."""
    from ._token import decode_payload, parse_token

    token = read_token(args.token, stdin)
    parsed = parse_token(token)
    payload = decode_payload(parsed)
    now = time.time()
    if args.json:
        result: dict[str, Any] = {
            "unverified": True,
            "warning": UNVERIFIED_NOTE,
            "header": dict(parsed.header),
            "claims": payload,
            "times": _times(payload, now),
        }
        if args.show_token:
            result["token"] = token
        _write_json(out, result)
        return EXIT_OK
    out.write(UNVERIFIED_NOTE + "\n")
    _write_fields(out, "header (UNVERIFIED)", parsed.header, now)
    _write_fields(out, "claims (UNVERIFIED)", payload, now)
    if args.show_token:
        out.write(f"token:\n  {token}\n")
    return EXIT_OK


# discover ---------------------------------------------------------------------------------------
def _key_size(jwk: Mapping[str, Any]) -> str:
    """``"2048 bits"`` for RSA, the curve for EC/OKP; never any key material."""
    from ._b64 import b64url_decode

    if jwk.get("kty") == "RSA" and isinstance(jwk.get("n"), str):
        try:
            return f"{int.from_bytes(b64url_decode(jwk['n']), 'big').bit_length()} bits"
        except ValueError:
            return "?"
    crv = jwk.get("crv")
    return crv if isinstance(crv, str) else "-"


def key_report(document: Mapping[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
    """One row per published key (kid, kty, alg, size, use, usable, reason) and the set's problem.

    The problem is ``None`` when this library would use the set (at least one key is usable).

    Raises:
        InvalidJwksError: The document has no ``keys`` array.
    """
    from ._jwk import parse_jwk, parse_jwks

    entries = document.get("keys")
    if not isinstance(entries, list):
        raise InvalidJwksError("JWKS must have a 'keys' array")
    reasons: dict[int, str] = {}
    problem = None
    try:
        reasons = {skipped.index: skipped.reason for skipped in parse_jwks(document).skipped}
    except InvalidJwksError as exc:
        problem = str(exc)
        for index, entry in enumerate(entries):
            try:
                parse_jwk(entry)
            except ValueError as error:  # noqa: PERF203 - one report line per key
                reasons[index] = str(error)
    rows = []
    for index, entry in enumerate(entries):
        jwk: Mapping[str, Any] = entry if isinstance(entry, Mapping) else {}
        rows.append(
            {
                "kid": jwk.get("kid"),
                "kty": jwk.get("kty"),
                "alg": jwk.get("alg"),
                "size": _key_size(jwk),
                "use": jwk.get("use"),
                "usable": index not in reasons and problem is None,
                "reason": reasons.get(index),
            }
        )
    return rows, problem


def _fetch_metadata(
    get: Callable[[str], Fetched], issuer: str, *, allow_http: bool
) -> tuple[dict[str, Any], str, str]:
    """Discovery: the checked metadata, where it came from, and its ``jwks_uri``."""
    from ._discovery import endpoint_from_metadata, metadata_from_document
    from ._http import fetch_metadata

    fetched = fetch_metadata(get, issuer)  # RFC 8414 fallback, as the verifiers do
    metadata = metadata_from_document(fetched.body, issuer=issuer, source=fetched.url)
    jwks_uri = endpoint_from_metadata(
        metadata, "jwks_uri", allow_insecure_http=allow_http, source=fetched.url
    )
    return metadata, fetched.url, jwks_uri


def _discover(args: argparse.Namespace, out: TextIO, stdin: TextIO) -> int:
    """Fetch an issuer's metadata and key set; report the keys this library would refuse."""
    del stdin
    from ._cognito import cognito_issuer
    from ._http import HttpFetcher
    from ._keysource import json_document
    from ._url_policy import check_url

    issuer = args.issuer
    if args.user_pool_id:
        if issuer:
            args.usage("give an ISSUER or --user-pool-id, not both")
        issuer = cognito_issuer(args.user_pool_id)
    if not issuer and not args.jwks_uri:
        args.usage("give an ISSUER, --user-pool-id or --jwks-uri")
    try:
        for url in (issuer, args.jwks_uri):
            if url:
                check_url(url, allow_insecure_http=args.allow_http)
    except ConfigurationError as exc:
        args.usage(str(exc))
    metadata: dict[str, Any] | None = None
    source = None
    with HttpFetcher(_fetch_options(args)).session() as get:
        jwks_uri = args.jwks_uri
        if jwks_uri is None:
            metadata, source, jwks_uri = _fetch_metadata(get, issuer, allow_http=args.allow_http)
        fetched = get(jwks_uri)
    rows, problem = key_report(json_document(fetched.body, fetched.url))
    usable = sum(row["usable"] for row in rows)
    report = {
        "issuer": issuer,
        "metadata_url": source,
        "metadata": metadata,
        "jwks_uri": fetched.url,
        "max_age": fetched.max_age,
        "keys": rows,
        "usable": usable,
        "refused": len(rows) - usable,
        "problem": problem,
    }
    if args.json:
        _write_json(out, report)
    else:
        _print_discovery(out, report)
    return EXIT_UNAVAILABLE if problem else EXIT_OK


def _print_discovery(out: TextIO, report: Mapping[str, Any]) -> None:
    metadata = report["metadata"]
    if metadata is not None:
        out.write(f"metadata from {report['metadata_url']}:\n")
        shown = {name: metadata[name] for name in _METADATA_FIELDS if name in metadata}
        width = max(len(name) for name in shown)
        for name, value in shown.items():
            text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            out.write(f"  {name:<{width}}  {text}\n")
    max_age = report["max_age"]
    cache = "" if max_age is None else f", Cache-Control max-age {max_age:g} s"
    rows = report["keys"]
    out.write(
        f"keys at {report['jwks_uri']}{cache}: {len(rows)} published, {report['usable']} "
        f"usable, {report['refused']} refused\n"
    )
    columns = ("kid", "kty", "alg", "size", "use")
    table = [[str(row[c]) if row[c] is not None else "-" for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in table)) for i, c in enumerate(columns)]
    out.write("  " + "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)))
    out.write("  status\n")
    problem = report["problem"]
    for row, cells in zip(rows, table, strict=True):
        status = "ok" if row["usable"] else f"REFUSED: {row['reason'] or problem}"
        out.write("  " + "  ".join(v.ljust(w) for v, w in zip(cells, widths, strict=True)))
        out.write(f"  {status}\n")
    if problem:
        out.write(f"this key set is unusable: {problem}\n")


# The parsers ------------------------------------------------------------------------------------
Handler = Callable[[argparse.Namespace, TextIO, TextIO], int]


def _command(commands: Any, name: str, handler: Handler, **kwargs: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        epilog=EXIT_CODES_HELP,
        formatter_class=HelpFormatter,
        **kwargs,
    )
    parser.set_defaults(handler=handler, usage=parser.error)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def _token_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "token", metavar="TOKEN", help="the token, 'Bearer <token>', or - to read it from stdin"
    )
    parser.add_argument(
        "--show-token", action="store_true", help="print the token back (off by default)"
    )


def add_commands(commands: Any) -> None:
    """Add ``verify``, ``decode`` and ``discover`` to the ``cognito-jwt`` subparsers."""
    verify = _command(
        commands,
        "verify",
        _verify,
        help="verify a token: signature, issuer, audience/client, token_use, times",
        description="Verify a token with a CognitoVerifier (--user-pool-id) or a JwtVerifier "
        "(--issuer) and print its claims, or the error code and reason it was refused. The "
        "keys come from the issuer (cached in the default file store unless --no-cache), from "
        "--jwks-uri, or from --jwks-file without any network.",
    )
    _token_arguments(verify)
    which = verify.add_mutually_exclusive_group(required=True)
    which.add_argument("--user-pool-id", help="a Cognito user pool id (eu-west-1_AbCdEf123)")
    which.add_argument("--issuer", help="an OpenID Connect issuer URL (keys found by discovery)")
    cognito = verify.add_argument_group("Cognito (with --user-pool-id)")
    cognito.add_argument(
        "--client-id", action="append", help="accepted app client id (repeat for several)"
    )
    cognito.add_argument(
        "--no-client-check", action="store_true", help="do not check the app client"
    )
    cognito.add_argument("--token-use", choices=("id", "access"), help="the expected token_use")
    cognito.add_argument(
        "--any-token-use", action="store_true", help="accept ID and access tokens alike"
    )
    cognito.add_argument(
        "--group", action="append", help="required cognito:groups entry (any of; repeatable)"
    )
    oidc = verify.add_argument_group("OpenID Connect (with --issuer)")
    oidc.add_argument("--audience", action="append", help="accepted aud value (repeatable)")
    oidc.add_argument("--no-audience-check", action="store_true", help="do not check aud")
    keys = verify.add_argument_group("keys and checks")
    keys.add_argument("--jwks-uri", help="fetch the keys from this URL (skips discovery)")
    keys.add_argument("--jwks-file", help="read the JWKS from this file (no network)")
    keys.add_argument(
        "--no-cache", action="store_true", help="do not read or write the default key file store"
    )
    keys.add_argument("--alg", action="append", help="allowed algorithm (repeatable)")
    keys.add_argument("--scope", action="append", help="required scope (any of; repeatable)")
    keys.add_argument(
        "--leeway", type=float, default=0, help="seconds of clock skew tolerated (default 0)"
    )
    _add_fetch_options(keys)

    decode = _command(
        commands,
        "decode",
        _decode,
        help="print a token's header and claims, UNVERIFIED (no network)",
        description="Decode a token's header and claims WITHOUT verifying the signature or "
        "any claim, with readable times (expires in 12 min). Nothing is fetched.",
    )
    _token_arguments(decode)

    discover = _command(
        commands,
        "discover",
        _discover,
        help="show an issuer's metadata and keys, and the keys this library would refuse",
        description="Fetch ISSUER/.well-known/openid-configuration (RFC 8414 metadata as a "
        "fallback) and its jwks_uri, and list the published keys (kid, kty, alg, size or "
        "curve, use), flagging those this library would refuse and why.",
    )
    discover.add_argument("issuer", metavar="ISSUER", nargs="?", help="the issuer URL")
    discover.add_argument("--user-pool-id", help="a Cognito user pool id, in place of ISSUER")
    discover.add_argument("--jwks-uri", help="fetch the keys from this URL, skipping discovery")
    _add_fetch_options(discover)
