-- Tampering with the audit log: each kind is detected and located by
-- mts_audit_verify.  Between cases the log is restored from a copy, so each
-- case starts from an intact log.
.open practice.db
.load @EXT@
CREATE TABLE clients (id INTEGER PRIMARY KEY, name BLOB, status TEXT);
CREATE TEMP TABLE orig AS SELECT 1 AS x WHERE 0;
CREATE TEMP TABLE head (h TEXT);
CREATE TEMP TABLE trig (name TEXT, sql TEXT);
CREATE TEMP TABLE sink (x);
INSERT INTO sink SELECT writefile('guards.sql', 'CREATE TRIGGER mts_audit_append_only_update BEFORE UPDATE ON mts_audit BEGIN SELECT RAISE(ABORT, ''mts_audit is append-only: entries cannot be changed''); END;' || char(10) || 'CREATE TRIGGER mts_audit_append_only_delete BEFORE DELETE ON mts_audit BEGIN SELECT RAISE(ABORT, ''mts_audit is append-only: entries cannot be deleted''); END;' || char(10));
.shell echo 'DROP TRIGGER mts_audit_append_only_update; DROP TRIGGER mts_audit_append_only_delete;' > unguard.sql

-- 1. an intact log of 14 entries verifies, with and without its head
SELECT mts_keystore_create('k.mtskey', 'test'), mts_unlock('k.mtskey'), mts_actor('dr.smith'), mts_audit_enable('clients');
INSERT INTO clients SELECT value, mts_encrypt('Client ' || value, 'clients.name:' || value), 'active' FROM generate_series(1, 5);
UPDATE clients SET status = 'closed' WHERE id IN (2, 4);
DELETE FROM clients WHERE id = 5;
SELECT mts_key_rotate();
UPDATE clients SET status = 'waiting' WHERE id IN (1, 3);
SELECT mts_audit_event('login', 'dr.smith', 'ok'), mts_audit_event('export', 'client:1', 'sar'), mts_audit_event('logout', 'dr.smith', NULL);
DROP TABLE orig;
CREATE TEMP TABLE orig AS SELECT * FROM mts_audit;
INSERT INTO head SELECT mts_audit_head();
SELECT count(*), mts_audit_verify(), mts_audit_verify((SELECT h FROM head)) FROM mts_audit;
-- expect: 1|1|dr.smith|1
-- expect: 2
-- expect: 12|13|14
-- expect: 14|ok|ok

-- 2. the append-only guards stop a casual edit
UPDATE mts_audit SET actor = 'someone' WHERE seq = 3;
-- expect error: mts_audit is append-only

-- 3. dropping the guards is itself reported
DROP TRIGGER mts_audit_append_only_update;
DROP TRIGGER mts_audit_append_only_delete;
SELECT mts_audit_verify();
-- expect error: mts_audit_verify: the append-only guard triggers on mts_audit were dropped

-- 4. an edited actor, in any of the 14 entries, is detected at that entry
UPDATE mts_audit SET actor = 'someone else' WHERE seq = 1;
SELECT mts_audit_verify();
DELETE FROM mts_audit;
INSERT INTO mts_audit SELECT * FROM orig;
UPDATE mts_audit SET actor = 'someone else' WHERE seq = 2;
SELECT mts_audit_verify();
DELETE FROM mts_audit;
INSERT INTO mts_audit SELECT * FROM orig;
UPDATE mts_audit SET actor = 'someone else' WHERE seq = 3;
SELECT mts_audit_verify();
DELETE FROM mts_audit;
INSERT INTO mts_audit SELECT * FROM orig;
UPDATE mts_audit SET actor = 'someone else' WHERE seq = 4;
SELECT mts_audit_verify();
DELETE FROM mts_audit;
INSERT INTO mts_audit SELECT * FROM orig;
UPDATE mts_audit SET actor = 'someone else' WHERE seq = 5;
SELECT mts_audit_verify();
DELETE FROM mts_audit;
INSERT INTO mts_audit SELECT * FROM orig;
UPDATE mts_audit SET actor = 'someone else' WHERE seq = 6;
SELECT mts_audit_verify();
DELETE FROM mts_audit;
INSERT INTO mts_audit SELECT * FROM orig;
UPDATE mts_audit SET actor = 'someone else' WHERE seq = 7;
SELECT mts_audit_verify();
DELETE FROM mts_audit;
INSERT INTO mts_audit SELECT * FROM orig;
UPDATE mts_audit SET actor = 'someone else' WHERE seq = 8;
SELECT mts_audit_verify();
DELETE FROM mts_audit;
INSERT INTO mts_audit SELECT * FROM orig;
UPDATE mts_audit SET actor = 'someone else' WHERE seq = 9;
SELECT mts_audit_verify();
DELETE FROM mts_audit;
INSERT INTO mts_audit SELECT * FROM orig;
UPDATE mts_audit SET actor = 'someone else' WHERE seq = 10;
SELECT mts_audit_verify();
DELETE FROM mts_audit;
INSERT INTO mts_audit SELECT * FROM orig;
UPDATE mts_audit SET actor = 'someone else' WHERE seq = 11;
SELECT mts_audit_verify();
DELETE FROM mts_audit;
INSERT INTO mts_audit SELECT * FROM orig;
UPDATE mts_audit SET actor = 'someone else' WHERE seq = 12;
SELECT mts_audit_verify();
DELETE FROM mts_audit;
INSERT INTO mts_audit SELECT * FROM orig;
UPDATE mts_audit SET actor = 'someone else' WHERE seq = 13;
SELECT mts_audit_verify();
DELETE FROM mts_audit;
INSERT INTO mts_audit SELECT * FROM orig;
UPDATE mts_audit SET actor = 'someone else' WHERE seq = 14;
SELECT mts_audit_verify();
DELETE FROM mts_audit;
INSERT INTO mts_audit SELECT * FROM orig;
-- expect error: mts_audit_verify: entry 1 (
-- expect error: mts_audit_verify: entry 2 (
-- expect error: mts_audit_verify: entry 3 (
-- expect error: mts_audit_verify: entry 4 (
-- expect error: mts_audit_verify: entry 5 (
-- expect error: mts_audit_verify: entry 6 (
-- expect error: mts_audit_verify: entry 7 (
-- expect error: mts_audit_verify: entry 8 (
-- expect error: mts_audit_verify: entry 9 (
-- expect error: mts_audit_verify: entry 10 (
-- expect error: mts_audit_verify: entry 11 (
-- expect error: mts_audit_verify: entry 12 (
-- expect error: mts_audit_verify: entry 13 (
-- expect error: mts_audit_verify: entry 14 (

-- 5. an edit to any column of entry 8 is detected at entry 8
UPDATE mts_audit SET at = '2020-01-01T00:00:00.000Z' WHERE seq = 8;
SELECT mts_audit_verify();
DELETE FROM mts_audit;
INSERT INTO mts_audit SELECT * FROM orig;
UPDATE mts_audit SET action = 'insert' WHERE seq = 8;
SELECT mts_audit_verify();
DELETE FROM mts_audit;
INSERT INTO mts_audit SELECT * FROM orig;
UPDATE mts_audit SET target = 'other' WHERE seq = 8;
SELECT mts_audit_verify();
DELETE FROM mts_audit;
INSERT INTO mts_audit SELECT * FROM orig;
UPDATE mts_audit SET row_id = 99 WHERE seq = 8;
SELECT mts_audit_verify();
DELETE FROM mts_audit;
INSERT INTO mts_audit SELECT * FROM orig;
UPDATE mts_audit SET changed_columns = 'name' WHERE seq = 8;
SELECT mts_audit_verify();
DELETE FROM mts_audit;
INSERT INTO mts_audit SELECT * FROM orig;
UPDATE mts_audit SET old_digest = zeroblob(16) WHERE seq = 8;
SELECT mts_audit_verify();
DELETE FROM mts_audit;
INSERT INTO mts_audit SELECT * FROM orig;
UPDATE mts_audit SET new_digest = zeroblob(16) WHERE seq = 8;
SELECT mts_audit_verify();
DELETE FROM mts_audit;
INSERT INTO mts_audit SELECT * FROM orig;
UPDATE mts_audit SET detail = 'edited' WHERE seq = 8;
SELECT mts_audit_verify();
DELETE FROM mts_audit;
INSERT INTO mts_audit SELECT * FROM orig;
UPDATE mts_audit SET mac = zeroblob(32) WHERE seq = 8;
SELECT mts_audit_verify();
DELETE FROM mts_audit;
INSERT INTO mts_audit SELECT * FROM orig;
-- expect error: mts_audit_verify: entry 8 (
-- expect error: mts_audit_verify: entry 8 (
-- expect error: mts_audit_verify: entry 8 (
-- expect error: mts_audit_verify: entry 8 (
-- expect error: mts_audit_verify: entry 8 (
-- expect error: mts_audit_verify: entry 8 (
-- expect error: mts_audit_verify: entry 8 (
-- expect error: mts_audit_verify: entry 8 (
-- expect error: mts_audit_verify: entry 8 (

-- 6. an entry's key id changed to one the keystore lacks is named
UPDATE mts_audit SET key_id = 9 WHERE seq = 8;
SELECT mts_audit_verify();
DELETE FROM mts_audit;
INSERT INTO mts_audit SELECT * FROM orig;
-- expect error: mts_audit_verify: entry 8 (update on clients row 4) names key id 9, which the keystore does not hold

-- 7. a deleted entry is detected and located
DELETE FROM mts_audit WHERE seq = 7;
SELECT mts_audit_verify();
DELETE FROM mts_audit;
INSERT INTO mts_audit SELECT * FROM orig;
-- expect error: mts_audit_verify: entry 7 is missing (the next entry is 8): entries were deleted

-- 8. two entries swapped are detected at the first of them
UPDATE mts_audit SET seq = -6 WHERE seq = 6;
UPDATE mts_audit SET seq = 6 WHERE seq = 9;
UPDATE mts_audit SET seq = 9 WHERE seq = -6;
SELECT mts_audit_verify();
DELETE FROM mts_audit;
INSERT INTO mts_audit SELECT * FROM orig;
-- expect error: mts_audit_verify: entry 6 (delete on clients row 5): MAC does not verify: the entry was edited, swapped or forged

-- 9. a forged entry inserted in the middle (later entries renumbered) is detected
UPDATE mts_audit SET seq = seq + 100 WHERE seq >= 10;
UPDATE mts_audit SET seq = seq - 99 WHERE seq >= 110;
INSERT INTO mts_audit SELECT 10, at, actor, 'delete', 'clients', 1, NULL, new_digest, NULL, NULL, key_id, mac FROM orig WHERE seq = 9;
SELECT mts_audit_verify();
DELETE FROM mts_audit;
INSERT INTO mts_audit SELECT * FROM orig;
-- expect error: mts_audit_verify: entry 10 (delete on clients row 1): MAC does not verify

-- 10. a forged entry appended at the end is detected
INSERT INTO mts_audit SELECT 15, at, actor, 'login', 'intruder', NULL, NULL, NULL, NULL, 'forged', key_id, mac FROM orig WHERE seq = 14;
SELECT mts_audit_verify();
DELETE FROM mts_audit;
INSERT INTO mts_audit SELECT * FROM orig;
-- expect error: mts_audit_verify: entry 15 (login intruder): MAC does not verify

-- 11. a truncated tail passes on its own but is caught against the expected head
DELETE FROM mts_audit WHERE seq > 11;
.read guards.sql
SELECT 'chain alone: ' || mts_audit_verify();
SELECT mts_audit_verify((SELECT h FROM head));
.read unguard.sql
DELETE FROM mts_audit;
INSERT INTO mts_audit SELECT * FROM orig;
-- expect: chain alone: ok
-- expect error: mts_audit_verify: the log ends at entry 11 but the expected head is entry 14: entries were cut off the tail

-- 12. a tail cut inside the row changes is caught even without the head
DELETE FROM mts_audit WHERE seq > 10;
SELECT mts_audit_verify();
DELETE FROM mts_audit;
INSERT INTO mts_audit SELECT * FROM orig;
-- expect error: mts_audit_verify: row 3 of clients does not match its last audit entry: it was changed without one

-- 13. a log emptied entirely is caught
DELETE FROM mts_audit;
SELECT mts_audit_verify();
DELETE FROM mts_audit;
INSERT INTO mts_audit SELECT * FROM orig;
-- expect error: mts_audit_verify: clients carries audit triggers but the log holds no 'enable' for it: entries were removed

-- 14. the update trigger dropped, a row changed, the trigger re-created: caught
INSERT INTO trig SELECT name, sql FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = 'clients';
INSERT INTO sink SELECT writefile('recreate-update.sql', sql || ';') FROM trig WHERE name = 'mts_audit_update_clients';
DROP TRIGGER mts_audit_update_clients;
UPDATE clients SET status = 'secretly changed' WHERE id = 1;
.read recreate-update.sql
SELECT count(*) FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = 'clients';
SELECT mts_audit_verify();
-- expect: 3
-- expect error: mts_audit_verify: row 1 of clients does not match its last audit entry: it was changed without one

-- 15. a row inserted while the triggers were dropped is caught
DROP TRIGGER mts_audit_update_clients;
UPDATE clients SET status = 'waiting' WHERE id = 1;
DROP TRIGGER mts_audit_insert_clients;
INSERT INTO clients VALUES (42, NULL, 'ghost');
INSERT INTO sink SELECT writefile('recreate.sql', group_concat(sql, ';' || char(10)) || ';') FROM trig WHERE name <> 'mts_audit_delete_clients';
.read recreate.sql
SELECT mts_audit_verify();
-- expect error: mts_audit_verify: row 42 of clients has no audit entry: it was written while the audit triggers were off

-- 16. a row deleted while the triggers were dropped is caught
DROP TRIGGER mts_audit_delete_clients;
DELETE FROM clients WHERE id IN (42, 2);
INSERT INTO sink SELECT writefile('recreate-delete.sql', sql || ';') FROM trig WHERE name = 'mts_audit_delete_clients';
.read recreate-delete.sql
SELECT mts_audit_verify();
-- expect error: mts_audit_verify: row 2 of clients was deleted without an audit entry

-- 17. a trigger replaced by one that records no digest is caught
DROP TRIGGER mts_audit_delete_clients;
INSERT INTO clients SELECT id, name, status FROM (SELECT 2 AS id, NULL AS name, NULL AS status) WHERE 0;
CREATE TRIGGER mts_audit_delete_clients AFTER DELETE ON clients BEGIN SELECT 1; END;
SELECT mts_audit_verify();
-- expect error: mts_audit_verify: the delete trigger of audited table clients is altered

-- 18. with the log, the triggers and the guards restored, everything verifies again
DROP TRIGGER mts_audit_delete_clients;
.read recreate-delete.sql
.read guards.sql
INSERT INTO clients VALUES (2, NULL, 'closed');
SELECT mts_audit_verify(), mts_audit_verify((SELECT h FROM head));
SELECT action, row_id FROM mts_audit ORDER BY seq DESC LIMIT 1;
-- expect: ok|ok
-- expect: insert|2
