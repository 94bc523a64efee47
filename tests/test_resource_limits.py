"""The worst inputs within the size caps: each is refused with the right ``JwtError`` at a cost
that stays bounded, measured by allocations and by counting operations, never by wall-clock time.

* Memory: ``tracemalloc`` peak of Python allocations during one call, above what was allocated
  before it (OpenSSL's own allocations are not traced; they are bounded by key and signature
  sizes, which the caps bound).
* CPU: the number of Python and C function calls the interpreter makes during one call
  (``sys.setprofile``), and counts of the expensive operations themselves (JSON decodes, key
  constructions). Work done inside one C call (``json`` scanning, ``int`` parsing) is bounded by
  the size of its input, which the caps bound.

The bounds asserted here are the ones documented in ``docs/security.md`` ("Resource bounds"),
with headroom over what was measured (Python 3.11, x86-64).
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import sys
import tracemalloc
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from cognito_jwt import (
    ClaimError,
    FetchOptions,
    InvalidJwksError,
    InvalidSignatureError,
    JwtError,
    JwtVerifier,
    KeyNotFoundError,
    KeySet,
    KeySetUnavailableError,
    MalformedTokenError,
    TokenLimits,
    UnsupportedCriticalHeaderError,
    _jwk,
    _token,
)
from cognito_jwt._algorithms import ALGORITHMS
from cognito_jwt._b64 import b64url_encode
from cognito_jwt._jwk import DEFAULT_MAX_KEYS, MAX_RSA_BITS
from tests.fake_issuer import FakeClock, FakeIssuer
from tests.helpers import AUDIENCE, FIXED_NOW, OIDC_ISSUER, SigningKey, key_state, oidc_claims

KIB = 1024
MIB = 1024 * KIB
LIMITS = TokenLimits()
MAX_BYTES = FetchOptions().max_bytes
# Largest decoded header / token the caps let through (base64url: 3 bytes per 4 characters).
HEADER_BYTES = LIMITS.max_header_length * 3 // 4
TOKEN_BYTES = LIMITS.max_token_length * 3 // 4


# === Measuring ===================================================================================
@dataclass
class Cost:
    outcome: Any  # the result, or the exception raised
    peak: int  # bytes: tracemalloc peak above the start
    calls: int  # Python + C function calls made


def _run(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except Exception as exc:  # noqa: BLE001 - the outcome is asserted by the caller
        return exc


def measure(call: Callable[[], Any]) -> Cost:
    """Run *call* twice: once under tracemalloc, once under a call-counting profiler."""
    _token._HEADER_CACHE.clear()
    gc.collect()
    tracemalloc.start()
    try:
        start, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        outcome = _run(call)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    _token._HEADER_CACHE.clear()
    calls = 0

    def count(frame: Any, event: str, arg: Any) -> None:
        nonlocal calls
        if event in ("call", "c_call"):
            calls += 1

    sys.setprofile(count)
    try:
        _run(call)
    finally:
        sys.setprofile(None)
    return Cost(outcome, peak - start, calls)


def assert_rejected(cost: Cost, cls: type[JwtError]) -> JwtError:
    error = cost.outcome
    assert type(error) is cls, f"expected {cls.__name__}, got {error!r}"
    assert len(str(error)) < 400, "the error message quotes the input"
    return error


@contextlib.contextmanager
def counting(module: Any, name: str) -> Iterator[list[int]]:
    """Count calls to ``module.name`` (the expensive step under test) while the block runs."""
    original = getattr(module, name)
    box = [0]

    def counted(*args: Any, **kwargs: Any) -> Any:
        box[0] += 1
        return original(*args, **kwargs)

    setattr(module, name, counted)
    try:
        yield box
    finally:
        setattr(module, name, original)


# === Tokens ======================================================================================
def seg(text: str) -> str:
    return b64url_encode(text.encode())


def sign_text(header: str, payload: str, key: SigningKey) -> str:
    """Sign hand-written JSON text (so that nesting and number literals survive as written)."""
    data = f"{seg(header)}.{seg(payload)}"
    signature = ALGORITHMS[key.alg].sign(key.private, data.encode())
    return f"{data}.{b64url_encode(signature)}"


def es256_header(key: SigningKey, extra: str = "") -> str:
    return '{"alg":"ES256","kid":"' + key.kid + '"' + extra + "}"


def claims_with(literal: str) -> str:
    """The standard claims with ``exp`` written as the JSON literal *literal*."""
    text = json.dumps(oidc_claims(exp=1234567))
    return text.replace("1234567", literal)


@pytest.fixture
def es(keys: dict[str, SigningKey]) -> SigningKey:
    return keys["ES256"]


@pytest.fixture
def verifier(make_oidc: Callable[..., JwtVerifier]) -> JwtVerifier:
    return make_oidc()


def fits(token: str) -> str:
    head = token.split(".", maxsplit=1)[0]
    assert len(token) <= LIMITS.max_token_length, "test input exceeds the token cap"
    assert len(head) <= LIMITS.max_header_length, "test input exceeds the header cap"
    return token


# === Deep nesting ================================================================================
def test_deepest_header_within_the_cap(verifier: JwtVerifier, es: SigningKey) -> None:
    depth = (HEADER_BYTES - 80) // 2
    token = fits(sign_text(es256_header(es, ',"x":' + "[" * depth + "]" * depth), "{}", es))
    cost = measure(lambda: verifier.verify(token))
    assert_rejected(cost, MalformedTokenError)
    assert cost.peak < BOUNDS["nested header"][0]
    assert cost.calls < BOUNDS["nested header"][1]
    report("nested header", cost, f"{depth} levels")


def test_header_past_the_cap_is_never_decoded(verifier: JwtVerifier, es: SigningKey) -> None:
    token = sign_text(es256_header(es, ',"x":' + "[" * 10_000 + "]" * 10_000), "{}", es)
    assert len(token.split(".")[0]) > LIMITS.max_header_length
    with counting(_token, "loads_object") as decodes:
        cost = measure(lambda: verifier.verify(token))
    assert decodes[0] == 0
    assert_rejected(cost, MalformedTokenError)
    assert cost.peak < BOUNDS["header over cap"][0]
    assert cost.calls < BOUNDS["header over cap"][1]
    report("header over cap", cost, "10k '[', never decoded")


def test_deepest_signed_payload_within_the_cap(verifier: JwtVerifier, es: SigningKey) -> None:
    depth = (TOKEN_BYTES - 400) // 2
    payload = claims_with("1").replace('"sub"', '"deep": ' + "[" * depth + "]" * depth + ', "sub"')
    token = fits(sign_text(es256_header(es), payload, es))
    cost = measure(lambda: verifier.verify(token))
    assert_rejected(cost, MalformedTokenError)
    assert cost.peak < BOUNDS["nested payload (signed)"][0]
    assert cost.calls < BOUNDS["nested payload (signed)"][1]
    report("nested payload (signed)", cost, f"{depth} levels")


def test_payload_of_a_forged_token_is_never_decoded(verifier: JwtVerifier, es: SigningKey) -> None:
    """An attacker without the key can't make the verifier parse a hostile payload."""
    depth = (TOKEN_BYTES - 400) // 2
    signed = sign_text(es256_header(es), "[" * depth + "]" * depth, es)
    head, payload, _ = signed.split(".")
    forged = fits(f"{head}.{payload}.{b64url_encode(bytes(64))}")
    with counting(_token, "loads_object") as decodes:
        cost = measure(lambda: verifier.verify(forged))
    assert decodes[0] == 2  # the header only, once in each of the two measuring passes
    assert_rejected(cost, InvalidSignatureError)
    assert cost.peak < BOUNDS["forged payload"][0]
    assert cost.calls < BOUNDS["forged payload"][1]
    report("forged payload", cost, "payload not decoded")


# === Huge numbers ================================================================================
@pytest.mark.parametrize(
    "literal",
    [
        pytest.param("9" * 4301, id="4301-digit-int"),
        pytest.param("9" * (TOKEN_BYTES - 400), id="largest-int-in-a-token"),
        pytest.param("1e400", id="1e400"),
        pytest.param("-1e400", id="minus-1e400"),
    ],
)
def test_huge_numbers_in_a_signed_payload(
    verifier: JwtVerifier, es: SigningKey, literal: str
) -> None:
    token = fits(sign_text(es256_header(es), claims_with(literal), es))
    cost = measure(lambda: verifier.verify(token))
    assert_rejected(cost, MalformedTokenError)
    assert cost.peak < BOUNDS["huge number (signed)"][0]
    assert cost.calls < BOUNDS["huge number (signed)"][1]
    report("huge number (signed)", cost, f"exp = {literal[:8]}... ({len(literal)} chars)")


def test_longest_float_in_a_signed_payload_is_read_in_linear_time(
    verifier: JwtVerifier, es: SigningKey
) -> None:
    """A float literal is parsed by ``float()`` (linear), not as a big int: the token verifies."""
    literal = "9999999999." + "9" * (TOKEN_BYTES - 420)
    token = fits(sign_text(es256_header(es), claims_with(literal), es))
    cost = measure(lambda: verifier.verify(token))
    assert not isinstance(cost.outcome, Exception), cost.outcome
    assert cost.outcome["exp"] == pytest.approx(1e10)
    assert cost.peak < BOUNDS["huge number (signed)"][0]
    assert cost.calls < BOUNDS["huge number (signed)"][1]


@pytest.mark.parametrize("literal", ["9" * 4301, "9" * (HEADER_BYTES - 100), "1e400"])
def test_huge_numbers_in_the_header(verifier: JwtVerifier, es: SigningKey, literal: str) -> None:
    """The header is decoded before the signature is checked: anyone can send these."""
    token = fits(sign_text(es256_header(es, ',"x":' + literal), "{}", es))
    cost = measure(lambda: verifier.verify(token))
    assert_rejected(cost, MalformedTokenError)
    assert cost.peak < BOUNDS["huge number (header)"][0]
    assert cost.calls < BOUNDS["huge number (header)"][1]
    report("huge number (header)", cost, f"{len(literal)} chars")


def test_without_the_int_digit_limit_huge_numbers_stay_bounded(
    verifier: JwtVerifier, es: SigningKey
) -> None:
    """An application that turned Python's 4300-digit guard off: the largest integer a token
    can hold is parsed (quadratic in its length, but the token cap bounds the length) and
    refused as a date beyond year 9999 (hardening 2.11), without printing it."""
    literal = "9" * (TOKEN_BYTES - 400)
    token = fits(sign_text(es256_header(es), claims_with(literal), es))
    if hasattr(sys, "set_int_max_str_digits"):
        previous = sys.get_int_max_str_digits()
        sys.set_int_max_str_digits(0)
        try:
            cost = measure(lambda: verifier.verify(token))
        finally:
            sys.set_int_max_str_digits(previous)
    else:  # pragma: no cover - Python < 3.10.7 never had the limit: the same case, as is
        cost = measure(lambda: verifier.verify(token))
    assert type(cost.outcome) is ClaimError, cost.outcome
    assert cost.outcome.claim == "exp"
    assert len(str(cost.outcome)) < 200
    assert len(cost.outcome.found or "") <= 40
    assert cost.peak < BOUNDS["huge number, no digit limit"][0]
    assert cost.calls < BOUNDS["huge number, no digit limit"][1]
    report("huge number, no digit limit", cost, f"{len(literal)}-digit exp refused")


# === crit and kid ================================================================================
def test_many_crit_entries(verifier: JwtVerifier, es: SigningKey) -> None:
    names: list[str] = []
    while len(json.dumps(names)) < HEADER_BYTES - 120:
        names.append(f"x{len(names)}")
    token = fits(sign_text(es256_header(es, ',"crit":' + json.dumps(names)), "{}", es))
    cost = measure(lambda: verifier.verify(token))
    error = assert_rejected(cost, UnsupportedCriticalHeaderError)
    assert str(error).count("'x") <= 5  # names at most five of them
    assert cost.peak < BOUNDS["many crit"][0]
    assert cost.calls < BOUNDS["many crit"][1]
    report("many crit", cost, f"{len(names)} entries")


def test_many_duplicate_crit_entries(verifier: JwtVerifier, es: SigningKey) -> None:
    names = ["x"] * ((HEADER_BYTES - 120) // 5)
    token = fits(sign_text(es256_header(es, ',"crit":' + json.dumps(names)), "{}", es))
    cost = measure(lambda: verifier.verify(token))
    assert_rejected(cost, MalformedTokenError)
    assert cost.calls < BOUNDS["many crit"][1]


def test_64_kib_kid_is_refused_before_decoding(verifier: JwtVerifier, es: SigningKey) -> None:
    header = '{"alg":"ES256","kid":"' + "k" * (64 * KIB) + '"}'
    token = sign_text(header, claims_with("1"), es)
    with counting(_token, "loads_object") as decodes:
        cost = measure(lambda: verifier.verify(token))
    assert decodes[0] == 0
    assert_rejected(cost, MalformedTokenError)
    assert cost.peak < BOUNDS["64 KiB kid"][0]
    assert cost.calls < BOUNDS["64 KiB kid"][1]
    report("64 KiB kid", cost, "over the caps, not decoded")


def test_64_kib_kid_with_raised_caps(es: SigningKey, jwks: dict[str, Any]) -> None:
    """A verifier configured with caps that admit a 64 KiB kid: still one lookup, bounded."""
    limits = TokenLimits(max_token_length=128 * KIB, max_header_length=96 * KIB)
    verifier = JwtVerifier(
        issuer=OIDC_ISSUER,
        audience=AUDIENCE,
        jwks=jwks,
        clock=lambda: float(FIXED_NOW),
        limits=limits,
    )
    header = '{"alg":"ES256","kid":"' + "k" * (64 * KIB) + '"}'
    token = sign_text(header, json.dumps(oidc_claims()), es)
    cost = measure(lambda: verifier.verify(token))
    assert_rejected(cost, KeyNotFoundError)
    assert cost.peak < BOUNDS["64 KiB kid, raised caps"][0]
    assert cost.calls < BOUNDS["64 KiB kid, raised caps"][1]
    report("64 KiB kid, raised caps", cost, "KeyNotFoundError")


def test_longest_kid_within_the_cap(verifier: JwtVerifier, es: SigningKey) -> None:
    kid = "k" * (HEADER_BYTES - 40)
    token = fits(sign_text('{"alg":"ES256","kid":"' + kid + '"}', json.dumps(oidc_claims()), es))
    cost = measure(lambda: verifier.verify(token))
    assert_rejected(cost, KeyNotFoundError)
    assert cost.peak < BOUNDS["longest kid"][0]
    assert cost.calls < BOUNDS["longest kid"][1]
    report("longest kid", cost, f"{len(kid)}-char kid")


def test_flood_of_distinct_maximal_headers_keeps_the_header_cache_bounded(
    verifier: JwtVerifier, es: SigningKey
) -> None:
    """Valid flat headers are cached; a flood of distinct ones can't grow that cache."""
    payload = seg(json.dumps(oidc_claims()))
    filler = "p" * (HEADER_BYTES - 60)
    headers = [seg(es256_header(es, f',"pad":"{i:06d}{filler}"')) for i in range(300)]
    tokens = [f"{head}.{payload}.{b64url_encode(bytes(64))}" for head in headers]
    _token._HEADER_CACHE.clear()
    for token in tokens[:100]:  # warm up: the cache fills and empties once
        with contextlib.suppress(InvalidSignatureError):
            verifier.verify(fits(token))
    gc.collect()
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        for token in tokens[100:]:
            with contextlib.suppress(InvalidSignatureError):
                verifier.verify(token)
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(_token._HEADER_CACHE) <= _token._HEADER_CACHE_SIZE
    retained = after - before
    assert retained < BOUNDS["header cache"][0]
    report("header cache", Cost(None, retained, 0), "retained after 200 distinct 8 KiB headers")


# === Key sets ====================================================================================
def random_modulus(bits: int) -> int:
    """An odd number of exactly *bits* bits: cryptography loads it as a public modulus."""
    return int.from_bytes(os.urandom((bits + 7) // 8), "big") % (1 << bits) | (1 << (bits - 1)) | 1


def rsa_jwk(kid: str, bits: int = MAX_RSA_BITS, e: bytes = b"\x01\x00\x01") -> dict[str, str]:
    n = random_modulus(bits).to_bytes((bits + 7) // 8, "big")
    return {"kty": "RSA", "kid": kid, "alg": "RS256", "use": "sig", "n": b64url_encode(n),
            "e": b64url_encode(e)}  # fmt: skip


def padded_jwks(keys: list[dict[str, str]], size: int) -> bytes:
    """*keys* as a JWKS document padded (with an unknown member per key) to *size* bytes."""
    document = {"keys": [dict(k, x_pad="") for k in keys]}
    room = size - len(json.dumps(document).encode())
    assert room >= 0
    share, extra = divmod(room, len(keys))
    for i, key in enumerate(document["keys"]):
        key["x_pad"] = "p" * (share + (1 if i < extra else 0))
    body = json.dumps(document).encode()
    assert len(body) == size
    return body


@pytest.fixture(scope="module")
def largest_jwks() -> bytes:
    """DEFAULT_MAX_KEYS RSA keys of MAX_RSA_BITS, padded to exactly FetchOptions.max_bytes."""
    return padded_jwks([rsa_jwk(f"k{i}") for i in range(DEFAULT_MAX_KEYS)], MAX_BYTES)


def test_largest_jwks_with_the_most_keys(largest_jwks: bytes) -> None:
    with counting(_jwk, "parse_jwk") as parsed:
        cost = measure(lambda: KeySet.from_jwks(largest_jwks))
    assert isinstance(cost.outcome, KeySet), cost.outcome
    assert len(cost.outcome) == DEFAULT_MAX_KEYS
    assert parsed[0] == 2 * DEFAULT_MAX_KEYS  # once per measuring pass
    assert cost.peak < BOUNDS["largest JWKS"][0]
    assert cost.calls < BOUNDS["largest JWKS"][1]
    report("largest JWKS", cost, f"{DEFAULT_MAX_KEYS} RSA-{MAX_RSA_BITS} keys, {MAX_BYTES} B")


def test_one_key_too_many_is_refused_before_any_key_is_built() -> None:
    body = padded_jwks([rsa_jwk(f"k{i}", 2048) for i in range(DEFAULT_MAX_KEYS + 1)], MAX_BYTES)
    with counting(_jwk, "parse_jwk") as parsed:
        cost = measure(lambda: KeySet.from_jwks(body))
    assert parsed[0] == 0
    assert_rejected(cost, InvalidJwksError)


def test_largest_jwks_through_the_fetcher() -> None:
    """End to end: a body of exactly max_bytes is used, one byte more is refused."""
    keys = [rsa_jwk(f"k{i}", 2048) for i in range(DEFAULT_MAX_KEYS)]
    for size, ok in ((MAX_BYTES, True), (MAX_BYTES + 1, False)):
        body = padded_jwks(keys, size)
        issuer = FakeIssuer(OIDC_ISSUER)
        issuer.extra[issuer.jwks_path] = lambda request, is_async, body=body: httpx.Response(
            200, content=body
        )
        verifiers: list[JwtVerifier] = []

        def cold_hydrate(
            issuer: FakeIssuer = issuer, verifiers: list[JwtVerifier] = verifiers
        ) -> None:
            verifiers.append(
                JwtVerifier(
                    issuer=OIDC_ISSUER,
                    audience=AUDIENCE,
                    jwks_uri=issuer.jwks_uri,
                    clock=FakeClock(),
                    store=None,
                    fetch=issuer.fetch_options(retries=0),
                )
            )
            verifiers[-1].hydrate()

        cost = measure(cold_hydrate)
        assert issuer.count() == 2  # each measuring pass fetched
        if ok:
            assert cost.outcome is None
            assert len(key_state(verifiers[-1]).kids) == DEFAULT_MAX_KEYS
        else:
            assert_rejected(cost, KeySetUnavailableError)
        assert cost.peak < BOUNDS["largest JWKS fetched"][0]
        assert cost.calls < BOUNDS["largest JWKS fetched"][1]
        report(f"JWKS fetched, {size} B", cost, "used" if ok else "refused")


@pytest.mark.parametrize(
    ("bits", "e"),
    [
        pytest.param(16_384, b"\x01\x00\x01", id="16384-bit-modulus"),
        pytest.param(MAX_RSA_BITS + 1, b"\x01\x00\x01", id="8193-bit-modulus"),
        pytest.param(2048, b"\x01" * 5, id="40-bit-exponent"),
        pytest.param(2048, b"\x01" * (40 * KIB), id="40-KiB-exponent"),
    ],
)
def test_oversized_rsa_keys_are_refused_without_building_them(
    monkeypatch: pytest.MonkeyPatch, bits: int, e: bytes
) -> None:
    jwk = rsa_jwk("big", bits, e)
    document = {"keys": [jwk] * 1 + [dict(jwk, kid=f"big{i}") for i in range(1, 10)]}
    built = 0

    def build(e: int, n: int) -> rsa.RSAPublicNumbers:
        nonlocal built
        built += 1
        return rsa.RSAPublicNumbers(e, n)

    monkeypatch.setattr(_jwk, "rsa", types.SimpleNamespace(RSAPublicNumbers=build))
    cost = measure(lambda: KeySet.from_jwks(document))
    monkeypatch.undo()
    assert built == 0
    assert len(KeySet.from_jwks({"keys": [rsa_jwk("ok", 2048), *document["keys"]]})) == 1
    error = assert_rejected(cost, InvalidJwksError)
    assert "maximum" in str(error) or "larger than 2**32" in str(error)
    assert cost.peak < BOUNDS["oversized RSA key"][0]
    assert cost.calls < BOUNDS["oversized RSA key"][1]
    report("oversized RSA key", cost, f"10 keys, {bits} bits, e of {len(e)} B")


# === The table ===================================================================================
# name -> (peak bytes, function calls): the bounds asserted above and documented.
BOUNDS: dict[str, tuple[int, int]] = {
    "nested header": (256 * KIB, 200),
    "header over cap": (128 * KIB, 100),
    "nested payload (signed)": (1 * MIB, 300),
    "forged payload": (1 * MIB, 300),
    "huge number (signed)": (1 * MIB, 300),
    "huge number (header)": (128 * KIB, 200),
    "huge number, no digit limit": (1 * MIB, 400),
    "many crit": (512 * KIB, 5_000),  # linear: two calls per entry
    "64 KiB kid": (64 * KIB, 100),
    "64 KiB kid, raised caps": (1 * MIB, 300),
    "longest kid": (128 * KIB, 300),
    "header cache": (2 * MIB, 0),  # retained, not peak: 64 entries of at most 8 KiB
    "largest JWKS": (4 * MIB, 20_000),
    "largest JWKS fetched": (4 * MIB, 20_000),
    "oversized RSA key": (512 * KIB, 2_000),
}


def report(name: str, cost: Cost, what: str) -> None:
    if os.environ.get("COGNITO_JWT_REPORT_BOUNDS"):
        print(f"BOUND | {name} | {what} | {cost.peak / KIB:.1f} KiB | {cost.calls} calls")
