"""Strict JSON objects for attacker-written data."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cognito_jwt._json import loads_object

MARKER = "SECRETMARKER"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("{}", {}),
        (b"{}", {}),
        (' \t\r\n{"a":1} \n', {"a": 1}),
        ('{"a":{"b":[1,2,{"c":null}]}}', {"a": {"b": [1, 2, {"c": None}]}}),
        ('{"a":1,"b":2}', {"a": 1, "b": 2}),
        ('{"a":{"x":1},"b":{"x":2}}', {"a": {"x": 1}, "b": {"x": 2}}),  # same key, other objects
        ('{"n":-0.5e3,"t":true,"f":false}', {"n": -500.0, "t": True, "f": False}),
        ('{"\\u00e9":"\\ud83d\\ude00"}', {"\u00e9": "\U0001f600"}),
        ('{"é":"ü"}'.encode(), {"é": "ü"}),
        ('{"big":123456789012345678901234567890}', {"big": 123456789012345678901234567890}),
    ],
)
def test_accepts_strict_objects(raw: str | bytes, expected: dict[str, object]) -> None:
    assert loads_object(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        '{"a":1,"a":1}',
        '{"a":1,"a":2}',
        '{"a":1,"b":2,"a":3}',
        '{"a":1,"\\u0061":2}',  # the same name once escaped
        '{"x":{"b":1,"b":2}}',  # nested object
        '{"x":[{"b":1},{"c":1,"c":1}]}',  # inside an array
        '{"x":{"y":{"z":{"k":1,"k":1}}}}',
        b'{"a":1,"a":1}',
    ],
)
def test_duplicate_member_names_rejected(raw: str | bytes) -> None:
    with pytest.raises(ValueError, match="duplicate member name"):
        loads_object(raw)


@pytest.mark.parametrize(
    "raw",
    [
        '{"a":NaN}',
        '{"a":Infinity}',
        '{"a":-Infinity}',
        '{"a":[1,NaN]}',
        '{"a":{"b":Infinity}}',
        b'{"a":NaN}',
    ],
)
def test_non_standard_constants_rejected(raw: str | bytes) -> None:
    with pytest.raises(ValueError, match="non-standard JSON constant"):
        loads_object(raw)


@pytest.mark.parametrize("raw", ['{"a":1e400}', '{"a":-1e400}', '{"a":[1E999]}'])
def test_overflowing_numbers_do_not_smuggle_infinity(raw: str) -> None:
    """A literal that overflows a float must not turn into the Infinity the module rejects.

    LIBRARY BUG if this fails: ``1e400`` is decoded to ``float('inf')`` although the module
    promises that ``NaN``/``Infinity`` are rejected.
    """
    try:
        value = loads_object(raw)
    except ValueError:
        return
    numbers = [v for v in _leaves(value) if isinstance(v, float)]
    assert all(math.isfinite(v) for v in numbers), value


def _leaves(value: object) -> list[object]:
    if isinstance(value, dict):
        return [leaf for v in value.values() for leaf in _leaves(v)]
    if isinstance(value, list):
        return [leaf for v in value for leaf in _leaves(v)]
    return [value]


@pytest.mark.parametrize("raw", [b"\xef\xbb\xbf{}", "\ufeff{}", b'\xef\xbb\xbf{"a":1}'])
def test_byte_order_mark_rejected(raw: str | bytes) -> None:
    with pytest.raises(ValueError, match="invalid JSON"):
        loads_object(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a":"\xff"}',
        b'{"a":"\xc0\xaf"}',  # overlong encoding of '/'
        b'{"a":"\xed\xa0\x80"}',  # UTF-8 encoded surrogate
        b'{"a":"\xe2\x82"}',  # truncated sequence
        b"\xfe\xff\x00{\x00}",  # UTF-16 BOM
        b'{"\x80":1}',
        '{"a":1}'.encode("utf-16"),
    ],
)
def test_invalid_utf8_rejected(raw: bytes) -> None:
    with pytest.raises(ValueError, match="invalid JSON") as info:
        loads_object(raw)
    assert type(info.value) is ValueError  # not UnicodeDecodeError


@pytest.mark.parametrize(
    "raw",
    [
        "[" * 100_000,
        "[" * 100_000 + "]" * 100_000,  # well-formed but too deep
        '{"a":' * 100_000,
        '{"a":' * 100_000 + "1" + "}" * 100_000,
        '{"a":' + "[" * 100_000 + "]" * 100_000 + "}",
        b"[" * 100_000,
    ],
)
def test_deep_nesting_is_value_error_not_recursion_error(raw: str | bytes) -> None:
    with pytest.raises(ValueError, match="nested too deeply") as info:
        loads_object(raw)
    assert not isinstance(info.value, RecursionError)
    assert type(info.value) is ValueError


def test_moderate_nesting_accepted() -> None:
    raw = '{"a":' + "[" * 50 + "]" * 50 + "}"
    value = loads_object(raw)
    depth = 0
    node: object = value["a"]
    while isinstance(node, list) and node:
        node = node[0]
        depth += 1
    assert depth == 49
    assert node == []


@pytest.mark.parametrize(
    ("raw", "found"),
    [
        ("[]", "list"),
        ("[{}]", "list"),
        ("1", "int"),
        ("1.5", "float"),
        ('"s"', "str"),
        ("null", "NoneType"),
        ("true", "bool"),
        (b"[]", "list"),
    ],
)
def test_non_object_top_level_rejected(raw: str | bytes, found: str) -> None:
    with pytest.raises(ValueError, match=f"expected a JSON object, found {found}"):
        loads_object(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        b"",
        "   ",
        "{",
        "}",
        "{}{}",
        "{} x",
        "{'a':1}",
        '{"a":1,}',
        '{"a" 1}',
        "{a:1}",
        "{/*c*/}",
        '{"a":01}',
        '{"a":.5}',
        '{"a":"\t"}',  # raw control character
        '{"a":"\\x41"}',
        "\x00{}",
    ],
)
def test_not_json_rejected(raw: str | bytes) -> None:
    with pytest.raises(ValueError, match="invalid JSON") as info:
        loads_object(raw)
    assert type(info.value) is ValueError


@pytest.mark.parametrize(
    "raw",
    [
        '{"a": ' + MARKER + "}",
        '{"a":"' + MARKER + "\\q" + '"}',
        '{"a":"' + MARKER + "\x01" + '"}',
        '{"a":1}' + MARKER,
        '{"' + MARKER + '":1,"' + MARKER + '":2}',
        '{"a":' + MARKER.lower() + "}",
        '{"a":"' + MARKER,
        ('{"a":"' + MARKER + '\xff"}').encode("latin-1"),
        "[" + MARKER + "]",
        '["' + MARKER + '"]',
    ],
)
def test_error_messages_do_not_quote_the_input(raw: str | bytes) -> None:
    with pytest.raises(ValueError, match=r"^(invalid JSON|duplicate|expected)") as info:
        loads_object(raw)
    message = str(info.value)
    assert MARKER not in message
    assert MARKER.lower() not in message
    # the original exception (which may carry the document) is not chained
    assert info.value.__cause__ is None
    assert info.value.__context__ is None or info.value.__suppress_context__ is True


def test_duplicate_error_message_is_exact() -> None:
    with pytest.raises(ValueError, match="duplicate") as info:
        loads_object('{"' + MARKER + '":1,"' + MARKER + '":2}')
    assert str(info.value) == "invalid JSON (duplicate member name)"


def test_constant_error_message_names_constant_only() -> None:
    with pytest.raises(ValueError, match="constant") as info:
        loads_object('{"' + MARKER + '":NaN}')
    assert str(info.value) == "invalid JSON (non-standard JSON constant NaN)"


def test_decoder_state_not_shared_between_calls() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        loads_object('{"a":1,"a":2}')
    assert loads_object('{"a":1}') == {"a": 1}
    with pytest.raises(ValueError, match="nested too deeply"):
        loads_object("[" * 100_000)
    assert loads_object('{"b":[1]}') == {"b": [1]}


def _reference(raw: str) -> tuple[str, object]:
    """What the strict decoder's own ``decode()`` makes of *raw*: ("ok", value) or ("error", msg).

    loads_object calls the decoder's scanner directly for a document with nothing around the
    object, and ``decode()`` otherwise; both roads must give the same answer.
    """
    import json

    from cognito_jwt import _json

    decoder = json.JSONDecoder(
        object_pairs_hook=_json._no_duplicates,
        parse_constant=_json._reject_constant,
        parse_float=_json._finite_float,
    )
    try:
        value = decoder.decode(raw)
    except RecursionError:
        return ("error", "invalid JSON (nested too deeply)")
    except json.JSONDecodeError as exc:
        return ("error", f"invalid JSON ({exc.msg})")
    except ValueError as exc:
        return ("error", f"invalid JSON ({str(exc).split(':')[0]})")
    if not isinstance(value, dict):
        return ("error", f"expected a JSON object, found {type(value).__name__}")
    return ("ok", value)


def _ours(raw: str) -> tuple[str, object]:
    try:
        return ("ok", loads_object(raw))
    except ValueError as exc:
        return ("error", str(exc))


@pytest.mark.parametrize(
    "raw",
    [
        '{"a":1}',
        ' {"a":1}',
        '{"a":1} ',
        '{"a":1}\n',
        '{"a":1}x',
        '{"a":1}{"b":2}',
        '{"a":1} {"b":2}',
        '{"a":1,}',
        '{"a":1,"a":2}',
        '{"a":1,"a":2} ',
        ' {"a":1,"a":2}',
        '{"a":NaN}',
        '{"a":1e400}',
        '{"a":[1,2',
        "{",
        "}",
        "",
        " ",
        "[1]",
        "[1] ",
        "1",
        '"s"',
        "null",
        '{"a":"\\u00e9"}',
        '{"a":{"b":{"b":1,"b":2}}}',
    ],
)
def test_the_fast_road_and_decode_agree(raw: str) -> None:
    assert _ours(raw) == _reference(raw)
    assert _ours(raw) == _ours(raw.encode())  # bytes take the same roads


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(
    value=_JSON_VALUES,
    before=st.sampled_from(["", " ", "\n\t", "x"]),
    after=st.sampled_from(["", " ", "\r\n", "x", "}", ',"k":1}', " {}"]),
    separators=st.sampled_from([(",", ":"), (", ", ": ")]),
)
def test_any_document_gets_the_answer_decode_gives(
    value: object, before: str, after: str, separators: tuple[str, str]
) -> None:
    import json

    document = before + json.dumps(value, separators=separators) + after
    assert _ours(document) == _reference(document)
