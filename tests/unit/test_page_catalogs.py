"""The pages' catalogs are complete: every string the templates and page code mark for
translation has a translation in each non-English language, with the same placeholders."""

from __future__ import annotations

import re

import pytest
from babel.messages.pofile import read_po

from renewals.api.pages import catalogs, i18n

PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@pytest.mark.parametrize("language", ["zh-Hans", "zh-Hant", "ko"])
def test_every_page_string_is_translated_with_the_same_placeholders(language):
    wanted = {m.id for m in catalogs.extract() if m.id}
    with i18n.po_path(language).open("rb") as fh:
        catalog = read_po(fh)
    translated = {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}
    assert sorted(wanted - translated.keys()) == []
    for msgid in wanted:
        assert set(PLACEHOLDER.findall(msgid)) == set(PLACEHOLDER.findall(translated[msgid])), msgid


def test_english_pages_use_the_message_ids_and_every_label_is_extracted():
    from renewals.api.pages.labels import LABELS

    wanted = {m.id for m in catalogs.extract() if m.id}
    assert set(LABELS.values()) <= wanted
    assert i18n.translations("en").gettext("Today") == "Today"


@pytest.mark.parametrize(
    ("header", "language"),
    [("ko-KR,ko;q=0.9", "ko"), ("zh-TW,zh;q=0.8", "zh-Hant"), ("zh-CN", "zh-Hans"), ("fr-FR", "en"), (None, "en")],
)
def test_a_first_visit_gets_the_language_the_browser_asks_for(header, language):
    assert i18n.best_language(header) == language


def test_every_code_the_pages_show_has_a_translatable_label():
    from renewals.api.pages.labels import LABELS
    from renewals.db.models.alerts import ALERT_STATUSES
    from renewals.db.models.notices import BATCH_STATUSES, NOTICE_STATUSES
    from renewals.db.models.receivables import INVOICE_STATUSES
    from renewals.domain.access.rules import ROLES
    from renewals.domain.alerts.rules import AlertKind, Severity
    from renewals.domain.notices.kinds import KINDS
    from renewals.domain.renewals.rules import RenewalStatus

    codes = {
        *ALERT_STATUSES,
        *BATCH_STATUSES,
        *NOTICE_STATUSES,
        *INVOICE_STATUSES,
        *ROLES,
        *KINDS,
        *(k.value for k in AlertKind),
        *(s.value for s in Severity),
        *(s.value for s in RenewalStatus),
    }
    assert sorted(codes - LABELS.keys()) == []
