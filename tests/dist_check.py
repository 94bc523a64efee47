"""What would be published, checked: ``python tests/dist_check.py dist DIR`` and ``smoke``.

Run by the ``package`` nox session (see RELEASING.md), after ``python -m build``, ``twine check
--strict`` and ``check-wheel-contents``:

``dist DIR``
    The wheel holds exactly the package's modules, ``py.typed`` and the licence (and the
    ``.dist-info`` files every wheel has); the sdist and the wheel have one version; the
    metadata carries the PEP 639 licence fields, the project URLs and a classifier for every
    Python version from ``Requires-Python`` up to the newest one listed.
``smoke VERSION``
    Run by the interpreter of a fresh virtual environment the wheel was installed into, with
    ``-I`` and from outside the checkout: the package imports from that environment, is
    *VERSION*, its adapters import, and the ``cognito-jwt`` command runs.

Only the standard library: the smoke half runs where nothing else is installed.
"""

from __future__ import annotations

import re
import sys
import tarfile
import zipfile
from email.message import Message
from email.parser import Parser
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "cognito_jwt"
URLS = ("Documentation", "Changelog", "Source", "Issues")
# Files every wheel's .dist-info has, besides the licence.
DIST_INFO = {"METADATA", "WHEEL", "RECORD", "entry_points.txt", "licenses/LICENSE"}


def _fail(message: str) -> None:
    raise SystemExit(f"dist_check: {message}")


def expected_wheel_files(version: str) -> set[str]:
    """The package's modules and py.typed, from the source tree, plus the .dist-info files."""
    source = ROOT / "src" / PACKAGE
    files = {
        path.relative_to(source.parent).as_posix()
        for path in source.rglob("*")
        if path.is_file() and (path.suffix == ".py" or path.name == "py.typed")
    }
    info = f"{PACKAGE}-{version}.dist-info"
    return files | {f"{info}/{name}" for name in DIST_INFO}


def check_dist(dist: Path) -> None:
    """Check the wheel and sdist in *dist* (see the module docstring)."""
    wheels = sorted(dist.glob(f"{PACKAGE}-*.whl"))
    sdists = sorted(dist.glob(f"{PACKAGE}-*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        _fail(f"expected one wheel and one sdist in {dist}, found {wheels + sdists}")
    wheel, sdist = wheels[0], sdists[0]
    version = wheel.name.split("-")[1]
    if sdist.name != f"{PACKAGE}-{version}.tar.gz":
        _fail(f"sdist {sdist.name} and wheel {wheel.name} differ in version")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        metadata = Parser().parsestr(
            archive.read(f"{PACKAGE}-{version}.dist-info/METADATA").decode()
        )
        licence = archive.read(f"{PACKAGE}-{version}.dist-info/licenses/LICENSE")
    expected = expected_wheel_files(version)
    if names != expected:
        _fail(
            f"wheel contents differ: extra {sorted(names - expected)}, "
            f"missing {sorted(expected - names)}"
        )
    if licence != (ROOT / "LICENSE").read_bytes():
        _fail("the wheel's LICENSE is not the project's")
    _check_metadata(metadata)
    with tarfile.open(sdist) as archive:
        members = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    for needed in ("pyproject.toml", "README.md", "LICENSE", "src/cognito_jwt/py.typed"):
        if needed not in members:
            _fail(f"sdist lacks {needed}")
    print(f"dist_check: {wheel.name} ({wheel.stat().st_size:,} bytes, {len(names)} files)")
    print(f"dist_check: {sdist.name} ({sdist.stat().st_size:,} bytes)")


def _check_metadata(metadata: Message) -> None:
    get, get_all = metadata.get, metadata.get_all
    if get("License-Expression") != "Apache-2.0" or get_all("License-File") != ["LICENSE"]:
        _fail("PEP 639 licence metadata missing (License-Expression, License-File)")
    if any(c.startswith("License ::") for c in get_all("Classifier") or []):
        _fail("a licence classifier next to License-Expression (PEP 639 deprecates them)")
    urls = dict(entry.split(", ", 1) for entry in get_all("Project-URL") or [])
    for name in URLS:
        if not urls.get(name, "").startswith("https://"):
            _fail(f"Project-URL {name} missing")
    oldest = re.fullmatch(r">=3\.(\d+)", get("Requires-Python") or "")
    if oldest is None:
        _fail("Requires-Python is not '>=3.N'")
        return
    listed = sorted(
        int(c.rsplit(".", 1)[1])
        for c in get_all("Classifier") or []
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    )
    if listed != list(range(int(oldest[1]), listed[-1] + 1)):
        _fail(f"Python classifiers 3.{listed} do not run from Requires-Python on without gaps")


def smoke(version: str) -> None:
    """Import the installed package and run its command (see the module docstring)."""
    import importlib
    import json
    import subprocess

    import cognito_jwt

    where = Path(cognito_jwt.__file__).resolve()
    if Path(sys.prefix).resolve() not in where.parents:
        _fail(f"cognito_jwt imported from {where}, not from the environment {sys.prefix}")
    if ROOT / "src" in where.parents:
        _fail("cognito_jwt imported from the checkout's src/")
    if cognito_jwt.__version__ != version:
        _fail(f"installed version {cognito_jwt.__version__}, built {version}")
    if not where.with_name("py.typed").is_file():
        _fail("py.typed not installed")
    for module in ("lambda_authorizer", "wsgi", "asgi", "alb"):
        importlib.import_module(f"cognito_jwt.adapters.{module}")
    token = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJhbGljZSJ9.c2ln"
    if cognito_jwt.decode_unverified(token).claims["sub"] != "alice":
        _fail("decode_unverified")
    command = Path(sys.executable).with_name("cognito-jwt")
    done = subprocess.run(
        [str(command), "decode", token, "--json"], capture_output=True, text=True, check=True
    )
    if json.loads(done.stdout)["unverified"] is not True:
        _fail("cognito-jwt decode")
    print(f"dist_check: cognito-jwt {version} imports and runs from {sys.prefix}")


def main(argv: list[str]) -> int:
    """``dist DIR`` or ``smoke VERSION``."""
    if len(argv) == 2 and argv[0] == "dist":
        check_dist(Path(argv[1]))
    elif len(argv) == 2 and argv[0] == "smoke":
        smoke(argv[1])
    else:
        _fail("usage: dist_check.py dist DIR | smoke VERSION")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
