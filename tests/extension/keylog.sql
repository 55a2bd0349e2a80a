-- The key-access log beside the keystore: every key event is recorded, and
-- mts_keylog_verify finds an edited, deleted, reordered or forged entry.
.load @EXT@
-- keylog: one row per line of k.mtskey.log, with its sequence number and event.
CREATE TEMP VIEW keylog AS
WITH RECURSIVE lines(n, line, rest) AS (
  SELECT 0, NULL, CAST(readfile('k.mtskey.log') AS TEXT)
  UNION ALL
  SELECT n + 1, substr(rest, 1, instr(rest, char(10)) - 1), substr(rest, instr(rest, char(10)) + 1)
  FROM lines WHERE instr(rest, char(10)) > 0)
SELECT n, line, substr(r2, 1, instr(r2, char(9)) - 1) AS event FROM (
  SELECT n, line, substr(r1, instr(r1, char(9)) + 1) AS r2 FROM (
    SELECT n, line, substr(line, instr(line, char(9)) + 1) AS r1 FROM lines WHERE n > 0));
-- rewrite_log(n, line): rows to write back as the log, in order.
CREATE TEMP TABLE edit (n INTEGER PRIMARY KEY, line TEXT);
-- sink: swallows what writefile() returns.
CREATE TEMP TABLE sink (x);

-- 1. create, unlock, a failed unlock, rotate, lock and a passphrase change are all logged in order
SELECT mts_keystore_create('k.mtskey', 'test'), mts_unlock('k.mtskey');
.shell cp passphrase passphrase.good && printf 'wrong horse battery\n' > passphrase
SELECT mts_unlock('k.mtskey');
.shell cp passphrase.good passphrase
SELECT mts_key_rotate(), mts_lock();
SELECT mts_keystore_passwd('k.mtskey');
.shell cp new-passphrase passphrase
SELECT mts_unlock('k.mtskey');
SELECT group_concat(event, ',') FROM keylog;
-- expect: 1|1
-- expect error: mts_unlock: wrong passphrase
-- expect: 2|1
-- expect: 1
-- expect: 2
-- expect: create,unlock,unlock-failed,rotate,lock,passwd,unlock

-- 2. a failed unlock is logged even though it fails
SELECT count(*) FROM keylog WHERE event = 'unlock-failed';
-- expect: 1

-- 3. the intact log verifies, MACs included (this connection holds the keystore)
SELECT mts_keylog_verify('k.mtskey');
-- expect: ok

-- 4. no key, passphrase or plaintext appears in the log: each line has seven fields
SELECT count(*) FROM keylog WHERE length(line) - length(replace(line, char(9), '')) <> 6;
-- expect: 0

-- 5. an edited entry is detected and named
INSERT INTO sink SELECT writefile('log.bak', readfile('k.mtskey.log'));
DELETE FROM edit; INSERT INTO edit SELECT n, CASE WHEN n = 4 THEN replace(line, 'pid=', 'pid=1') ELSE line END FROM keylog;
INSERT INTO sink SELECT writefile('k.mtskey.log', group_concat(line, char(10)) || char(10)) FROM (SELECT line FROM edit ORDER BY n);
SELECT mts_keylog_verify('k.mtskey');
-- expect error: mts_keylog_verify: key-access log entry 4 does not match its hash

-- 6. an edited event name is detected
INSERT INTO sink SELECT writefile('k.mtskey.log', readfile('log.bak'));
DELETE FROM edit; INSERT INTO edit SELECT n, CASE WHEN n = 3 THEN replace(line, 'unlock-failed', 'unlock') ELSE line END FROM keylog;
INSERT INTO sink SELECT writefile('k.mtskey.log', group_concat(line, char(10)) || char(10)) FROM (SELECT line FROM edit ORDER BY n);
SELECT mts_keylog_verify('k.mtskey');
-- expect error: mts_keylog_verify: key-access log entry 3 does not match its hash

-- 7. a deleted entry is detected and located
INSERT INTO sink SELECT writefile('k.mtskey.log', readfile('log.bak'));
DELETE FROM edit; INSERT INTO edit SELECT n, line FROM keylog WHERE n <> 3;
INSERT INTO sink SELECT writefile('k.mtskey.log', group_concat(line, char(10)) || char(10)) FROM (SELECT line FROM edit ORDER BY n);
SELECT mts_keylog_verify('k.mtskey');
-- expect error: mts_keylog_verify: key-access log line 3 holds entry 4 where entry 3 belongs: an entry was deleted or moved

-- 8. two swapped entries are detected
INSERT INTO sink SELECT writefile('k.mtskey.log', readfile('log.bak'));
DELETE FROM edit; INSERT INTO edit SELECT CASE n WHEN 5 THEN 6 WHEN 6 THEN 5 ELSE n END, line FROM keylog;
INSERT INTO sink SELECT writefile('k.mtskey.log', group_concat(line, char(10)) || char(10)) FROM (SELECT line FROM edit ORDER BY n);
SELECT mts_keylog_verify('k.mtskey');
-- expect error: mts_keylog_verify: key-access log line 5 holds entry 6 where entry 5 belongs

-- 9. a forged entry appended by hand is detected
INSERT INTO sink SELECT writefile('k.mtskey.log', readfile('log.bak') || '8	2026-01-01T00:00:00Z	unlock	1	pid=1 uid=0	' || hex(zeroblob(32)) || '	-' || char(10));
SELECT mts_keylog_verify('k.mtskey');
-- expect error: mts_keylog_verify: key-access log entry 8 does not match its hash

-- 10. removing the log's first entries is detected
INSERT INTO sink SELECT writefile('k.mtskey.log', readfile('log.bak'));
DELETE FROM edit; INSERT INTO edit SELECT n, line FROM keylog WHERE n > 2;
INSERT INTO sink SELECT writefile('k.mtskey.log', group_concat(line, char(10)) || char(10)) FROM (SELECT line FROM edit ORDER BY n);
SELECT mts_keylog_verify('k.mtskey');
-- expect error: mts_keylog_verify: key-access log line 1 holds entry 3 where entry 1 belongs

-- 11. a line cut short is detected
INSERT INTO sink SELECT writefile('k.mtskey.log', substr(readfile('log.bak'), 1, length(readfile('log.bak')) - 10));
SELECT mts_keylog_verify('k.mtskey');
-- expect error: mts_keylog_verify: key-access log line 7 (entry 7) is cut short

-- 12. a deleted log is detected
.shell rm k.mtskey.log
SELECT mts_keylog_verify('k.mtskey');
-- expect error: mts_keylog_verify: cannot read key-access log k.mtskey.log

-- 13. a damaged log refuses further unlocks rather than continuing a broken chain
INSERT INTO sink SELECT writefile('k.mtskey.log', readfile('log.bak') || 'garbage without a newline');
SELECT mts_unlock('k.mtskey');
-- expect error: mts_unlock: key-access log k.mtskey.log ends in a damaged line

-- 14. restored, the log verifies again, and a verify without the key checks the chain only
INSERT INTO sink SELECT writefile('k.mtskey.log', readfile('log.bak'));
SELECT mts_keylog_verify('k.mtskey');
SELECT mts_lock();
SELECT mts_keylog_verify('k.mtskey');
-- expect: ok
-- expect: 1
-- expect: ok (hash chain only: unlock this keystore to check its MACs)

-- 15. unlocking the same keystore again logs one unlock, not a lock
SELECT mts_unlock('k.mtskey'), mts_unlock('k.mtskey');
SELECT group_concat(event, ',') FROM (SELECT event FROM keylog ORDER BY n DESC LIMIT 3);
-- expect: 2|2
-- expect: unlock,unlock,lock

-- 16. a rotation that cannot be logged does not happen
INSERT INTO sink SELECT writefile('log.bak', readfile('k.mtskey.log'));
INSERT INTO sink SELECT writefile('k.mtskey.log', readfile('log.bak') || 'damaged tail');
SELECT mts_key_rotate();
SELECT mts_key_ids();
INSERT INTO sink SELECT writefile('k.mtskey.log', readfile('log.bak'));
-- expect error: mts_key_rotate: key-access log k.mtskey.log ends in a damaged line
-- expect: [1,2]

-- 17. a passphrase change that cannot be logged does not happen
INSERT INTO sink SELECT writefile('k.mtskey.log', readfile('log.bak') || 'damaged tail');
SELECT mts_keystore_passwd('k.mtskey');
INSERT INTO sink SELECT writefile('k.mtskey.log', readfile('log.bak'));
SELECT mts_lock(), mts_unlock('k.mtskey');
-- expect error: mts_keystore_passwd: key-access log k.mtskey.log ends in a damaged line
-- expect: 1|2

-- 18. a damaged keystore's failed unlock is logged too
INSERT INTO sink SELECT writefile('k.mtskey.bak', readfile('k.mtskey'));
INSERT INTO sink SELECT writefile('k.mtskey', substr(readfile('k.mtskey.bak'), 1, 100));
SELECT mts_unlock('k.mtskey');
INSERT INTO sink SELECT writefile('k.mtskey', readfile('k.mtskey.bak'));
SELECT event, line LIKE '%damaged%' FROM keylog ORDER BY n DESC LIMIT 1;
SELECT mts_keylog_verify('k.mtskey');
-- expect error: mts_unlock: keystore is damaged: file is truncated
-- expect: unlock-failed|1
-- expect: ok
