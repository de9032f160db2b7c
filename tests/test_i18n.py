"""Simplified Chinese: every string translated, and the committed .mo matches the .po
(a fresh machine has no gettext to compile it)."""

import ast
import gettext
import re
from pathlib import Path

PO = Path(__file__).resolve().parent.parent / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
ENTRY = re.compile(r'^msgid ((?:".*"\n)+)(?:msgid_plural (?:".*"\n)+)?msgstr(?:\[0\])? ((?:".*"\n?)+)',
                   re.M)


def entries() -> dict[str, str]:
    def join(block):
        return "".join(ast.literal_eval(line) for line in block.strip().splitlines())

    return {join(m[1]): join(m[2]) for m in ENTRY.finditer(PO.read_text(encoding="utf-8"))
            if join(m[1])}


def test_it_translates_every_string():
    found = entries()
    assert len(found) > 150
    assert [msgid for msgid, msgstr in found.items() if not msgstr] == []


def test_the_committed_mo_matches_the_po():
    with open(PO.with_suffix(".mo"), "rb") as f:
        catalog = gettext.GNUTranslations(f)
    for msgid, msgstr in entries().items():
        assert catalog.gettext(msgid) == msgstr or catalog.ngettext(msgid, "", 1) == msgstr, msgid
