"""Coverage-guided fuzzing of JWKS key processing over arbitrary JSON (atheris / libFuzzer).

Run: ``python -m nox -s fuzz -- 60`` (seconds per target), or directly
``python fuzz/fuzz_jwks.py -max_total_time=60 <corpus dir>``.

The input is parsed as JSON (inputs that aren't JSON are skipped: the strict JSON reader has
its own target through ``verify``) and given to ``KeySet.from_jwks``. A failure is any
exception that is not a ``JwtError``, a hang, or an accepted key that breaks a key rule:
private members, ``use`` other than ``sig``, an RSA modulus outside 2048-8192 bits, an EC key
on a curve other than the one its algorithms need, or ``oct``.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    from cognito_jwt import JwtError, KeySet
    from cognito_jwt._algorithms import ALGORITHMS

sys.path.insert(0, str(Path(__file__).parent))
from seeds import seed_documents

_PRIVATE = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
_CURVES = {"P-256": "secp256r1", "P-384": "secp384r1", "P-521": "secp521r1"}


def _check(key: object) -> None:
    jwk = key.jwk  # type: ignore[attr-defined]
    public = key.key  # type: ignore[attr-defined]
    assert not _PRIVATE & set(jwk), "a key with private members was accepted"
    assert jwk.get("use", "sig") == "sig", "a key with use != sig was accepted"
    assert jwk.get("kty") in ("RSA", "EC", "OKP"), "a key of another type was accepted"
    for alg in key.algorithms:  # type: ignore[attr-defined]
        spec = ALGORITHMS[alg]
        assert spec.kty == jwk["kty"], f"{alg} allowed for a {jwk['kty']} key"
        if spec.kty == "EC":
            assert isinstance(public, ec.EllipticCurvePublicKey)
            assert public.curve.name == _CURVES[spec.crv or ""], "EC key on the wrong curve"
    if isinstance(public, rsa.RSAPublicKey):
        assert 2048 <= public.key_size <= 8192, "RSA key size out of bounds"
    else:
        assert isinstance(public, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey)


def test_one_input(data: bytes) -> None:
    try:
        document = json.loads(data)
    except (ValueError, RecursionError):
        return
    try:
        keyset = KeySet.from_jwks(document)
    except JwtError:
        return
    for kid in [*keyset.kids, None]:
        for alg in ALGORITHMS:
            try:
                _check(keyset.find(kid, alg))
            except JwtError:
                continue


def main() -> None:
    corpus = Path(tempfile.mkdtemp(prefix="fuzz-jwks-"))
    for number, document in enumerate(seed_documents()):
        (corpus / f"seed-{number}").write_bytes(document)
    given = [arg for arg in sys.argv[1:] if not arg.startswith("-")]
    atheris.Setup(sys.argv if given else [*sys.argv, str(corpus)], test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
