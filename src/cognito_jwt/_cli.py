"""The ``cognito-jwt`` command line (``python -m cognito_jwt``)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from typing import TextIO

from ._cli_inspect import EXIT_CODES_HELP, HelpFormatter, add_commands, exit_code

__all__ = ["main"]


def _demo(out: TextIO) -> int:  # noqa: PLR0915 - a narrated script, step by step
    """Serve an issuer on 127.0.0.1 and verify its tokens through discovery and the key cache."""
    import tempfile

    from . import CognitoVerifier, FileStore, JwtError, JwtVerifier
    from ._b64 import b64url_encode
    from .testing import LocalIssuer

    def say(text: str = "") -> None:
        out.write(text + "\n")

    pool_id, client_id = "eu-west-1_DemoPool1", "demo-app-client"
    failures = 0
    say("cognito-jwt demo: a local issuer on 127.0.0.1, no cloud account needed\n")
    with LocalIssuer() as issuer, tempfile.TemporaryDirectory() as cache_dir:
        say(
            f"1. issuer {issuer.issuer} publishes discovery and a JWKS "
            f"(kid {issuer.kids[0][:12]}...)"
        )

        oidc = JwtVerifier(issuer=issuer.issuer, audience="demo-api", store=FileStore(cache_dir))
        token = issuer.mint({"sub": "alice", "aud": "demo-api", "scope": "orders:read"})
        started = time.perf_counter()
        claims = oidc.verify(token)
        first_ms = (time.perf_counter() - started) * 1e3
        say(
            f"2. JwtVerifier found the keys by OIDC discovery: sub={claims.sub!r}, "
            f"first verify {first_ms:.1f} ms (discovery + JWKS fetch)"
        )
        rounds = 2000
        started = time.perf_counter()
        for _ in range(rounds):
            oidc.verify(token)
        warm_us = (time.perf_counter() - started) / rounds * 1e6
        say(f"   warm verify from the in-memory key cache: {warm_us:.0f} us per token")

        cognito = CognitoVerifier(
            user_pool_id=pool_id,
            client_id=client_id,
            token_use="access",
            jwks_uri=issuer.jwks_uri,
            store=FileStore(cache_dir),
        )
        access = issuer.cognito_access_token(
            user_pool_id=pool_id,
            client_id=client_id,
            scope="orders/read orders/write",
            **{"cognito:groups": ["admins"]},
        )
        verified = cognito.verify(access)
        say("3. CognitoVerifier (real Cognito issuer string, keys from jwks_uri) verified:")
        say(json.dumps(verified.to_dict(), indent=2, sort_keys=True))

        new_kid = issuer.rotate()
        rotated = issuer.mint({"sub": "bob", "aud": "demo-api"})
        oidc.verify(rotated)
        say(
            f"4. the issuer rotated to kid {new_kid[:12]}...: the unknown kid triggered one "
            f"refresh; refreshes so far {dict(oidc.stats.refreshes)}"
        )

        say("5. tokens that must be rejected:")
        header_b64, payload_b64, signature_b64 = access.split(".")
        forged = b64url_encode(json.dumps({**verified.to_dict(), "scope": "orders/admin"}).encode())
        none_header = b64url_encode(b'{"alg":"none","typ":"JWT"}')
        cases = {
            "tampered payload (scope widened)": f"{header_b64}.{forged}.{signature_b64}",
            "expired": issuer.cognito_access_token(
                user_pool_id=pool_id, client_id=client_id, exp=int(time.time()) - 60
            ),
            "ID token where an access token is expected": issuer.cognito_access_token(
                user_pool_id=pool_id, client_id=client_id, token_use="id", aud=client_id
            ),
            "another app client": issuer.cognito_access_token(
                user_pool_id=pool_id, client_id="someone-else"
            ),
            "alg none": f"{none_header}.{payload_b64}.",
        }
        for label, bad in cases.items():
            try:
                cognito.verify(bad)
            except JwtError as exc:  # noqa: PERF203 - a demo, not a hot loop
                say(f"   - {label}: rejected, {exc.code}: {exc}")
            else:  # pragma: no cover - would be a security bug
                failures += 1
                say(f"   - {label}: ACCEPTED (this is a bug)")

        before = oidc.stats.fetches
        rejected = 0
        flood = [
            f"{b64url_encode(json.dumps({'alg': 'RS256', 'kid': f'random-{n}'}).encode())}"
            f".{payload_b64}.{signature_b64}"
            for n in range(1000)
        ]
        for bad in flood:
            try:
                oidc.verify(bad)
            except JwtError:  # noqa: PERF203
                rejected += 1
        say(
            f"6. 1000 tokens with random kids: {rejected} rejected, "
            f"{oidc.stats.fetches - before} extra fetch(es) (one refresh per cooldown window at "
            "most, and the rotation above just used this window's)"
        )

        issuer.stop()
        cold = JwtVerifier(issuer=issuer.issuer, audience="demo-api", store=FileStore(cache_dir))
        cold.verify(rotated)
        say(
            f"7. issuer stopped; a new verifier (a fresh process) verified from the file store: "
            f"{cold.stats.fetches} fetches, {cold.stats.l2_loads} store load"
        )
    return 1 if failures else 0


def _password(args: argparse.Namespace) -> str | None:
    """The key password from the environment variable named by ``--password-env``."""
    import os

    if not args.password_env:
        return None
    value = os.environ.get(args.password_env)
    if not value:
        raise SystemExit(f"error: environment variable {args.password_env} is not set or empty")
    return value


def _keygen(args: argparse.Namespace, out: TextIO) -> int:
    """Generate a private_key_jwt key pair and write it with its registration material."""
    from . import generate_client_key

    if not args.force:
        from pathlib import Path

        from ._client._keygen import FILE_NAMES
        from ._errors import ConfigurationError

        existing = [str(Path(args.out) / name) for name in FILE_NAMES.values()]
        existing = [path for path in existing if Path(path).exists()]
        if existing:
            raise ConfigurationError(
                f"refusing to overwrite {', '.join(existing)} (add --force to replace them)"
            )
    key = generate_client_key(
        args.alg, kid=args.kid, rsa_bits=args.rsa_bits, common_name=args.common_name, days=args.days
    )
    paths = key.write(args.out, password=_password(args), overwrite=args.force)
    if args.json:
        files = {kind: str(path) for kind, path in paths.items()}
        out.write(
            json.dumps({"alg": key.alg, "kid": key.kid, "files": files, "jwk": key.public_jwk})
        )
        out.write("\n")
        return 0
    out.write(f"generated a {key.alg} key, kid {key.kid}\n")
    out.write(f"  private key (keep secret, mode 0600): {paths['private_key']}\n")
    out.write(f"  certificate to register (e.g. Login.gov): {paths['certificate']}\n")
    out.write(f"  public JWK / JWKS to register: {paths['public_jwk']}, {paths['jwks']}\n")
    out.write(json.dumps(key.public_jwk, indent=2) + "\n")
    return 0


def _sign_assertion(args: argparse.Namespace, out: TextIO) -> int:
    """Print a new client assertion (or the two form fields with --json)."""
    from . import ClientAssertionSigner

    certificate = None
    if args.certificate:
        from pathlib import Path

        try:
            certificate = Path(args.certificate).read_bytes()
        except OSError as exc:
            raise SystemExit(f"error: cannot read {args.certificate}: {exc.strerror}") from None
    signer = ClientAssertionSigner.from_pem_file(
        args.key,
        client_id=args.client_id,
        password=_password(args),
        alg=args.alg,
        kid=args.kid,
        certificate=certificate,
        lifetime=args.lifetime,
    )
    audience: str | list[str] = args.audience[0] if len(args.audience) == 1 else args.audience
    if args.json:
        out.write(json.dumps(signer.form_fields(audience)) + "\n")
    else:
        out.write(signer.sign(audience) + "\n")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cognito-jwt",
        description="Verify Amazon Cognito and OpenID Connect JWTs.",
        epilog=EXIT_CODES_HELP,
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="show the library's log (fetches, skipped keys)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    add_commands(commands)
    commands.add_parser(
        "demo",
        formatter_class=HelpFormatter,
        help="mint and verify Cognito-shaped tokens locally (no network, no account)",
        description="Start a local issuer on 127.0.0.1, mint Cognito-shaped tokens and verify "
        "them: discovery, the key cache, a key rotation and the usual rejections, narrated. "
        "No network beyond loopback, no AWS account.",
    )

    keygen = commands.add_parser(
        "keygen",
        epilog=EXIT_CODES_HELP,
        formatter_class=HelpFormatter,
        help="generate a private_key_jwt key pair, its public JWK and a certificate",
        description="Write private.pem (0600), public.crt, public.jwk.json and jwks.json into "
        "--out. Register the certificate or the JWK with your identity provider.",
    )
    keygen.add_argument("--alg", default="RS256", help="signing algorithm (default RS256)")
    keygen.add_argument("--kid", help="key id (default: the RFC 7638 thumbprint)")
    keygen.add_argument("--out", default=".", help="folder to write into (default: .)")
    keygen.add_argument("--rsa-bits", type=int, default=2048, help="RSA key size (default 2048)")
    keygen.add_argument(
        "--days", type=int, default=365, help="certificate validity in days (default %(default)s)"
    )
    keygen.add_argument(
        "--common-name",
        default="cognito-jwt client",
        help="certificate subject CN (default %(default)r)",
    )
    keygen.add_argument(
        "--password-env", metavar="VAR", help="encrypt private.pem with the password in $VAR"
    )
    keygen.add_argument("--force", action="store_true", help="overwrite existing files")
    keygen.add_argument("--json", action="store_true", help="print a JSON summary")

    sign = commands.add_parser(
        "sign-assertion",
        epilog=EXIT_CODES_HELP,
        formatter_class=HelpFormatter,
        help="print a private_key_jwt client assertion signed with a PEM key",
        description="Print a new client assertion (RFC 7523): iss = sub = --client-id, "
        "aud = --audience, a fresh jti, exp --lifetime seconds ahead.",
    )
    sign.add_argument("--client-id", required=True, help="the OAuth client id")
    sign.add_argument("--key", required=True, help="the private key PEM file")
    sign.add_argument(
        "--audience",
        required=True,
        action="append",
        help="the aud: the token endpoint URL (repeat for a list)",
    )
    sign.add_argument("--alg", help="algorithm (default: from the key type)")
    sign.add_argument("--kid", help="header kid (default: the RFC 7638 thumbprint)")
    sign.add_argument("--certificate", help="certificate file: adds its x5t#S256 to the header")
    sign.add_argument("--lifetime", type=float, default=120, help="seconds to exp (default 120)")
    sign.add_argument("--password-env", metavar="VAR", help="the PEM's password is in $VAR")
    sign.add_argument(
        "--json", action="store_true", help="print the client_assertion form fields as JSON"
    )
    return parser


def main(
    argv: Sequence[str] | None = None, out: TextIO | None = None, stdin: TextIO | None = None
) -> int:
    """Run the command line; returns the process exit code.

    Args:
        argv: The arguments (default ``sys.argv[1:]``).
        out: Where results go (default ``sys.stdout``); errors go to ``sys.stderr``.
        stdin: Where ``-`` reads a token from (default ``sys.stdin``).

    Exit codes:
        0: Success (``verify``: the token is valid).
        1: The token, a key or an input was refused: a ``JwtError``, its code and message on
            stderr (with ``--json``, a JSON object with ``code`` and ``message`` on *out*).
        2: Bad usage (argparse raises ``SystemExit(2)``).
        3: Network problem or key set unavailable (``KeySetUnavailableError`` and its
            subclasses ``DiscoveryError`` / ``InvalidJwksError``,
            ``TokenEndpointUnavailableError``): not the token's fault.
    """
    from ._errors import JwtError

    args = _parser().parse_args(argv)
    stream = out if out is not None else sys.stdout
    handlers = {"demo": lambda: _demo(stream), "keygen": lambda: _keygen(args, stream)}
    handlers["sign-assertion"] = lambda: _sign_assertion(args, stream)
    # The library logs for services; here, the commands report what matters themselves.
    log = logging.getLogger("cognito_jwt")
    handler = logging.StreamHandler(sys.stderr) if args.verbose else logging.NullHandler()
    handler.setFormatter(logging.Formatter("log: %(message)s"))
    previous_level = log.level
    log.addHandler(handler)
    if args.verbose:
        log.setLevel(logging.INFO)
    try:
        if args.command in handlers:
            return handlers[args.command]()
        return int(args.handler(args, stream, stdin if stdin is not None else sys.stdin))
    except JwtError as exc:
        if getattr(args, "json", False):
            stream.write(json.dumps({"code": exc.code, "message": str(exc)}) + "\n")
        else:
            sys.stderr.write(f"error: {exc.code}: {exc}\n")
        return exit_code(exc)
    finally:
        log.removeHandler(handler)
        log.setLevel(previous_level)
