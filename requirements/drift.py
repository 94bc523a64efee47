"""Print how the installed packages differ from the lock: ``python requirements/drift.py LOCK``.

Run by ``nox -s latest`` after installing the newest releases. Lists each locked package whose
installed version differs (newer releases the next ``nox -s lock`` will take) and installed
packages the lock does not know. Informational: always exits 0.
"""

from __future__ import annotations

import re
import sys
from importlib import metadata

from packaging.markers import Marker
from packaging.utils import canonicalize_name

_PIN = re.compile(r"^([A-Za-z0-9._-]+)(?:\[[^\]]*\])?==([^\s;]+)\s*(?:;\s*(.+))?$")


def locked(path: str) -> dict[str, str]:
    """The lock's pins that apply to this interpreter and platform: name -> version."""
    pins: dict[str, str] = {}
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            match = _PIN.match(line.strip())
            if match is None:
                continue
            name, version, marker = match.groups()
            if marker is None or Marker(marker).evaluate():
                pins[canonicalize_name(name)] = version
    return pins


def main(path: str) -> None:
    """Compare the lock at *path* with what is installed, and print the differences."""
    pins = locked(path)
    installed = {
        canonicalize_name(dist.metadata["Name"]): dist.version for dist in metadata.distributions()
    }
    changed = sorted(
        (name, pins[name], version)
        for name, version in installed.items()
        if name in pins and pins[name] != version
    )
    unknown = sorted(set(installed) - set(pins) - {"cognito-jwt", "pip", "setuptools", "wheel"})
    print(f"drift from {path}: {len(changed)} changed, {len(unknown)} not in the lock")
    for name, was, now in changed:
        print(f"  {name}: {was} -> {now}")
    for name in unknown:
        print(f"  {name}: not in the lock ({installed[name]})")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "requirements/lock.txt")
