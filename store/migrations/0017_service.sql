-- 送达 (service) of the latest written opinion (处理意见书, then the 复查意见书):
-- the day it was served and how (chat: when Telegram accepted it; in_person,
-- post, refused: as an officer recorded from the 送达回证). The petitioner's
-- windows (rating, 复查, 复核) count from this day (《信访工作条例》 Art. 35-36).
ALTER TABLE cases ADD COLUMN served_on TEXT;
ALTER TABLE cases ADD COLUMN served_how TEXT;
