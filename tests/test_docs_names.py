"""docs/architecture.md stays true: every module, function and file it names (in backticks)
exists, and every product app has a line in its map.

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
DOCS = [ROOT / "docs" / "architecture.md"]
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


def _resolves(name: str) -> bool:
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


def test_the_checker_catches_a_wrong_name():
    assert _resolves("enrollments.services.enrollment_submit")
    assert not _resolves("enrollments.services.enroll")
    assert not _resolves("enrollments.nowhere.enroll")
