"""Settings fail at start with one clear line; production settings pass check --deploy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROD_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": "p" * 30 + "-production-secret-key-for-the-check-only-0123456789",
    "FIELD_ENCRYPTION_KEYS": "cHJvZHVjdGlvbi1maWVsZC1rZXktZm9yLWNoZWNrcy0=",
    "ALLOWED_HOSTS": "opsadmin.example.com",
    "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
    "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
    "OUTBOUND_ALLOWED_HOSTS": "api.smartmetertexas.com",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in PROD_ENV and k != "TESTING"}
    base.pop("PYTEST_CURRENT_TEST", None)
    base.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser fixture, never in production
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_with_production_values():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PROD_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_missing_secret_key_fails_with_one_line_naming_it():
    env = {**PROD_ENV, "SECRET_KEY": ""}
    result = manage("check", env=env)
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == "OpsAdmin cannot start: Setting SECRET_KEY: is required when DEBUG is false"
    )


def test_malformed_database_url_names_the_setting():
    result = manage("check", env={**PROD_ENV, "DATABASE_URL": "mysql://x@y/z"})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "OpsAdmin cannot start: Setting DATABASE_URL: must be a postgres:// URL (OpsAdmin runs on PostgreSQL only)"
    ]


def test_malformed_debug_names_the_setting():
    result = manage("check", env={**PROD_ENV, "DEBUG": "maybe"})
    assert result.returncode == 1
    assert "Setting DEBUG" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
