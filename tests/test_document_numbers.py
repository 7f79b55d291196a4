"""Formal documents as the handling unit issues them: its formal name, a 文号 per unit and year, its contact.

Organisation: tests/review_fixture.py, plant-1 given a formal name, a 文号 prefix, a contact and a phone;
plant-2 left without them (the defaults). The clock stands at 2026-11-02 in Shanghai.
"""

from __future__ import annotations

from pathlib import Path

from handlers.documents import render_pdf
from store.clock import FakeClock
from store.document_kinds import DocumentKind
from store.documents import doc_number
from store.org import parse_org
from store.services import Services
from store.workflow import Action
from tests.backends import fresh_database, rows
from tests.conftest import draft, petitioner
from tests.review_fixture import OFFICER_P1, OFFICER_P2, ORG_TOML
from tests.test_documents import pdf_text, squeeze

PLANT_1 = '''id = "plant-1"
formal_name = "测试石油第一采油厂信访办公室"
doc_prefix = "采一信字"
contact = "王主任"
phone = "0546-8881234"
address = "东营市西城区采油一路1号"
'''


async def test_each_document_carries_the_handling_unit_and_its_own_number(
    tmp_path: Path, backend: str, clock: FakeClock
) -> None:
    org = parse_org(ORG_TOML.replace('id = "plant-1"\n', PLANT_1, 1))
    async with fresh_database(backend, tmp_path, "numbers.db", migrated=True) as target:
        store: Services = await Services.open(target, org, clock)
        try:
            first = (await store.cases.submit(petitioner(5001), draft(), "a")).case.number
            second = (await store.cases.submit(petitioner(5002, "李四"), draft(subject="食堂"), "b")).case.number
            other = (await store.cases.submit(petitioner(5003, "赵六"), draft(unit="plant-2"), "c")).case.number
            await store.cases.act(OFFICER_P1, first, Action.ACCEPT)
            await store.cases.act(OFFICER_P1, second, Action.ACCEPT)
            await store.cases.act(OFFICER_P2, other, Action.ACCEPT)
            await store.cases.act(OFFICER_P1, first, Action.EXTEND, days=10, body="需调取考勤记录。")

            (accepted,) = await store.documents.documents(OFFICER_P1, first, DocumentKind.ACCEPTED)
            (extended,) = await store.documents.documents(OFFICER_P1, first, DocumentKind.EXTENDED)
            (second_accepted,) = await store.documents.documents(OFFICER_P1, second, DocumentKind.ACCEPTED)
            (other_accepted,) = await store.documents.documents(OFFICER_P2, other, DocumentKind.ACCEPTED)
            # Numbered in the order issued, per issuing unit and year; plant-2 has its own series and the default prefix.
            assert (accepted.doc_no, second_accepted.doc_no, extended.doc_no) == (
                "采一信字〔2026〕1号", "采一信字〔2026〕2号", "采一信字〔2026〕3号")
            assert other_accepted.doc_no == doc_number("第二信字", 2026, 1) == "第二信字〔2026〕1号"

            text = pdf_text(await render_pdf(accepted, store.org, copy="petitioner"))
            for word in ("测试石油第一采油厂信访办公室", "采一信字〔2026〕1号", "受理告知书", "电子告知件",
                         "承办单位：测试石油第一采油厂信访办公室", "联系人：王主任", "联系电话：0546-8881234",
                         "地址：东营市西城区采油一路1号"):
                assert squeeze(word) in text, (word, text)
            officer_copy = pdf_text(await render_pdf(accepted, store.org, copy="officer"))
            assert "电子告知件" not in officer_copy and squeeze("（打印盖章后送达）") in officer_copy
            default = pdf_text(await render_pdf(other_accepted, store.org))
            assert "测试石油第二采油厂" in default and "联系人" not in default

            # Made again later (after a transfer, too), a document keeps its number and its issuer.
            await store.cases.act(OFFICER_P1, first, Action.TRANSFER, unit="plant-2", body="属第二采油厂管辖")
            (again,) = await store.documents.documents(OFFICER_P2, first, DocumentKind.ACCEPTED)
            assert (again.doc_no, again.issuer_unit) == ("采一信字〔2026〕1号", "plant-1")
            assert rows(store, "SELECT unit, year, last FROM document_counters ORDER BY unit") == [
                ("plant-1", 2026, 3), ("plant-2", 2026, 1)]
        finally:
            await store.close()
