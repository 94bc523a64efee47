"""Every check this project runs, and the only way to run them: ``python -m nox``.

``python -m nox`` with no arguments runs the default sessions (lint, typing, docs, a short
fuzz run, the release check, tests);
``.ci/run`` runs exactly that.

Every session installs its tools and test dependencies pinned by ``requirements/lock.txt``, so a
release of any dependency cannot turn a green run red. ``python -m nox -s lock`` refreshes the
lock; ``python -m nox -s latest`` runs the tests against the newest releases instead and
reports how far they have drifted from the lock (neither is part of the default run).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import nox

nox.needs_version = ">=2025.2.9"
nox.options.error_on_missing_interpreters = True
nox.options.reuse_existing_virtualenvs = False
# Tests last, so the test runner's summary is the last thing a CI log shows before nox's own.
nox.options.sessions = ["lint", "typing", "docs", "fuzz", "package", "tests"]

PYPROJECT = nox.project.load_toml("pyproject.toml")
LOCK = "requirements/lock.txt"
# Every group and extra, locked together: each session installs its part within one resolution.
LOCKED_GROUPS = ("test", "typing", "lint", "docs", "fuzz", "bench", "release", "nox")
# The Python versions the package supports: its classifiers (the one place they are written).
PYTHONS = [
    classifier.rsplit(" ", 1)[1]
    for classifier in PYPROJECT["project"]["classifiers"]
    if classifier.startswith("Programming Language :: Python :: 3.")
]


def _group(name: str) -> list[str]:
    return list(nox.project.dependency_groups(PYPROJECT, name))


def _install(session: nox.Session, *args: str) -> None:
    """``pip install`` *args* with every version pinned by the lock."""
    session.install("-c", LOCK, *args)


def _pytest(session: nox.Session) -> None:
    env = {"HYPOTHESIS_PROFILE": "ci"} if os.environ.get("CI") else {}
    session.run("python", "-m", "pytest", *session.posargs, env=env)


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite against the installed package (``-- tests/unit`` for a quick loop)."""
    _install(session, ".", *_group("test"))
    _pytest(session)


@nox.session
def latest(session: nox.Session) -> None:
    """The tests against the newest release of every dependency, with a drift report.

    Not in the default run: it answers "will the next ``nox -s lock`` be green?". The report
    lists each package whose newest release differs from the lock, before the tests run.
    """
    session.install("--upgrade", "--upgrade-strategy", "eager", ".", *_group("test"))
    session.run("python", "requirements/drift.py", LOCK)
    _pytest(session)


@nox.session(venv_backend="none")
def lock(session: nox.Session) -> None:
    """Update ``requirements/lock.txt``: every group and extra, for every supported Python.

    Pins already in the lock are kept, so adding a dependency moves nothing else;
    ``nox -s lock -- --upgrade`` refreshes every pin to the newest release.
    """
    session.run("python", "-m", "pip", "install", "--quiet", "uv")
    groups = [arg for name in LOCKED_GROUPS for arg in ("--group", f"pyproject.toml:{name}")]
    upgrade = [arg for arg in session.posargs if arg == "--upgrade"]
    session.run(
        "python", "-m", "uv", "pip", "compile", "pyproject.toml", "--all-extras", *groups,
        "--universal", "--python-version", "3.10", *upgrade, "--quiet",
        "--custom-compile-command", "python -m nox -s lock", "--output-file", LOCK,
    )  # fmt: skip


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over the whole tree."""
    _install(session, *_group("lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typing(session: nox.Session) -> None:
    """mypy --strict over the package and the type-checked API examples.

    Once for the oldest and once for the newest Python the classifiers list.
    """
    _install(session, "-e", ".", *_group("typing"))
    for version in sorted({PYTHONS[0], PYTHONS[-1]}):
        session.run("mypy", "--strict", "--python-version", version, "src", "tests/typing")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site strictly (broken links and references fail)."""
    _install(session, "-e", ".", *_group("docs"))
    session.run(
        "mkdocs",
        "build",
        "--strict",
        "--site-dir",
        session.create_tmp() + "/site",
        env={"NO_MKDOCS_2_WARNING": "1"},  # Material's banner about MkDocs 2, not about us
    )


@nox.session
def fuzz(session: nox.Session) -> None:
    """Coverage-guided fuzzing (atheris): ``python -m nox -s fuzz -- [seconds per target]``.

    30 s per target by default (the short run CI does). A crash, a hang past 10 s on one input,
    or an accepted forgery fails the session; libFuzzer writes the input to ``crash-*``.
    """
    _install(session, ".", *_group("fuzz"))
    seconds = session.posargs[0] if session.posargs else "30"
    for target in ("fuzz_verify", "fuzz_jwks"):
        session.run(
            "python",
            f"fuzz/{target}.py",
            f"-max_total_time={seconds}",
            "-timeout=10",
            "-rss_limit_mb=2048",
            "-print_final_stats=1",
        )


@nox.session
def soak(session: nox.Session) -> None:
    """Soak: ``python -m nox -s soak -- [N]`` verifications per path (default 1,000,000).

    Sync and async verification against a local issuer rotating its key; fails on any reject,
    on memory growth (tracemalloc) or on leftover threads or tasks. CI runs a short version
    (tests/test_soak.py).
    """
    _install(session, ".")
    session.run("python", "-m", "tests.soak", *(session.posargs or ["1000000"]))


@nox.session
def chaos(session: nox.Session) -> None:
    """Chaos, not in the default run: ``python -m nox -s chaos -- [seconds]`` (default 60).

    A fault-injecting issuer on 127.0.0.1 (500s, resets, hangs, truncated and huge bodies,
    trickled headers, a key set missing the current kid, rotation) under threads and asyncio
    tasks; fails on a crash, an error that is not a ``JwtError``, an accepted forgery, a call
    past its bound, a good token refused after recovery, or leftover threads and tasks.
    """
    _install(session, ".", *_group("test"))
    seconds = session.posargs[0] if session.posargs else "60"
    session.run("python", "-m", "tests.chaos", "--seconds", seconds)


# What ``nox -s bench`` runs with no names: issue 19's figures next to their targets (the cold
# start, when its script is there; the web adapters' overhead; verify() and a token-cache miss
# against the floors), then the comparison with the other libraries.
BENCH_DEFAULT = ("cold_start", "middleware", "verify", "peers")


def _bench_options(script: Path, options: list[str]) -> tuple[list[str], list[str]]:
    """The *options* that *script*'s ``argparse`` declares, and those it does not.

    An option is ``--name``, ``--name=value`` or ``--name value`` (a value when the script
    declares the option without ``store_true``); each script gets only its own, so that one
    command line can drive scripts whose options differ.
    """
    text = script.read_text(encoding="utf-8")
    declared = re.findall(r'add_argument\(\s*"(--[\w-]+)"([^)]*)', text)
    flags = {name for name, rest in declared if "store_true" in rest}
    valued = {name for name, _ in declared} - flags
    kept: list[str] = []
    left: list[str] = []
    words = iter(options)
    for word in words:
        name = word.split("=", 1)[0]
        takes_value = name in valued and "=" not in word
        group = [word, next(words, "")] if takes_value else [word]
        if name in flags or name in valued:
            kept += [part for part in group if part]
        else:
            left.append(word)
    return kept, left


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks, not in the default run: ``python -m nox -s bench -- [names] [--options]``.

    With no names, runs what issue 19 asks to see, each figure printed next to its target
    (``PASS`` or ``ABOVE``): ``bench_cold_start.py`` (fresh process to first verified token,
    against PyJWT and aws-jwt-verify), ``bench_middleware.py`` (the
    ASGI and WSGI middleware's and the Lambda authorizer's overhead beyond the verify call,
    ≤ 5 µs), ``bench_verify.py`` (verify() against the tighter floor, ≤ 1.05, and a token-cache
    miss against the floor, ≤ 1.10), then ``bench_peers.py`` (cognito-jwt against the floor and
    the other JWT libraries; it rewrites the results in ``docs/performance.md`` and
    ``docs/img/performance.png``). Names run those scripts instead,
    ``benchmarks/bench_<name>.py``: ``-- cold_start middleware verify cache lambda asgi fleet
    dynamodb peers threads``.

    Options go to each script that declares them, and only to those (a script that does not
    know one is run without it, and the session says so): ``-- --quick --no-write`` for a
    rough look that leaves docs alone, ``-- --rounds 40`` for a longer run.
    """
    _install(session, ".", *_group("bench"))
    scripts = {path.stem.removeprefix("bench_") for path in Path("benchmarks").glob("bench_*.py")}
    names = [arg for arg in session.posargs if arg in scripts]
    options = [arg for arg in session.posargs if arg not in scripts]
    if not names:
        names = [name for name in BENCH_DEFAULT if name in scripts]
        missing = [name for name in BENCH_DEFAULT if name not in scripts]
        if missing:
            session.log(f"not in this tree, left out: {', '.join(missing)}")
    for name in names:
        script = Path("benchmarks") / f"bench_{name}.py"
        kept, left = _bench_options(script, options)
        if left:
            session.log(f"{script.name} does not take {' '.join(left)}: run without")
        session.run("python", str(script), *kept)


@nox.session
def package(session: nox.Session) -> None:
    """The release check: build, check and smoke-test what would be published (RELEASING.md).

    ``python -m build`` makes the sdist and the wheel; ``twine check --strict`` and
    ``check-wheel-contents`` check them, and ``tests/dist_check.py`` checks the wheel holds
    exactly the package, ``py.typed`` and the licence, with the metadata PyPI shows. The wheel
    is then installed into a fresh virtual environment, where the demo and an import smoke test
    run from outside the checkout (``python -I``: no checkout, no ``PYTHONPATH``).
    """
    _install(session, *_group("release"))
    tmp = Path(session.create_tmp()).resolve()
    dist = tmp / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    session.run("python", "-m", "build", "--outdir", str(dist), ".")
    (wheel,) = dist.glob("cognito_jwt-*.whl")
    session.run("twine", "check", "--strict", *map(str, sorted(dist.iterdir())))
    session.run("check-wheel-contents", str(wheel))
    checker = str(Path("tests/dist_check.py").resolve())
    lock = str(Path(LOCK).resolve())
    session.run("python", checker, "dist", str(dist))
    env_dir = tmp / "fresh-venv"
    session.run("python", "-m", "venv", "--clear", str(env_dir))
    python = str(env_dir / ("Scripts" if os.name == "nt" else "bin") / "python")
    session.run(python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                "-c", lock, str(wheel), external=True)  # fmt: skip
    session.chdir(tmp)
    session.run(python, "-I", "-m", "cognito_jwt", "demo", external=True)
    session.run(python, "-I", checker, "smoke", wheel.name.split("-")[1], external=True)


@nox.session
def layer(session: nox.Session) -> None:
    """Lambda layer zips: ``python -m nox -s layer -- [3.12 ...] [x86_64|arm64 ...]``.

    One zip per Python version and architecture (default: every supported version, both
    architectures) in ``dist/layers/``: the library and its dependencies, pinned by the lock,
    from manylinux2014 wheels, under ``python/``. Prints each zip's size. The layer for the
    session's own Python also carries bytecode (``/opt`` is read-only on Lambda: nothing can
    cache it there at run time); the others don't. Not in the default run; the end-to-end tests
    deploy a layer built the same way (tests/e2e/test_layer.py).
    """
    _install(session, *_group("release"))  # uv: installs for other Pythons (see package.py)
    archs = [arg for arg in session.posargs if arg in ("x86_64", "arm64")] or ["x86_64", "arm64"]
    versions = [arg for arg in session.posargs if arg not in archs] or PYTHONS
    flags = [f"--python={v}" for v in versions] + [f"--arch={a}" for a in archs]
    session.run("python", "-m", "tests.e2e.package", "--layer-dir", "dist/layers", *flags)


@nox.session
def demo(session: nox.Session) -> None:
    """The README's main job in a clean environment."""
    _install(session, ".")
    session.run("python", "-m", "cognito_jwt", "demo")
