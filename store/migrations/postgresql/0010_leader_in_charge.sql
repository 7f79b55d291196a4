-- Leader in charge (领导包案, store/supervision.py): the leader personally
-- responsible for a case. Set by /lead; every event of the case is then told
-- to this leader as well. NULL: no leader has taken charge.
ALTER TABLE cases ADD COLUMN lead_id BIGINT;
