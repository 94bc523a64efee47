"""L2 stores: ``MemoryStore``, ``FileStore`` (atomic, private, suspicious of its own files)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from cognito_jwt import (
    Claims,
    ConfigurationError,
    FileStore,
    JwtVerifier,
    KeyStore,
    MemoryStore,
    StoredKeySet,
)
from cognito_jwt.stores import default_cache_dir
from cognito_jwt.testing import LocalIssuer
from tests.helpers import all_keys, jwks_of

KEY = "https://login.example.com/jwks"
URI = "https://login.example.com/jwks"
WAIT = 30.0  # bound on a verification that could hang: never reached when all is well
T = TypeVar("T")


def _record(alg: str = "RS256", fetched_at: float = 1_800_000_000.0) -> StoredKeySet:
    return StoredKeySet(jwks_of(all_keys()[alg]), fetched_at, 3600.0, URI)


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache" / "cognito-jwt"


@pytest.fixture
def store(store_dir: Path) -> FileStore:
    return FileStore(store_dir)


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


# === MemoryStore ==================================================================================
def test_memory_store_round_trip() -> None:
    store = MemoryStore()
    assert isinstance(store, KeyStore)
    assert store.load(KEY) is None
    record = _record()
    store.save(KEY, record)
    assert store.load(KEY) == record
    assert store.load("other") is None
    newer = _record("ES256")
    asyncio.run(store.save_async(KEY, newer))
    assert asyncio.run(store.load_async(KEY)) == newer


# === FileStore: round trip and file hygiene =======================================================
def test_file_store_is_a_key_store(store: FileStore, store_dir: Path) -> None:
    assert isinstance(store, KeyStore)
    assert store.directory == store_dir
    assert repr(store) == f"FileStore({str(store_dir)!r})"


def test_file_store_round_trip(store: FileStore, store_dir: Path) -> None:
    assert store.load(KEY) is None  # nothing yet (directory does not even exist)
    record = _record()
    store.save(KEY, record)
    assert store.load(KEY) == record
    assert FileStore(store_dir).load(KEY) == record  # another instance reads it
    assert store.load("another key") is None
    assert store.path_for(KEY).parent == store_dir
    assert store.path_for(KEY).name.endswith(".json")
    assert store.path_for(KEY) != store.path_for("another key")


def test_file_store_async_round_trip(store: FileStore) -> None:
    record = _record("ES384")

    async def scenario() -> StoredKeySet | None:
        await store.save_async(KEY, record)
        return await store.load_async(KEY)

    assert asyncio.run(scenario()) == record


def test_file_and_directory_modes(store: FileStore, store_dir: Path) -> None:
    old_umask = os.umask(0)  # even a permissive umask must not loosen the modes
    try:
        store.save(KEY, _record())
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(store_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE(store.path_for(KEY).stat().st_mode) == 0o600


def test_atomic_replace_leaves_no_temporary_files(store: FileStore, store_dir: Path) -> None:
    for alg in ("RS256", "ES256", "ES384", "RS256"):
        store.save(KEY, _record(alg))
    assert sorted(p.name for p in store_dir.iterdir()) == [store.path_for(KEY).name]
    inode_before = store.path_for(KEY).stat().st_ino
    store.save(KEY, _record("ES512"))
    assert store.path_for(KEY).stat().st_ino != inode_before  # replaced by rename, not rewritten


def test_file_content_is_the_documented_schema(store: FileStore) -> None:
    store.save(KEY, _record())
    data = json.loads(store.path_for(KEY).read_text())
    assert data["schema"] == 1
    assert data["key"] == KEY
    assert data["current"]["jwks"] == jwks_of(all_keys()["RS256"])
    assert data["current"]["jwks_uri"] == URI
    assert data["history"] == []


# === FileStore: history ===========================================================================
def test_history_keeps_previous_versions_newest_first(store_dir: Path) -> None:
    store = FileStore(store_dir, history=2)
    for n, alg in enumerate(("RS256", "ES256", "ES384", "ES512")):
        store.save(KEY, _record(alg, fetched_at=1000.0 + n))
    assert store.load(KEY) == _record("ES512", fetched_at=1003.0)
    assert store.history(KEY) == [
        _record("ES384", fetched_at=1002.0),
        _record("ES256", fetched_at=1001.0),
    ]


def test_identical_saves_do_not_add_history(store: FileStore) -> None:
    store.save(KEY, _record("RS256", fetched_at=1000.0))
    store.save(KEY, _record("RS256", fetched_at=2000.0))
    store.save(KEY, _record("RS256", fetched_at=3000.0))
    assert store.history(KEY) == []
    assert store.load(KEY) == _record("RS256", fetched_at=3000.0)  # the newest fetch time
    store.save(KEY, _record("ES256", fetched_at=4000.0))
    assert store.history(KEY) == [_record("RS256", fetched_at=3000.0)]


def test_history_zero_keeps_none(store_dir: Path) -> None:
    store = FileStore(store_dir, history=0)
    store.save(KEY, _record("RS256"))
    store.save(KEY, _record("ES256"))
    assert store.history(KEY) == []
    assert store.load(KEY) == _record("ES256")


def test_history_of_missing_key_is_empty(store: FileStore) -> None:
    assert store.history(KEY) == []


@pytest.mark.parametrize("history", [-1, 1.5, True, "3", None])
def test_history_must_be_a_non_negative_int(store_dir: Path, history: object) -> None:
    with pytest.raises(ConfigurationError, match="FileStore history must be a non-negative int"):
        FileStore(store_dir, history=history)  # type: ignore[arg-type]


@pytest.mark.parametrize("directory", [42, b"/var/cache", ["/var/cache"]])
def test_directory_must_be_a_path(directory: object) -> None:
    with pytest.raises(ConfigurationError, match="FileStore directory must be a path"):
        FileStore(directory)  # type: ignore[arg-type]


# === FileStore: files it must not trust ===========================================================
def _plant(store: FileStore, content: bytes | str, mode: int = 0o600) -> Path:
    store.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = store.path_for(KEY)
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    path.chmod(mode)
    return path


def _valid_file(key: str = KEY, **changes: object) -> str:
    current = {"jwks": jwks_of(all_keys()["RS256"]), "fetched_at": 1.0, "max_age": 2.0}
    current["jwks_uri"] = URI
    document: dict[str, object] = {"schema": 1, "key": key, "current": current, "history": []}
    document.update(changes)
    return json.dumps(document)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "corrupt"),
        ("", "corrupt"),
        ("[1, 2]", "corrupt"),
        (b"\xff\xfe\x00", "corrupt"),
        ('{"a": 1, "a": 2}', "corrupt"),
        (_valid_file()[:-40], "corrupt"),  # truncated
        (_valid_file(schema=2), "another schema or key"),
        (_valid_file(schema="1"), "another schema or key"),
        (_valid_file(key="https://other.example.com/jwks"), "another schema or key"),
        (_valid_file(current=None), "no valid current entry"),
        (_valid_file(current={"jwks": [], "fetched_at": 1, "max_age": 2}), "no valid current"),
        (
            _valid_file(current={"jwks": {}, "fetched_at": "1", "max_age": 2, "jwks_uri": URI}),
            "no valid current",
        ),
        (
            _valid_file(current={"jwks": {}, "fetched_at": True, "max_age": 2, "jwks_uri": URI}),
            "no valid current",
        ),
        (
            _valid_file(current={"jwks": {}, "fetched_at": 1, "max_age": 2, "jwks_uri": 7}),
            "no valid current",
        ),
        (
            _valid_file(current={"jwks": {}, "fetched_at": 1e400, "max_age": 2, "jwks_uri": URI}),
            "corrupt",  # 1e400 is infinity: refused by the strict JSON parser
        ),
    ],
)
def test_bad_files_are_ignored_with_a_warning(
    store: FileStore, caplog: pytest.LogCaptureFixture, content: str | bytes, reason: str
) -> None:
    _plant(store, content)
    with caplog.at_level(logging.WARNING, logger="cognito_jwt"):
        assert store.load(KEY) is None
    assert any(reason in message for message in _warnings(caplog)), _warnings(caplog)


def test_planted_valid_file_is_read(store: FileStore) -> None:
    _plant(store, _valid_file())
    record = store.load(KEY)
    assert record is not None
    assert record.jwks_uri == URI
    assert (record.fetched_at, record.max_age) == (1.0, 2.0)


@pytest.mark.parametrize("mode", [0o620, 0o602, 0o666, 0o622])
def test_file_writable_by_others_is_ignored(
    store: FileStore, caplog: pytest.LogCaptureFixture, mode: int
) -> None:
    _plant(store, _valid_file(), mode=mode)
    with caplog.at_level(logging.WARNING, logger="cognito_jwt"):
        assert store.load(KEY) is None
    assert any("writable by others" in m for m in _warnings(caplog))


def test_readable_by_others_is_still_read(store: FileStore) -> None:
    _plant(store, _valid_file(), mode=0o644)  # not a tampering risk: only writability matters
    assert store.load(KEY) is not None


def test_file_owned_by_another_user_is_ignored(
    store: FileStore, caplog: pytest.LogCaptureFixture
) -> None:
    path = _plant(store, _valid_file())
    if os.getuid() == 0:
        os.chown(path, 12345, -1)
        expected = "owned by another user"
    else:  # not root: make the file unreadable to us instead, the nearest thing
        path.chmod(0)
        expected = "cannot open"
    with caplog.at_level(logging.WARNING, logger="cognito_jwt"):
        assert store.load(KEY) is None
        assert store.history(KEY) == []
    assert any(expected in m for m in _warnings(caplog))


def test_symlink_is_not_followed(
    store: FileStore, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    elsewhere = tmp_path / "planted.json"
    elsewhere.write_text(_valid_file())
    elsewhere.chmod(0o600)
    store.directory.mkdir(mode=0o700, parents=True)
    store.path_for(KEY).symlink_to(elsewhere)
    with caplog.at_level(logging.WARNING, logger="cognito_jwt"):
        assert store.load(KEY) is None
    assert any("cannot open" in m for m in _warnings(caplog))


def test_oversized_file_is_ignored(store: FileStore, caplog: pytest.LogCaptureFixture) -> None:
    _plant(store, b" " * (4 * 1024 * 1024 + 1))
    with caplog.at_level(logging.WARNING, logger="cognito_jwt"):
        assert store.load(KEY) is None
    assert any("larger than" in m for m in _warnings(caplog))


def test_bad_history_entries_are_dropped(store: FileStore) -> None:
    good = {"jwks": jwks_of(all_keys()["ES256"]), "fetched_at": 5, "max_age": 6, "jwks_uri": URI}
    _plant(store, _valid_file(history=[good, {"jwks": 1}, "junk", None]))
    assert store.history(KEY) == [StoredKeySet(good["jwks"], 5.0, 6.0, URI)]  # type: ignore[arg-type]


def test_save_over_a_corrupt_file_replaces_it(store: FileStore) -> None:
    _plant(store, "{corrupt")
    store.save(KEY, _record())
    assert store.load(KEY) == _record()
    assert store.history(KEY) == []


# === FileStore: odd files at the store path =======================================================
# A directory, a FIFO or a symlink where a key set file belongs (planted, or left by a tool): an
# absent L2 with one warning, never an exception (IsADirectoryError) or a hang (a FIFO's open).
ODD_FILES = ["directory", "fifo", "symlink", "directory-symlink"]


def _make_odd(path: Path, kind: str, elsewhere: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if kind == "directory":
        path.mkdir()
        (path / "inside.json").write_text("{}")
    elif kind == "fifo":
        os.mkfifo(path, 0o600)
    elif kind == "symlink":  # to a valid key set file elsewhere: never followed
        elsewhere.write_text(_valid_file(str(path)))
        elsewhere.chmod(0o600)
        path.symlink_to(elsewhere)
    else:
        elsewhere.mkdir()
        path.symlink_to(elsewhere)


def _bounded(action: Callable[[], T], path: Path) -> T:
    """Run *action* in a thread; fail (after unblocking a reader of a FIFO) if it hangs."""
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(action())
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(WAIT)
    if thread.is_alive():
        if stat.S_ISFIFO(path.lstat().st_mode):  # release an open() waiting for a writer
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(WAIT)
        pytest.fail(f"the verification hung on {path}")
    if isinstance(outcome[0], BaseException):
        raise outcome[0]
    result: T = outcome[0]
    return result


@pytest.fixture
def issuer() -> Iterator[LocalIssuer]:
    with LocalIssuer() as local:
        yield local


def _verify(issuer: LocalIssuer, store: FileStore, mode: str) -> tuple[Claims, JwtVerifier]:
    """A new verifier on *store* (a new process), verifying one token through *mode*'s face."""
    verifier = JwtVerifier(issuer=issuer.issuer, audience="api", store=store)
    token = issuer.mint({"aud": "api", "sub": "alice"})
    if mode == "async":
        return _bounded(
            lambda: asyncio.run(verifier.verify_async(token)), _path(store, issuer)
        ), verifier
    return _bounded(lambda: verifier.verify(token), _path(store, issuer)), verifier


def _path(store: FileStore, issuer: LocalIssuer) -> Path:
    return store.path_for(f"discovery:{issuer.issuer}")


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize("kind", ODD_FILES)
def test_an_odd_file_at_the_store_path_is_an_absent_store(
    issuer: LocalIssuer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    kind: str,
    mode: str,
) -> None:
    store = FileStore(tmp_path / "store")
    path = _path(store, issuer)
    _make_odd(path, kind, tmp_path / "elsewhere")
    with caplog.at_level(logging.WARNING, logger="cognito_jwt"):
        claims, verifier = _verify(issuer, store, mode)
    assert claims.sub == "alice"
    assert (verifier.stats.fetches, verifier.stats.l2_loads) == (1, 0)  # the issuer served
    warnings = _warnings(caplog)
    assert len(warnings) == 1, warnings  # one warning: not again for the write
    assert str(path) in warnings[0]
    assert "ignoring it" in warnings[0]
    if kind == "directory":  # still there: the write failed quietly, the next one fetches too
        assert (path / "inside.json").read_text() == "{}"
        claims, again = _verify(issuer, store, mode)
        assert (again.stats.fetches, again.stats.l2_loads) == (1, 0)
        assert len(_warnings(caplog)) == 1  # nothing new to say about the same path
    else:  # replaced by the key set file (a symlink itself, never its target)
        assert stat.S_ISREG(path.lstat().st_mode)
        claims, again = _verify(issuer, store, mode)
        assert (again.stats.fetches, again.stats.l2_loads) == (0, 1)
    if kind == "symlink":
        assert json.loads((tmp_path / "elsewhere").read_text())["key"] == str(path)
    assert claims.sub == "alice"


@pytest.mark.parametrize(
    ("kind", "reason"),
    [("directory", "is a directory"), ("fifo", "is a FIFO"), ("symlink", "cannot open")],
)
def test_load_of_an_odd_file_is_none_with_one_warning(
    store: FileStore, tmp_path: Path, caplog: pytest.LogCaptureFixture, kind: str, reason: str
) -> None:
    path = store.path_for(KEY)
    _make_odd(path, kind, tmp_path / "elsewhere")
    with caplog.at_level(logging.WARNING, logger="cognito_jwt"):
        assert _bounded(lambda: store.load(KEY), path) is None
        assert store.history(KEY) == []
        assert asyncio.run(store.load_async(KEY)) is None
    warnings = _warnings(caplog)
    assert len(warnings) == 1, warnings
    assert reason in warnings[0]


def test_a_path_that_works_again_is_warned_about_again(
    store: FileStore, caplog: pytest.LogCaptureFixture
) -> None:
    path = store.path_for(KEY)
    store.directory.mkdir(mode=0o700, parents=True)
    os.mkfifo(path, 0o600)
    with caplog.at_level(logging.WARNING, logger="cognito_jwt"):
        assert _bounded(lambda: store.load(KEY), path) is None
        store.save(KEY, _record())  # replaces the FIFO
        assert store.load(KEY) == _record()
        path.unlink()
        path.mkdir()
        assert store.load(KEY) is None
        store.save(KEY, _record())
    assert ["FIFO" in m for m in _warnings(caplog)] == [True, False]
    assert "is a directory" in _warnings(caplog)[1]


# Run by root before the child: drop the capabilities that let root read any file, then exec
# the child, which runs as root without them (prctl PR_CAPBSET_DROP; exec applies the bound).
_WITHOUT_DAC_OVERRIDE = """if True:
    import ctypes, os, sys
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")
    os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
"""

_CHILD = """if True:
    import asyncio, json, logging, sys
    from cognito_jwt import FileStore, JwtVerifier
    warnings = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = lambda record: warnings.append(record.getMessage())
    logging.getLogger("cognito_jwt").addHandler(handler)
    issuer, token, directory, mode = sys.argv[1:]
    stats = []
    for _ in range(2):  # then a second process, to read what the first wrote
        v = JwtVerifier(issuer=issuer, audience="api", store=FileStore(directory))
        claims = asyncio.run(v.verify_async(token)) if mode == "async" else v.verify(token)
        stats.append([v.stats.fetches, v.stats.l2_loads])
    print(json.dumps({"sub": claims.sub, "stats": stats, "warnings": warnings}))
"""


def _unreadable_child(issuer: LocalIssuer, directory: Path, mode: str) -> dict[str, Any]:
    """A process that may not read the key set file (as root: root without DAC override)."""
    token = issuer.mint({"aud": "api", "sub": "alice"})
    child = ["-c", _CHILD, issuer.issuer, token, str(directory), mode]
    if os.getuid() == 0:
        child = ["-c", _WITHOUT_DAC_OVERRIDE, *child]
    done = subprocess.run(
        [sys.executable, *child], capture_output=True, text=True, timeout=WAIT, check=False
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_key_set_file_this_process_cannot_read_is_an_absent_store(
    issuer: LocalIssuer, tmp_path: Path, mode: str
) -> None:
    """Permission denied on open, also when the tests run as root (which reads anything)."""
    store = FileStore(tmp_path / "store")
    path = store.path_for(f"discovery:{issuer.issuer}")
    store.directory.mkdir(mode=0o700)
    path.write_text(_valid_file(f"discovery:{issuer.issuer}"))
    path.chmod(0)  # its owner may not read it
    result = _unreadable_child(issuer, store.directory, mode)
    assert result["sub"] == "alice"
    assert result["stats"] == [[1, 0], [0, 1]]  # fetched, and the file replaced for the next
    assert len(result["warnings"]) == 1, result["warnings"]
    assert "cannot open" in result["warnings"][0]
    assert "Permission denied" in result["warnings"][0]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# === FileStore: writes never raise ================================================================
def test_save_to_unwritable_location_logs_and_does_not_raise(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    store = FileStore(blocker / "sub")  # mkdir fails whatever our privileges (even as root)
    with caplog.at_level(logging.WARNING, logger="cognito_jwt"):
        store.save(KEY, _record())
        assert store.load(KEY) is None
    assert any("cannot write" in m for m in _warnings(caplog))
    assert blocker.read_text() == "not a directory"


def test_save_of_unserialisable_record_logs_and_does_not_raise(
    store: FileStore, store_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    record = StoredKeySet({"keys": [float("nan")]}, 1.0, 2.0, URI)
    with caplog.at_level(logging.WARNING, logger="cognito_jwt"):
        store.save(KEY, record)
    assert any("cannot write" in m for m in _warnings(caplog))
    assert not store_dir.exists() or not any(store_dir.iterdir())


def test_async_save_to_unwritable_location_does_not_raise(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    store = FileStore(blocker / "sub")
    asyncio.run(store.save_async(KEY, _record()))
    assert asyncio.run(store.load_async(KEY)) is None


# === default_cache_dir ============================================================================
@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    for name in ("COGNITO_JWT_CACHE_DIR", "AWS_LAMBDA_FUNCTION_NAME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return monkeypatch


def test_default_cache_dir_explicit(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("COGNITO_JWT_CACHE_DIR", str(tmp_path / "explicit"))
    clean_env.setenv("AWS_LAMBDA_FUNCTION_NAME", "fn")  # the explicit setting wins
    clean_env.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "explicit"
    assert FileStore().directory == tmp_path / "explicit"


def test_default_cache_dir_on_lambda(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("TMPDIR", "TEMP", "TMP"):
        clean_env.delenv(name, raising=False)
    clean_env.setattr(tempfile, "tempdir", None)
    clean_env.setenv("AWS_LAMBDA_FUNCTION_NAME", "my-function")
    clean_env.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))  # Lambda wins over XDG
    assert default_cache_dir() == Path("/tmp/cognito-jwt")  # noqa: S108 - the Lambda path


def test_default_cache_dir_xdg(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "cognito-jwt"


def test_default_cache_dir_home(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "cognito-jwt"


def test_default_cache_dir_empty_variables_are_ignored(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clean_env.setenv("COGNITO_JWT_CACHE_DIR", "")
    clean_env.setenv("AWS_LAMBDA_FUNCTION_NAME", "")
    clean_env.setenv("XDG_CACHE_HOME", "")
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "cognito-jwt"


def test_key_digest_is_the_sha256_of_the_key_so_stored_names_never_change() -> None:
    import hashlib

    from cognito_jwt.stores._document import key_digest

    for key in ("https://issuer.example/.well-known/jwks.json", "é", ""):
        assert key_digest(key) == hashlib.sha256(key.encode()).hexdigest()[:40]
