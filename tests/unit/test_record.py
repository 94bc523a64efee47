"""_record, the light stand-in for dataclasses: the same behaviour for the subset we use."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import pytest

from cognito_jwt import _record

IMPLEMENTATIONS = {"dataclasses": dataclasses, "record": _record}


def build(lib: Any, *, frozen: bool, slots: bool) -> tuple[type, type]:
    @lib.dataclass(frozen=frozen, slots=slots)
    class Base:
        """A record."""

        KIND: ClassVar[str] = "base"
        a: int
        b: str = "x"
        c: list[int] = lib.field(default_factory=list)
        d: float = lib.field(default=1.5, repr=False, compare=False)

        def __post_init__(self) -> None:
            if self.a < 0:
                raise ValueError("a must be >= 0")

        def total(self) -> int:
            return self.a + len(self.c)

    @lib.dataclass(frozen=frozen, slots=slots)
    class Child(Base):
        e: int = 7

    return Base, Child


SHAPES = [(f, s) for f in (True, False) for s in (True, False)]


def both(frozen: bool, slots: bool) -> dict[str, tuple[type, type]]:
    return {name: build(lib, frozen=frozen, slots=slots) for name, lib in IMPLEMENTATIONS.items()}


def outcome(fn: Any) -> Any:
    try:
        return ("ok", fn())
    except Exception as exc:  # noqa: BLE001 - compared between implementations
        return ("raised", type(exc).__name__ if not isinstance(exc, AttributeError) else "Attr")


@pytest.mark.parametrize(("frozen", "slots"), SHAPES)
def test_same_behaviour_as_dataclasses(frozen: bool, slots: bool) -> None:
    results: dict[str, list[Any]] = {}
    for name, (base, child) in both(frozen, slots).items():
        lib = IMPLEMENTATIONS[name]
        obj = base(1, "y", [2], 3.0)
        kid = child(2, e=9)
        got = [
            repr(obj).split(".")[-1],
            repr(kid).split(".")[-1],
            obj == base(1, "y", [2], 99.0),  # d is not compared
            obj == base(1, "z", [2]),
            obj == kid,
            kid == child(2, e=9),
            obj.total(),
            base.KIND,
            base(0).c is not base(0).c,  # a fresh list per instance
            outcome(lambda b=base: b(-1)),  # __post_init__ runs
            outcome(lambda b=base: b()),  # a is required
            outcome(lambda b=base: b(1, "y", [], 1.0, 5)),  # too many arguments
            outcome(lambda o=obj: setattr(o, "a", 5)),
            outcome(lambda o=obj: hash(o) == hash(o)) if frozen else None,
            hasattr(obj, "__dict__") == (not slots),
            [f.name for f in lib.fields(kid)],
            repr(lib.replace(kid, a=3)).split(".")[-1],
            outcome(lambda k=kid, lb=lib: lb.replace(k, a=-1)),
            base.__doc__,
            base.__qualname__.split(".")[-1],
        ]
        if not frozen:
            got.append(outcome(lambda o=obj: hash(o)))
        results[name] = got
    assert results["record"] == results["dataclasses"]


def test_frozen_error_is_an_attribute_error() -> None:
    (base, _) = build(_record, frozen=True, slots=True)
    with pytest.raises(AttributeError, match="cannot assign"):
        base(1).a = 2  # type: ignore[misc]
    with pytest.raises(AttributeError, match="cannot delete"):
        del base(1).a  # type: ignore[misc]


def test_field_rejects_default_and_factory() -> None:
    with pytest.raises(ValueError, match="both"):
        _record.field(default=1, default_factory=list)


def test_non_default_after_default_is_refused() -> None:
    with pytest.raises(TypeError, match="non-default"):

        @_record.dataclass
        class Bad:
            a: int = 1
            b: int  # type: ignore[misc]


def test_fields_of_something_else() -> None:
    with pytest.raises(TypeError):
        _record.fields(object())
