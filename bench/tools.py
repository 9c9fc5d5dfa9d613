"""The benchmark's outside tools (nginx, wrk, Varnish), installed with apt when missing.

Only `make bench` calls this; tests and CI never install anything.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from rich.console import Console

# Debian package → the binary it provides.
REQUIRED = {"nginx-light": "nginx", "wrk": "wrk"}
OPTIONAL = {"varnish": "varnishd"}


def _which(binary: str) -> str | None:
    return shutil.which(binary) or shutil.which(binary, path="/usr/sbin:/usr/bin:/sbin:/bin")


def _apt_install(packages: list[str], console: Console) -> bool:
    if os.geteuid() != 0 or _which("apt-get") is None:
        return False
    console.print(f"installing {', '.join(packages)} with apt-get ...")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    update = subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True)
    if update.returncode != 0:
        return False
    done = subprocess.run(
        ["apt-get", "install", "-y", "-qq", *packages], env=env, capture_output=True
    )
    return done.returncode == 0


def ensure(console: Console) -> dict[str, str | None]:
    """Paths of nginx, wrk and varnishd; installs missing ones when root with apt, else raises
    for the required ones and leaves Varnish out."""
    missing = [pkg for pkg, binary in {**REQUIRED, **OPTIONAL}.items() if _which(binary) is None]
    if missing:
        _apt_install(missing, console)
    found = {binary: _which(binary) for binary in (*REQUIRED.values(), *OPTIONAL.values())}
    absent = [b for b in REQUIRED.values() if found[b] is None]
    if absent:
        raise SystemExit(
            f"bench: {', '.join(absent)} not found and could not be installed; "
            f"on Debian/Ubuntu: sudo apt-get install {' '.join(REQUIRED)}"
        )
    if _which("taskset") is None:
        raise SystemExit("bench: taskset (util-linux) is required to pin servers and clients")
    return found
