-- A short tour of the mts extension in the stock sqlite3 shell.
-- Run by .ci/demo from a scratch folder; see README.md.
.load ../extension/mts
.headers on
.mode box

-- A keystore outside the database: Argon2id-wrapped master key, mode 0600.
SELECT mts_keystore_create('practice.mtskey') AS first_key_id;
SELECT mts_unlock('practice.mtskey') AS primary_key_id;

CREATE TABLE clients (
  id INTEGER PRIMARY KEY,
  display_name BLOB NOT NULL,   -- envelope, context clients.display_name:<id>
  email BLOB,                   -- envelope, context clients.email:<id>
  email_bidx BLOB               -- blind index for exact e-mail lookup
);
CREATE INDEX clients_email_bidx ON clients (email_bidx);

-- Every change to clients goes into a MAC-chained audit log.
SELECT mts_actor('dr.smith') AS actor, mts_audit_enable('clients') AS audited;

INSERT INTO clients (id, display_name, email, email_bidx) VALUES
  (1, mts_encrypt('Jane Doe', 'clients.display_name:1'), mts_encrypt('jane@example.org', 'clients.email:1'), mts_blind_index('jane@example.org', 'clients.email')),
  (2, mts_encrypt('Rhys Evans', 'clients.display_name:2'), mts_encrypt('rhys@example.org', 'clients.email:2'), mts_blind_index('rhys@example.org', 'clients.email')),
  (3, mts_encrypt('Aoife Byrne', 'clients.display_name:3'), mts_encrypt('aoife@example.org', 'clients.email:3'), mts_blind_index('aoife@example.org', 'clients.email'));

.print
.print What the database holds: ciphertext only.
SELECT id, hex(substr(display_name, 1, 12)) || '…' AS display_name_envelope, length(display_name) AS bytes FROM clients;

.print
.print Decrypted with the key from the keystore:
SELECT id, mts_decrypt(display_name, 'clients.display_name:' || id) AS display_name,
       mts_decrypt(email, 'clients.email:' || id) AS email FROM clients;

.print
.print Exact e-mail lookup through the blind index (case and spaces do not matter):
SELECT id, mts_decrypt(display_name, 'clients.display_name:' || id) AS found
  FROM clients WHERE email_bidx = mts_blind_index('  RHYS@Example.org ', 'clients.email');

.print
.print Rotate the key, re-encrypt one row, and everything still reads:
SELECT mts_key_rotate() AS new_primary_key_id;
UPDATE clients SET display_name = mts_reencrypt(display_name, 'clients.display_name:' || id) WHERE id = 1;
SELECT id, mts_key_id(display_name) AS key_id, mts_decrypt(display_name, 'clients.display_name:' || id) AS display_name FROM clients;

.print
.print The audit log: who did what, with digests instead of values, each entry MAC-chained:
SELECT seq, actor, action, target, row_id, changed_columns FROM mts_audit;
SELECT mts_audit_verify() AS audit_log, substr(mts_audit_head(), 1, 20) || '…' AS head_to_anchor;

.print
.print Every key event is in the hash-chained key-access log beside the keystore:
SELECT mts_keylog_verify('practice.mtskey') AS keylog;
SELECT mts_lock() AS locked;
