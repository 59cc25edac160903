"""Every user-visible string has a Simplified Chinese translation, and the compiled catalogs match."""

import gettext
from pathlib import Path

import django
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
        assert compiled._catalog.get(key) == entry.msgstr  # type: ignore[attr-defined]  # the catalogue gettext reads, f"stale .mo for {entry.msgid!r}: recompile"


def _entries(path: Path) -> dict[tuple[str | None, str], str]:
    return {
        (e.msgctxt, e.msgid): e.msgstr
        for e in polib.pofile(str(path))
        if e.msgstr and not e.obsolete and not e.msgid_plural
    }


def test_one_message_has_one_translation_across_the_catalogs():
    """Django merges every catalog into one: the first app to define a message decides it for all pages.

    "Order" in the feedback app (订单, a purchase) then also named the rules' run order, and "Filter" took Django
    admin's "过滤器". A message that means two things carries a context (pgettext) instead.
    """
    seen: dict[tuple[str | None, str], tuple[str, str]] = {}
    clashes = []
    for path in CATALOGS:
        for key, msgstr in _entries(path).items():
            owner = path.parents[3].name
            if key in seen and seen[key][0] != msgstr:
                clashes.append(f"{key[1]!r}: {seen[key][0]!r} ({seen[key][1]}) vs {msgstr!r} ({owner})")
            seen.setdefault(key, (msgstr, owner))
    # Django's admin, auth and contenttypes come before our apps in INSTALLED_APPS, so their word wins over ours
    # (the project's own LOCALE_PATHS catalog wins over theirs).
    contrib = Path(django.__file__).parent / "contrib"
    for app in ("admin", "auth", "contenttypes", "humanize"):
        theirs = _entries(contrib / app / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po")
        for path in CATALOGS:
            if path.parents[3] == ROOT:
                continue
            for key, msgstr in _entries(path).items():
                if key in theirs and theirs[key] != msgstr:
                    clashes.append(f"{key[1]!r}: ours {msgstr!r}, Django {app} {theirs[key]!r} wins")
    assert not clashes, "\n".join(clashes)
