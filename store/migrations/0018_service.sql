-- 送达 (service) of the latest written opinion (处理意见书, then the 复查意见书):
-- the day it was served and how (chat: when Telegram accepted it; in_person,
-- post, refused: as an officer recorded from the 送达回证). The petitioner's
-- windows (rating, 复查, 复核) count from this day (《信访工作条例》 Art. 35-36).
ALTER TABLE cases ADD COLUMN served_on TEXT;
ALTER TABLE cases ADD COLUMN served_how TEXT;

-- Opinions given before this migration opened their windows on the day they
-- were written: they count as served then (the windows already stored stay),
-- so the sweep still closes them when those windows end.
UPDATE cases SET served_on = substr(COALESCE(reviewed_at, decided_at), 1, 10)
 WHERE served_on IS NULL AND status = 'decided'
   AND (review_request_due IS NOT NULL OR rereview_request_due IS NOT NULL);
