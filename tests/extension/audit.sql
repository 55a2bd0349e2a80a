-- Audit triggers in ordinary use: what an entry records, events, actors,
-- thousands of mixed writes across key rotations, and bad input.
.open practice.db
.load @EXT@
CREATE TABLE clients (id INTEGER PRIMARY KEY, name BLOB, status TEXT, fee REAL);
CREATE TEMP TABLE sink (x);

-- 1. the actor defaults to the OS user until set
SELECT mts_actor() LIKE 'os:%';
-- expect: 1

-- 2. mts_actor(name) sets it for this connection
SELECT mts_keystore_create('k.mtskey', 'test'), mts_unlock('k.mtskey'), mts_actor('dr.smith');
-- expect: 1|1|dr.smith

-- 3. enabling installs three triggers and records the table's shape
SELECT mts_audit_enable('clients');
SELECT count(*) FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = 'clients';
SELECT seq, actor, action, target, changed_columns, detail FROM mts_audit;
-- expect: 1
-- expect: 3
-- expect: 1|dr.smith|enable|clients|id,name,status,fee|id

-- 4. an insert, an update and a delete are each recorded with row id, columns and digests
INSERT INTO clients VALUES (1, mts_encrypt('Jane Doe', 'clients.name:1'), 'active', 60.0);
INSERT INTO clients VALUES (2, mts_encrypt('Rhys Evans', 'clients.name:2'), 'active', 55.0);
UPDATE clients SET status = 'closed', fee = 0 WHERE id = 1;
DELETE FROM clients WHERE id = 2;
SELECT seq, action, row_id, changed_columns, length(old_digest), length(new_digest), length(mac) FROM mts_audit WHERE seq > 1;
-- expect: 2|insert|1|id,name,status,fee||16|32
-- expect: 3|insert|2|id,name,status,fee||16|32
-- expect: 4|update|1|status,fee|16|16|32
-- expect: 5|delete|2||16||32

-- 5. entries carry UTC times in order and the key id that MACed them
SELECT count(*) FROM mts_audit WHERE at GLOB '20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9].[0-9][0-9][0-9]Z' AND key_id = 1;
SELECT count(*) FROM mts_audit a JOIN mts_audit b ON b.seq = a.seq + 1 WHERE b.at < a.at;
-- expect: 5
-- expect: 0

-- 6. an update that changes nothing records no changed columns
UPDATE clients SET status = status WHERE id = 1;
SELECT action, changed_columns IS NULL FROM mts_audit ORDER BY seq DESC LIMIT 1;
-- expect: update|1

-- 7. the log never holds the plaintext of a field, only digests
SELECT count(*) FROM mts_audit WHERE instr(CAST(old_digest AS TEXT), 'Jane') OR instr(CAST(new_digest AS TEXT), 'Jane') OR instr(coalesce(detail, ''), 'Jane');
-- expect: 0

-- 8. the intact log verifies
SELECT mts_audit_verify();
-- expect: ok

-- 9. the head names the last entry and verifies as the expected head
SELECT mts_audit_head() GLOB '6:' || replace(hex(zeroblob(32)), '0', '[0-9a-f]');
SELECT mts_audit_verify(mts_audit_head());
-- expect: 1
-- expect: ok

-- 10. events that are not row changes go into the same chain
SELECT mts_audit_event('login', 'dr.smith', 'password and TOTP');
SELECT mts_audit_event('export', 'client:1', 'subject access request');
SELECT action, target, detail, row_id IS NULL FROM mts_audit WHERE seq > 6;
SELECT mts_audit_verify();
-- expect: 7
-- expect: 8
-- expect: login|dr.smith|password and TOTP|1
-- expect: export|client:1|subject access request|1
-- expect: ok

-- 11. an event cannot pose as a row change
SELECT mts_audit_event('delete', 'clients', 'x');
-- expect error: mts_audit_event: 'delete' is reserved for row changes

-- 12. a write to an audited table while locked fails instead of going unaudited
SELECT mts_lock();
INSERT INTO clients VALUES (3, NULL, 'waiting', 40.0);
UPDATE clients SET status = 'reopened' WHERE id = 1;
DELETE FROM clients WHERE id = 1;
SELECT count(*), max(status) FROM clients;
-- expect: 1
-- expect error: mts_audit: clients is audited and the keystore is locked; unlock it before writing
-- expect error: mts_audit: clients is audited and the keystore is locked
-- expect error: mts_audit: clients is audited and the keystore is locked
-- expect: 1|closed

-- 13. thousands of mixed writes by several actors across two key rotations keep verifying
SELECT mts_unlock('k.mtskey') > 0, mts_actor('dr.jones') IS NOT NULL;
INSERT INTO clients SELECT value, mts_encrypt('Client ' || value, 'clients.name:' || value), 'active', value % 90 FROM generate_series(10, 2009);
SELECT mts_key_rotate();
SELECT mts_actor('admin') IS NOT NULL;
UPDATE clients SET status = 'closed' WHERE id % 3 = 0;
DELETE FROM clients WHERE id % 7 = 0;
SELECT mts_key_rotate();
SELECT mts_actor('dr.smith') IS NOT NULL;
UPDATE clients SET name = mts_reencrypt(name, 'clients.name:' || id) WHERE id % 2 = 0;
INSERT INTO clients SELECT value, NULL, 'waiting', NULL FROM generate_series(5000, 5999);
DELETE FROM clients WHERE id BETWEEN 5500 AND 5999;
SELECT mts_audit_verify();
SELECT count(*) > 4000, count(DISTINCT actor), count(DISTINCT key_id) FROM mts_audit;
-- expect: 1|1
-- expect: 2
-- expect: 1
-- expect: 3
-- expect: 1
-- expect: ok
-- expect: 1|3|3

-- 14. disabling removes the triggers and is itself audited
SELECT mts_audit_disable('clients');
SELECT count(*) FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = 'clients';
SELECT action, target FROM mts_audit ORDER BY seq DESC LIMIT 1;
SELECT mts_audit_verify();
-- expect: 1
-- expect: 0
-- expect: disable|clients
-- expect: ok

-- 15. enabling again records a baseline of every row
SELECT mts_audit_enable('clients');
SELECT count(*) = (SELECT count(*) FROM clients) FROM mts_audit WHERE action = 'baseline' AND seq > (SELECT max(seq) FROM mts_audit WHERE action = 'enable' );
SELECT mts_audit_verify();
-- expect: 1
-- expect: 1
-- expect: ok

-- 16. enabling twice is refused
SELECT mts_audit_enable('clients');
-- expect error: mts_audit_enable: audit is already enabled on clients

-- 17. a missing table is refused
SELECT mts_audit_enable('nosuch');
-- expect error: mts_audit_enable: no such table: nosuch

-- 18. a view is refused
CREATE VIEW active AS SELECT * FROM clients WHERE status = 'active';
SELECT mts_audit_enable('active');
-- expect error: mts_audit_enable: active is a view; audit a table instead

-- 19. a REAL, BLOB, untyped or composite primary key is refused
CREATE TABLE r (k REAL PRIMARY KEY, v);
CREATE TABLE b (k BLOB PRIMARY KEY, v);
CREATE TABLE u (k PRIMARY KEY, v);
CREATE TABLE c (a INTEGER, b TEXT, v, PRIMARY KEY (a, b));
SELECT mts_audit_enable('r');
SELECT mts_audit_enable('b');
SELECT mts_audit_enable('u');
SELECT mts_audit_enable('c');
-- expect error: mts_audit_enable: the primary key k of r is REAL; audit needs an INTEGER or TEXT key
-- expect error: mts_audit_enable: the primary key k of b is BLOB
-- expect error: mts_audit_enable: the primary key k of u is untyped
-- expect error: mts_audit_enable: c has a primary key of 2 columns

-- 20. a TEXT key (WITHOUT ROWID) and a table with no declared key (rowid) both work
CREATE TABLE notes (uuid TEXT PRIMARY KEY, body BLOB) WITHOUT ROWID;
CREATE TABLE plain (v);
SELECT mts_audit_enable('notes'), mts_audit_enable('plain');
INSERT INTO notes VALUES ('0192a0b0-0000-7000-8000-000000000001', mts_encrypt('n', 'notes.body:1'));
UPDATE notes SET uuid = '0192a0b0-0000-7000-8000-000000000002';
INSERT INTO plain VALUES ('a'), ('b');
DELETE FROM plain WHERE v = 'a';
SELECT mts_audit_verify();
SELECT action, row_id, detail FROM mts_audit WHERE target = 'notes' AND action = 'update';
-- expect: 1|1
-- expect: ok
-- expect: update|0192a0b0-0000-7000-8000-000000000002|0192a0b0-0000-7000-8000-000000000001

-- 21. the audit log itself cannot be audited
SELECT mts_audit_enable('mts_audit');
-- expect error: mts_audit_enable: mts_audit cannot be audited

-- 22. the log is append-only through SQL
UPDATE mts_audit SET actor = 'nobody' WHERE seq = 2;
DELETE FROM mts_audit WHERE seq = 2;
-- expect error: mts_audit is append-only: entries cannot be changed
-- expect error: mts_audit is append-only: entries cannot be deleted

-- 23. enabling, disabling and verifying need the keystore
SELECT mts_lock();
SELECT mts_audit_enable('r');
SELECT mts_audit_verify();
SELECT mts_audit_event('login', 'x', 'y');
-- expect: 1
-- expect error: mts_audit_enable: the keystore is locked
-- expect error: mts_audit_verify: the keystore is locked
-- expect error: mts_audit_event: the keystore is locked

-- 24. NULL table names give NULL; a malformed expected head is refused
SELECT mts_unlock('k.mtskey') > 0, mts_audit_enable(NULL) IS NULL, mts_audit_disable(NULL) IS NULL;
SELECT mts_audit_verify('12:abc');
-- expect: 1|1|1
-- expect error: mts_audit_verify: the expected head must look like '<seq>:<64 hex digits>'

-- 25. the audit functions that manage the log are direct-only
CREATE TABLE t2 (v);
CREATE TRIGGER t2_forge AFTER INSERT ON t2 BEGIN SELECT mts_audit_event('login', 'x', 'forged'); END;
INSERT INTO t2 VALUES (1);
-- expect error: unsafe use of mts_audit_event()

-- 26. in a log of 10,001 entries, verified in batches by a second thread, the first of two bad entries is named
.open big.db
.load @EXT@
SELECT mts_unlock('k.mtskey') > 0;
CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
SELECT mts_audit_enable('t');
INSERT INTO t SELECT value, 'v' || value FROM generate_series(1, 10000);
DROP TRIGGER mts_audit_append_only_update;
UPDATE mts_audit SET actor = 'x' WHERE seq IN (9000, 9500);
SELECT mts_audit_verify();
UPDATE mts_audit SET actor = (SELECT actor FROM mts_audit WHERE seq = 2) WHERE seq IN (9000, 9500);
CREATE TRIGGER mts_audit_append_only_update BEFORE UPDATE ON mts_audit BEGIN SELECT RAISE(ABORT, 'mts_audit is append-only: entries cannot be changed'); END;
SELECT mts_audit_verify(), (SELECT count(*) FROM mts_audit);
-- expect: 1
-- expect: 1
-- expect error: mts_audit_verify: entry 9000 (insert on t row 8999): MAC does not verify
-- expect: ok|10001
