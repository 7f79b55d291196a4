-- The chat's own state (which screen, what is being edited, the last update
-- applied) moves out of the drafts into a blob per conversation row that only
-- the handler that wrote it reads. The store keeps it, next to the draft, in
-- the same row, so both survive a crash together.
ALTER TABLE conversations ADD COLUMN ui TEXT NOT NULL DEFAULT '{}';
UPDATE conversations SET ui = json_object(
    'editing', json(CASE WHEN json_extract(data, '$.editing') THEN 'true' ELSE 'false' END),
    'unit_browse', json_extract(data, '$.unit_browse'),
    'last_update_id', last_update_id
), data = json_remove(data, '$.editing', '$.unit_browse') WHERE name = 'intake';
UPDATE conversations SET ui = json_object(
    'unit_browse', json_extract(data, '$.draft.unit_browse'),
    'place_done', json(CASE WHEN json_extract(data, '$.draft.place_done') THEN 'true' ELSE 'false' END)
), data = json_remove(data, '$.draft.unit_browse', '$.draft.place_done')
WHERE name = 'reception' AND json_extract(data, '$.flow') = 'publish';
ALTER TABLE conversations DROP COLUMN last_update_id;
