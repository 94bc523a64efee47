"""Verify Amazon Cognito and OpenID Connect JWTs: strict by default, fast on the hot path.

```python
from cognito_jwt import CognitoVerifier

verifier = CognitoVerifier(
    user_pool_id="eu-west-1_AbCdEf123", client_id="3abc...", token_use="access", jwks=jwks
)
claims = verifier.verify(token)  # raises a JwtError subclass on any failure
```
"""

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
    TokenUseMismatchError,
    UnsupportedCriticalHeaderError,
)
from ._jwk import KeySet, SkippedKey
from ._keysource import KeySetStats
from ._options import FetchOptions, RefreshPolicy
from ._token import TokenLimits
from ._verifier import JwtVerifier, MultiIssuerVerifier
from ._version import __version__
from .stores import FileStore, KeyStore, MemoryStore, StoredKeySet

__all__ = [
    "AlgorithmNotAllowedError",
    "AudienceMismatchError",
    "ClaimError",
    "Claims",
    "CognitoVerifier",
    "ConfigurationError",
    "CustomCheckError",
    "DiscoveryError",
    "ExpiredTokenError",
    "FetchOptions",
    "FileStore",
    "InsufficientScopeError",
    "InvalidJwksError",
    "InvalidSignatureError",
    "IssuerMismatchError",
    "JwtError",
    "JwtVerifier",
    "KeyAlgorithmMismatchError",
    "KeyNotFoundError",
    "KeySet",
    "KeySetStats",
    "KeySetUnavailableError",
    "KeyStore",
    "MalformedTokenError",
    "MemoryStore",
    "MissingClaimError",
    "MissingGroupError",
    "MultiIssuerVerifier",
    "NotYetValidError",
    "RefreshPolicy",
    "SkippedKey",
    "StoredKeySet",
    "TokenLimits",
    "TokenUseMismatchError",
    "UnsupportedCriticalHeaderError",
    "__version__",
]
