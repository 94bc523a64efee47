"""The ``cognito_jwt`` logger, with :mod:`logging` imported on the first message.

Nothing is logged on the verification success path; messages come from fetches, the key store
and failing hooks. Importing :mod:`logging` (with ``traceback``, ``tokenize``, ``string`` ...)
costs a few milliseconds of every cold start, so it waits for the first message that could be
seen: until something imports :mod:`logging`, nothing can have configured it, and a ``debug``
or ``info`` message would be dropped (the root logger's level is ``WARNING``), so those are
dropped without the import (the first fetch's "kids added" line, say).
"""

from __future__ import annotations

import sys
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
            if name in _UNSEEN and "logging" not in sys.modules:
                return _drop
            import logging

            return getattr(logging.getLogger("cognito_jwt"), name)

    _UNSEEN = frozenset({"debug", "info"})

    def _drop(*_args: object, **_kwargs: object) -> None:
        """A debug or info message while :mod:`logging` is unconfigured (never imported)."""

    logger = _Logger()
