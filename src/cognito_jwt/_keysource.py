"""Where a verifier gets its keys: the one seam between the pure pipeline and the world.

A verifier asks its key source for the key that fits a token's ``kid`` and ``alg``; it never
knows whether the keys were given in memory, read from a store or fetched. ``verify`` and
``verify_async`` differ only in which of the two ``find`` methods they call.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

from ._jwk import KeySet, parse_jwks

if TYPE_CHECKING:
    from ._jwk import PreparedKey

__all__ = ["JwksInput", "KeySource", "StaticKeySource", "static_key_source"]

JwksInput = Mapping[str, Any] | str | bytes | KeySet
"""A key set given in memory: a JWKS mapping, its JSON text, or a parsed :class:`KeySet`."""


class KeySource(Protocol):
    """Supplies prepared keys to a verifier."""

    def find(self, kid: str | None, alg: str) -> PreparedKey:
        """Return the key for *kid* and *alg*, or raise a :class:`KeyNotFoundError`."""
        ...

    async def find_async(self, kid: str | None, alg: str) -> PreparedKey:
        """Like :meth:`find`, without blocking the event loop on I/O."""
        ...

    def hydrate(self) -> None:
        """Load the keys ahead of the first verification."""
        ...

    async def hydrate_async(self) -> None:
        """Like :meth:`hydrate`, without blocking the event loop."""
        ...


class StaticKeySource:
    """A fixed key set held in memory; lookups never do I/O."""

    __slots__ = ("keyset",)

    def __init__(self, keyset: KeySet) -> None:
        self.keyset = keyset

    def find(self, kid: str | None, alg: str) -> PreparedKey:
        """Select from the fixed key set."""
        return self.keyset.find(kid, alg)

    async def find_async(self, kid: str | None, alg: str) -> PreparedKey:
        """Select from the fixed key set."""
        return self.keyset.find(kid, alg)

    def hydrate(self) -> None:
        """Nothing to load: the keys are in memory."""

    async def hydrate_async(self) -> None:
        """Nothing to load: the keys are in memory."""


def static_key_source(jwks: JwksInput) -> StaticKeySource:
    """Build a :class:`StaticKeySource` from a JWKS mapping, JSON text or :class:`KeySet`.

    Raises:
        InvalidJwksError: The document has no usable key.
    """
    return StaticKeySource(jwks if isinstance(jwks, KeySet) else parse_jwks(jwks))
