"""The ``cognito_jwt`` logger, with :mod:`logging` imported on the first message.

Nothing is logged on the verification success path; messages come from fetches, the key store
and failing hooks. Importing :mod:`logging` (with ``traceback``, ``tokenize``, ``string`` ...)
costs a few milliseconds of every cold start, so it waits for the first message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["logger"]

if TYPE_CHECKING:
    import logging

    logger: logging.Logger
else:

    class _Logger:
        """Forwards to ``logging.getLogger("cognito_jwt")``; callers' frames are unchanged."""

        __slots__ = ()

        def __getattr__(self, name: str) -> Any:
            import logging

            return getattr(logging.getLogger("cognito_jwt"), name)

    logger = _Logger()
