#!/usr/bin/env python3
"""OpsAdmin's two commands, needing nothing but Python 3.11+.

    python3 dev.py run    set up everything and run the whole product (Ctrl-C stops it)
    python3 dev.py test   set up everything and run every check and test
    python3 dev.py stop   stop what a run left (this checkout's embedded databases)

Creates ``.venv``, installs the project into it, then hands over to ``opsadmin.devtool``.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PYTHON = VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv(extras: str) -> None:
    if sys.version_info < (3, 11):  # noqa: UP036 - dev.py may run on an older python3
        sys.exit("OpsAdmin needs Python 3.11 or newer.")
    if not PYTHON.exists():
        print("Creating .venv ...", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp = VENV / f".installed-{extras or 'base'}"
    digest = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return
    print("Installing OpsAdmin and its dependencies into .venv ...", flush=True)
    target = f".[{extras}]" if extras else "."
    subprocess.run([str(PYTHON), "-m", "pip", "install", "-q", "--upgrade", "pip"], check=True)
    subprocess.run([str(PYTHON), "-m", "pip", "install", "-q", "-e", target], check=True, cwd=ROOT)
    stamp.write_text(digest)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in {"run", "test", "stop"}:
        sys.exit(__doc__)
    command = sys.argv[1]
    if command == "stop" and not PYTHON.exists():
        sys.exit("Nothing to stop: this checkout has no .venv yet.")
    if command != "stop":
        ensure_venv("dev" if command == "test" else "")
    os.execv(str(PYTHON), [str(PYTHON), "-m", "opsadmin.devtool", *sys.argv[1:]])


if __name__ == "__main__":
    main()
