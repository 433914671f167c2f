"""The docs stay true: every module, function and file README.md and docs/*.md name (in
backticks) exists, and every product app has a line in docs/architecture.md's map.

A backticked ``app.module.name`` (optionally called: ``enrollments.services.enroll(...)``) must
import and resolve; a backticked path (``billing/adapters/esg.py``, ``simulators/esg``) must
exist in the repository. Bare names (``enrollment_submit``) and URLs (``/myaccount/``) are
not checked: they are not addresses.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from opsadmin.roles import PRODUCT_APPS

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PACKAGES = (*PRODUCT_APPS, "simulators")

BACKTICKED = re.compile(r"`([^`\n]+)`")
DOTTED = re.compile(r"^([a-z_][a-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+)(?:\(.*\))?$")
PATH = re.compile(r"^([A-Za-z_][\w.-]*/[\w./-]*)$")


def _names(doc: Path) -> tuple[set[str], set[str]]:
    dotted: set[str] = set()
    paths: set[str] = set()
    for token in BACKTICKED.findall(doc.read_text(encoding="utf-8")):
        token = token.strip()
        match = DOTTED.match(token)
        if match and match.group(1).split(".")[0] in PACKAGES:
            dotted.add(match.group(1))
            continue
        match = PATH.match(token)
        if match and match.group(1).split("/")[0] in (*PACKAGES, "docs", "tests", "templates"):
            paths.add(match.group(1).rstrip("/"))
    return dotted, paths


def _task_or_permission(name: str) -> bool:
    """A Celery task name (``billing.outbox_sweep``) or a permission (``app.codename``): names
    the docs give in backticks that are not import paths."""
    from django.apps import apps

    from opsadmin.celery import app

    app.loader.import_default_modules()
    if name in app.tasks:
        return True
    label, _, codename = name.partition(".")
    for model in apps.get_models():
        meta = model._meta
        if meta.app_label != label:
            continue
        defaults = {f"{action}_{meta.model_name}" for action in meta.default_permissions}
        if codename in defaults or codename in {c for c, _ in meta.permissions}:
            return True
    return False


def _resolves(name: str) -> bool:
    if name.count(".") == 1 and _task_or_permission(name):
        return True
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for attribute in parts[cut:]:
            if not hasattr(target, attribute):
                return False
            target = getattr(target, attribute)
        return True
    return False


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_named_module_and_function_exists(doc):
    dotted, paths = _names(doc)
    if doc.name == "architecture.md":
        assert len(dotted) > 10 and len(paths) > 5  # the parser still finds the names
    missing = sorted(name for name in dotted if not _resolves(name))
    assert missing == [], f"{doc.name} names what does not exist: {missing}"
    absent = sorted(path for path in paths if not (ROOT / path).exists())
    assert absent == [], f"{doc.name} names files that do not exist: {absent}"


def test_every_product_app_is_on_the_map():
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    rooms = text.split("## The rooms", 1)[1].split("##", 1)[0]
    listed = {line.split()[0].rstrip("/") for line in rooms.splitlines() if line[:1].isalpha()}
    assert set(PRODUCT_APPS) - {"opsadmin"} <= listed, set(PRODUCT_APPS) - listed


def test_every_doc_is_checked():
    names = {doc.name for doc in DOCS}
    assert {"README.md", "architecture.md", "esg-contract.md"} <= names


def test_the_checker_catches_a_wrong_name():
    assert _resolves("enrollments.services.enrollment_submit")
    assert not _resolves("enrollments.services.enroll")
    assert not _resolves("enrollments.nowhere.enroll")
