-- Key rotation: old envelopes still decrypt, new ones carry the new key id,
-- mts_reencrypt moves data to the primary key, blind indexes still match, and
-- a rotation by another connection is picked up.
.open r.db
.load @EXT@
CREATE TABLE clients (id INTEGER PRIMARY KEY, name BLOB, email_bidx BLOB);

-- 1. set up: keystore with key 1, three clients
SELECT mts_keystore_create('k.mtskey', 'test'), mts_unlock('k.mtskey');
INSERT INTO clients SELECT value, mts_encrypt('Client ' || value, 'clients.name:' || value), mts_blind_index('c' || value || '@example.org', 'clients.email') FROM generate_series(1, 3);
SELECT group_concat(mts_key_id(name)) FROM clients;
-- expect: 1|1
-- expect: 1,1,1

-- 2. rotation returns the new primary key id
SELECT mts_key_rotate();
-- expect: 2

-- 3. old envelopes still decrypt after rotation
SELECT group_concat(mts_decrypt(name, 'clients.name:' || id), ';') FROM clients;
-- expect: Client 1;Client 2;Client 3

-- 4. new envelopes carry the new key id
SELECT mts_key_id(mts_encrypt('new', 'c'));
-- expect: 2

-- 5. mts_reencrypt moves an envelope to the primary key, keeping its value
UPDATE clients SET name = mts_reencrypt(name, 'clients.name:' || id) WHERE id = 1;
SELECT id, mts_key_id(name), mts_decrypt(name, 'clients.name:' || id) FROM clients ORDER BY id;
-- expect: 1|2|Client 1
-- expect: 2|1|Client 2
-- expect: 3|1|Client 3

-- 6. re-encrypting an envelope already under the primary key returns it unchanged
SELECT mts_reencrypt(name, 'clients.name:1') = name FROM clients WHERE id = 1;
-- expect: 1

-- 7. re-encrypting under the wrong context is refused, not silently rewritten
SELECT mts_reencrypt(name, 'clients.name:9') FROM clients WHERE id = 2;
-- expect error: mts_reencrypt: envelope does not authenticate

-- 8. the whole table moves to the new key with one UPDATE
UPDATE clients SET name = mts_reencrypt(name, 'clients.name:' || id);
SELECT group_concat(DISTINCT mts_key_id(name)), count(*) FROM clients;
-- expect: 2|3

-- 9. a blind index made under key 1 no longer equals the primary-key index...
SELECT email_bidx = mts_blind_index('c2@example.org', 'clients.email') FROM clients WHERE id = 2;
-- expect: 0

-- 10. ...but is found by computing the index under key 1, whose id it carries
SELECT id FROM clients WHERE email_bidx = mts_blind_index(' C2@Example.ORG', 'clients.email', 1);
SELECT hex(substr(email_bidx, 1, 4)), length(email_bidx) FROM clients WHERE id = 2;
-- expect: 2
-- expect: 00000001|20

-- 11. a blind index under a key id the keystore lacks is refused
SELECT mts_blind_index('x', 'clients.email', 99);
-- expect error: mts_blind_index: this keystore holds no key id 99

-- 12. a rotation by another connection is picked up when its envelopes arrive
.connection 1
.open r.db
.load @EXT@
SELECT mts_unlock('k.mtskey'), mts_key_rotate();
INSERT INTO clients VALUES (10, mts_encrypt('Client 10', 'clients.name:10'), NULL);
.connection 0
SELECT mts_key_id(name), mts_decrypt(name, 'clients.name:10') FROM clients WHERE id = 10;
SELECT mts_key_rotate();
-- expect: 2|3
-- expect: 3|Client 10
-- expect: 4

-- 13. rotations in a row keep every envelope readable
CREATE TABLE many (k INTEGER, e BLOB);
INSERT INTO many VALUES (4, mts_encrypt('v4', 'many:4'));
SELECT mts_key_rotate(); SELECT mts_key_rotate(); SELECT mts_key_rotate();
INSERT INTO many VALUES (7, mts_encrypt('v7', 'many:7'));
SELECT k, mts_key_id(e), mts_decrypt(e, 'many:' || k) FROM many ORDER BY k;
-- expect: 5
-- expect: 6
-- expect: 7
-- expect: 4|4|v4
-- expect: 7|7|v7

-- 14. after a passphrase change, envelopes under every key still decrypt
SELECT mts_keystore_passwd('k.mtskey');
.shell cp new-passphrase passphrase
SELECT mts_lock(), mts_unlock('k.mtskey');
SELECT group_concat(mts_decrypt(name, 'clients.name:' || id), ';') FROM clients WHERE id < 10;
SELECT k, mts_decrypt(e, 'many:' || k) FROM many ORDER BY k;
-- expect: 1
-- expect: 1|7
-- expect: Client 1;Client 2;Client 3
-- expect: 4|v4
-- expect: 7|v7

-- 15. mts_key_ids lists the keyset, and finds a blind index made under any key
SELECT mts_key_ids();
SELECT id FROM clients WHERE email_bidx IN (SELECT mts_blind_index('c3@example.org', 'clients.email', value) FROM json_each(mts_key_ids()));
-- expect: [1,2,3,4,5,6,7]
-- expect: 3

-- 16. a rotation by another process reaches this connection's new envelopes within a second
.connection 1
SELECT mts_key_rotate();
.connection 0
.shell sleep 1.2
SELECT mts_key_id(mts_encrypt('fresh', 'c'));
-- expect: 8
-- expect: 8
