"""Debian's Chromium launched through Playwright, trusting a local CA as a CA.

The CA goes into an NSS database in a temporary `$HOME` (`.pki/nssdb`, where Chromium on Linux
reads user-added roots), so the browser verifies every chain, name and date as it would for a
public CA: trust is by issuer and by name, never an exception to certificate errors.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from playwright.sync_api import Browser, Playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]  # fmt: skip
CA_NICKNAME = "streaming-test-ca"


def nss_home(ca_file: Path, home: Path) -> Path:
    """`home` with an NSS user database trusting `ca_file` to issue server certificates
    (`-t "C,,"`), the two `certutil` lines docs/https.md gives users for the demo's CA."""
    certutil = shutil.which("certutil")
    if certutil is None:
        raise RuntimeError("certutil is missing: apt-get install libnss3-tools (.ci/run does)")
    db = f"sql:{home / '.pki' / 'nssdb'}"
    (home / ".pki" / "nssdb").mkdir(parents=True, exist_ok=True)
    for argv in (
        [certutil, "-N", "-d", db, "--empty-password"],
        [certutil, "-A", "-t", "C,,", "-n", CA_NICKNAME, "-i", str(ca_file), "-d", db],
    ):
        subprocess.run(argv, check=True, capture_output=True, timeout=30)
    return home


def launch(playwright: Playwright, home: Path, extra_args: tuple[str, ...] = ()) -> Browser:
    """Headless Chromium whose `$HOME` is `home` (see `nss_home`): it trusts what that database
    trusts and nothing more (no --ignore-certificate-errors* flag)."""
    if not CHROMIUM.exists():
        raise RuntimeError("Chromium is missing: apt-get install chromium (.ci/run installs it)")
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        args=[*CHROMIUM_ARGS, *extra_args],
        env={**os.environ, "HOME": str(home)},
    )
