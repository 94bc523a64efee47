"""cognito-jwt against the floor and its peers: speed, import time and threads, in one run.

1. Cognito-shaped access tokens for RS256, PS256, ES256 and EdDSA. Every candidate is a
   callable ``token -> claims`` doing the same work: the signature with a prepared key, the
   algorithm pinned, ``exp`` required and checked, ``iss``, ``client_id`` and ``token_use``.
2. Before any timing, every candidate must accept the good token and reject each bad one
   (expired, wrong ``iss``/``client_id``/``token_use``, tampered payload, another key with the
   same ``kid``, ``alg: none``, HS256 keyed with the public key's PEM, no ``exp``). A peer that
   accepts one is left out of the tables; the floor or cognito-jwt accepting one fails the run.
3. Candidates run interleaved in shuffled rounds; per round each candidate's µs per call is
   divided by the floor's in the same round, and the median of those ratios is reported.
4. The verified-token cache: a cold verification (a token never seen), a miss and a hit.
5. RS256 throughput with one thread and with two, next to two references: the bare signature
   check (which releases the GIL) and the floor in one process against two processes.
6. Import time in fresh interpreters (byte-compiled, as a pip install is), what
   ``from cognito_jwt import CognitoVerifier`` pulls in, and constructing a verifier.

Tables go to stdout; unless ``--no-write``, ``docs/performance.md`` (between its
``bench:start``/``bench:end`` markers) and ``docs/img/performance.png`` are rewritten.

    python -m nox -s bench     # or: python benchmarks/bench_peers.py [--quick] [--rounds N]
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import functools
import hashlib
import hmac
import importlib.metadata
import itertools
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _floor
from _floor import ALGS, bare, floor, private_key
from _timing import calibrate, interleaved_samples, median_ratio, threads_throughput
from cryptography.hazmat.primitives import serialization

import cognito_jwt
from cognito_jwt import CognitoVerifier
from cognito_jwt._client._sign import encode_compact
from cognito_jwt._jwk import jwk_from_public_key
from cognito_jwt.testing import LocalIssuer

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "performance.md"
CHART = ROOT / "docs" / "img" / "performance.png"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"

POOL = "eu-west-1_BenchPool1"
ISSUER = f"https://cognito-idp.eu-west-1.amazonaws.com/{POOL}"
CLIENT = "3bench4client5id6789abcdef"
FLOOR, OURS, CACHED = "floor", "cognito-jwt", "cognito-jwt (token cache)"
MISS = "cognito-jwt (token cache, miss)"  # timed, shown in the cache table only
CACHE_ALGS = ("RS256", "ES256")
CACHE_SIZE = 1024
FRESH_TOKENS = 2 * CACHE_SIZE  # cycled: with FIFO eviction, every call is a miss
SIGNATURE_ONLY = "signature only (bare cryptography verify, GIL released)"
PROCESSES = "floor in 2 processes vs 1 process"
PEER_DISTRIBUTIONS = {
    "PyJWT": "PyJWT",
    "joserfc": "joserfc",
    "Authlib": "Authlib",
    "python-jose": "python-jose",
    "jwcrypto": "jwcrypto",
}
OURS_IMPORT, OURS_CONSTRUCT = "cognito-jwt (CognitoVerifier)", "cognito-jwt (construct)"
OURS_KEYED = "cognito-jwt (construct with jwks=)"
CONSTRUCT = (
    "from cognito_jwt import CognitoVerifier\n"
    f"CognitoVerifier(user_pool_id={POOL!r}, client_id={CLIENT!r}, token_use='access', "
    "jwks_uri='http://127.0.0.1:9/.well-known/jwks.json', store=None)"  # construction: no fetch
)
IMPORTS = {
    "cognito-jwt": "import cognito_jwt",
    OURS_IMPORT: "from cognito_jwt import CognitoVerifier",
    OURS_CONSTRUCT: CONSTRUCT,
    "PyJWT": "import jwt",
    "joserfc": "from joserfc import jwt",
    "Authlib": "from authlib.jose import JsonWebToken",
    "python-jose": "from jose import jwt",
    "jwcrypto": "from jwcrypto import jwt",
}
IMPORT_LABELS = {
    OURS_CONSTRUCT: (
        "`from cognito_jwt import CognitoVerifier` + "
        "`CognitoVerifier(user_pool_id=..., client_id=..., token_use='access', "
        "jwks_uri=<loopback url>, store=None)`"
    ),
    OURS_KEYED: (
        "`from cognito_jwt import CognitoVerifier` + "
        "`CognitoVerifier(..., jwks={<one public JWK>})` (the key is prepared: `cryptography` "
        "is imported)"
    ),
}
WATCHED = ("httpx", "cryptography", "dataclasses", "logging")

Verify = Callable[[str], object]


class NotSupportedError(Exception):
    """The library does not verify this algorithm: the cell reads "n/a"."""


# Tokens -------------------------------------------------------------------------------------


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _segment(obj: Mapping[str, Any]) -> str:
    return _b64e(json.dumps(obj, separators=(",", ":")).encode())


def cognito_claims(**changes: Any) -> dict[str, Any]:
    """The claims of an access token of the bench pool; *changes* set (or, as None, drop) some."""
    claims = _floor.cognito_claims(issuer=ISSUER, client_id=CLIENT)
    claims.update(changes)
    return {name: value for name, value in claims.items() if value is not None}


@dataclass
class Setup:
    """One algorithm's keys, its good token and the bad tokens every candidate must refuse."""

    alg: str
    private: Any
    kid: str
    jwk: dict[str, str]
    token: str = ""
    bad: dict[str, str] = field(default_factory=dict)

    @classmethod
    def create(cls, alg: str) -> Setup:
        """A fresh key for *alg*, published under a fresh ``kid``, and its tokens."""
        private = private_key(alg)
        kid = f"bench-{alg}-{uuid.uuid4().hex[:8]}"
        jwk = dict(jwk_from_public_key(private.public_key()), kid=kid, alg=alg, use="sig")
        setup = cls(alg, private, kid, jwk)
        setup.token = setup.sign(cognito_claims())
        setup.bad = setup.bad_tokens()
        return setup

    def sign(self, claims: Mapping[str, Any], key: Any = None) -> str:
        """*claims* signed with this setup's key (or *key*) under this setup's ``kid``."""
        return encode_compact(claims, key or self.private, alg=self.alg, kid=self.kid)

    def bad_tokens(self) -> dict[str, str]:
        """Tokens a verifier must reject, each wrong in one way only."""
        now = int(time.time())
        header_b64, _, sig_b64 = self.token.split(".")
        good = cognito_claims()
        tampered = f"{header_b64}.{_segment(dict(good, username='admin'))}.{sig_b64}"
        pem = self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        hs_input = f"{_segment({'alg': 'HS256', 'kid': self.kid})}.{_segment(good)}"
        hs_sig = _b64e(hmac.new(pem, hs_input.encode(), hashlib.sha256).digest())
        return {
            "expired": self.sign(
                cognito_claims(iat=now - 7200, auth_time=now - 7200, exp=now - 60)
            ),
            "wrong iss": self.sign(cognito_claims(iss=ISSUER.replace("BenchPool1", "OtherPool9"))),
            "wrong client_id": self.sign(cognito_claims(client_id="another-client-id")),
            "wrong token_use": self.sign(cognito_claims(token_use="id")),
            "tampered payload": tampered,
            "another key, same kid": self.sign(good, key=private_key(self.alg)),
            "alg none": f"{_segment({'alg': 'none', 'kid': self.kid})}.{_segment(good)}.",
            "HS256 keyed with the public PEM": f"{hs_input}.{hs_sig}",
            "no exp": self.sign(cognito_claims(exp=None)),
        }


# Candidates ---------------------------------------------------------------------------------


def _check_cognito(claims: Mapping[str, Any]) -> Mapping[str, Any]:
    """What the peers leave to the caller: a Cognito access token for this app client."""
    if claims.get("token_use") != "access" or claims.get("client_id") != CLIENT:
        raise ValueError("not an access token of this app client")
    return claims


def ours_verifier(setup: Setup, jwks_uri: str, **options: Any) -> CognitoVerifier:
    """cognito-jwt as the tables time it: keys fetched over HTTP once, before any timing."""
    verifier = CognitoVerifier(
        user_pool_id=POOL,
        client_id=CLIENT,
        token_use="access",
        algorithms=[setup.alg],
        jwks_uri=jwks_uri,
        store=None,
        **options,
    )
    verifier.hydrate()  # the key set comes over HTTP, as in production, before any timing
    return verifier


def ours(setup: Setup, jwks_uri: str, **options: Any) -> Verify:
    return ours_verifier(setup, jwks_uri, **options).verify


def ours_cache_miss(setup: Setup, jwks_uri: str) -> tuple[Verify, CognitoVerifier]:
    """A verifier with the token cache on that never finds the token it is given.

    The callable ignores its argument and verifies the next of ``FRESH_TOKENS`` distinct good
    tokens in turn: with oldest-first eviction, a token has left the ``CACHE_SIZE`` entries
    before it comes round again, so every call is a full verification plus the cache's work
    (the digest, the lookup, storing the entry and evicting the oldest).
    """
    verifier = ours_verifier(setup, jwks_uri, token_cache_size=CACHE_SIZE)
    fresh = itertools.cycle([setup.sign(cognito_claims()) for _ in range(FRESH_TOKENS)])

    def verify(_token: str) -> object:
        return verifier.verify(next(fresh))

    return verify, verifier


def pyjwt_prepared(setup: Setup, _jwks_uri: str) -> Verify:
    import jwt

    key = jwt.PyJWK(setup.jwk, algorithm=setup.alg).key
    decode = functools.partial(
        jwt.decode,
        key=key,
        algorithms=[setup.alg],
        issuer=ISSUER,
        options={"require": ["exp", "iss"], "verify_aud": False},
    )
    return lambda token: _check_cognito(decode(token))


def pyjwt_jwks_client(setup: Setup, jwks_uri: str) -> Verify:
    import jwt

    client = jwt.PyJWKClient(jwks_uri, cache_jwk_set=True, cache_keys=True)
    client.get_signing_key(setup.kid)  # warm: the key set is fetched and cached now
    options = {"require": ["exp", "iss"], "verify_aud": False}

    def verify(token: str) -> Mapping[str, Any]:
        key = client.get_signing_key_from_jwt(token)
        claims = jwt.decode(token, key, algorithms=[setup.alg], issuer=ISSUER, options=options)
        return _check_cognito(claims)

    return verify


def joserfc_prepared(setup: Setup, _jwks_uri: str) -> Verify:
    from joserfc import jwt
    from joserfc.jwk import JWKRegistry

    key = JWKRegistry.import_key(setup.jwk)
    registry = jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": ISSUER},
        exp={"essential": True},
        client_id={"essential": True, "value": CLIENT},
        token_use={"essential": True, "value": "access"},
    )
    algorithms = [setup.alg]

    def verify(token: str) -> Mapping[str, Any]:
        decoded = jwt.decode(token, key, algorithms=algorithms)
        registry.validate(decoded.claims)
        return decoded.claims

    return verify


def authlib_prepared(setup: Setup, _jwks_uri: str) -> Verify:
    # record=True: Authlib forces its "authlib.jose is deprecated, use joserfc" warning to show
    with warnings.catch_warnings(record=True):
        from authlib.jose import JsonWebKey, JsonWebToken

    token_decoder = JsonWebToken([setup.alg])
    key = JsonWebKey.import_key(setup.jwk)
    claims_options = {
        "iss": {"essential": True, "value": ISSUER},
        "exp": {"essential": True},
        "client_id": {"essential": True, "value": CLIENT},
        "token_use": {"essential": True, "value": "access"},
    }

    def verify(token: str) -> Mapping[str, Any]:
        claims = token_decoder.decode(token, key, claims_options=claims_options)
        claims.validate()
        return claims

    return verify


def python_jose_prepared(setup: Setup, _jwks_uri: str) -> Verify:
    from jose import jwk, jwt
    from jose.constants import ALGORITHMS

    if setup.alg not in ALGORITHMS.SUPPORTED:
        raise NotSupportedError(setup.alg)
    key = jwk.construct(setup.jwk, setup.alg)
    options = {"verify_aud": False, "require_exp": True}

    def verify(token: str) -> Mapping[str, Any]:
        claims = jwt.decode(token, key, algorithms=[setup.alg], issuer=ISSUER, options=options)
        return _check_cognito(claims)

    return verify


def jwcrypto_prepared(setup: Setup, _jwks_uri: str) -> Verify:
    from jwcrypto import jwk, jwt

    key = jwk.JWK(**setup.jwk)
    algs = [setup.alg]
    check_claims = {"iss": ISSUER, "exp": None, "token_use": "access", "client_id": CLIENT}

    def verify(token: str) -> Mapping[str, Any]:
        checked = jwt.JWT(jwt=token, key=key, algs=algs, check_claims=check_claims)
        claims: Mapping[str, Any] = json.loads(checked.claims)
        return claims

    return verify


PEERS: dict[str, Callable[[Setup, str], Verify]] = {
    "PyJWT": pyjwt_prepared,
    "PyJWT + PyJWKClient": pyjwt_jwks_client,
    "joserfc": joserfc_prepared,
    "Authlib": authlib_prepared,
    "python-jose": python_jose_prepared,
    "jwcrypto": jwcrypto_prepared,
}


@dataclass
class AlgResult:
    """What one algorithm's run found."""

    alg: str
    candidates: dict[str, Verify]
    unavailable: dict[str, str] = field(default_factory=dict)  # name -> why ("n/a", ...)
    samples: dict[str, list[float]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    cache_verifiers: dict[str, CognitoVerifier] = field(default_factory=dict)

    def median_us(self, name: str) -> float:
        """Median µs per call of candidate *name* over the rounds."""
        return statistics.median(self.samples[name])

    def ratio(self, name: str) -> float:
        """Median over rounds of *name*'s time divided by the floor's in the same round."""
        return median_ratio(self.samples, name, FLOOR)


def _make(make: Callable[[Setup, str], Verify], setup: Setup, jwks_uri: str) -> Verify | str:
    """The candidate *make* builds, or why there is none ("" when it says it lacks the alg)."""
    try:
        return make(setup, jwks_uri)
    except NotSupportedError:
        return ""
    except Exception as exc:  # noqa: BLE001 - a peer refusing the algorithm's key
        return f"{type(exc).__name__}: {exc}"


def build_candidates(setup: Setup, jwks_uri: str) -> AlgResult:
    result = AlgResult(setup.alg, {})
    result.candidates[FLOOR] = floor(
        setup.alg, setup.private.public_key(), issuer=ISSUER, client_id=CLIENT
    )
    result.candidates[OURS] = ours(setup, jwks_uri)
    try:
        cached = ours_verifier(setup, jwks_uri, token_cache_size=CACHE_SIZE)
    except TypeError as exc:  # the keyword has not landed in this checkout
        if "token_cache_size" not in str(exc):
            raise
        result.unavailable[CACHED] = "not available"
    else:
        result.candidates[CACHED] = cached.verify
        result.cache_verifiers[CACHED] = cached
    for name, make in PEERS.items():
        made = _make(make, setup, jwks_uri)
        if isinstance(made, str):
            result.unavailable[name] = "n/a"
            if made:
                result.notes.append(f"{name} cannot verify {setup.alg}: {made}")
        else:
            result.candidates[name] = made
    return result


def check_candidates(setup: Setup, result: AlgResult) -> list[str]:
    """Drop every candidate that refuses the good token or accepts a bad one; say why.

    Returns the failures of the floor and of cognito-jwt, which make the run fail.
    """
    fatal: list[str] = []
    for name, verify in list(result.candidates.items()):
        problems: list[str] = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                verify(setup.token)
            except Exception as exc:  # noqa: BLE001 - any refusal of the good token
                problems.append(f"refused the good token ({type(exc).__name__}: {exc})")
            for bad_name, bad_token in setup.bad.items():
                try:
                    verify(bad_token)
                except Exception:  # noqa: BLE001, S112 - refusing, by any exception, is right
                    continue
                problems.append(f"ACCEPTED the bad token {bad_name!r}")
        for message in sorted({f"{w.category.__name__}: {w.message}" for w in caught}):
            result.notes.append(f"{name} ({setup.alg}) warned: {message.splitlines()[0]}")
        if problems:
            del result.candidates[name]
            result.unavailable[name] = "excluded"
            for problem in problems:
                line = f"{setup.alg}: {name} {problem}"
                print(f"  EXCLUDED - {line}")
                result.notes.append(f"excluded: {line}")
                if name in (FLOOR, OURS, CACHED):
                    fatal.append(line)
    return fatal


def add_cache_miss(setup: Setup, result: AlgResult, jwks_uri: str) -> None:
    """Time a cache miss too (cache table only), once the checks have passed."""
    if setup.alg not in CACHE_ALGS or CACHED not in result.candidates:
        return
    verify, verifier = ours_cache_miss(setup, jwks_uri)
    verify(setup.token)  # one of the fresh tokens: it must verify
    result.candidates[MISS] = verify
    result.cache_verifiers[MISS] = verifier


def time_candidates(result: AlgResult, token: str, rounds: int, target_s: float) -> None:
    bound = {name: functools.partial(fn, token) for name, fn in result.candidates.items()}
    calls = {name: calibrate(fn, target_s) for name, fn in bound.items()}
    result.samples = interleaved_samples(bound, rounds, calls)


# Threads ------------------------------------------------------------------------------------


Scaling = tuple[float, float, float]  # median verif/s with 1, with 2, median of the 2/1 ratios


def _scaling(one: list[float], two: list[float]) -> Scaling:
    ratios = [b / a for a, b in zip(one, two, strict=True)]
    return statistics.median(one), statistics.median(two), statistics.median(ratios)


def throughput(verify: Verify, token: str, threads: int, calls: int) -> float:
    """Verifications per second of *threads* threads each verifying *token* *calls* times."""
    return threads_throughput(functools.partial(verify, token), threads, calls)


FLOOR_WORKER = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from _floor import floor
setup = json.loads(sys.stdin.readline())
public_key = load_pem_public_key(setup["pem"].encode())
verify = floor(setup["alg"], public_key, issuer=setup["iss"], client_id=setup["client_id"])
token = setup["token"]
for _ in range(200):
    verify(token)
print("ready", flush=True)
for line in sys.stdin:
    start = time.perf_counter()
    for _ in range(int(line)):
        verify(token)
    print(json.dumps([start, time.perf_counter()]), flush=True)
"""


class FloorProcesses:
    """Two worker processes verifying with the floor, started once, idle until told to run.

    :meth:`run` tells one or both to verify the token a number of times and reads back when
    each started and ended (``perf_counter``: one monotonic clock for all processes on Linux);
    the throughput of two is all their calls over the span from the first start to the last end.
    """

    def __init__(self, setup: Setup) -> None:
        pem = setup.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        config = {
            "alg": setup.alg,
            "pem": pem.decode(),
            "iss": ISSUER,
            "client_id": CLIENT,
            "token": setup.token,
        }
        self._workers = [
            subprocess.Popen(  # noqa: S603 - this interpreter, our own code
                [sys.executable, "-c", FLOOR_WORKER, str(Path(__file__).parent)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            for _ in range(2)
        ]
        self._send(2, json.dumps(config))
        if [line.strip() for line in self._receive(2)] != ["ready", "ready"]:
            self.close()
            raise RuntimeError("a floor worker process failed to start")

    def _send(self, count: int, line: str) -> None:
        for worker in self._workers[:count]:
            if worker.stdin is not None:
                worker.stdin.write(line + "\n")
                worker.stdin.flush()

    def _receive(self, count: int) -> list[str]:
        return [w.stdout.readline() if w.stdout else "" for w in self._workers[:count]]

    def run(self, count: int, calls: int) -> float:
        """Verifications per second of *count* processes each verifying *calls* times."""
        self._send(count, str(calls))
        spans = [json.loads(line) for line in self._receive(count)]
        elapsed = max(end for _, end in spans) - min(start for start, _ in spans)
        return count * calls / elapsed

    def close(self) -> None:
        """Stop the workers (they exit when their stdin closes)."""
        for worker in self._workers:
            if worker.stdin is not None:
                worker.stdin.close()
            worker.wait(timeout=30)


def thread_scaling(
    candidates: Mapping[str, Verify],
    token: str,
    repeats: int,
    seconds: float,
    processes: FloorProcesses | None = None,
) -> dict[str, Scaling]:
    """Per candidate: verif/s with 1 thread and with 2; each run ~*seconds* per thread.

    Each repeat runs every candidate (shuffled) with one thread, then at once with two, and
    the ratio is taken within the repeat, so drift between repeats cancels out. *processes*,
    if given, is one more candidate (PROCESSES) measured in the same repeats, with one worker
    process and with two instead of threads.
    """
    runners: dict[str, Callable[[int, int], float]] = {
        name: functools.partial(throughput, fn, token) for name, fn in candidates.items()
    }
    calls = {
        name: calibrate(functools.partial(fn, token), seconds) for name, fn in candidates.items()
    }
    if processes is not None:
        runners[PROCESSES] = processes.run
        calls[PROCESSES] = max(50, round(processes.run(1, 500) * seconds))
    one: dict[str, list[float]] = {name: [] for name in runners}
    two: dict[str, list[float]] = {name: [] for name in runners}
    for _ in range(repeats):
        for name in random.sample(list(runners), len(runners)):
            one[name].append(runners[name](1, calls[name]))
            two[name].append(runners[name](2, calls[name]))
    return {name: _scaling(one[name], two[name]) for name in runners}


# Imports ------------------------------------------------------------------------------------

MODULES_CHILD = """
import sys
before = set(sys.modules)
exec(sys.argv[1])
added = sorted(set(sys.modules) - before)
loaded = [name for name in sys.argv[2:] if name in sys.modules]
import json
print(json.dumps({"added": added, "loaded": loaded}))
"""

COMPILE_CHILD = "import compileall, sys; compileall.compile_dir(sys.argv[1], quiet=2)"


def child_env() -> dict[str, str]:
    """This environment without ``PYTHONDONTWRITEBYTECODE``: children read and write ``.pyc``.

    A package installed by pip is byte-compiled; one installed editable, in an environment
    that sets ``PYTHONDONTWRITEBYTECODE``, is compiled from source on every import, which
    would add tens of milliseconds that no real install pays.
    """
    return {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}


def byte_compile_ours() -> Path:
    """Byte-compile the ``cognito_jwt`` package being measured, as ``pip install`` does."""
    package = Path(cognito_jwt.__file__).resolve().parent
    subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-c", COMPILE_CHILD, str(package)], check=True, env=child_env()
    )
    return package


def _python_ms(code: str) -> float:
    start = time.perf_counter()
    subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-c", code], check=True, stderr=subprocess.DEVNULL, env=child_env()
    )
    return (time.perf_counter() - start) * 1e3


def import_times(statements: Mapping[str, str], runs: int) -> dict[str, float]:
    """Median ms each statement adds to a fresh interpreter, runs interleaved and shuffled.

    One unmeasured run of each first, so that any ``.pyc`` missing is written before timing.
    """
    codes = {"pass": "pass", **statements}
    for code in codes.values():
        _python_ms(code)
    samples: dict[str, list[float]] = {name: [] for name in codes}
    for _ in range(runs):
        for name in random.sample(list(codes), len(codes)):
            samples[name].append(_python_ms(codes[name]))
    baseline = statistics.median(samples.pop("pass"))
    return {name: statistics.median(values) - baseline for name, values in samples.items()}


@dataclass
class Modules:
    """What one statement does to ``sys.modules`` of a fresh interpreter."""

    added: list[str]
    loaded: list[str]  # those of WATCHED present afterwards


def modules_after(statement: str) -> Modules:
    """The modules *statement* adds to a fresh interpreter, and which of WATCHED are loaded."""
    out = subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-c", MODULES_CHILD, statement, *WATCHED],
        check=True,
        capture_output=True,
        text=True,
        env=child_env(),
    ).stdout
    found = json.loads(out)
    return Modules(found["added"], found["loaded"])


def third_party(modules: Iterable[str]) -> list[str]:
    """The distributions outside the standard library that *modules* come from.

    Top-level names no installed distribution claims (extension submodules registered under
    their own name, or a package installed from a source tree) are listed as themselves.
    """
    owners = importlib.metadata.packages_distributions()
    tops = {name.split(".")[0] for name in modules} - set(sys.stdlib_module_names)
    found = set()
    for top in tops:
        found.update(owners.get(top, [f"`{top}` (no distribution of its own)"]))
    return sorted(found, key=str.lower)


# Output -------------------------------------------------------------------------------------


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def environment() -> str:
    versions = ", ".join(
        f"{name} {_version(dist)}"
        for name, dist in {"cognito-jwt": "cognito-jwt", **PEER_DISTRIBUTIONS}.items()
    )
    return (
        f"Python {platform.python_version()} ({platform.machine()}, {os.cpu_count()} CPUs), "
        f"cryptography {_version('cryptography')}; {versions}. "
        f"Run on {dt.datetime.now(dt.timezone.utc):%Y-%m-%d}."
    )


def _names(results: list[AlgResult]) -> list[str]:
    names = [FLOOR, OURS, CACHED, *PEERS]
    return [n for n in names if any(n in r.candidates or n in r.unavailable for r in results)]


def _ratio_text(ratio: float) -> str:
    return f"{ratio:.2f}" if ratio >= 0.1 else f"{ratio:.3f}"


def verify_tables(results: list[AlgResult]) -> str:
    header = "| | " + " | ".join(r.alg for r in results) + " |"
    rule = "| --- |" + " ---: |" * len(results)

    def cell(result: AlgResult, name: str, fmt: Callable[[AlgResult], str]) -> str:
        if name in result.samples:
            return fmt(result)
        return result.unavailable.get(name, "n/a")

    ratio_rows, us_rows = [], []
    for name in _names(results):
        label = f"**{name}**" if name in (OURS, CACHED) else name
        ratios = [cell(r, name, lambda r, n=name: _ratio_text(r.ratio(n))) for r in results]
        micros = [cell(r, name, lambda r, n=name: f"{r.median_us(n):.1f}") for r in results]
        ratio_rows.append(f"| {label} | " + " | ".join(ratios) + " |")
        us_rows.append(f"| {label} | " + " | ".join(micros) + " |")
    return "\n".join(
        [
            (
                "Time per verification as a multiple of the floor's in the same round "
                "(median over rounds; lower is better):"
            ),
            "",
            header,
            rule,
            *ratio_rows,
            "",
            "Median µs per verification (absolute times: this machine, this run):",
            "",
            header,
            rule,
            *us_rows,
        ]
    )


def checks_summary(results: list[AlgResult], bad_names: Iterable[str]) -> str:
    excluded = [note for r in results for note in r.notes if note.startswith("excluded")]
    counted = sum(len(set(r.candidates) - {MISS}) for r in results)
    lines = [
        (
            f"Rejection checks before timing: {counted} candidate/algorithm pairs accepted the "
            f"good token and rejected all of: {', '.join(bad_names)}."
        )
    ]
    lines += [f"- {note}" for note in excluded]
    return "\n".join(lines)


def import_statements(jwk: Mapping[str, str]) -> dict[str, str]:
    """IMPORTS, with a verifier constructed from *jwk* (a public JWK) after OURS_CONSTRUCT."""
    keyed = (
        "from cognito_jwt import CognitoVerifier\n"
        f"CognitoVerifier(user_pool_id={POOL!r}, client_id={CLIENT!r}, token_use='access', "
        f"jwks={{'keys': [{dict(jwk)!r}]}})"
    )
    statements: dict[str, str] = {}
    for name, statement in IMPORTS.items():
        statements[name] = statement
        if name == OURS_CONSTRUCT:
            statements[OURS_KEYED] = keyed
    return statements


def imports_table(
    statements: Mapping[str, str],
    times: Mapping[str, float],
    modules: Mapping[str, Modules],
    ours_top: list[str],
) -> str:
    rows = [
        "| import | ms (median, minus `python -c pass`) | modules added |",
        "| --- | ---: | ---: |",
    ]
    for name, ms in times.items():
        label = IMPORT_LABELS.get(name, f"`{statements[name]}`")
        rows.append(f"| {label} | {ms:.1f} | {len(modules[name].added)} |")

    def flags(found: Modules) -> str:
        return ", ".join(f"`{m}` {'yes' if m in found.loaded else 'no'}" for m in WATCHED)

    rows += [
        "",
        "Loaded (in `sys.modules`) after `from cognito_jwt import CognitoVerifier`: "
        f"{flags(modules[OURS_IMPORT])}; after constructing a `CognitoVerifier` with "
        f"`jwks_uri=` as well: {flags(modules[OURS_CONSTRUCT])}; after constructing one with "
        f"`jwks=` instead: {flags(modules[OURS_KEYED])}. What the import loads from outside the "
        "standard library: " + (", ".join(ours_top) or "nothing") + ".",
    ]
    return "\n".join(rows)


def threads_table(scaling: Mapping[str, Scaling]) -> str:
    rows = [
        "| RS256 | 1 thread (verifications/s) | 2 threads (verifications/s) | 2 threads / 1 |",
        "| --- | ---: | ---: | ---: |",
    ]
    references = (SIGNATURE_ONLY, PROCESSES)
    names = [n for n in scaling if n not in references] + [n for n in references if n in scaling]
    for name in names:
        one, two, ratio = scaling[name]
        if name in references:
            label = f"*reference: {name}*"
        else:
            label = f"**{name}**" if name in (OURS, CACHED) else name
        rows.append(f"| {label} | {one:,.0f} | {two:,.0f} | {ratio:.2f} |")
    return "\n".join(rows)


def cache_table(results: list[AlgResult]) -> str:
    """Cold verification, miss and hit, for the algorithms in CACHE_ALGS."""
    shown = [r for r in results if r.alg in CACHE_ALGS and MISS in r.samples]
    if not shown:
        return ""
    header = "| |" + "".join(f" {r.alg} µs | {r.alg} vs floor |" for r in shown)
    rule = "| --- |" + " ---: | ---: |" * len(shown)
    rows = [header, rule]
    labels = {
        FLOOR: "floor",
        OURS: "cognito-jwt, no cache (every token verified in full)",
        MISS: f"cache on, miss (a token not in the cache; {CACHE_SIZE} entries, full)",
        CACHED: "**cache on, hit** (the same token again)",
    }
    for name, label in labels.items():
        cells = "".join(f" {r.median_us(name):.1f} | {_ratio_text(r.ratio(name))} |" for r in shown)
        rows.append(f"| {label} |{cells}")
    counters = []
    for r in shown:
        for name, what in ((CACHED, "hit"), (MISS, "miss")):
            stats = r.cache_verifiers[name].token_cache_stats or {}
            counters.append(
                f"{r.alg} {what} row {stats.get('hits', 0):,} hits / "
                f"{stats.get('misses', 0):,} misses"
            )
    rows += [
        "",
        "`token_cache_stats` after timing (the rejection checks included): "
        + "; ".join(counters)
        + ".",
    ]
    return "\n".join(rows)


def write_page(block: str) -> None:
    text = PAGE.read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise SystemExit(f"{PAGE} lacks the {START} / {END} markers")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    PAGE.write_text(f"{head}{START}\n{block}\n{END}{tail}", encoding="utf-8")


def write_chart(results: list[AlgResult]) -> None:
    import matplotlib as mpl

    mpl.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    names = [n for n in _names(results) if n != FLOOR]
    colors = ["#3b6ea8", "#d08c2c", "#4a9a5b", "#a3485f"]
    height = 0.8 / len(results)
    fig, ax = plt.subplots(figsize=(9, 0.75 * len(names) + 1.3), dpi=110)
    ratios = [r.ratio(n) for r in results for n in names if n in r.samples]
    for i, result in enumerate(results):
        for row, name in enumerate(names):
            y = row + (i - (len(results) - 1) / 2) * height
            if name in result.samples:
                ratio = result.ratio(name)
                ax.barh(
                    y,
                    ratio,
                    height=height * 0.92,
                    color=colors[i % len(colors)],
                    label=result.alg if row == 0 else None,
                )
                ax.text(ratio * 1.03, y, _ratio_text(ratio), va="center", fontsize=7)
            else:
                ax.barh(
                    y,
                    0,
                    height=height,
                    color=colors[i % len(colors)],
                    label=result.alg if row == 0 else None,
                )
                ax.text(
                    1.0,
                    y,
                    f" {result.unavailable.get(name, 'n/a')} ({result.alg})",
                    va="center",
                    fontsize=7,
                    color="#777777",
                )
    ax.axvline(1.0, color="black", linewidth=1.2)
    ax.set_xscale("log")
    low, high = min([*ratios, 1.0]) * 0.8, max([*ratios, 1.0]) * 1.35
    ax.set_xlim(low, high)
    ticks = [
        t for t in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 1.5, 2, 3, 5, 10, 20) if low <= t <= high
    ]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}x"))
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels(names)
    ax.invert_yaxis()
    ax.set_xlabel("time per verification ÷ floor (same round, median; log scale; lower is better)")
    ax.set_title("Verifying a Cognito access token: cost relative to the floor (1 = floor)")
    ax.legend(loc="upper right", fontsize=8, title="algorithm", title_fontsize=8)
    ax.grid(axis="x", linestyle=":", alpha=0.6)
    fig.tight_layout()
    CHART.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(CHART)
    plt.close(fig)


# Main ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a rough run in under a minute")
    parser.add_argument("--rounds", type=int, help="timing rounds per algorithm (default 30)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/ alone")
    parser.add_argument("--algs", default=",".join(ALGS))
    args = parser.parse_args(argv)
    rounds = args.rounds or (6 if args.quick else 30)
    target_s = 0.008 if args.quick else 0.04  # per candidate per round
    import_runs = 5 if args.quick else 15
    thread_repeats, thread_seconds = (3, 0.1) if args.quick else (7, 0.4)
    began = time.perf_counter()

    env = environment()
    print(env)
    print(f"{rounds} rounds per algorithm, ~{target_s * 1e3:.0f} ms per candidate per round\n")
    warnings.simplefilter("ignore", DeprecationWarning)  # noted per candidate by the checks

    results: list[AlgResult] = []
    fatal: list[str] = []
    with LocalIssuer() as issuer:
        setups = [Setup.create(alg) for alg in args.algs.split(",")]
        for setup in setups:
            issuer.add_jwk(setup.jwk)
        for setup in setups:
            print(f"{setup.alg}: building and checking candidates")
            result = build_candidates(setup, issuer.jwks_uri)
            fatal += check_candidates(setup, result)
            results.append(result)
        if fatal:
            print("\nFAILED: the floor or cognito-jwt accepted a bad token:", *fatal, sep="\n  ")
            return 1
        for setup, result in zip(setups, results, strict=True):
            add_cache_miss(setup, result, issuer.jwks_uri)
        for setup, result in zip(setups, results, strict=True):
            print(f"{setup.alg}: timing {len(result.candidates)} candidates")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                time_candidates(result, setup.token, rounds, target_s)
        rs256 = next((r for r in results if r.alg == "RS256"), None)
        scaling: dict[str, Scaling] = {}
        if rs256 is not None:
            print("RS256: threads (and the floor in processes)")
            setup = setups[results.index(rs256)]
            candidates = {n: fn for n, fn in rs256.candidates.items() if n != MISS}
            candidates[SIGNATURE_ONLY] = bare("RS256", setup.private.public_key(), setup.token)
            processes = FloorProcesses(setup)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    scaling = thread_scaling(
                        candidates, setup.token, thread_repeats, thread_seconds, processes
                    )
            finally:
                processes.close()

    print("imports: byte-compiling cognito_jwt, then fresh interpreters")
    byte_compile_ours()
    statements = import_statements(setups[0].jwk)
    times = import_times(statements, import_runs)
    modules = {name: modules_after(statement) for name, statement in statements.items()}
    ours_top = third_party(
        m for m in modules[OURS_IMPORT].added if m.split(".")[0] != "cognito_jwt"
    )

    bad_names = list(setups[0].bad)
    sections = [
        env,
        f"{rounds} rounds per algorithm, candidates interleaved in shuffled order.",
        "### Verification",
        verify_tables(results),
        checks_summary(results, bad_names),
    ]
    cache = cache_table(results)
    if cache:
        sections += [
            "### Verified-token cache",
            (
                "Median µs per verification and its multiple of the floor's in the same round, "
                "from the rounds above."
            ),
            cache,
        ]
    if scaling:
        sections += [
            "### Two threads",
            (
                "Each thread verifies the same RS256 token in a loop, as many times as the one "
                f"thread does alone (about {thread_seconds:g} s of work); the ratio is taken "
                f"within each of {thread_repeats} runs and its median reported. The two "
                "reference rows: the signature check alone (one `cryptography` call, which "
                "releases the GIL) in threads, and the floor in two worker processes against "
                "one."
            ),
            threads_table(scaling),
        ]
    sections += [
        "### Import time",
        (
            f"Fresh interpreters, median of {import_runs} runs each, after one unmeasured run; "
            "`cognito_jwt` byte-compiled first and the children allowed to use and write "
            "`.pyc` files, as in a pip-installed environment."
        ),
        imports_table(statements, times, modules, ours_top),
    ]
    notes = sorted({note for r in results for note in r.notes if not note.startswith("excluded")})
    if CACHED in results[0].unavailable:
        notes.insert(0, "token cache: not available (this checkout has no `token_cache_size`)")
    if notes:
        sections += ["Notes:", "\n".join(f"- {note}" for note in notes)]
    block = "\n\n".join(sections)
    print("\n" + block + "\n")
    if not args.no_write:
        write_chart(results)
        write_page(block)
        print(f"wrote {PAGE.relative_to(ROOT)} and {CHART.relative_to(ROOT)}")
    print(f"({time.perf_counter() - began:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
