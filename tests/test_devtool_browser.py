"""``dev.py test`` finds or obtains a browser by itself, or stops before running anything.

Order (``opsadmin.devtool.ensure_browser``): a Chromium on PATH; Playwright's own browser,
installed when missing; the system package manager where this user may use it. Each
candidate must launch. Playwright's download is pointed at a closed loopback port here
(``PLAYWRIGHT_DOWNLOAD_HOST``) so these tests never fetch a browser over the network.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from opsadmin import devtool

ROOT = Path(__file__).resolve().parents[1]


def _offline_playwright(tmp_path: Path) -> dict[str, str]:
    browsers = tmp_path / "ms-playwright"
    browsers.mkdir()
    return {
        "PLAYWRIGHT_BROWSERS_PATH": str(browsers),  # no Playwright browser installed here
        "PLAYWRIGHT_DOWNLOAD_HOST": "http://127.0.0.1:9",  # a download fails at once
    }


def _path_without_browsers(tmp_path: Path) -> str:
    """A PATH holding everything on the real PATH except Chromium-like browsers."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if not directory or not Path(directory).is_dir():
            continue
        for entry in Path(directory).iterdir():
            target = bin_dir / entry.name
            if entry.name in devtool.BROWSER_NAMES or target.exists():
                continue
            target.symlink_to(entry)
    return str(bin_dir)


def test_the_browser_this_run_uses_launches():
    chosen = os.environ.get("OPSADMIN_BROWSER") or devtool.ensure_browser(
        dict(os.environ), allow_install=False
    )
    assert chosen is not None
    executable = None if chosen == devtool.PLAYWRIGHT_OWN else chosen
    assert devtool.browser_launches(executable) is True


def test_a_candidate_that_does_not_launch_is_passed_over(tmp_path):
    bin_dir = tmp_path / "fake"
    bin_dir.mkdir()
    (bin_dir / "chromium").symlink_to(sys.executable)  # found by name, but not a browser
    env = {**os.environ, **_offline_playwright(tmp_path), "PATH": str(bin_dir)}

    assert devtool.find_browser(str(bin_dir)) == str(bin_dir / "chromium")
    assert devtool.browser_launches(str(bin_dir / "chromium"), env) is False
    assert devtool.ensure_browser(env, allow_install=False) is None


def test_without_any_browser_dev_test_stops_before_running_anything(tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()  # no browser, no package manager, no sudo on this PATH
    env = {
        k: v for k, v in os.environ.items() if k not in {"OPSADMIN_BROWSER", "PYTEST_CURRENT_TEST"}
    }
    env.update(_offline_playwright(tmp_path), PATH=str(empty))
    result = subprocess.run(
        [sys.executable, "-m", "opsadmin.devtool", "test"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert lines[-1] == devtool.NO_BROWSER
    assert "== ruff" not in result.stdout  # nothing ran
    assert "embedded" not in result.stdout  # not even a database
    assert "Traceback" not in result.stdout + result.stderr


def test_without_chromium_on_path_the_package_manager_provides_one(tmp_path):
    """PATH hides every Chromium and Playwright cannot download: where this user may use
    the system package manager (root or passwordless sudo, apt-get or dnf) it installs (or
    finds already installed) Chromium in the system's bin directories, which then launches;
    elsewhere nothing is found."""
    hidden = _path_without_browsers(tmp_path)
    env = {**os.environ, **_offline_playwright(tmp_path), "PATH": hidden}
    assert devtool.find_browser(hidden) is None

    found = devtool.ensure_browser(env)

    if devtool._package_manager() is None:
        assert found is None
    else:
        assert found is not None
        assert str(Path(found).parent) in devtool.SYSTEM_BIN_DIRS
        assert devtool.browser_launches(found, env) is True
