"""What a cold start imports: only what its first verification needs (Lambda pays each import).

A fresh interpreter builds a verifier with a file store, verifies a token (fetching the key set
and writing the store: an empty cache), then a second interpreter does the same from the store
it left (a warm cache, no network). Neither imports ``httpx`` (the sync face fetches with the
standard library), ``tempfile`` or ``logging`` (nothing went wrong, so nothing was logged),
``cachetools`` (no ``kid`` was missing, so the negative cache stayed unbuilt), the audit module
(no ``on_decision=``) or ``cryptography``'s OpenSSL backend with its cipher modules (only
``ec.ECDSA`` needs it, and an RS256 key set never builds one), the ``idna`` codec (an ASCII
host name reaches the resolver and ``ssl`` as bytes), or ``hashlib`` (the store's file names
are SHA-256 digests from ``cryptography``, which the keys load anyway).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from cognito_jwt.testing import LocalIssuer
from tests.helpers import run_python

NOT_NEEDED = (
    "httpx",
    "httpcore",
    "click",
    "tempfile",
    "logging",
    "asyncio",
    "cachetools",
    "cognito_jwt._audit",
    "cryptography.hazmat.backends.openssl",
    "cryptography.hazmat.primitives.ciphers",
    "encodings.idna",
    "stringprep",
    "hashlib",
)

CHILD = """
import json, sys
from cognito_jwt import FileStore, JwtVerifier
issuer, jwks_uri, store, token = sys.argv[1:]
verifier = JwtVerifier(issuer=issuer, audience="api", jwks_uri=jwks_uri, store=FileStore(store))
assert verifier.verify(token)["sub"] == "u"
from cognito_jwt import _validate
print(json.dumps({"fetches": verifier.stats.fetches, "modules": sorted(sys.modules),
                  "scope_compiled": _validate._SCOPE is not None}))
"""


@pytest.fixture
def issuer() -> Iterator[LocalIssuer]:
    with LocalIssuer() as running:
        yield running


def cold_start(issuer: LocalIssuer, store: Path, token: str) -> tuple[int, set[str], bool]:
    import json

    done = run_python(CHILD, issuer.issuer, issuer.jwks_uri, str(store), token)
    report = json.loads(done.stdout)
    return report["fetches"], set(report["modules"]), report["scope_compiled"]


def test_empty_then_warm_cache_import_only_what_they_need(
    issuer: LocalIssuer, tmp_path: Path
) -> None:
    token = issuer.mint({"sub": "u", "aud": "api"})
    for expected_fetches in (1, 0):  # empty store: fetch and save; then warm: read only
        fetches, modules, scope_compiled = cold_start(issuer, tmp_path, token)
        assert fetches == expected_fetches
        assert not scope_compiled  # no scope was read: its pattern was never compiled
        assert not modules & set(NOT_NEEDED), sorted(modules & set(NOT_NEEDED))
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp-")] == []


def test_a_warning_imports_logging_and_is_seen_an_unconfigurable_info_is_not() -> None:
    code = (
        "import sys\n"
        "from cognito_jwt._log import logger\n"
        "logger.info('kids added %s', 1)\n"
        "logger.debug('detail')\n"
        "assert 'logging' not in sys.modules\n"
        "logger.warning('fetch failed %s', 2)\n"
        "assert 'logging' in sys.modules\n"
    )
    done = run_python(code)
    # logging's last-resort handler prints WARNING and up; the info and debug lines were dropped
    assert done.stderr.splitlines()[-1:] == ["fetch failed 2"]
    assert "kids added" not in done.stderr
    assert "detail" not in done.stderr
