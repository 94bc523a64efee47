"""Coverage-guided fuzzing of ``JwtVerifier.verify`` over arbitrary bytes (atheris / libFuzzer).

Run: ``python -m nox -s fuzz -- 60`` (seconds per target), or directly
``python fuzz/fuzz_verify.py -max_total_time=60 <corpus dir>``.

A failure is: any exception that is not a ``JwtError``; a hang (libFuzzer's ``-timeout``); or
an accepted token whose signature does not verify, checked independently with bare
``cryptography``, with one of the published keys over the exact signing input.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from cognito_jwt import JwtError, JwtVerifier
    from cognito_jwt._algorithms import ALGORITHMS
    from cognito_jwt._b64 import b64url_decode

sys.path.insert(0, str(Path(__file__).parent))
from seeds import ISSUER, KEYS, jwks, seed_tokens

NOW = 1_700_000_000.0
VERIFIER = JwtVerifier(
    issuer=ISSUER, audience="api://fuzz", jwks=jwks(), clock=lambda: NOW, leeway=60
)
# The same settings with the verified-token cache on (small, so evictions happen): verifying
# twice through it must give exactly what the plain verifier gives, hit or miss.
CACHED = JwtVerifier(
    issuer=ISSUER,
    audience="api://fuzz",
    jwks=jwks(),
    clock=lambda: NOW,
    leeway=60,
    token_cache_size=8,
)


def _outcome(verifier: JwtVerifier, data: bytes) -> object:
    try:
        return dict(verifier.verify(data))
    except JwtError as exc:
        return type(exc)


def _independently_signed(token: str) -> bool:
    """Whether *token* carries a valid signature by a published key (not using our verifier)."""
    header_b64, payload_b64, signature_b64 = token.split(".")
    header = json.loads(b64url_decode(header_b64))
    signature = b64url_decode(signature_b64)
    data = f"{header_b64}.{payload_b64}".encode("ascii")
    alg = header["alg"]
    return any(
        alg in key.algorithms and ALGORITHMS[alg].verify(key.public, signature, data)
        for key in KEYS
    )


def test_one_input(data: bytes) -> None:
    expected = _outcome(VERIFIER, data)
    for attempt in ("miss", "hit"):
        got = _outcome(CACHED, data)
        if got != expected:
            raise AssertionError(f"token cache ({attempt}) gave {got!r}, not {expected!r}")
    try:
        claims = VERIFIER.verify(data)
    except JwtError:
        return
    token = data.decode("ascii") if isinstance(data, bytes) else data
    if not _independently_signed(token):
        raise AssertionError(f"accepted a token no published key signed: {claims!r}")


def main() -> None:
    corpus = Path(tempfile.mkdtemp(prefix="fuzz-verify-"))
    for number, token in enumerate(seed_tokens(NOW)):
        (corpus / f"seed-{number}").write_bytes(token)
    given = [arg for arg in sys.argv[1:] if not arg.startswith("-")]
    atheris.Setup(sys.argv if given else [*sys.argv, str(corpus)], test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
