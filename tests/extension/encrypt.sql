-- Field encryption through the stock sqlite3 shell: round trips, types, NULLs,
-- contexts and every refusal, each a clear error naming the function.
.load @EXT@

-- 1. creating a keystore returns its first key id
SELECT mts_keystore_create('k.mtskey', 'test');
-- expect: 1

-- 2. encrypt while locked is refused
SELECT mts_encrypt('Jane Doe', 'clients.display_name:1');
-- expect error: mts_encrypt: the keystore is locked

-- 3. decrypt while locked is refused
SELECT mts_decrypt(x'00', 'clients.display_name:1');
-- expect error: mts_decrypt: the keystore is locked

-- 4. unlock returns the primary key id
SELECT mts_unlock('k.mtskey');
-- expect: 1

-- 5. text round-trips as text
SELECT typeof(v), v FROM (SELECT mts_decrypt(mts_encrypt('Jane Doe', 'c:1'), 'c:1') AS v);
-- expect: text|Jane Doe

-- 6. blobs round-trip as blobs, byte for byte
SELECT typeof(v), hex(v) FROM (SELECT mts_decrypt(mts_encrypt(x'00ff10', 'c:1'), 'c:1') AS v);
-- expect: blob|00FF10

-- 7. integers and reals keep their type
SELECT typeof(a), a, typeof(b), b FROM (SELECT mts_decrypt(mts_encrypt(-9007199254740993, 'c'), 'c') AS a, mts_decrypt(mts_encrypt(2.5, 'c'), 'c') AS b);
-- expect: integer|-9007199254740993|real|2.5

-- 8. empty text and empty blob round-trip
SELECT typeof(a), length(a), typeof(b), length(b) FROM (SELECT mts_decrypt(mts_encrypt('', 'c'), 'c') AS a, mts_decrypt(mts_encrypt(x'', 'c'), 'c') AS b);
-- expect: text|0|blob|0

-- 9. NULL in gives NULL out
SELECT mts_encrypt(NULL, 'c') IS NULL, mts_decrypt(NULL, 'c') IS NULL, mts_reencrypt(NULL, 'c') IS NULL, mts_key_id(NULL) IS NULL, mts_blind_index(NULL, 'i') IS NULL;
-- expect: 1|1|1|1|1

-- 10. an envelope is a blob of 47 bytes plus the value
SELECT typeof(e), length(e) FROM (SELECT mts_encrypt('abc', 'c') AS e);
-- expect: blob|50

-- 11. the same plaintext encrypts differently each time (random nonce)
SELECT mts_encrypt('same', 'c') = mts_encrypt('same', 'c');
-- expect: 0

-- 12. unicode text survives
SELECT mts_decrypt(mts_encrypt('Zoë Ødegård — 東京', 'c'), 'c');
-- expect: Zoë Ødegård — 東京

-- 13. a 1 MiB value round-trips
SELECT length(v), v = zeroblob(1048576) FROM (SELECT mts_decrypt(mts_encrypt(zeroblob(1048576), 'c'), 'c') AS v);
-- expect: 1048576|1

-- 14. an envelope moved to another row fails to decrypt
SELECT mts_decrypt(mts_encrypt('Jane Doe', 'clients.display_name:1'), 'clients.display_name:2');
-- expect error: mts_decrypt: envelope does not authenticate

-- 15. an envelope moved to another column fails to decrypt
SELECT mts_decrypt(mts_encrypt('Jane Doe', 'clients.display_name:1'), 'clients.email:1');
-- expect error: mts_decrypt: envelope does not authenticate

-- 16. a truncated envelope is refused
SELECT mts_decrypt(substr(mts_encrypt('Jane Doe', 'c'), 1, 20), 'c');
-- expect error: mts_decrypt: envelope is truncated

-- 17. an empty envelope is refused
SELECT mts_decrypt(x'', 'c');
-- expect error: mts_decrypt: envelope is truncated

-- 18. an envelope one byte short of its tag is refused
SELECT mts_decrypt(substr(e, 1, length(e) - 1), 'c') FROM (SELECT mts_encrypt('Jane Doe', 'c') AS e);
-- expect error: mts_decrypt: envelope does not authenticate

-- 19. an unknown envelope version is refused
SELECT mts_decrypt(x'09' || substr(mts_encrypt('x', 'c'), 2), 'c');
-- expect error: mts_decrypt: envelope version 9 is not supported

-- 20. an unknown algorithm is refused
SELECT mts_decrypt(x'0107' || substr(mts_encrypt('x', 'c'), 3), 'c');
-- expect error: mts_decrypt: envelope algorithm 7 is not supported

-- 21. an unknown key id is refused, naming it
SELECT mts_decrypt(x'0101000000ff' || substr(mts_encrypt('x', 'c'), 7), 'c');
-- expect error: mts_decrypt: envelope names key id 255, which this keystore does not hold

-- 22. changing any single byte of a 55-byte envelope, at every position, is refused
CREATE TABLE env AS SELECT mts_encrypt('Jane Doe', 'clients.display_name:7') AS e;
SELECT length(e), mts_decrypt(e, 'clients.display_name:7') FROM env;
-- expect: 55|Jane Doe
SELECT mts_decrypt(substr(e, 1, 0) || CASE WHEN substr(e, 1, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 2), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 1) || CASE WHEN substr(e, 2, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 3), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 2) || CASE WHEN substr(e, 3, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 4), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 3) || CASE WHEN substr(e, 4, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 5), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 4) || CASE WHEN substr(e, 5, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 6), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 5) || CASE WHEN substr(e, 6, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 7), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 6) || CASE WHEN substr(e, 7, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 8), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 7) || CASE WHEN substr(e, 8, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 9), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 8) || CASE WHEN substr(e, 9, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 10), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 9) || CASE WHEN substr(e, 10, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 11), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 10) || CASE WHEN substr(e, 11, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 12), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 11) || CASE WHEN substr(e, 12, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 13), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 12) || CASE WHEN substr(e, 13, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 14), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 13) || CASE WHEN substr(e, 14, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 15), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 14) || CASE WHEN substr(e, 15, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 16), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 15) || CASE WHEN substr(e, 16, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 17), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 16) || CASE WHEN substr(e, 17, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 18), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 17) || CASE WHEN substr(e, 18, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 19), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 18) || CASE WHEN substr(e, 19, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 20), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 19) || CASE WHEN substr(e, 20, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 21), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 20) || CASE WHEN substr(e, 21, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 22), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 21) || CASE WHEN substr(e, 22, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 23), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 22) || CASE WHEN substr(e, 23, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 24), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 23) || CASE WHEN substr(e, 24, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 25), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 24) || CASE WHEN substr(e, 25, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 26), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 25) || CASE WHEN substr(e, 26, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 27), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 26) || CASE WHEN substr(e, 27, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 28), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 27) || CASE WHEN substr(e, 28, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 29), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 28) || CASE WHEN substr(e, 29, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 30), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 29) || CASE WHEN substr(e, 30, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 31), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 30) || CASE WHEN substr(e, 31, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 32), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 31) || CASE WHEN substr(e, 32, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 33), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 32) || CASE WHEN substr(e, 33, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 34), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 33) || CASE WHEN substr(e, 34, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 35), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 34) || CASE WHEN substr(e, 35, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 36), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 35) || CASE WHEN substr(e, 36, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 37), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 36) || CASE WHEN substr(e, 37, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 38), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 37) || CASE WHEN substr(e, 38, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 39), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 38) || CASE WHEN substr(e, 39, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 40), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 39) || CASE WHEN substr(e, 40, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 41), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 40) || CASE WHEN substr(e, 41, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 42), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 41) || CASE WHEN substr(e, 42, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 43), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 42) || CASE WHEN substr(e, 43, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 44), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 43) || CASE WHEN substr(e, 44, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 45), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 44) || CASE WHEN substr(e, 45, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 46), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 45) || CASE WHEN substr(e, 46, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 47), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 46) || CASE WHEN substr(e, 47, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 48), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 47) || CASE WHEN substr(e, 48, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 49), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 48) || CASE WHEN substr(e, 49, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 50), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 49) || CASE WHEN substr(e, 50, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 51), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 50) || CASE WHEN substr(e, 51, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 52), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 51) || CASE WHEN substr(e, 52, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 53), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 52) || CASE WHEN substr(e, 53, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 54), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 53) || CASE WHEN substr(e, 54, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 55), 'clients.display_name:7') FROM env;
SELECT mts_decrypt(substr(e, 1, 54) || CASE WHEN substr(e, 55, 1) = x'00' THEN x'01' ELSE x'00' END || substr(e, 56), 'clients.display_name:7') FROM env;
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope
-- expect error: mts_decrypt: envelope

-- 23. a NULL or empty context is refused
SELECT mts_encrypt('x', NULL);
SELECT mts_encrypt('x', '');
-- expect error: mts_encrypt: the context must be non-empty text
-- expect error: mts_encrypt: the context must be non-empty text

-- 24. a non-envelope given to mts_key_id is refused
SELECT mts_key_id(x'0102');
-- expect error: mts_key_id: envelope is truncated

-- 25. mts_key_id reads the key id without any key
SELECT mts_key_id(mts_encrypt('x', 'c'));
-- expect: 1

-- 26. key-touching functions are direct-only: a view in the schema cannot call them
CREATE VIEW leak AS SELECT mts_decrypt(e, 'clients.display_name:7') AS v FROM env;
SELECT * FROM leak;
-- expect error: unsafe use of mts_decrypt()

-- 27. a trigger in the schema cannot call them either
CREATE TABLE t (v);
CREATE TRIGGER tr AFTER INSERT ON t BEGIN SELECT mts_encrypt(NEW.v, 'x'); END;
INSERT INTO t VALUES ('secret');
-- expect error: unsafe use of mts_encrypt()

-- 28. after mts_lock, decrypt is refused again
SELECT mts_lock();
SELECT mts_decrypt(e, 'clients.display_name:7') FROM env;
-- expect: 1
-- expect error: mts_decrypt: the keystore is locked

-- 29. locking twice is harmless and says it was already locked
SELECT mts_lock();
-- expect: 0
