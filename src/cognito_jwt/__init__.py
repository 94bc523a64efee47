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
from ._token import TokenLimits
from ._verifier import JwtVerifier, MultiIssuerVerifier
from ._version import __version__

__all__ = [
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
    "NotYetValidError",
    "SkippedKey",
    "TokenLimits",
    "TokenUseMismatchError",
    "UnsupportedCriticalHeaderError",
    "__version__",
]
