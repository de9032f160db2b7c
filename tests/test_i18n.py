"""Simplified Chinese: every string translated, and the committed .mo matches the .po
(a fresh machine has no gettext to compile it)."""

import ast
import gettext
import re
from pathlib import Path

PO = Path(__file__).resolve().parent.parent / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
ENTRY = re.compile(r'^msgid ((?:".*"\n)+)(?:msgid_plural (?:".*"\n)+)?msgstr(?:\[0\])? ((?:".*"\n?)+)', re.M)


def entries() -> dict[str, str]:
    def join(block):
        return "".join(ast.literal_eval(line) for line in block.strip().splitlines())

    return {join(m[1]): join(m[2]) for m in ENTRY.finditer(PO.read_text(encoding="utf-8")) if join(m[1])}


def test_it_translates_every_string():
    found = entries()
    assert len(found) > 150
    assert [msgid for msgid, msgstr in found.items() if not msgstr] == []


def test_the_committed_mo_matches_the_po():
    with open(PO.with_suffix(".mo"), "rb") as f:
        catalog = gettext.GNUTranslations(f)
    for msgid, msgstr in entries().items():
        assert catalog.gettext(msgid) == msgstr or catalog.ngettext(msgid, "", 1) == msgstr, msgid


def test_a_provider_sub_code_gets_its_own_sentence_before_its_familys():
    from django.utils import translation

    from generations.models.error_texts import error_text

    with translation.override("zh-hans"):
        assert error_text("Throttling.RateQuota", "x") == "服务商正在限制请求频率。"  # the family's
        assert error_text("Throttling.AllocationQuota", "x") == "服务商账户的额度已用完，需要管理员提高额度。"
        assert error_text("InternalError.Algo", "x") == "服务商内部出错。"  # not the site's own
        assert error_text("IPInfringementSuspect", "x") == "服务商怀疑提示词侵犯了他人的知识产权。"
        assert error_text("SomethingNew", "As written.") == "As written."
    with translation.override("en"):
        assert error_text("IPInfringementSuspect", "As written.") == "As written."
