-- PostgreSQL form of ../0007_conversation_ui_state.sql. PostgreSQL support
-- begins after 0007, so no PostgreSQL database holds drafts of the older
-- shape: the column is added and the old one dropped, with nothing to move.
ALTER TABLE conversations ADD COLUMN ui TEXT NOT NULL DEFAULT '{}';
ALTER TABLE conversations DROP COLUMN last_update_id;
