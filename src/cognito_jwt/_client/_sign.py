"""Compact JWS serialization (RFC 7515 §7.1) for the tokens this package signs itself.

Used by the local demo issuer and, later, by ``private_key_jwt`` client assertions. Verifiers
never import it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .._algorithms import ALGORITHMS, PrivateKey, is_forbidden
from .._b64 import b64url_encode
from .._errors import ConfigurationError

__all__ = ["encode_compact", "signing_input"]


def _json(obj: Mapping[str, Any]) -> bytes:
    try:
        text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        return text.encode("utf-8")
    except (TypeError, ValueError) as exc:  # UnicodeEncodeError is a ValueError
        raise ConfigurationError(f"cannot serialise the token as JSON: {exc}") from None
    except RecursionError:
        raise ConfigurationError("cannot serialise the token as JSON: nested too deeply") from None


def encode_compact(
    payload: Mapping[str, Any],
    key: PrivateKey,
    *,
    alg: str,
    kid: str | None = None,
    headers: Mapping[str, Any] | None = None,
) -> str:
    """Sign *payload* (a JSON object) and return the compact JWS.

    Raises:
        ConfigurationError: *alg* is ``none``/HMAC/unsupported or does not fit *key*.
    """
    if is_forbidden(alg) or alg not in ALGORITHMS:
        raise ConfigurationError(f"cannot sign with algorithm {alg!r}")
    header: dict[str, Any] = {"alg": alg}
    if kid is not None:
        header["kid"] = kid
    if headers:
        header.update(headers)
        header["alg"] = alg
    data = signing_input(header, payload)
    return f"{data.decode('ascii')}.{b64url_encode(ALGORITHMS[alg].sign(key, data))}"


def signing_input(header: Mapping[str, Any], payload: Mapping[str, Any]) -> bytes:
    """Return the JWS signing input, ``BASE64URL(header) || '.' || BASE64URL(payload)``.

    Raises:
        ConfigurationError: The header or payload can't be serialised as JSON.
    """
    return f"{b64url_encode(_json(header))}.{b64url_encode(_json(payload))}".encode("ascii")
