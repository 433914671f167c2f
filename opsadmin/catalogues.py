"""Compile the translation catalogues (``locale/*/LC_MESSAGES/*.po``) to ``.mo`` files.

Django's ``compilemessages`` needs GNU gettext's ``msgfmt``; a fresh machine has only Python,
so the project's own setup (``python3 dev.py run|test``, the Dockerfile, the test suite's
conftest) compiles with Babel instead. The ``.po`` files are the source kept in git; the
``.mo`` files are build output (ignored), rebuilt whenever their ``.po`` is newer.

    python -m opsadmin.catalogues            # compile what changed
    python -m opsadmin.catalogues --force    # compile everything
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
LOCALE_DIR = ROOT / "locale"


def catalogue_files(locale_dir: Path = LOCALE_DIR) -> list[Path]:
    return sorted(locale_dir.glob("*/LC_MESSAGES/*.po"))


def compile_catalogues(*, locale_dir: Path = LOCALE_DIR, force: bool = False) -> list[Path]:
    """Write each ``.po``'s ``.mo`` beside it; returns the ``.mo`` files written.

    Fuzzy entries are left out (as ``msgfmt`` does): an unreviewed translation is never shown.
    """
    written = []
    for po_path in catalogue_files(locale_dir):
        mo_path = po_path.with_suffix(".mo")
        if not force and mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as fh:
            catalog = read_po(fh, locale=po_path.parent.parent.name)
        tmp = mo_path.with_suffix(".mo.tmp")
        with tmp.open("wb") as fh:
            write_mo(fh, catalog, use_fuzzy=False)
        tmp.replace(mo_path)  # atomic: a running server never reads half a file
        written.append(mo_path)
    return written


def main(argv: list[str]) -> int:
    written = compile_catalogues(force="--force" in argv)
    for path in written:
        print(f"compiled {path.relative_to(ROOT)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
