"""Every page in Korean and Traditional Chinese: switched with the page's own switch, remembered
on the user, and no tofu: the fonts the stylesheet names for the language cover every character
the page shows (checked with fontconfig, the library Chromium itself uses on Linux)."""

from __future__ import annotations

import subprocess
from functools import cache

import pytest
from sqlalchemy import select

from renewals.api.pages import screenshots
from renewals.db.models import User

MANAGER = "manager@demo.renewals"
PAGES = ["/today", "/renewals", "/clients", "/receivables", "/alerts", "/notices", "/reports", "/import"]
NAV = {"ko": "오늘", "zh-Hant": "今日"}


UNLABELLED = """[...document.querySelectorAll('input:not([type=hidden]), select, textarea, button')]
  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim())
  .map(e => e.name || e.id || e.outerHTML.slice(0, 60))"""


@cache
def charset(family: str) -> frozenset[int]:
    """The code points fontconfig says the installed font family covers (empty if not installed)."""
    out = subprocess.run(
        ["fc-list", "-f", "%{family}\t%{charset}\n", f":family={family}"], capture_output=True, text=True, check=True
    ).stdout
    points: set[int] = set()
    for line in out.splitlines():
        families, _, ranges = line.partition("\t")
        if family not in families.split(","):
            continue
        for part in ranges.split():
            low, _, high = part.partition("-")
            points.update(range(int(low, 16), int(high or low, 16) + 1))
    return frozenset(points)


def uncovered(text: str, families: list[str]) -> set[str]:
    covered: set[int] = set()
    for family in families:
        covered |= charset(family)
    return {ch for ch in text if not ch.isspace() and ord(ch) not in covered}


def font_stack(page) -> list[str]:
    stack = page.evaluate("getComputedStyle(document.body).fontFamily")
    return [f.strip().strip('"') for f in stack.split(",") if f.strip() not in {"sans-serif", "serif"}]


@pytest.mark.parametrize("language", ["ko", "zh-Hant"])
def test_every_page_in_a_cjk_language_is_translated_remembered_and_free_of_tofu(browse, site, language):
    page = browse(MANAGER)
    page.goto(f"{site.base}/today")
    screenshots.switch_language(page, language)
    with site.sessions() as session:
        assert session.scalar(select(User.language).where(User.email == MANAGER)) == language

    for path in PAGES:
        page.goto(site.base + path)
        assert page.get_attribute("html", "lang") == language
        assert page.locator("nav a[href='/today']").inner_text() == NAV[language]
        families = font_stack(page)
        assert any(charset(f) for f in families), f"none of {families} is installed"
        text = page.evaluate("document.body.innerText")
        assert uncovered(text, families) == set(), f"{path}: no font in {families} has these"
        assert page.evaluate(UNLABELLED) == [], f"{path}: controls without a label"

    # Remembered: a new browser session for the same user speaks the same language.
    again = browse(MANAGER)
    assert again.get_attribute("html", "lang") == language
    screenshots.switch_language(again, "en")
