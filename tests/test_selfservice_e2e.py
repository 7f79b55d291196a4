"""The petitioner's cases over real polling: list, view, add information, reply, withdraw."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e import running_bot
from tests.petitioner import api_errors, newest, org_with, rows, submit, to_review

pytestmark = pytest.mark.slow


async def test_view_add_information_reply_and_withdraw_zh(tmp_path: Path) -> None:
    db = tmp_path / "e2e.db"
    async with running_bot(org_with(messages_per_minute=500), db) as bot:
        officer = bot.sim.user(1001, first_name="王", language_code="zh-hans")
        user = bot.sim.user(5001, first_name="张三", language_code="zh-hans")
        other = bot.sim.user(5009, first_name="赵六", language_code="zh-hans")
        await officer.send("/start")
        await officer.wait_for("信访工作人员")

        await to_review(user, "zh", "加班费未发放", "十月加班费至今未发放。")
        first = await submit(user, "zh")
        card = await officer.wait_for(first)
        await to_review(user, "zh", "宿舍漏水", "三号楼宿舍漏水。")
        second = await submit(user, "zh")  # several open cases at once
        await officer.wait_for(second)

        await user.send("/mycases")
        listing = await user.wait_for("我的信访事项")
        assert "共 2 件" in listing.visible_text
        assert listing.visible_text.index(second) < listing.visible_text.index(first)  # newest first
        await user.tap(f"查看 {first}")
        view = await user.wait_for("办理记录")
        assert view.message_id == listing.message_id  # the list turns into the case view
        assert "状态：已登记" in view.visible_text and "受理告知期限：" in view.visible_text
        assert re.search(r"受理告知期限：\d{4}年\d{1,2}月\d{1,2}日\n", view.visible_text) and "提交并登记" in view.visible_text
        assert view.button_texts == ["📎 补充材料", "撤回", "« 我的信访事项"]

        # Add information: a text ends the question; files keep it open until Done.
        await user.tap("📎 补充材料")
        ask = await user.wait_for("要补充的情况")
        assert bot.sim.calls_to("sendMessage")[-1]["reply_markup"] == {"force_reply": True, "selective": True}
        assert first in ask.visible_text
        await user.send("补充：\u200b<b>工资条</b> & 考勤记录 😀")
        done = await user.wait_for("已将您补充的情况转给")
        assert done.button_texts == ["继续补充"]
        relayed = await officer.wait_for("补充了情况")
        assert first in relayed.visible_text
        assert "补充：\u200b<b>工资条</b> & 考勤记录 😀" in relayed.visible_text
        await user.tap("继续补充")
        await user.wait_for("要补充的情况")
        await user.send_photo(caption="考勤表")
        await user.wait_for("已收到材料")
        await user.send_document("工资条.pdf")
        more = await user.wait_for("已收到材料")
        assert more.button_texts == ["完成"]
        await user.send_sticker()
        await user.wait_for("请输入文字，或发送照片")
        await user.send_document("big.zip", size=25 * 1024 * 1024, mime_type="application/zip")
        await user.wait_for("超过 20 MB")
        await user.tap("完成")
        await user.wait_for("补充完毕")
        await user.send("这句话不属于任何信访事项")
        await user.wait_for("未能识别")  # the question is closed: nothing is appended
        await officer.wait_for(predicate=lambda _: sum(m.kind == "document" for m in officer.messages) == 1)

        # The officer replies (asks a question); the employee answers with one tap.
        await officer.tap("回复信访人", message=card)
        await officer.wait_for("请输入给信访人的回复")
        await officer.send("请提供十月的考勤记录。")
        await officer.wait_for("已将回复发送")
        question = await user.wait_for("工作人员回复")
        assert "请提供十月的考勤记录。" in question.visible_text
        assert question.button_texts == ["✏️ 回复"]
        await user.tap("✏️ 回复", message=question)
        await user.wait_for("要补充的情况")
        await user.send("考勤记录已上传。")
        await user.wait_for("已将您补充的情况转给")
        answer = await officer.wait_for("考勤记录已上传。")
        assert first in answer.visible_text

        # Withdraw, with a confirmation; "no" keeps the case.
        await user.send(f"/status {second}")
        view = await user.wait_for("办理记录")
        await user.tap("撤回", message=view)
        confirm = await user.wait_for("确定要撤回")
        assert confirm.button_texts == ["确定撤回", "不撤回"]
        await user.tap("不撤回")
        view = await user.wait_for("办理记录")
        assert "状态：已登记" in view.visible_text
        await user.tap("撤回", message=view)
        await user.wait_for("确定要撤回")
        yes = await user.tap("确定撤回")
        await user.wait_for("已撤回，办理人员已收到通知")
        await officer.wait_for(f"信访人已撤回信访事项 {second}")
        await bot.sim.redeliver(next(u for u in bot.sim._history.values()
                                     if u.get("callback_query", {}).get("id") == yes)["update_id"])
        await user.wait_for(f"{second} 此前已撤回")
        await user.send(f"/status {second}")
        view = await user.wait_for("办理记录")
        assert "状态：已撤回" in view.visible_text and "撤回" in view.visible_text.split("办理记录")[1]
        assert view.button_texts == ["« 我的信访事项"]  # nothing more to do on it

        # Someone else's case answers "not found", by command and by forged buttons.
        await other.send(f"/status {first}")
        await other.wait_for(f"未找到编号为 {first} 的信访事项")
        await other.send("/mycases")
        await other.wait_for("您还没有提交过信访事项")
        for data in (f"em:wdy:{first}", f"em:wd:{first}", f"my:open:{first}", f"pr:add:{first}"):
            await other.tap_data(newest(other), data)
            await other.wait_for("未找到编号")
        await other.tap_data(newest(other), "em:zzz:" + "9" * 50)
        await other.wait_for("该按钮已失效")
        # Only the redelivered tap's second answer is refused, as Telegram would.
        assert api_errors(bot.sim) == [("answerCallbackQuery", "Bad Request: query is too old and response"
                                        " timeout expired or query ID is invalid")]

    assert rows(db, "SELECT number, status FROM cases ORDER BY id") == [(first, "submitted"), (second, "withdrawn")]
    added = rows(db, "SELECT e.body, json_extract(e.data, '$.attachments') FROM events e JOIN cases c"
                     " ON c.id = e.case_id WHERE e.action = 'add_info' ORDER BY e.id")
    assert added == [("补充：\u200b<b>工资条</b> & 考勤记录 😀", 0), ("考勤表", 1), (None, 1), ("考勤记录已上传。", 0)]
    assert rows(db, "SELECT kind, file_name FROM attachments ORDER BY id") == [("photo", None), ("document", "工资条.pdf")]
    assert rows(db, "SELECT count(*) FROM conversations WHERE name = 'prompt' AND state IS NOT NULL") == [(0,)]


async def test_pagination_and_english_view(tmp_path: Path) -> None:
    db = tmp_path / "e2e.db"
    async with running_bot(org_with(messages_per_minute=500, submissions_per_day=10), db) as bot:
        bot.sim.user(1001, first_name="Wang", language_code="zh-hans")
        user = bot.sim.user(5002, first_name="Li", language_code="en")
        numbers = []
        for n in range(6):
            await to_review(user, "en", f"Matter {n}", f"Details {n}")
            numbers.append(await submit(user, "en"))
        await user.send("/mycases")
        page = await user.wait_for("My petitions")
        assert "6 in all" in page.visible_text
        assert numbers[5] in page.visible_text and numbers[0] not in page.visible_text
        assert "Next »" in page.button_texts and "« Previous" not in page.button_texts
        await user.tap("Next »")
        page = await user.wait_for(numbers[0])
        assert numbers[5] not in page.visible_text and "« Previous" in page.button_texts
        await user.tap(f"Open {numbers[0]}")
        view = await user.wait_for("Record")
        assert "Status: Registered" in view.visible_text
        assert "You will be told whether it is accepted by" in view.visible_text
        assert view.button_texts == ["📎 Add information", "Withdraw", "« My petitions"]
        await user.tap("Withdraw")
        await user.wait_for("really want to withdraw")
        await user.tap("Yes, withdraw")
        await user.wait_for("is withdrawn")
        await user.tap("« My petitions")
        page = await user.wait_for("My petitions")
        assert "Withdrawn" not in page.visible_text
        await user.tap("Next »")
        page = await user.wait_for(f"{numbers[0]} · Withdrawn")
        assert api_errors(bot.sim) == []
