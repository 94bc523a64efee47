"""What an adapter needs of a verifier: two small protocols every verifier of this package meets.

The WSGI middleware and the Flask helpers take a :class:`Verifier`; the ASGI middleware, the
FastAPI dependencies and the ALB helpers take an :class:`AsyncVerifier`. A verifier of your
own (a wrapper that adds metrics, a test double) plugs in by having the one method.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ._claims import Claims

__all__ = ["AsyncVerifier", "Verifier"]


class Verifier(Protocol):
    """Anything that verifies a token and returns its claims (every verifier here does)."""

    def verify(self, token: str | bytes) -> Claims:
        """Verify *token* and return its claims; raise a :class:`JwtError` if it is refused."""
        ...


class AsyncVerifier(Protocol):
    """Anything that verifies a token without blocking the event loop (every verifier here)."""

    async def verify_async(self, token: str | bytes) -> Claims:
        """Like :meth:`Verifier.verify`, without blocking the event loop."""
        ...
