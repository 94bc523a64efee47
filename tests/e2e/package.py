"""Build the Lambda deployment package the way AWS documents it for Python.

"Working with .zip file archives for Python Lambda functions": install the function's
dependencies into a folder with ``pip install --target``, add the handler module at the root,
zip the folder's contents. Here the dependency is this project itself, built into a wheel from
the working tree (``pip wheel . --no-deps``), then installed with its dependencies, pinned by
``requirements/lock.txt``, from binary wheels only, for the platform Lambda runs
(`lambda_platform_flags`: ``manylinux2014`` wheels of CPython, as docs/guides/lambda-deploy.md
tells users to build them). Nothing is taken from pip's cache.

The Python version is the one running the tests, not the function's ``Runtime``: MiniStack runs
every function with its own interpreter (see tests/servers/ministack.py).

pip comes from the interpreter running the tests; an environment without pip (uv-made venvs)
gets a throwaway virtual environment in the build folder, whose bundled pip does the work.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DeploymentPackage",
    "build_deployment_package",
    "lambda_platform_flags",
    "zip_folder",
]

_FIXED_TIME = (2020, 1, 1, 0, 0, 0)  # zip entries carry no build time: same input, same bytes


@dataclass(frozen=True)
class DeploymentPackage:
    """A built package: the zip and what it weighs."""

    zip_path: Path
    wheel: Path
    zip_bytes: int
    unzipped_bytes: int
    files: int
    build_seconds: float

    @property
    def code(self) -> bytes:
        """The zip's bytes, for ``CreateFunction(Code={"ZipFile": ...})``."""
        return self.zip_path.read_bytes()


def lambda_platform_flags(python_version: str, machine: str) -> list[str]:
    """pip's flags for wheels that run on Lambda: CPython *python_version*, Linux *machine*.

    *machine* is ``x86_64`` or ``arm64`` (Lambda's names; ``aarch64``/``amd64`` too).
    """
    arch = {"x86_64": "x86_64", "amd64": "x86_64", "arm64": "aarch64", "aarch64": "aarch64"}
    return [
        "--platform", f"manylinux2014_{arch[machine.lower()]}",
        "--implementation", "cp",
        "--python-version", python_version,
        "--only-binary=:all:",
    ]  # fmt: skip


def _pip(workdir: Path) -> list[str]:
    probe = subprocess.run(
        [sys.executable, "-m", "pip", "--version"], capture_output=True, check=False
    )
    if probe.returncode == 0:
        return [sys.executable, "-m", "pip"]
    env_dir = workdir / "pip-venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    python = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    return [str(python), "-m", "pip"]


def _run(command: list[str], cwd: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_TARGET")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=600
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout[-3000:]}\n"
            f"{done.stderr[-3000:]}"
        )


def zip_folder(folder: Path, zip_path: Path) -> None:
    """Zip *folder*'s contents (not the folder itself), in a stable order with fixed times."""
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_dir():
                continue
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), _FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o755 if os.access(path, os.X_OK) else 0o644) << 16
            archive.writestr(info, path.read_bytes())


def build_deployment_package(
    project_root: Path, workdir: Path, handler_modules: list[Path]
) -> DeploymentPackage:
    """Build ``workdir/function.zip``: the project's wheel, its dependencies and the handlers."""
    began = time.perf_counter()
    pip = _pip(workdir)
    wheels = workdir / "wheel"
    _run([*pip, "wheel", str(project_root), "--no-deps", "--no-cache-dir", "-w", str(wheels)],
         cwd=workdir)  # fmt: skip
    (wheel,) = wheels.glob("cognito_jwt-*.whl")
    target = workdir / "package"
    lock = project_root / "requirements" / "lock.txt"
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    _run(
        [*pip, "install", "--no-cache-dir", "--target", str(target),
         *lambda_platform_flags(here, platform.machine()), "-c", str(lock), str(wheel)],
        cwd=workdir,
    )  # fmt: skip
    for module in handler_modules:
        (target / module.name).write_bytes(module.read_bytes())
    zip_path = workdir / "function.zip"
    zip_folder(target, zip_path)
    files = [p for p in target.rglob("*") if p.is_file()]
    return DeploymentPackage(
        zip_path=zip_path,
        wheel=wheel,
        zip_bytes=zip_path.stat().st_size,
        unzipped_bytes=sum(p.stat().st_size for p in files),
        files=len(files),
        build_seconds=time.perf_counter() - began,
    )
