"""A small stand-in for :mod:`dataclasses`, so that ``import cognito_jwt`` stays cheap.

``dataclasses`` imports :mod:`inspect` (and with it ``ast``, ``dis``, ``tokenize`` ...) and
spends most of a millisecond on each class it decorates: together about 15 ms of every cold
start, for a dozen small records. This module covers the subset this package uses, with the
same semantics: ``@dataclass`` with ``frozen``, ``slots`` and ``eq``; ``field(default=...,
default_factory=..., repr=..., compare=...)``; ``__post_init__``; field inheritance; an
``__init__`` whose parameters are the fields in order; ``__repr__``; ``__eq__`` over the
compared fields; ``__hash__`` for frozen records (none for mutable ones); ``replace`` and
``fields``.

Modules import it in one line, ``from ._record import dataclass, field``: the type checker
sees :mod:`dataclasses` itself under these names (see the end of this module), so mypy checks
every record exactly as a dataclass, while the run time gets the light versions; the tests in
``tests/unit/test_record.py`` hold the two implementations to the same behaviour.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

__all__ = ["MISSING", "Field", "FrozenInstanceError", "dataclass", "field", "fields", "replace"]

T = TypeVar("T")


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class FrozenInstanceError(AttributeError):
    """Assigning to a field of a frozen record."""


class Field:
    """One field: its name, default or default factory, and whether repr/eq use it."""

    __slots__ = ("compare", "default", "default_factory", "name", "repr")

    def __init__(
        self,
        *,
        default: Any = MISSING,
        default_factory: Callable[[], Any] | Any = MISSING,
        repr: bool = True,  # noqa: A002 - the dataclasses name
        compare: bool = True,
    ) -> None:
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.name = ""
        self.default = default
        self.default_factory = default_factory
        self.repr = repr
        self.compare = compare

    def __repr__(self) -> str:
        return f"Field(name={self.name!r})"


def _field(
    *,
    default: Any = MISSING,
    default_factory: Callable[[], Any] | Any = MISSING,
    repr: bool = True,  # noqa: A002 - the dataclasses name
    compare: bool = True,
) -> Any:
    """Describe a field, like :func:`dataclasses.field`."""
    return Field(default=default, default_factory=default_factory, repr=repr, compare=compare)


def _fields(obj: object) -> tuple[Field, ...]:
    """The fields of a record class or instance, in order."""
    found: tuple[Field, ...] | None = getattr(obj, "__record_fields__", None)
    if found is None:
        raise TypeError("must be called with a record type or instance")
    return found


def _replace(obj: T, /, **changes: Any) -> T:
    """A copy of *obj* with some fields changed (``__post_init__`` runs again)."""
    for record_field in _fields(obj):
        if record_field.name not in changes:
            changes[record_field.name] = getattr(obj, record_field.name)
    return type(obj)(**changes)


def _frozen_setattr(self: object, name: str, value: object) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: object, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _collect(cls: type) -> tuple[Field, ...]:
    collected: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        for inherited in base.__dict__.get("__record_fields__", ()):
            collected[inherited.name] = inherited
    # The class's own annotations (strings here: every module uses postponed evaluation).
    own_annotations = cls.__dict__.get("__annotations__", {})  # noqa: RUF063 - no inspect import
    for name, annotation in own_annotations.items():
        text = annotation if isinstance(annotation, str) else repr(annotation)
        if text.startswith(("ClassVar", "typing.ClassVar")):
            continue
        value = cls.__dict__.get(name, MISSING)
        own = value if isinstance(value, Field) else Field(default=value)
        own.name = name
        collected[name] = own
    return tuple(collected.values())


def _init(cls_fields: tuple[Field, ...], *, frozen: bool, post_init: bool) -> Callable[..., None]:
    params, body = [], []
    scope: dict[str, Any] = {"MISSING": MISSING, "setattr": object.__setattr__}
    seen_default = False
    for index, item in enumerate(cls_fields):
        name = item.name
        if item.default is not MISSING:
            scope[f"_d{index}"] = item.default
            params.append(f"{name}=_d{index}")
            seen_default = True
        elif item.default_factory is not MISSING:
            scope[f"_f{index}"] = item.default_factory
            params.append(f"{name}=MISSING")
            body.append(f"    if {name} is MISSING: {name} = _f{index}()")
            seen_default = True
        elif seen_default:
            raise TypeError(f"non-default argument {name!r} follows default argument")
        else:
            params.append(name)
        body.append(
            f"    setattr(self, {name!r}, {name})" if frozen else f"    self.{name} = {name}"
        )
    if post_init:
        body.append("    self.__post_init__()")
    source = f"def __init__(self, {', '.join(params)}):\n" + ("\n".join(body) or "    pass")
    exec(source, scope)  # noqa: S102 - built from field names only, like dataclasses does
    init: Callable[..., None] = scope["__init__"]
    return init


def _methods(cls: type, cls_fields: tuple[Field, ...], *, frozen: bool, eq: bool) -> dict[str, Any]:
    shown = tuple(f.name for f in cls_fields if f.repr)
    compared = tuple(f.name for f in cls_fields if f.compare)

    def __repr__(self: Any) -> str:  # noqa: N807 - the protocol's name
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
        return f"{type(self).__qualname__}({inner})"

    methods: dict[str, Any] = {
        "__init__": _init(cls_fields, frozen=frozen, post_init="__post_init__" in dir(cls)),
        "__repr__": __repr__,
        "__record_fields__": cls_fields,
    }
    if eq:

        def __eq__(self: Any, other: object) -> bool:  # noqa: N807
            if other.__class__ is not self.__class__:
                return NotImplemented
            return all(getattr(self, n) == getattr(other, n) for n in compared)

        methods["__eq__"] = __eq__
        if frozen:

            def __hash__(self: Any) -> int:  # noqa: N807
                return hash(tuple(getattr(self, n) for n in compared))

            methods["__hash__"] = __hash__
        else:
            methods["__hash__"] = None
    if frozen:
        methods["__setattr__"] = _frozen_setattr
        methods["__delattr__"] = _frozen_delattr
    for name in ("__init__", "__repr__", "__eq__", "__hash__"):
        if methods.get(name) is not None:
            methods[name].__qualname__ = f"{cls.__qualname__}.{name}"
    return methods


def _dataclass(
    cls: type[T] | None = None, /, *, frozen: bool = False, slots: bool = False, eq: bool = True
) -> Any:
    """Make *cls* a record, like :func:`dataclasses.dataclass` with the same arguments."""

    def wrap(cls: type[T]) -> type[T]:
        cls_fields = _collect(cls)
        methods = _methods(cls, cls_fields, frozen=frozen, eq=eq)
        if not slots:
            for name, value in methods.items():
                setattr(cls, name, value)
            for item in cls_fields:  # class attributes keep the defaults, as in dataclasses
                if isinstance(cls.__dict__.get(item.name), Field):
                    if item.default is MISSING:
                        delattr(cls, item.name)
                    else:
                        setattr(cls, item.name, item.default)
            return cls
        inherited = {
            f.name for base in cls.__mro__[1:] for f in base.__dict__.get("__record_fields__", ())
        }
        namespace = {
            key: value
            for key, value in cls.__dict__.items()
            if key not in ("__dict__", "__weakref__") and key not in {f.name for f in cls_fields}
        }
        namespace.update(methods)
        namespace["__slots__"] = tuple(f.name for f in cls_fields if f.name not in inherited)
        metaclass: Any = type(cls)
        new_cls: type[T] = metaclass(cls.__name__, cls.__bases__, namespace)
        new_cls.__qualname__ = cls.__qualname__
        return new_cls

    return wrap if cls is None else wrap(cls)


# The type checker sees the real dataclasses (its dataclass support keys on them); the run time
# gets the light versions above.
if TYPE_CHECKING:
    from dataclasses import dataclass, field, fields, replace
else:
    dataclass, field, fields, replace = _dataclass, _field, _fields, _replace
