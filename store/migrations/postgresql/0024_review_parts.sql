-- 复查 / 复核 opinions state the petitioner's request to the reviewing body
-- (信访请求), the facts found (查明事实) and the basis (处理依据), like the
-- written opinion (Art. 32; 《信访工作条例》 Art. 35 复查, Art. 36 复核).
--
-- An issued opinion keeps them in its event's data (`parts`, journaled with
-- it), as the written opinion does. An opinion written in the chat waits in
-- review_drafts while its reviewer marks who studied it: the three parts wait
-- with it. Drafts written before this migration have none (NULL): they still
-- show, and issuing one is refused until it is written again with its parts.
ALTER TABLE review_drafts ADD COLUMN request TEXT;
ALTER TABLE review_drafts ADD COLUMN facts TEXT;
ALTER TABLE review_drafts ADD COLUMN basis TEXT;
