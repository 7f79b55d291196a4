-- Reserved: this number belongs to a migration of a branch developed in
-- parallel. This placeholder keeps the numbering contiguous on the faults
-- branch and is deleted when the real migration is merged.
SELECT 1;
