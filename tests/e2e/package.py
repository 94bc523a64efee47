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

A Lambda layer (`build_layer`) is the same install without the handler, under ``python/`` as
AWS documents for Python layers ("Packaging your layer content"): the runtime puts ``/opt/python``
on ``sys.path``. ``python -m tests.e2e.package --layer-dir DIR`` (the ``layer`` nox session)
builds one per Python version and architecture and prints their sizes.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DeploymentPackage",
    "Layer",
    "build_deployment_package",
    "build_layer",
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
    folder: Path  # what was zipped: the installed libraries and the handler modules
    handlers: tuple[str, ...]  # the handler modules' file names

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


def _wheel(pip: list[str], project_root: Path, workdir: Path) -> Path:
    wheels = workdir / "wheel"
    if not wheels.is_dir():
        _run([*pip, "wheel", str(project_root), "--no-deps", "--no-cache-dir", "-w", str(wheels)],
             cwd=workdir)  # fmt: skip
    (wheel,) = wheels.glob("cognito_jwt-*.whl")
    return wheel


def _install_for_lambda(
    pip: list[str], project_root: Path, wheel: Path, target: Path, python: str, machine: str
) -> None:
    lock = project_root / "requirements" / "lock.txt"
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    if python != here:
        _uv_install_for_lambda(project_root, wheel, target, python, machine)
        return
    _run(
        [*pip, "install", "--no-cache-dir", "--target", str(target),
         *lambda_platform_flags(python, machine), "-c", str(lock), str(wheel)],
        cwd=wheel.parent,
    )  # fmt: skip


def _uv_install_for_lambda(
    project_root: Path, wheel: Path, target: Path, python: str, machine: str
) -> None:
    """The same install for another Python than this one, with uv.

    pip takes ``--python-version`` for wheel tags only: it evaluates dependency markers (and
    the lock's) for the interpreter running it, so a 3.10 layer built by 3.11 would lack
    ``exceptiongroup`` (``anyio`` needs it below 3.11). uv evaluates them for the target. No
    bytecode: it would be this interpreter's.
    """
    arch = {"x86_64": "x86_64", "amd64": "x86_64", "arm64": "aarch64", "aarch64": "aarch64"}
    lock = project_root / "requirements" / "lock.txt"
    _run(
        [sys.executable, "-m", "uv", "pip", "install", "--quiet", "--no-cache",
         "--python", sys.executable, "--target", str(target),
         "--python-platform", f"{arch[machine.lower()]}-manylinux2014",
         "--python-version", python, "--only-binary", ":all:", "-c", str(lock), str(wheel)],
        cwd=wheel.parent,
    )  # fmt: skip


def _weigh(folder: Path, zip_path: Path) -> tuple[int, int, int]:
    files = [p for p in folder.rglob("*") if p.is_file()]
    return zip_path.stat().st_size, sum(p.stat().st_size for p in files), len(files)


def build_deployment_package(
    project_root: Path, workdir: Path, handler_modules: list[Path]
) -> DeploymentPackage:
    """Build ``workdir/function.zip``: the project's wheel, its dependencies and the handlers."""
    began = time.perf_counter()
    pip = _pip(workdir)
    wheel = _wheel(pip, project_root, workdir)
    target = workdir / "package"
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    _install_for_lambda(pip, project_root, wheel, target, here, platform.machine())
    for module in handler_modules:
        (target / module.name).write_bytes(module.read_bytes())
    zip_path = workdir / "function.zip"
    zip_folder(target, zip_path)
    zip_bytes, unzipped_bytes, files = _weigh(target, zip_path)
    return DeploymentPackage(
        zip_path=zip_path,
        wheel=wheel,
        zip_bytes=zip_bytes,
        unzipped_bytes=unzipped_bytes,
        files=files,
        build_seconds=time.perf_counter() - began,
        folder=target,
        handlers=tuple(module.name for module in handler_modules),
    )


@dataclass(frozen=True)
class Layer:
    """A built layer zip for one Lambda runtime (``python3.X``) and architecture."""

    zip_path: Path
    python: str
    architecture: str  # Lambda's name: x86_64 or arm64
    zip_bytes: int
    unzipped_bytes: int
    files: int

    def summary(self) -> str:
        """One line: runtime, architecture and size, for a report."""
        return (
            f"python{self.python} {self.architecture}: {self.zip_path.name} "
            f"{self.zip_bytes / 1e6:.2f} MB zipped, {self.unzipped_bytes / 1e6:.2f} MB unzipped, "
            f"{self.files} files"
        )


def build_layer(
    project_root: Path,
    workdir: Path,
    python: str,
    architecture: str,
    *,
    reuse: DeploymentPackage | None = None,
) -> Layer:
    """Build ``workdir/cognito-jwt-layer-python{python}-{architecture}.zip``.

    The library and its dependencies (pinned by the lock, binary wheels for Lambda's Linux and
    CPython *python*) under ``python/``, the path every Python runtime puts on ``sys.path``.
    Publish it with ``aws lambda publish-layer-version --compatible-runtimes python{python}
    --compatible-architectures {architecture}``.

    *reuse*: a deployment package built for the same Python and machine; its installed
    libraries (the same ``pip install --target``, handlers left out) become the layer instead of
    a second install, which is what the end-to-end tests do to stay quick.
    """
    folder = workdir / f"layer-{python}-{architecture}"
    if reuse is None:
        pip = _pip(workdir)
        wheel = _wheel(pip, project_root, workdir)
        _install_for_lambda(pip, project_root, wheel, folder / "python", python, architecture)
    else:
        shutil.copytree(
            reuse.folder, folder / "python", ignore=shutil.ignore_patterns(*reuse.handlers)
        )
    zip_path = workdir / f"cognito-jwt-layer-python{python}-{architecture}.zip"
    zip_folder(folder, zip_path)
    zip_bytes, unzipped_bytes, files = _weigh(folder, zip_path)
    return Layer(zip_path, python, architecture, zip_bytes, unzipped_bytes, files)


def main(argv: list[str] | None = None) -> int:
    """``python -m tests.e2e.package --layer-dir DIR [--python 3.12 ...] [--arch arm64 ...]``."""
    parser = argparse.ArgumentParser(description="Build Lambda layer zips of cognito-jwt.")
    parser.add_argument("--layer-dir", type=Path, required=True, help="where the zips go")
    parser.add_argument("--python", action="append", required=True, help="e.g. 3.12")
    parser.add_argument("--arch", action="append", choices=("x86_64", "arm64"), required=True)
    args = parser.parse_args(argv)
    project_root = Path(__file__).resolve().parents[2]
    layer_dir = args.layer_dir.resolve()  # pip runs in it: relative paths would move
    layer_dir.mkdir(parents=True, exist_ok=True)
    for python in args.python:
        for architecture in args.arch:
            layer = build_layer(project_root, layer_dir, python, architecture)
            print(layer.summary())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
