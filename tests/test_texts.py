"""The zh and en catalogs must match key for key and placeholder for placeholder."""

from __future__ import annotations

import re

import pytest

from handlers.i18n import LANGUAGES, catalog, escape, language_for, placeholders, t

TELEGRAM_TAGS = re.compile(r"</?(b|i|u|s|code|pre|a|blockquote|tg-spoiler)(\s[^>]*)?>")


def test_catalogs_have_the_same_keys() -> None:
    zh, en = (set(catalog(lang)) for lang in LANGUAGES)
    assert zh - en == set(), f"missing in en: {sorted(zh - en)}"
    assert en - zh == set(), f"missing in zh: {sorted(en - zh)}"


@pytest.mark.parametrize("key", sorted(catalog("zh")))
def test_placeholders_match(key: str) -> None:
    assert placeholders(catalog("zh")[key]) == placeholders(catalog("en")[key]), key


@pytest.mark.parametrize("lang", LANGUAGES)
def test_texts_use_only_telegram_html(lang: str) -> None:
    for key, text in catalog(lang).items():
        stripped = TELEGRAM_TAGS.sub("", text)
        assert "<" not in stripped and ">" not in stripped, f"{lang}:{key} has markup Telegram rejects"


def test_values_are_escaped_but_rendered_html_is_not_escaped_twice() -> None:
    text = t("en", "errors.not_found", number="<b>a & b</b>")
    assert "&lt;b&gt;a &amp; b&lt;/b&gt;" in text
    assert t("zh", "field.row", label=t("zh", "field.subject"), value="<x>") == "<b>标题：</b>&lt;x&gt;"
    assert escape(escape("&")) == "&amp;"


@pytest.mark.parametrize(
    ("code", "lang"),
    [("en", "en"), ("en-GB", "en"), ("zh-hans", "zh"), ("zh", "zh"), ("ru", "zh"), (None, "zh"), ("", "zh")],
)
def test_language_follows_telegram(code: str | None, lang: str) -> None:
    assert language_for(code) == lang
