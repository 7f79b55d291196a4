"""The chat's own channel under the name the organisation gives it (``[channels] telegram``).

So that the figures per channel reconcile with the outside system an office reports to: /stats,
the exports and the Mini App name the chat's channel as configured; the other channels keep the
条例's names. Both databases.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from handlers import reports
from handlers.render import channel_name
from handlers.webapp_api import case_summary
from store.clock import FakeClock
from store.org import OrgError, parse_org
from store.services import Services
from tests.backends import fresh_database
from tests.conftest import draft, petitioner
from tests.review_fixture import LEADER_OIL, ORG_TOML

NAMED = '[channels]\ntelegram = { zh = "网上信访（企业平台）", en = "Online (company platform)" }\n\n'


def test_the_default_is_the_catalogs_name_and_a_configured_one_replaces_only_the_chat() -> None:
    plain = parse_org(ORG_TOML)
    assert channel_name(plain, "telegram", "zh") == "网上（本平台）"
    named = parse_org(ORG_TOML + "\n" + NAMED)
    assert channel_name(named, "telegram", "zh") == "网上信访（企业平台）"
    assert channel_name(named, "telegram", "en") == "Online (company platform)"
    assert channel_name(named, "letter", "zh") == "来信"
    with pytest.raises(OrgError):
        parse_org(ORG_TOML + '\n[channels]\nletter = "信件"\n')  # only the chat's own name is configurable


async def test_stats_and_exports_count_the_chat_under_its_configured_name(
    backend: str, tmp_path: Path, clock: FakeClock
) -> None:
    org = parse_org(ORG_TOML + "\n" + NAMED)
    async with fresh_database(backend, tmp_path, "named.db", migrated=True) as target:
        store = await Services.open(target, org, clock)
        try:
            case = (await store.cases.submit(petitioner(5001), draft(), "a")).case
            report = await store.indicators.indicators(LEADER_OIL)
            text = "\n".join(reports.stats_text(report, org, "zh"))
            assert "网上信访（企业平台） 1" in text and "网上（本平台）" not in text
            data = await store.indicators.export_data(LEADER_OIL)
            indicators, cases = reports.csv_texts(data, org, "zh", store.tz)
            assert "收件数·网上信访（企业平台）" in next(csv.reader(io.StringIO(indicators)))
            assert list(csv.reader(io.StringIO(cases)))[1][-3] == "网上信访（企业平台）"
            summary = case_summary(store, LEADER_OIL, case, "en")
            assert summary["channel_name"] == "Online (company platform)"
        finally:
            await store.close()
