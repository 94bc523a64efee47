"""The public surface: exactly these names, documented, and a light import."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys

import pytest

import cognito_jwt

PUBLIC = {
    "AlbVerifier",
    "AlgorithmNotAllowedError",
    "AudienceMismatchError",
    "ClaimError",
    "Claims",
    "CognitoVerifier",
    "ConfigurationError",
    "CustomCheckError",
    "ExpiredTokenError",
    "InsufficientScopeError",
    "InvalidJwksError",
    "InvalidSignatureError",
    "IssuerMismatchError",
    "JwtError",
    "JwtVerifier",
    "KeyAlgorithmMismatchError",
    "KeyNotFoundError",
    "KeySet",
    "KeySetUnavailableError",
    "MalformedTokenError",
    "MissingClaimError",
    "MissingGroupError",
    "MultiIssuerVerifier",
    "MultiTenantVerifier",
    "NotYetValidError",
    "SkippedKey",
    "TokenLimits",
    "TokenUseMismatchError",
    "UnsupportedCriticalHeaderError",
    "__version__",
    "DiscoveryError",
    "FetchOptions",
    "RefreshPolicy",
    "KeySetState",
    "AsyncVerifier",
    "Verifier",
    "KeySetStats",
    "FileStore",
    "KeyStore",
    "MemoryStore",
    "StoredKeySet",
    # revocation
    "DenyList",
    "RevocationCheck",
    "RevocationUnavailableError",
    "TokenRevokedError",
    # private_key_jwt (client side)
    "AuthorizationRequest",
    "ClientAssertionSigner",
    "ClientKey",
    "InvalidClientError",
    "InvalidGrantError",
    "OAuthError",
    "PkcePair",
    "SigningError",
    "TenantRateLimitError",
    "TokenClient",
    "TokenEndpointUnavailableError",
    "TokenResponse",
    "build_authorization_url",
    "generate_client_key",
    # online revocation checks
    "CognitoRevocationCheck",
    "IntrospectionCheck",
    # audit events and metrics
    "Audit",
    "EmfSink",
    "JsonLogSink",
    "OpenTelemetrySink",
    "VerificationRecord",
    # Lambda SnapStart
    "after_restore",
    # header and claims without verification (debugging, routing)
    "UnverifiedToken",
    "decode_unverified",
}


def test_all_is_the_public_api() -> None:
    assert set(cognito_jwt.__all__) == PUBLIC
    assert len(cognito_jwt.__all__) == len(PUBLIC)
    for name in PUBLIC:
        assert hasattr(cognito_jwt, name), name


def test_public_names_are_documented() -> None:
    for name in PUBLIC - {"__version__"}:
        obj = getattr(cognito_jwt, name)
        assert obj.__doc__, f"{name} has no docstring"
        assert obj.__doc__.strip(), f"{name} has an empty docstring"
        # Defined in a private module, shown at its public home (paper cut vi).
        assert obj.__module__ == "cognito_jwt", name


def test_every_public_name_says_it_lives_in_cognito_jwt() -> None:
    """``__module__`` is ``cognito_jwt`` for every exported class and function, the lazily
    exported ones included, in a fresh interpreter (tracebacks show public paths)."""
    code = (
        "import json, cognito_jwt\n"
        "print(json.dumps({n: getattr(cognito_jwt, n).__module__"
        " for n in cognito_jwt.__all__ if n != '__version__'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    modules = json.loads(out)
    assert set(modules) == PUBLIC - {"__version__"}
    assert {name for name, module in modules.items() if module != "cognito_jwt"} == set()


def test_public_classes_pickle_by_their_public_path() -> None:
    import pickle

    error = cognito_jwt.ExpiredTokenError("expired", claim="exp", expected="x", found="y")
    back = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object
    assert type(back) is cognito_jwt.ExpiredTokenError
    assert (back.claim, back.expected, back.found) == ("exp", "x", "y")
    assert b"cognito_jwt._errors" not in pickle.dumps(error)
    oauth = cognito_jwt.InvalidGrantError("refused", error="invalid_grant", status_code=400)
    assert pickle.loads(pickle.dumps(oauth)).status_code == 400  # noqa: S301


def test_api_reference_lists_every_public_name() -> None:
    from .test_docs import ROOT

    reference = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    for name in PUBLIC - {"__version__"}:
        assert f"::: cognito_jwt.{name}\n" in reference, name


def test_version_matches_metadata() -> None:
    assert cognito_jwt.__version__ == importlib.metadata.version("cognito-jwt")


def test_typed_package_ships_py_typed() -> None:
    files = importlib.metadata.files("cognito-jwt") or []
    assert any(str(f).endswith("cognito_jwt/py.typed") for f in files) or (
        __import__("pathlib").Path(cognito_jwt.__file__).with_name("py.typed").exists()
    )


@pytest.mark.parametrize(
    "statement", ["import cognito_jwt", "from cognito_jwt import CognitoVerifier, JwtVerifier"]
)
def test_import_is_light(statement: str) -> None:
    """Importing pulls in no web framework, no HTTP client, no crypto, no costly stdlib module.

    Cold starts pay for every import: ``cryptography`` waits for the first key set,
    ``httpx`` for the first fetch, ``logging`` for the first message; ``dataclasses`` (with
    ``inspect``) is never needed (see ``_record``).
    """
    code = f"import sys, json; {statement}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    modules = set(json.loads(out))
    for heavy in (
        "httpx",
        "cachetools",
        "flask",
        "starlette",
        "fastapi",
        "redis",
        "boto3",
        "asyncio",
        "anyio",
        "requests",
        "urllib3",
        "cryptography",
        "dataclasses",
        "inspect",
        "logging",
        "hashlib",
        "tempfile",
        "datetime",
        "cognito_jwt._audit",  # only a verifier given on_decision= needs it
    ):
        assert heavy not in modules, f"{statement} pulled in {heavy}"


def test_first_key_set_brings_cryptography_and_construction_stays_offline() -> None:
    code = (
        "import sys\n"
        "from cognito_jwt import CognitoVerifier\n"
        "v = CognitoVerifier(user_pool_id='eu-west-1_abc', client_id='c', token_use='access',"
        " jwks_uri='http://127.0.0.1:9/jwks', store=None)\n"
        "assert 'cryptography' not in sys.modules and 'httpx' not in sys.modules\n"
        "from cognito_jwt.testing import LocalIssuer\n"
        "with LocalIssuer() as issuer:\n"
        "    token = issuer.mint({'sub': 'a', 'aud': 'api'})\n"
        "    verifier = issuer.verifier(audience='api', store=None)\n"
        "    assert verifier.verify(token).sub == 'a'\n"
        "assert 'cryptography' in sys.modules and 'httpx' not in sys.modules\n"
        # an RS256 key set never builds ec.ECDSA, whose constructor loads cryptography's
        # OpenSSL backend and its cipher modules; the first EC key does, and verifies
        "backend = 'cryptography.hazmat.backends.openssl'\n"
        "assert backend not in sys.modules, 'an RSA key set loaded the OpenSSL backend'\n"
        "with LocalIssuer(algorithm='ES256') as issuer:\n"
        "    token = issuer.mint({'sub': 'e', 'aud': 'api'})\n"
        "    verifier = issuer.verifier(audience='api', store=None)\n"
        "    assert verifier.verify(token).sub == 'e'\n"
        "assert backend in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
