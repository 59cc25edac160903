"""Every user-visible string has a Simplified Chinese translation, and the compiled catalogs match."""

import gettext
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parents[3]
SKIP = {".venv", "node_modules", "var", "staticfiles"}
CATALOGS = sorted(p for p in ROOT.rglob("zh_Hans/LC_MESSAGES/django.po") if not SKIP & set(p.relative_to(ROOT).parts))


def test_catalogs_exist():
    assert len(CATALOGS) >= 8


@pytest.mark.parametrize("path", CATALOGS, ids=lambda p: str(p.relative_to(ROOT)))
def test_catalog_is_fully_translated_and_compiled(path):
    po = polib.pofile(str(path))
    missing = [e.msgid for e in po.untranslated_entries()]
    fuzzy = [e.msgid for e in po.fuzzy_entries()]
    assert not missing, f"untranslated: {missing[:10]}"
    assert not fuzzy, f"fuzzy: {fuzzy[:10]}"
    mo = path.with_suffix(".mo")
    assert mo.exists(), "run `make messages` (compilemessages)"
    with mo.open("rb") as fh:
        compiled = gettext.GNUTranslations(fh)
    for entry in po.translated_entries():
        if entry.msgid_plural:
            continue
        key = f"{entry.msgctxt}\x04{entry.msgid}" if entry.msgctxt else entry.msgid
        assert compiled._catalog.get(key) == entry.msgstr, f"stale .mo for {entry.msgid!r}: recompile"
