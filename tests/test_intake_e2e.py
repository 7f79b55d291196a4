"""The guided intake over real polling, as a petitioner sees it, in Chinese and English."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e import running_bot
from tests.petitioner import (
    api_errors,
    draft_of,
    newest,
    org_with,
    rows,
    stored_draft,
    submit,
    to_subject,
    toast,
)

pytestmark = pytest.mark.slow


async def test_every_step_back_and_edit_from_review_zh(tmp_path: Path) -> None:
    db = tmp_path / "e2e.db"
    async with running_bot(org_with(messages_per_minute=500), db) as bot:
        # The case ends up confidential, about plant-2: officer 1002 is recused
        # from plant-2, so it reaches the administrator (recusal follows confidentiality).
        officer = bot.sim.user(9001, first_name="管", language_code="zh-hans")
        user = bot.sim.user(5001, first_name="张三", language_code="zh-hans")
        await user.send("/new")
        first = await user.wait_for("第 1/7 步")
        assert "« 返回" not in first.button_texts and "取消" in first.button_texts
        await user.tap("工资福利")
        unit = await user.wait_for("第 2/7 步")
        assert "集团总部" in unit.visible_text and "油田公司" in unit.button_texts
        await user.tap("« 返回")  # from the top of the unit tree back to the category
        await user.wait_for("第 1/7 步")
        await user.tap("工资福利")
        await user.wait_for("第 2/7 步")
        await user.tap("油田公司")
        inside = await user.wait_for("当前位置：集团总部 › 油田公司")
        assert "第一采油厂" in inside.button_texts
        await user.tap("« 返回")  # one level up the tree
        await user.wait_for(predicate=lambda m: m.visible_text.endswith("当前位置：集团总部"))
        await user.tap("油田公司")
        await user.wait_for("油田公司")
        await user.tap("第一采油厂")
        await user.wait_for("第 3/7 步")
        await user.tap("« 返回")
        await user.wait_for("第 2/7 步")
        await user.tap("✔ 就是“集团总部”")
        await user.wait_for("第 3/7 步")
        await user.send("第一个标题")
        await user.wait_for("第 4/7 步")
        await user.tap("« 返回")
        await user.wait_for("第 3/7 步")
        await user.send("加班费未发放")
        await user.wait_for("第 4/7 步")
        await user.send("十月加班费至今未发放。")
        attachments = await user.wait_for("第 5/7 步")
        assert "跳过" in attachments.button_texts
        await user.tap("« 返回")
        await user.wait_for("第 4/7 步")
        await user.send("十月、十一月加班费至今未发放。")
        await user.wait_for("第 5/7 步")
        await user.tap("跳过")
        identity = await user.wait_for("第 6/7 步")
        assert identity.button_texts[:3] == ["实名反映", "实名并留手机号", "身份保密（代号）"]
        await user.tap("« 返回")
        await user.wait_for("第 5/7 步")
        await user.tap("跳过")
        await user.wait_for("第 6/7 步")
        await user.tap("实名反映")
        review = await user.wait_for("第 7/7 步")
        for seen in ("工资福利", "集团总部", "加班费未发放", "十月、十一月加班费至今未发放。", "实名（张三）"):
            assert seen in review.visible_text, seen
        assert "第一个标题" not in review.visible_text

        # Edit from review: each change returns to the review screen.
        await user.tap("改标题")
        await user.wait_for("第 3/7 步")
        await user.send("加班费拖欠两个月")
        review = await user.wait_for("第 7/7 步")
        assert "标题：加班费拖欠两个月" in review.visible_text
        await user.tap("改单位")
        await user.wait_for("第 2/7 步")
        await user.tap("油田公司")
        await user.wait_for("油田公司")
        await user.tap("第二采油厂")
        review = await user.wait_for("第 7/7 步")
        assert "油田公司 › 第二采油厂" in review.visible_text
        await user.tap("改类别")
        await user.wait_for("第 1/7 步")
        await user.tap("意见建议")
        review = await user.wait_for("第 7/7 步")
        assert "类别：意见建议" in review.visible_text
        await user.tap("改内容")
        await user.wait_for("第 4/7 步")
        await user.tap("« 返回")  # Back while editing: to the review, unchanged
        review = await user.wait_for("第 7/7 步")
        assert "十月、十一月加班费至今未发放。" in review.visible_text
        await user.tap("涉及人数")
        await user.wait_for("涉及的人数")
        await user.send("十二个")
        await user.wait_for("1 至 10000")
        await user.send("12")
        review = await user.wait_for("第 7/7 步")
        assert "涉及人数：12" in review.visible_text
        await user.tap("诉求")
        await user.wait_for("希望如何解决")
        await user.send("补发加班费")
        review = await user.wait_for("第 7/7 步")
        assert "诉求：补发加班费" in review.visible_text
        await user.tap("改材料")
        await user.wait_for("第 5/7 步")
        await user.send_photo()
        await user.wait_for("已收到第 1 个材料")
        await user.tap("完成")
        review = await user.wait_for("第 7/7 步")
        assert "材料：1 个" in review.visible_text
        await user.tap("改身份")
        await user.wait_for("第 6/7 步")
        await user.tap("身份保密（代号）")
        review = await user.wait_for("第 7/7 步")
        assert "身份：保密（代号 保密件-" in review.visible_text and "张三" not in review.visible_text

        number = await submit(user, "zh")
        card = await officer.wait_for(number)
        assert "加班费拖欠两个月" in card.visible_text and "第二采油厂" in card.visible_text
        assert "涉及人数：12" in card.visible_text and "诉求：补发加班费" in card.visible_text
        assert api_errors(bot.sim) == []
    assert rows(db, "SELECT category, unit, subject, details, people, desired_outcome, confidential FROM cases") == [
        ("suggestion", "plant-2", "加班费拖欠两个月", "十月、十一月加班费至今未发放。", 12, "补发加班费", 1)
    ]
    assert rows(db, "SELECT kind FROM attachments") == [("photo",)]
    assert draft_of(db, 5001) is None


async def test_cancel_and_new_with_a_draft_en(tmp_path: Path) -> None:
    db = tmp_path / "e2e.db"
    async with running_bot(org_with(messages_per_minute=500), db) as bot:
        user = bot.sim.user(5002, first_name="Li", language_code="en-GB")
        await to_subject(user, "en")
        await user.send("Overtime not paid")
        await user.wait_for("Step 4 of 7")

        await user.send("/new")  # a draft exists: continue or start over
        offer = await user.wait_for("not submitted yet")
        assert offer.button_texts == ["Continue", "Start over"]
        await user.tap("Continue")
        await user.wait_for("Your draft is restored")
        await user.wait_for("Step 4 of 7")
        assert stored_draft(db, 5002)[1]["subject"] == "Overtime not paid"

        await user.send("/new")
        await user.wait_for("not submitted yet")
        await user.tap("Start over")
        await user.wait_for("Step 1 of 7")
        state, data = stored_draft(db, 5002)
        assert state == "category" and data["subject"] is None

        await user.tap("Wages and benefits")
        await user.wait_for("Step 2 of 7")
        await user.tap("Cancel")
        cancelled = await user.wait_for("Cancelled")
        assert "draft is deleted" in cancelled.visible_text
        assert draft_of(db, 5002) is None
        await user.send("/cancel")
        await user.wait_for("nothing in progress")
        query = await user.tap_data(cancelled, "in:cat:wages")  # a button of the cancelled draft
        assert "no longer valid" in await toast(user, query)
        await user.send("/new")
        await user.wait_for("Step 1 of 7")  # a fresh start, no offer to continue
        assert api_errors(bot.sim) == []
    assert rows(db, "SELECT count(*) FROM cases") == [(0,)]


async def test_attachments_of_every_kind_en(tmp_path: Path) -> None:
    db = tmp_path / "e2e.db"
    async with running_bot(org_with(messages_per_minute=500), db) as bot:
        officer = bot.sim.user(1001, first_name="Wang", language_code="zh-hans")
        user = bot.sim.user(5003, first_name="Li", language_code="en")
        await to_subject(user, "en")
        await user.send("Overtime")
        await user.wait_for("Step 4 of 7")
        await user.send("See the payslips.")
        hint = await user.wait_for("Step 5 of 7")
        assert "Skip" in hint.button_texts
        await user.send_photo(caption="October payslip")
        added = await user.wait_for("Received file 1")
        assert added.button_texts == ["Done"] and "text sent with a file is not kept" in added.visible_text
        await user.send_document("payslip.pdf")
        assert "not kept" not in (await user.wait_for("Received file 2")).visible_text
        await user.send_voice()
        await user.wait_for("Received file 3")
        await user.send_video()
        await user.wait_for("Received file 4")
        await user.send_document("film.mp4", size=21 * 1024 * 1024, mime_type="video/mp4")
        await user.wait_for("larger than 20 MB")
        await user.send("here are my files")
        await user.wait_for("please send a photo, document")
        await user.send_sticker()
        sticker = await user.wait_for("sticker cannot")
        assert "please send a photo" in sticker.visible_text
        for n in range(5, 11):
            await user.send_photo()
            await user.wait_for(f"Received file {n}")
        await user.send_document("eleventh.pdf")
        await user.wait_for("At most 10 files")
        await user.tap("Done")
        await user.wait_for("Step 6 of 7")
        await user.tap("Real name")
        review = await user.wait_for("Step 7 of 7")
        assert "Files: 10" in review.visible_text
        number = await submit(user, "en")

        card = await officer.wait_for(number)
        assert "10" in card.visible_text
        # One message a second to a chat after a short burst, as Telegram asks: give the files time.
        await officer.wait_for(predicate=lambda _: sum(m.kind != "text" for m in officer.messages) == 10, timeout=20)
        kinds = [m.kind for m in officer.messages if m.kind != "text"]
        assert kinds == ["photo", "document", "voice", "video"] + ["photo"] * 6
        assert api_errors(bot.sim) == []
    assert rows(db, "SELECT kind, file_name FROM attachments ORDER BY id")[:4] == [
        ("photo", None), ("document", "payslip.pdf"), ("voice", None), ("video", "video.mp4")
    ]
    assert rows(db, "SELECT count(*) FROM attachments") == [(10,)]


async def test_odd_input_at_every_step_keeps_the_draft_zh(tmp_path: Path) -> None:
    db = tmp_path / "e2e.db"
    async with running_bot(org_with(messages_per_minute=500), db) as bot:
        user = bot.sim.user(5004, first_name="张三", language_code="zh-hans")

        async def odd_inputs(expected: str) -> None:
            """Everything a step cannot use: each gets a hint naming it; the draft stays."""
            before = draft_of(db, 5004)
            await user.send_sticker()
            assert expected in (await user.wait_for("贴纸不能作为信访内容")).visible_text
            await user.send_location()
            assert expected in (await user.wait_for("位置信息")).visible_text
            await user.send_poll()
            assert expected in (await user.wait_for("投票")).visible_text
            await user.send_contact()
            assert expected in (await user.wait_for("这一步不需要联系方式")).visible_text
            command = await user.send("/frobnicate")
            await user.wait_for("暂不支持该命令")
            if expected != "请输入文字":  # text where a button or a file is expected
                await user.send("随便说一句")
                await user.wait_for(expected)
            await user.edit(command["message"]["message_id"], "改过的话")
            await user.wait_for("已收到您修改的消息")
            assert draft_of(db, 5004) == before

        await user.send("/new")
        await user.wait_for("第 1/7 步")
        await odd_inputs("请点击上方的按钮")
        await user.send_photo()
        assert "第 5 步" in (await user.wait_for("材料请在第 5 步")).visible_text
        await user.tap("工资福利")
        await user.wait_for("第 2/7 步")
        await odd_inputs("请点击上方的按钮")
        await user.tap("炼化公司")
        await user.wait_for("第 3/7 步")
        await odd_inputs("请输入文字")
        await user.send("\u200b\u200f ")  # only invisible characters
        await user.wait_for("内容不能为空")
        await user.send("x" * 101)
        await user.wait_for("标题不能超过 100 字（您输入了 101 字）")
        await user.send("标题")
        await user.wait_for("第 4/7 步")
        await odd_inputs("请输入文字")
        await user.send("详" * 5000)
        await user.wait_for("内容不能超过 4000 字（您输入了 5000 字）")
        await user.send("详细情况")
        await user.wait_for("第 5/7 步")
        await odd_inputs("请发送照片、文件、语音或视频")
        await user.tap("跳过")
        await user.wait_for("第 6/7 步")
        await odd_inputs("请点击上方的按钮")
        await user.tap("实名反映")
        await user.wait_for("第 7/7 步")
        await odd_inputs("请点击上方的按钮")
        await user.tap_data(newest(user), "in:edit:nonsense")  # forged
        await user.wait_for("第 7/7 步")
        await user.tap_data(newest(user), "in:submit:" + "f" * 32)  # not this draft's
        await user.wait_for("该按钮已失效")
        assert rows(db, "SELECT count(*) FROM cases") == [(0,)]
        state, data = stored_draft(db, 5004)
        assert state == "review"
        assert (data["category"], data["unit"], data["subject"], data["details"]) == (
            "wages", "refinery", "标题", "详细情况")
        await submit(user, "zh")
        assert api_errors(bot.sim) == []
    assert rows(db, "SELECT subject FROM cases") == [("标题",)]


async def test_report_is_confidential_by_default_and_phone_sharing_zh(tmp_path: Path) -> None:
    db = tmp_path / "e2e.db"
    async with running_bot(org_with(messages_per_minute=500), db) as bot:
        officer = bot.sim.user(1002, first_name="李", language_code="zh-hans")
        user = bot.sim.user(5005, first_name="张三", last_name="丰", username="zhangsan_88",
                            language_code="zh-hans")
        await to_subject(user, "zh", "report")
        await user.send("某某收受回扣")
        await user.wait_for("第 4/7 步")
        await user.send("采购过程中收受供应商回扣。")
        await user.wait_for("第 5/7 步")
        await user.tap("跳过")
        identity = await user.wait_for("第 6/7 步")
        assert "检举控告类事项默认保密" in identity.visible_text
        assert identity.button_texts[0] == "✔ 身份保密（代号）"

        # The phone number: only the user's own contact, through the reply keyboard.
        await user.tap("实名并留手机号")
        ask = await user.wait_for("发送您本人的手机号")
        assert "第 6/7 步" in ask.visible_text
        assert user.reply_keyboard is not None and ["📱 发送本人手机号"] in user.reply_keyboard
        request = bot.sim.calls_to("sendMessage")[-1]["reply_markup"]["keyboard"][0][0]
        assert request["request_contact"] is True
        await user.send_contact("+8613900000000", own=False)
        await user.wait_for("只能接收您本人的手机号")
        await user.send("13800138000")
        await user.wait_for("无需手动输入")
        await user.send_sticker()
        await user.wait_for("贴纸")
        await user.send_contact("+8613800138000")
        await user.wait_for("已记录您的手机号：+8613800138000")
        assert user.reply_keyboard is None  # the keyboard is gone
        review = await user.wait_for("第 7/7 步")
        assert "实名（张三 丰，手机 +8613800138000）" in review.plain_text

        # Back to confidential: the phone number is dropped again.
        await user.tap("改身份")
        await user.wait_for("第 6/7 步")
        await user.tap("身份保密（代号）")
        review = await user.wait_for("第 7/7 步")
        assert "保密件-" in review.plain_text and "13800138000" not in review.plain_text
        number = await submit(user, "zh")

        card = await officer.wait_for(number)
        (pseudonym,) = rows(db, "SELECT pseudonym FROM cases")[0]
        assert f"信访人：保密件-{pseudonym}" in card.plain_text
        for secret in ("张三", "丰", "zhangsan_88", "5005", "13800138000"):
            assert secret not in "\n".join(m.visible_text for m in officer.messages), secret
        assert api_errors(bot.sim) == []
    assert rows(db, "SELECT petitioner_name, petitioner_phone, confidential FROM cases") == [(None, None, 1)]


async def test_real_name_with_phone_reaches_the_officer_en(tmp_path: Path) -> None:
    db = tmp_path / "e2e.db"
    async with running_bot(org_with(messages_per_minute=500), db) as bot:
        officer = bot.sim.user(1001, first_name="Wang", language_code="en")
        user = bot.sim.user(5006, first_name="Li", language_code="en")
        await to_subject(user, "en")
        await user.send("Overtime")
        await user.wait_for("Step 4 of 7")
        await user.send("Unpaid.")
        await user.wait_for("Step 5 of 7")
        await user.tap("Skip")
        await user.wait_for("Step 6 of 7")
        await user.tap("Real name with my phone number")
        await user.wait_for("send your own phone number")
        assert user.reply_keyboard is not None
        await user.send("« Back")  # the keyboard's Back: to the identity question, keyboard gone
        await user.wait_for("Step 6 of 7")
        assert user.reply_keyboard is None
        await user.tap("Real name with my phone number")
        await user.wait_for("send your own phone number")
        await user.send("No phone number")
        await user.wait_for("no phone number")
        assert user.reply_keyboard is None
        review = await user.wait_for("Step 7 of 7")
        assert "Real name (Li)" in review.plain_text
        await user.tap("Identity")
        await user.wait_for("Step 6 of 7")
        await user.tap("Real name with my phone number")
        await user.wait_for("send your own phone number")
        await user.send_contact("+8613700000000")
        review = await user.wait_for("Step 7 of 7")
        assert "Real name (Li, phone +8613700000000)" in review.plain_text
        number = await submit(user, "en")
        card = await officer.wait_for(number)
        assert "Li" in card.plain_text and "+8613700000000" in card.plain_text

        # Cancel from the phone step also takes the keyboard away.
        await to_subject(user, "en")
        await user.send("Second")
        await user.wait_for("Step 4 of 7")
        await user.send("Second matter.")
        await user.wait_for("Step 5 of 7")
        await user.tap("Skip")
        await user.wait_for("Step 6 of 7")
        await user.tap("Real name with my phone number")
        await user.wait_for("send your own phone number")
        await user.send("Cancel")
        await user.wait_for("Cancelled")
        assert user.reply_keyboard is None
        assert api_errors(bot.sim) == []
    assert rows(db, "SELECT petitioner_name, petitioner_phone FROM cases") == [("Li", "+8613700000000")]
    assert draft_of(db, 5006) is None
