-- 0002-sync-conflicts.sql — what the sync engine could not apply by itself.
--
-- When a pushed edit meets a different edit of the same field made on
-- another device (and free text does not merge line-wise), the server
-- answers "conflict" and applies nothing.  The engine then brings the row to
-- the server's version and keeps the device's own version here, with the
-- base both started from, for the clinician to choose: keep mine, keep
-- theirs, or edit a merge (docs/sync.md).  An op the server refused for good
-- ("rejected": a signed note, a deleted record) is kept here too, so nothing
-- typed is ever dropped silently.
--
-- Each version is the record's fields as a JSON object, encrypted as one
-- envelope bound to this row and to which version it is.
CREATE TABLE sync_conflicts (
  id             TEXT PRIMARY KEY NOT NULL,   -- UUIDv7, made by the engine
  created_at     TEXT NOT NULL,
  table_name     TEXT NOT NULL,
  row_id         TEXT NOT NULL,
  kind           TEXT NOT NULL CHECK (kind IN ('conflict', 'rejected')),
  fields         TEXT,            -- comma-separated: the fields that clashed
  reason         TEXT,            -- for 'rejected': the server's code (signed, deleted, ...)
  local          BLOB NOT NULL    -- encrypted JSON: this device's version
                 CHECK (typeof(local) = 'blob' AND length(local) >= 47),
  remote         BLOB             -- encrypted JSON: the server's current version
                 CHECK (remote IS NULL OR (typeof(remote) = 'blob' AND length(remote) >= 47)),
  base           BLOB             -- encrypted JSON: the revision both started from
                 CHECK (base IS NULL OR (typeof(base) = 'blob' AND length(base) >= 47)),
  remote_version INTEGER,         -- the server's version of the record then
  resolved_at    TEXT,            -- NULL while the clinician has not chosen
  resolution     TEXT CHECK (resolution IS NULL OR resolution IN ('mine', 'theirs', 'merged')),
  CHECK ((resolved_at IS NULL) = (resolution IS NULL))
);
CREATE INDEX sync_conflicts_open ON sync_conflicts (resolved_at, table_name, row_id);

-- A conflict holds clinical text, and choosing a version is a clinical
-- decision: audited like the clinical tables.
SELECT mts_audit_enable('sync_conflicts');
