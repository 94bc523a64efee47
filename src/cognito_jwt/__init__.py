"""Verify Amazon Cognito and OpenID Connect JWTs: strict by default, fast on the hot path.

```python
from cognito_jwt import CognitoVerifier

verifier = CognitoVerifier(
    user_pool_id="eu-west-1_AbCdEf123", client_id="3abc...", token_use="access", jwks=jwks
)
claims = verifier.verify(token)  # raises a JwtError subclass on any failure
```
"""

from typing import TYPE_CHECKING, Any

from ._claims import Claims
from ._cognito import CognitoVerifier
from ._errors import (
    AlgorithmNotAllowedError,
    AudienceMismatchError,
    ClaimError,
    ConfigurationError,
    CustomCheckError,
    DiscoveryError,
    ExpiredTokenError,
    InsufficientScopeError,
    InvalidClientError,
    InvalidGrantError,
    InvalidJwksError,
    InvalidSignatureError,
    IssuerMismatchError,
    JwtError,
    KeyAlgorithmMismatchError,
    KeyNotFoundError,
    KeySetUnavailableError,
    MalformedTokenError,
    MissingClaimError,
    MissingGroupError,
    NotYetValidError,
    OAuthError,
    RevocationUnavailableError,
    SigningError,
    TenantRateLimitError,
    TokenEndpointUnavailableError,
    TokenRevokedError,
    TokenUseMismatchError,
    UnsupportedCriticalHeaderError,
)
from ._keysource import KeySetState, KeySetStats
from ._options import FetchOptions, RefreshPolicy
from ._protocols import AsyncVerifier, Verifier
from ._revocation import DenyList, RevocationCheck
from ._token import TokenLimits
from ._verifier import JwtVerifier, MultiIssuerVerifier
from ._version import __version__
from .stores import KeyStore, MemoryStore, StoredKeySet

if TYPE_CHECKING:
    from ._alb import AlbVerifier
    from ._audit import Audit, EmfSink, JsonLogSink, OpenTelemetrySink, VerificationRecord
    from ._client._assertion import ClientAssertionSigner
    from ._client._keygen import ClientKey, generate_client_key
    from ._client._oauth import (
        AuthorizationRequest,
        PkcePair,
        TokenClient,
        TokenResponse,
        build_authorization_url,
    )
    from ._http import after_restore
    from ._jwk import KeySet, SkippedKey
    from ._online_revocation import CognitoRevocationCheck, IntrospectionCheck
    from ._tenants import MultiTenantVerifier
    from ._unverified import UnverifiedToken, decode_unverified
    from .stores import FileStore

# Imported on first use, so that `import cognito_jwt` stays cheap (Lambda cold starts): the
# client side (private_key_jwt signing, the token client, key generation) and the ALB verifier,
# which a Cognito or OIDC verifier never needs; the tenant router, which an app with one pool
# never needs; the online revocation checks, which few routes use; the snapshot-restore hook,
# which lives with the HTTP layer; decode_unverified, for debugging and routing; key processing
# (KeySet, which needs cryptography), loaded anyway with the first key set; the file store,
# built by a verifier that uses it.
_LAZY = {
    "AlbVerifier": "._alb",
    "Audit": "._audit",
    "EmfSink": "._audit",
    "JsonLogSink": "._audit",
    "OpenTelemetrySink": "._audit",
    "VerificationRecord": "._audit",
    "after_restore": "._http",
    "FileStore": ".stores._file",
    "KeySet": "._jwk",
    "MultiTenantVerifier": "._tenants",
    "SkippedKey": "._jwk",
    "AuthorizationRequest": "._client._oauth",
    "ClientAssertionSigner": "._client._assertion",
    "ClientKey": "._client._keygen",
    "CognitoRevocationCheck": "._online_revocation",
    "IntrospectionCheck": "._online_revocation",
    "PkcePair": "._client._oauth",
    "TokenClient": "._client._oauth",
    "TokenResponse": "._client._oauth",
    "build_authorization_url": "._client._oauth",
    "generate_client_key": "._client._keygen",
    "UnverifiedToken": "._unverified",
    "decode_unverified": "._unverified",
}


def _publish(value: Any) -> Any:
    """Give a public class or function its public home, ``cognito_jwt``.

    Tracebacks, ``repr`` of classes and generated docs then show ``cognito_jwt.JwtError``
    rather than the private module that defines it; pickle finds the class here too.
    """
    if isinstance(value, type) or callable(value):
        value.__module__ = __name__  # every export is a Python class or function
    return value


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = _publish(getattr(importlib.import_module(module, __name__), name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "AlbVerifier",
    "AlgorithmNotAllowedError",
    "AsyncVerifier",
    "AudienceMismatchError",
    "Audit",
    "AuthorizationRequest",
    "ClaimError",
    "Claims",
    "ClientAssertionSigner",
    "ClientKey",
    "CognitoRevocationCheck",
    "CognitoVerifier",
    "ConfigurationError",
    "CustomCheckError",
    "DenyList",
    "DiscoveryError",
    "EmfSink",
    "ExpiredTokenError",
    "FetchOptions",
    "FileStore",
    "InsufficientScopeError",
    "IntrospectionCheck",
    "InvalidClientError",
    "InvalidGrantError",
    "InvalidJwksError",
    "InvalidSignatureError",
    "IssuerMismatchError",
    "JsonLogSink",
    "JwtError",
    "JwtVerifier",
    "KeyAlgorithmMismatchError",
    "KeyNotFoundError",
    "KeySet",
    "KeySetState",
    "KeySetStats",
    "KeySetUnavailableError",
    "KeyStore",
    "MalformedTokenError",
    "MemoryStore",
    "MissingClaimError",
    "MissingGroupError",
    "MultiIssuerVerifier",
    "MultiTenantVerifier",
    "NotYetValidError",
    "OAuthError",
    "OpenTelemetrySink",
    "PkcePair",
    "RefreshPolicy",
    "RevocationCheck",
    "RevocationUnavailableError",
    "SigningError",
    "SkippedKey",
    "StoredKeySet",
    "TenantRateLimitError",
    "TokenClient",
    "TokenEndpointUnavailableError",
    "TokenLimits",
    "TokenResponse",
    "TokenRevokedError",
    "TokenUseMismatchError",
    "UnsupportedCriticalHeaderError",
    "UnverifiedToken",
    "VerificationRecord",
    "Verifier",
    "__version__",
    "after_restore",
    "build_authorization_url",
    "decode_unverified",
    "generate_client_key",
]

for _name in __all__:
    if _name in globals() and _name != "__version__":
        _publish(globals()[_name])
del _name
