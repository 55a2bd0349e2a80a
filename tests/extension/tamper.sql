-- A damaged keystore never opens, never reads as a wrong passphrase, and
-- never touches the database: every single byte changed, every truncation,
-- a newer version.  (Generated positions: a fresh keystore is 264 bytes.)
.open practice.db
.load @EXT@
CREATE TABLE notes (id INTEGER PRIMARY KEY, body BLOB);
CREATE TEMP TABLE sink (x);
CREATE TEMP TABLE ks (k BLOB);
CREATE TEMP TABLE snap (h TEXT);

-- 1. a fresh keystore is 264 bytes and the database holds one encrypted note
SELECT mts_keystore_create('k.mtskey', 'test'), mts_unlock('k.mtskey');
INSERT INTO notes VALUES (1, mts_encrypt('a private note', 'notes.body:1'));
SELECT mts_lock();
INSERT INTO ks SELECT readfile('k.mtskey');
INSERT INTO snap SELECT hex(sha3(readfile('practice.db')));
SELECT length(k) FROM ks;
-- expect: 1|1
-- expect: 1
-- expect: 264

-- 2. changing any one of the 264 bytes makes the keystore 'damaged', never 'wrong passphrase'
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 0) || CASE WHEN substr(k, 1, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 2)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 1) || CASE WHEN substr(k, 2, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 3)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 2) || CASE WHEN substr(k, 3, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 4)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 3) || CASE WHEN substr(k, 4, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 5)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 4) || CASE WHEN substr(k, 5, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 6)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 5) || CASE WHEN substr(k, 6, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 7)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 6) || CASE WHEN substr(k, 7, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 8)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 7) || CASE WHEN substr(k, 8, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 9)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 8) || CASE WHEN substr(k, 9, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 10)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 9) || CASE WHEN substr(k, 10, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 11)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 10) || CASE WHEN substr(k, 11, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 12)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 11) || CASE WHEN substr(k, 12, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 13)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 12) || CASE WHEN substr(k, 13, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 14)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 13) || CASE WHEN substr(k, 14, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 15)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 14) || CASE WHEN substr(k, 15, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 16)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 15) || CASE WHEN substr(k, 16, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 17)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 16) || CASE WHEN substr(k, 17, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 18)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 17) || CASE WHEN substr(k, 18, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 19)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 18) || CASE WHEN substr(k, 19, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 20)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 19) || CASE WHEN substr(k, 20, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 21)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 20) || CASE WHEN substr(k, 21, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 22)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 21) || CASE WHEN substr(k, 22, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 23)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 22) || CASE WHEN substr(k, 23, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 24)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 23) || CASE WHEN substr(k, 24, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 25)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 24) || CASE WHEN substr(k, 25, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 26)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 25) || CASE WHEN substr(k, 26, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 27)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 26) || CASE WHEN substr(k, 27, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 28)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 27) || CASE WHEN substr(k, 28, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 29)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 28) || CASE WHEN substr(k, 29, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 30)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 29) || CASE WHEN substr(k, 30, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 31)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 30) || CASE WHEN substr(k, 31, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 32)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 31) || CASE WHEN substr(k, 32, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 33)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 32) || CASE WHEN substr(k, 33, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 34)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 33) || CASE WHEN substr(k, 34, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 35)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 34) || CASE WHEN substr(k, 35, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 36)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 35) || CASE WHEN substr(k, 36, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 37)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 36) || CASE WHEN substr(k, 37, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 38)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 37) || CASE WHEN substr(k, 38, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 39)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 38) || CASE WHEN substr(k, 39, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 40)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 39) || CASE WHEN substr(k, 40, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 41)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 40) || CASE WHEN substr(k, 41, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 42)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 41) || CASE WHEN substr(k, 42, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 43)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 42) || CASE WHEN substr(k, 43, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 44)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 43) || CASE WHEN substr(k, 44, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 45)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 44) || CASE WHEN substr(k, 45, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 46)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 45) || CASE WHEN substr(k, 46, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 47)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 46) || CASE WHEN substr(k, 47, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 48)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 47) || CASE WHEN substr(k, 48, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 49)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 48) || CASE WHEN substr(k, 49, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 50)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 49) || CASE WHEN substr(k, 50, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 51)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 50) || CASE WHEN substr(k, 51, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 52)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 51) || CASE WHEN substr(k, 52, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 53)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 52) || CASE WHEN substr(k, 53, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 54)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 53) || CASE WHEN substr(k, 54, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 55)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 54) || CASE WHEN substr(k, 55, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 56)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 55) || CASE WHEN substr(k, 56, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 57)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 56) || CASE WHEN substr(k, 57, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 58)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 57) || CASE WHEN substr(k, 58, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 59)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 58) || CASE WHEN substr(k, 59, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 60)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 59) || CASE WHEN substr(k, 60, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 61)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 60) || CASE WHEN substr(k, 61, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 62)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 61) || CASE WHEN substr(k, 62, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 63)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 62) || CASE WHEN substr(k, 63, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 64)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 63) || CASE WHEN substr(k, 64, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 65)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 64) || CASE WHEN substr(k, 65, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 66)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 65) || CASE WHEN substr(k, 66, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 67)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 66) || CASE WHEN substr(k, 67, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 68)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 67) || CASE WHEN substr(k, 68, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 69)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 68) || CASE WHEN substr(k, 69, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 70)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 69) || CASE WHEN substr(k, 70, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 71)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 70) || CASE WHEN substr(k, 71, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 72)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 71) || CASE WHEN substr(k, 72, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 73)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 72) || CASE WHEN substr(k, 73, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 74)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 73) || CASE WHEN substr(k, 74, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 75)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 74) || CASE WHEN substr(k, 75, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 76)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 75) || CASE WHEN substr(k, 76, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 77)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 76) || CASE WHEN substr(k, 77, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 78)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 77) || CASE WHEN substr(k, 78, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 79)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 78) || CASE WHEN substr(k, 79, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 80)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 79) || CASE WHEN substr(k, 80, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 81)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 80) || CASE WHEN substr(k, 81, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 82)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 81) || CASE WHEN substr(k, 82, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 83)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 82) || CASE WHEN substr(k, 83, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 84)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 83) || CASE WHEN substr(k, 84, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 85)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 84) || CASE WHEN substr(k, 85, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 86)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 85) || CASE WHEN substr(k, 86, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 87)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 86) || CASE WHEN substr(k, 87, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 88)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 87) || CASE WHEN substr(k, 88, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 89)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 88) || CASE WHEN substr(k, 89, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 90)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 89) || CASE WHEN substr(k, 90, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 91)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 90) || CASE WHEN substr(k, 91, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 92)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 91) || CASE WHEN substr(k, 92, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 93)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 92) || CASE WHEN substr(k, 93, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 94)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 93) || CASE WHEN substr(k, 94, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 95)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 94) || CASE WHEN substr(k, 95, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 96)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 95) || CASE WHEN substr(k, 96, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 97)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 96) || CASE WHEN substr(k, 97, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 98)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 97) || CASE WHEN substr(k, 98, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 99)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 98) || CASE WHEN substr(k, 99, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 100)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 99) || CASE WHEN substr(k, 100, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 101)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 100) || CASE WHEN substr(k, 101, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 102)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 101) || CASE WHEN substr(k, 102, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 103)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 102) || CASE WHEN substr(k, 103, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 104)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 103) || CASE WHEN substr(k, 104, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 105)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 104) || CASE WHEN substr(k, 105, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 106)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 105) || CASE WHEN substr(k, 106, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 107)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 106) || CASE WHEN substr(k, 107, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 108)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 107) || CASE WHEN substr(k, 108, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 109)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 108) || CASE WHEN substr(k, 109, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 110)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 109) || CASE WHEN substr(k, 110, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 111)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 110) || CASE WHEN substr(k, 111, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 112)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 111) || CASE WHEN substr(k, 112, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 113)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 112) || CASE WHEN substr(k, 113, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 114)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 113) || CASE WHEN substr(k, 114, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 115)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 114) || CASE WHEN substr(k, 115, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 116)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 115) || CASE WHEN substr(k, 116, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 117)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 116) || CASE WHEN substr(k, 117, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 118)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 117) || CASE WHEN substr(k, 118, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 119)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 118) || CASE WHEN substr(k, 119, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 120)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 119) || CASE WHEN substr(k, 120, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 121)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 120) || CASE WHEN substr(k, 121, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 122)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 121) || CASE WHEN substr(k, 122, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 123)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 122) || CASE WHEN substr(k, 123, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 124)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 123) || CASE WHEN substr(k, 124, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 125)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 124) || CASE WHEN substr(k, 125, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 126)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 125) || CASE WHEN substr(k, 126, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 127)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 126) || CASE WHEN substr(k, 127, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 128)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 127) || CASE WHEN substr(k, 128, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 129)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 128) || CASE WHEN substr(k, 129, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 130)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 129) || CASE WHEN substr(k, 130, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 131)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 130) || CASE WHEN substr(k, 131, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 132)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 131) || CASE WHEN substr(k, 132, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 133)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 132) || CASE WHEN substr(k, 133, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 134)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 133) || CASE WHEN substr(k, 134, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 135)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 134) || CASE WHEN substr(k, 135, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 136)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 135) || CASE WHEN substr(k, 136, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 137)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 136) || CASE WHEN substr(k, 137, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 138)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 137) || CASE WHEN substr(k, 138, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 139)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 138) || CASE WHEN substr(k, 139, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 140)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 139) || CASE WHEN substr(k, 140, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 141)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 140) || CASE WHEN substr(k, 141, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 142)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 141) || CASE WHEN substr(k, 142, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 143)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 142) || CASE WHEN substr(k, 143, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 144)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 143) || CASE WHEN substr(k, 144, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 145)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 144) || CASE WHEN substr(k, 145, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 146)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 145) || CASE WHEN substr(k, 146, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 147)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 146) || CASE WHEN substr(k, 147, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 148)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 147) || CASE WHEN substr(k, 148, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 149)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 148) || CASE WHEN substr(k, 149, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 150)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 149) || CASE WHEN substr(k, 150, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 151)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 150) || CASE WHEN substr(k, 151, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 152)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 151) || CASE WHEN substr(k, 152, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 153)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 152) || CASE WHEN substr(k, 153, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 154)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 153) || CASE WHEN substr(k, 154, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 155)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 154) || CASE WHEN substr(k, 155, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 156)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 155) || CASE WHEN substr(k, 156, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 157)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 156) || CASE WHEN substr(k, 157, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 158)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 157) || CASE WHEN substr(k, 158, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 159)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 158) || CASE WHEN substr(k, 159, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 160)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 159) || CASE WHEN substr(k, 160, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 161)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 160) || CASE WHEN substr(k, 161, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 162)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 161) || CASE WHEN substr(k, 162, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 163)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 162) || CASE WHEN substr(k, 163, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 164)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 163) || CASE WHEN substr(k, 164, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 165)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 164) || CASE WHEN substr(k, 165, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 166)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 165) || CASE WHEN substr(k, 166, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 167)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 166) || CASE WHEN substr(k, 167, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 168)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 167) || CASE WHEN substr(k, 168, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 169)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 168) || CASE WHEN substr(k, 169, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 170)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 169) || CASE WHEN substr(k, 170, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 171)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 170) || CASE WHEN substr(k, 171, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 172)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 171) || CASE WHEN substr(k, 172, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 173)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 172) || CASE WHEN substr(k, 173, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 174)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 173) || CASE WHEN substr(k, 174, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 175)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 174) || CASE WHEN substr(k, 175, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 176)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 175) || CASE WHEN substr(k, 176, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 177)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 176) || CASE WHEN substr(k, 177, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 178)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 177) || CASE WHEN substr(k, 178, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 179)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 178) || CASE WHEN substr(k, 179, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 180)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 179) || CASE WHEN substr(k, 180, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 181)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 180) || CASE WHEN substr(k, 181, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 182)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 181) || CASE WHEN substr(k, 182, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 183)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 182) || CASE WHEN substr(k, 183, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 184)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 183) || CASE WHEN substr(k, 184, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 185)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 184) || CASE WHEN substr(k, 185, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 186)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 185) || CASE WHEN substr(k, 186, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 187)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 186) || CASE WHEN substr(k, 187, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 188)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 187) || CASE WHEN substr(k, 188, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 189)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 188) || CASE WHEN substr(k, 189, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 190)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 189) || CASE WHEN substr(k, 190, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 191)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 190) || CASE WHEN substr(k, 191, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 192)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 191) || CASE WHEN substr(k, 192, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 193)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 192) || CASE WHEN substr(k, 193, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 194)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 193) || CASE WHEN substr(k, 194, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 195)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 194) || CASE WHEN substr(k, 195, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 196)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 195) || CASE WHEN substr(k, 196, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 197)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 196) || CASE WHEN substr(k, 197, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 198)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 197) || CASE WHEN substr(k, 198, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 199)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 198) || CASE WHEN substr(k, 199, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 200)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 199) || CASE WHEN substr(k, 200, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 201)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 200) || CASE WHEN substr(k, 201, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 202)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 201) || CASE WHEN substr(k, 202, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 203)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 202) || CASE WHEN substr(k, 203, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 204)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 203) || CASE WHEN substr(k, 204, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 205)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 204) || CASE WHEN substr(k, 205, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 206)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 205) || CASE WHEN substr(k, 206, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 207)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 206) || CASE WHEN substr(k, 207, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 208)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 207) || CASE WHEN substr(k, 208, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 209)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 208) || CASE WHEN substr(k, 209, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 210)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 209) || CASE WHEN substr(k, 210, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 211)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 210) || CASE WHEN substr(k, 211, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 212)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 211) || CASE WHEN substr(k, 212, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 213)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 212) || CASE WHEN substr(k, 213, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 214)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 213) || CASE WHEN substr(k, 214, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 215)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 214) || CASE WHEN substr(k, 215, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 216)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 215) || CASE WHEN substr(k, 216, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 217)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 216) || CASE WHEN substr(k, 217, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 218)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 217) || CASE WHEN substr(k, 218, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 219)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 218) || CASE WHEN substr(k, 219, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 220)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 219) || CASE WHEN substr(k, 220, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 221)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 220) || CASE WHEN substr(k, 221, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 222)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 221) || CASE WHEN substr(k, 222, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 223)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 222) || CASE WHEN substr(k, 223, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 224)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 223) || CASE WHEN substr(k, 224, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 225)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 224) || CASE WHEN substr(k, 225, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 226)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 225) || CASE WHEN substr(k, 226, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 227)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 226) || CASE WHEN substr(k, 227, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 228)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 227) || CASE WHEN substr(k, 228, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 229)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 228) || CASE WHEN substr(k, 229, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 230)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 229) || CASE WHEN substr(k, 230, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 231)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 230) || CASE WHEN substr(k, 231, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 232)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 231) || CASE WHEN substr(k, 232, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 233)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 232) || CASE WHEN substr(k, 233, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 234)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 233) || CASE WHEN substr(k, 234, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 235)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 234) || CASE WHEN substr(k, 235, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 236)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 235) || CASE WHEN substr(k, 236, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 237)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 236) || CASE WHEN substr(k, 237, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 238)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 237) || CASE WHEN substr(k, 238, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 239)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 238) || CASE WHEN substr(k, 239, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 240)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 239) || CASE WHEN substr(k, 240, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 241)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 240) || CASE WHEN substr(k, 241, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 242)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 241) || CASE WHEN substr(k, 242, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 243)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 242) || CASE WHEN substr(k, 243, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 244)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 243) || CASE WHEN substr(k, 244, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 245)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 244) || CASE WHEN substr(k, 245, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 246)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 245) || CASE WHEN substr(k, 246, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 247)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 246) || CASE WHEN substr(k, 247, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 248)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 247) || CASE WHEN substr(k, 248, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 249)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 248) || CASE WHEN substr(k, 249, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 250)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 249) || CASE WHEN substr(k, 250, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 251)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 250) || CASE WHEN substr(k, 251, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 252)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 251) || CASE WHEN substr(k, 252, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 253)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 252) || CASE WHEN substr(k, 253, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 254)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 253) || CASE WHEN substr(k, 254, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 255)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 254) || CASE WHEN substr(k, 255, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 256)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 255) || CASE WHEN substr(k, 256, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 257)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 256) || CASE WHEN substr(k, 257, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 258)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 257) || CASE WHEN substr(k, 258, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 259)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 258) || CASE WHEN substr(k, 259, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 260)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 259) || CASE WHEN substr(k, 260, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 261)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 260) || CASE WHEN substr(k, 261, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 262)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 261) || CASE WHEN substr(k, 262, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 263)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 262) || CASE WHEN substr(k, 263, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 264)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 263) || CASE WHEN substr(k, 264, 1) = x'00' THEN x'01' ELSE x'00' END || substr(k, 265)) FROM ks;
SELECT mts_unlock('bad.mtskey');
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged

-- 3. every truncation, from empty to one byte short, is 'damaged'
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 0)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 1)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 2)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 3)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 4)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 5)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 6)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 7)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 8)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 9)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 10)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 11)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 12)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 13)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 14)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 15)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 16)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 17)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 18)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 19)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 20)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 21)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 22)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 23)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 24)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 25)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 26)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 27)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 28)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 29)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 30)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 31)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 32)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 33)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 34)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 35)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 36)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 37)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 38)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 39)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 40)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 41)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 42)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 43)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 44)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 45)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 46)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 47)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 48)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 49)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 50)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 51)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 52)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 53)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 54)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 55)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 56)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 57)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 58)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 59)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 60)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 61)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 62)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 63)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 64)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 65)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 66)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 67)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 68)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 69)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 70)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 71)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 72)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 73)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 74)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 75)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 76)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 77)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 78)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 79)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 80)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 81)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 82)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 83)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 84)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 85)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 86)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 87)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 88)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 89)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 90)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 91)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 92)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 93)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 94)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 95)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 96)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 97)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 98)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 99)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 100)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 101)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 102)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 103)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 104)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 105)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 106)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 107)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 108)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 109)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 110)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 111)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 112)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 113)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 114)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 115)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 116)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 117)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 118)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 119)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 120)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 121)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 122)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 123)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 124)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 125)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 126)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 127)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 128)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 129)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 130)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 131)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 132)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 133)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 134)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 135)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 136)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 137)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 138)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 139)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 140)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 141)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 142)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 143)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 144)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 145)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 146)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 147)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 148)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 149)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 150)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 151)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 152)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 153)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 154)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 155)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 156)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 157)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 158)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 159)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 160)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 161)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 162)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 163)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 164)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 165)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 166)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 167)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 168)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 169)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 170)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 171)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 172)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 173)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 174)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 175)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 176)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 177)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 178)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 179)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 180)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 181)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 182)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 183)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 184)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 185)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 186)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 187)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 188)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 189)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 190)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 191)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 192)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 193)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 194)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 195)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 196)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 197)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 198)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 199)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 200)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 201)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 202)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 203)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 204)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 205)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 206)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 207)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 208)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 209)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 210)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 211)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 212)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 213)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 214)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 215)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 216)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 217)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 218)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 219)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 220)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 221)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 222)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 223)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 224)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 225)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 226)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 227)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 228)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 229)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 230)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 231)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 232)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 233)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 234)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 235)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 236)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 237)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 238)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 239)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 240)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 241)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 242)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 243)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 244)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 245)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 246)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 247)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 248)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 249)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 250)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 251)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 252)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 253)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 254)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 255)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 256)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 257)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 258)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 259)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 260)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 261)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 262)) FROM ks;
SELECT mts_unlock('bad.mtskey');
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 263)) FROM ks;
SELECT mts_unlock('bad.mtskey');
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged
-- expect error: mts_unlock: keystore is damaged

-- 4. trailing bytes are 'damaged'
INSERT INTO sink SELECT writefile('bad.mtskey', k || x'00') FROM ks;
SELECT mts_unlock('bad.mtskey');
-- expect error: mts_unlock: keystore is damaged: file has a wrong length

-- 5. a keystore of a newer version is refused by name
INSERT INTO sink SELECT writefile('bad.mtskey', substr(k, 1, 8) || x'03' || substr(k, 10)) FROM ks;
SELECT mts_unlock('bad.mtskey');
-- expect error: mts_unlock: keystore version 3 is newer than this build

-- 6. a file that is not a keystore is 'damaged'
INSERT INTO sink SELECT writefile('bad.mtskey', readfile('practice.db'));
SELECT mts_unlock('bad.mtskey');
-- expect error: mts_unlock: keystore is damaged: not an MTS keystore file

-- 7. none of this touched the database file, and the note still decrypts
SELECT hex(sha3(readfile('practice.db'))) = h FROM snap;
PRAGMA integrity_check;
SELECT mts_unlock('k.mtskey');
SELECT mts_decrypt(body, 'notes.body:' || id) FROM notes;
-- expect: 1
-- expect: ok
-- expect: 1
-- expect: a private note

-- 8. the original keystore was never modified by the failed attempts
SELECT readfile('k.mtskey') = k FROM ks;
-- expect: 1
