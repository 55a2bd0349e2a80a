-- The keystore through the stock sqlite3 shell: creation, unlocking, passphrase
-- sources and passphrase changes, with every refusal a clear error.
.load @EXT@

-- 1. a keystore is created with key 1
SELECT mts_keystore_create('k.mtskey', 'test');
-- expect: 1

-- 2. the keystore file is mode 0600 and its key-access log too
SELECT name, printf('%o', mode & 511) FROM fsdir('.') WHERE name IN ('./k.mtskey', './k.mtskey.log') ORDER BY name;
-- expect: ./k.mtskey|600
-- expect: ./k.mtskey.log|600

-- 3. an existing keystore is never replaced
SELECT mts_keystore_create('k.mtskey', 'test');
-- expect error: mts_keystore_create: k.mtskey already exists; refusing to replace a keystore

-- 4. an unknown KDF level is refused
SELECT mts_keystore_create('other.mtskey', 'fast');
-- expect error: mts_keystore_create: unknown level 'fast'

-- 5. a short passphrase is refused at creation
.shell printf 'short\n' > weak
.shell sh -c 'cp passphrase passphrase.good && cp weak passphrase'
SELECT mts_keystore_create('weak.mtskey', 'test');
-- expect error: mts_keystore_create: passphrase is too short (at least 8 characters)

-- 6. a wrong passphrase is refused, and says so
.shell printf 'wrong horse battery\n' > passphrase
SELECT mts_unlock('k.mtskey');
-- expect error: mts_unlock: wrong passphrase

-- 7. the right passphrase unlocks
.shell cp passphrase.good passphrase
SELECT mts_unlock('k.mtskey');
-- expect: 1

-- 8. a missing keystore is a clear error
SELECT mts_unlock('nowhere.mtskey');
-- expect error: mts_unlock: cannot read keystore nowhere.mtskey

-- 9. a failed unlock leaves the connection as it was (still unlocked)
SELECT mts_decrypt(mts_encrypt('still here', 'c'), 'c');
-- expect: still here

-- 10. a passphrase file readable by others is refused, naming the variable
.shell chmod 644 passphrase
SELECT mts_unlock('k.mtskey');
-- expect error: mts_unlock: MTS_PASSPHRASE_FILE: 
.shell chmod 600 passphrase

-- 11. an empty passphrase file is refused
.shell cp passphrase passphrase.good && : > passphrase
SELECT mts_unlock('k.mtskey');
-- expect error: mts_unlock: the passphrase is empty
.shell cp passphrase.good passphrase

-- 12. only the first line of the passphrase file counts
.shell sh -c 'cat passphrase.good > passphrase; echo second line >> passphrase'
SELECT mts_unlock('k.mtskey');
-- expect: 1
.shell cp passphrase.good passphrase

-- 13. changing the passphrase keeps every envelope readable
CREATE TABLE notes (id INTEGER PRIMARY KEY, body BLOB);
INSERT INTO notes VALUES (1, mts_encrypt('first note', 'notes.body:1')), (2, mts_encrypt(x'cafe', 'notes.body:2'));
SELECT mts_keystore_passwd('k.mtskey');
SELECT mts_lock();
.shell cp new-passphrase passphrase
SELECT mts_unlock('k.mtskey');
SELECT id, quote(mts_decrypt(body, 'notes.body:' || id)) FROM notes;
-- expect: 1
-- expect: 1
-- expect: 1
-- expect: 1|'first note'
-- expect: 2|X'CAFE'

-- 14. after the change the old passphrase no longer opens it
.shell cp passphrase.good passphrase
SELECT mts_unlock('k.mtskey');
-- expect error: mts_unlock: wrong passphrase

-- 15. a passphrase change needs the current passphrase
SELECT mts_keystore_passwd('k.mtskey');
-- expect error: mts_keystore_passwd: wrong passphrase

-- 16. a new passphrase that is too short is refused
.shell cp new-passphrase passphrase
.shell cp weak new-passphrase
SELECT mts_keystore_passwd('k.mtskey');
-- expect error: mts_keystore_passwd: new passphrase is too short

-- 17. a new passphrase file that is missing is a clear error naming its variable
.shell rm new-passphrase
SELECT mts_keystore_passwd('k.mtskey');
-- expect error: mts_keystore_passwd: MTS_NEW_PASSPHRASE_FILE: cannot read

-- 18. NULL paths give NULL
SELECT mts_unlock(NULL) IS NULL, mts_keystore_create(NULL) IS NULL, mts_keystore_passwd(NULL) IS NULL, mts_keylog_verify(NULL) IS NULL;
-- expect: 1|1|1|1

-- 19. an empty path is refused
SELECT mts_unlock('');
-- expect error: mts_unlock: the path must be non-empty text

-- 20. the interactive Argon2id level works end to end
SELECT mts_keystore_create('interactive.mtskey', 'interactive'), mts_unlock('interactive.mtskey');
SELECT mts_decrypt(mts_encrypt('x', 'c'), 'c');
-- expect: 1|1
-- expect: x
