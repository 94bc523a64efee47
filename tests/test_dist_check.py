"""tests/dist_check.py, the release check's own checker: it refuses what must not be published.

The ``package`` nox session runs it on the real build; here it gets hand-made wheels, each
with one thing wrong.
"""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from .dist_check import ROOT, check_dist, expected_wheel_files

VERSION = "1.2.3"
INFO = f"cognito_jwt-{VERSION}.dist-info"
METADATA = f"""\
Metadata-Version: 2.4
Name: cognito-jwt
Version: {VERSION}
License-Expression: Apache-2.0
License-File: LICENSE
Project-URL: Documentation, https://docs.example/
Project-URL: Changelog, https://docs.example/changelog/
Project-URL: Source, https://git.example/cognito-jwt
Project-URL: Issues, https://git.example/cognito-jwt/issues
Requires-Python: >=3.10
Classifier: Programming Language :: Python :: 3.10
Classifier: Programming Language :: Python :: 3.11
Classifier: Programming Language :: Python :: 3.12

# cognito-jwt
"""


def build(
    folder: Path,
    *,
    metadata: str = METADATA,
    extra: tuple[str, ...] = (),
    missing: tuple[str, ...] = (),
) -> Path:
    folder.mkdir()
    names = (expected_wheel_files(VERSION) | set(extra)) - set(missing)
    with zipfile.ZipFile(folder / f"cognito_jwt-{VERSION}-py3-none-any.whl", "w") as wheel:
        for name in sorted(names):
            if name == f"{INFO}/METADATA":
                wheel.writestr(name, metadata)
            elif name == f"{INFO}/licenses/LICENSE":
                wheel.writestr(name, (ROOT / "LICENSE").read_bytes())
            else:
                wheel.writestr(name, "")
    with tarfile.open(folder / f"cognito_jwt-{VERSION}.tar.gz", "w:gz") as sdist:
        for name in ("pyproject.toml", "README.md", "LICENSE", "src/cognito_jwt/py.typed"):
            info = tarfile.TarInfo(f"cognito_jwt-{VERSION}/{name}")
            sdist.addfile(info, io.BytesIO(b""))
    return folder


def test_a_good_build_passes(tmp_path: Path) -> None:
    check_dist(build(tmp_path / "dist"))


@pytest.mark.parametrize(
    ("extra", "missing"),
    [
        (("tests/test_smoke.py",), ()),
        (("cognito_jwt/.env",), ()),
        (("conftest.py",), ()),
        ((), ("cognito_jwt/py.typed",)),
        ((), ("cognito_jwt/_token.py",)),
    ],
)
def test_anything_but_the_package_is_refused(
    tmp_path: Path, extra: tuple[str, ...], missing: tuple[str, ...]
) -> None:
    with pytest.raises(SystemExit, match="wheel contents differ"):
        check_dist(build(tmp_path / "dist", extra=extra, missing=missing))


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("License-Expression: Apache-2.0\n", "", "PEP 639"),
        ("License-File: LICENSE\n", "", "PEP 639"),
        (
            "Requires-Python",
            "Classifier: License :: OSI Approved :: Apache Software License\nRequires-Python",
            "licence classifier",
        ),
        ("Project-URL: Issues, https://git.example/cognito-jwt/issues\n", "", "Issues"),
        ("Classifier: Programming Language :: Python :: 3.11\n", "", "without gaps"),
        ("Classifier: Programming Language :: Python :: 3.10\n", "", "without gaps"),
    ],
)
def test_metadata_pypi_shows_is_complete(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in METADATA
    with pytest.raises(SystemExit, match=message):
        check_dist(build(tmp_path / "dist", metadata=METADATA.replace(old, new)))
