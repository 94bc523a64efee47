"""The one normaliser of name options: ``issuer=``, ``audience=``, ``client_id=``, ``groups=`` ...

Every option of a verifier or an adapter that takes "one name or several" goes through
:func:`string_set`, so they all read the same way:

* ``None`` is ``None`` (the check is off);
* a ``str`` is one value (``groups="admins"`` is the group ``admins``, never the set of its
  letters);
* any other iterable is a collection, each member a non-empty ``str``;
* anything else (``bytes``, a number, a non-string or empty member, and, unless the option
  allows it, an empty collection) is a :class:`ConfigurationError`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import overload

from ._errors import ConfigurationError

__all__ = ["string_set", "string_tuple"]


@overload
def string_set(value: None, name: str, *, allow_empty: bool = False) -> None: ...
@overload
def string_set(value: object, name: str, *, allow_empty: bool = False) -> frozenset[str] | None: ...
def string_set(value: object, name: str, *, allow_empty: bool = False) -> frozenset[str] | None:
    """Normalise a name option that is ``None``, one string, or a collection of strings.

    Args:
        value: The option as the caller gave it.
        name: The option's name, for the error message.
        allow_empty: Accept an empty collection (for options whose default is ``()``).

    Raises:
        ConfigurationError: Not a string or a collection of non-empty strings, or an empty
            collection where it is not allowed.
    """
    if value is None:
        return None
    return frozenset(string_tuple(value, name, allow_empty=allow_empty))


def string_tuple(value: object, name: str, *, allow_empty: bool = False) -> tuple[str, ...]:
    """Like :func:`string_set` (``None`` refused), keeping the order and repeats given.

    Raises:
        ConfigurationError: As :func:`string_set`; also for ``None``.
    """
    if isinstance(value, str):
        value = (value,)
    what = f"{name} must be a string or a collection of non-empty strings"
    if isinstance(value, bytes | bytearray | memoryview) or not isinstance(value, Iterable):
        raise ConfigurationError(f"{what}, got {type(value).__name__}")
    try:
        items = tuple(value)
    except Exception:  # noqa: BLE001 - a broken iterable is a configuration mistake
        raise ConfigurationError(f"{what}; iterating it failed") from None
    for item in items:
        if not isinstance(item, str):
            raise ConfigurationError(f"{what}, found a member of type {type(item).__name__}")
        if not item:
            raise ConfigurationError(f"{what}, found an empty string")
    if not items and not allow_empty:
        raise ConfigurationError(f"{name} must name at least one value (None turns it off)")
    return items
