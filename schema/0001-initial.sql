-- 0001-initial.sql — the practice store's first schema.
--
-- Applied by the migration runner (schema/mts-migrations.c) inside one
-- transaction, which also records the schema version: this file sets
-- neither.  It needs the mts extension's functions and an unlocked keystore
-- (the audit triggers at the end).  docs/store.md describes every table.
--
-- Conventions (docs/store.md, "Schema"):
-- * Every synced table starts with the same five columns: id (a UUIDv7 in
--   canonical lower-case text, made by the app, never reused), version (the
--   server's version, 0 = never synced), deleted (tombstone), created_at and
--   updated_at (UTC, 'YYYY-MM-DDTHH:MM:SS.sssZ').
-- * Sensitive values are BLOB envelopes written by the application as
--   mts_encrypt(value, '<table>.<column>:' || id).  The CHECKs on them only
--   refuse what cannot be an envelope (text, or a blob shorter than the 47
--   bytes every envelope has), so a plaintext written by mistake fails.
--   A column that a live row must have may be NULL in a tombstone, so that
--   a deleted row need keep nothing readable.
-- * Blind indexes (mts_blind_index(value, '<table>.<column>'), 20 bytes)
--   are NULL exactly when their field is.
-- * Money is INTEGER pence; dates 'YYYY-MM-DD'; instants as created_at.
-- * Dependents of a client are ON DELETE CASCADE: the store deletes a client
--   by tombstones plus real deletes of its dependent rows.

-- ---------------------------------------------------------------------------
-- clinicians: the practice's people who use the app.
CREATE TABLE clinicians (
  id            TEXT PRIMARY KEY NOT NULL,
  version       INTEGER NOT NULL DEFAULT 0 CHECK (version >= 0),
  deleted       INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL,
  display_name  BLOB   -- encrypted: a person's name (staff are data subjects too)
                CHECK (display_name IS NULL OR (typeof(display_name) = 'blob' AND length(display_name) >= 47)),
  email         BLOB   -- encrypted: personal contact detail
                CHECK (email IS NULL OR (typeof(email) = 'blob' AND length(email) >= 47)),
  email_bidx    BLOB   CHECK (email_bidx IS NULL OR (typeof(email_bidx) = 'blob' AND length(email_bidx) = 20)),
  role          TEXT NOT NULL DEFAULT 'clinician'
                CHECK (role IN ('clinician', 'practice_admin', 'support')),
  registration  TEXT,  -- professional body and number, e.g. 'BACP 012345' (public registers)
  active        INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),  -- 0: has left the practice
  CHECK (deleted = 1 OR display_name IS NOT NULL),
  CHECK ((email IS NULL) = (email_bidx IS NULL))
);
CREATE INDEX clinicians_email_bidx ON clinicians (email_bidx);

-- ---------------------------------------------------------------------------
-- clients: the people the practice sees.
CREATE TABLE clients (
  id                TEXT PRIMARY KEY NOT NULL,
  version           INTEGER NOT NULL DEFAULT 0 CHECK (version >= 0),
  deleted           INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
  created_at        TEXT NOT NULL,
  updated_at        TEXT NOT NULL,
  display_name      BLOB  -- encrypted: identifies the client
                    CHECK (display_name IS NULL OR (typeof(display_name) = 'blob' AND length(display_name) >= 47)),
  date_of_birth     BLOB  -- encrypted: identifying, with the name it pins down a person
                    CHECK (date_of_birth IS NULL OR (typeof(date_of_birth) = 'blob' AND length(date_of_birth) >= 47)),
  email             BLOB  -- encrypted: contact detail
                    CHECK (email IS NULL OR (typeof(email) = 'blob' AND length(email) >= 47)),
  phone             BLOB  -- encrypted: contact detail
                    CHECK (phone IS NULL OR (typeof(phone) = 'blob' AND length(phone) >= 47)),
  address           BLOB  -- encrypted: contact detail, where the client lives
                    CHECK (address IS NULL OR (typeof(address) = 'blob' AND length(address) >= 47)),
  gp_details        BLOB  -- encrypted: GP name and surgery, health-care relationship (special category)
                    CHECK (gp_details IS NULL OR (typeof(gp_details) = 'blob' AND length(gp_details) >= 47)),
  emergency_contact BLOB  -- encrypted: a third person's name and phone
                    CHECK (emergency_contact IS NULL OR (typeof(emergency_contact) = 'blob' AND length(emergency_contact) >= 47)),
  email_bidx        BLOB  CHECK (email_bidx IS NULL OR (typeof(email_bidx) = 'blob' AND length(email_bidx) = 20)),
  phone_bidx        BLOB  CHECK (phone_bidx IS NULL OR (typeof(phone_bidx) = 'blob' AND length(phone_bidx) = 20)),
  status            TEXT NOT NULL DEFAULT 'active'
                    CHECK (status IN ('active', 'waiting', 'closed')),
  last_contact_at   TEXT,
  clinician_id      TEXT REFERENCES clinicians (id),  -- the client's clinician; NULL while unassigned
  CHECK (deleted = 1 OR display_name IS NOT NULL),
  CHECK ((email IS NULL) = (email_bidx IS NULL)),
  CHECK ((phone IS NULL) = (phone_bidx IS NULL))
);
CREATE INDEX clients_status ON clients (status);
CREATE INDEX clients_clinician ON clients (clinician_id);
CREATE INDEX clients_email_bidx ON clients (email_bidx);
CREATE INDEX clients_phone_bidx ON clients (phone_bidx);

-- ---------------------------------------------------------------------------
-- invoices and payments.  (Before sessions only for reading order: a
-- session names the invoice that bills it.)
CREATE TABLE invoices (
  id            TEXT PRIMARY KEY NOT NULL,
  version       INTEGER NOT NULL DEFAULT 0 CHECK (version >= 0),
  deleted       INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL,
  client_id     TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
  number        TEXT UNIQUE,  -- the practice's invoice number; NULL only for a draft
  issued_on     TEXT,
  due_on        TEXT,
  amount_pence  INTEGER NOT NULL DEFAULT 0 CHECK (amount_pence >= 0),
  status        TEXT NOT NULL DEFAULT 'draft'
                CHECK (status IN ('draft', 'issued', 'paid', 'void')),
  CHECK (status = 'draft' OR (number IS NOT NULL AND issued_on IS NOT NULL)),
  CHECK (due_on IS NULL OR issued_on IS NULL OR due_on >= issued_on)
);
CREATE INDEX invoices_client ON invoices (client_id);

CREATE TABLE payments (
  id            TEXT PRIMARY KEY NOT NULL,
  version       INTEGER NOT NULL DEFAULT 0 CHECK (version >= 0),
  deleted       INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL,
  invoice_id    TEXT NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
  paid_on       TEXT NOT NULL,
  amount_pence  INTEGER NOT NULL CHECK (amount_pence > 0),
  method        TEXT NOT NULL CHECK (method IN ('card', 'bank_transfer', 'cash', 'other'))
);
CREATE INDEX payments_invoice ON payments (invoice_id);

-- ---------------------------------------------------------------------------
-- sessions: appointments, booked and held.
CREATE TABLE sessions (
  id            TEXT PRIMARY KEY NOT NULL,
  version       INTEGER NOT NULL DEFAULT 0 CHECK (version >= 0),
  deleted       INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL,
  client_id     TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
  clinician_id  TEXT REFERENCES clinicians (id),
  starts_at     TEXT NOT NULL,
  ends_at       TEXT NOT NULL,
  modality      TEXT NOT NULL DEFAULT 'in_person'
                CHECK (modality IN ('in_person', 'video', 'phone')),
  status        TEXT NOT NULL DEFAULT 'scheduled'
                CHECK (status IN ('scheduled', 'attended', 'cancelled', 'no_show')),
  fee_pence     INTEGER CHECK (fee_pence IS NULL OR fee_pence >= 0),
  location      BLOB  -- encrypted: may be the client's home or a private video link
                CHECK (location IS NULL OR (typeof(location) = 'blob' AND length(location) >= 47)),
  invoice_id    TEXT REFERENCES invoices (id) ON DELETE SET NULL,  -- the invoice that bills it
  CHECK (ends_at > starts_at)
);
CREATE INDEX sessions_client ON sessions (client_id, starts_at);
CREATE INDEX sessions_starts_at ON sessions (starts_at);
CREATE INDEX sessions_invoice ON sessions (invoice_id);

-- ---------------------------------------------------------------------------
-- note_templates: headings a note is written under.  Practice-wide, not
-- about any client, so nothing in it is encrypted.
CREATE TABLE note_templates (
  id            TEXT PRIMARY KEY NOT NULL,
  version       INTEGER NOT NULL DEFAULT 0 CHECK (version >= 0),
  deleted       INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL,
  name          TEXT NOT NULL,
  kind          TEXT NOT NULL CHECK (kind IN ('SOAP', 'DAP', 'BIRP', 'free')),
  structure     TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(structure))  -- the headings, as JSON
);

-- ---------------------------------------------------------------------------
-- notes: clinical notes.  A signed note never changes (trigger below); a
-- correction is a new note whose amends_id names the note it amends.
CREATE TABLE notes (
  id            TEXT PRIMARY KEY NOT NULL,
  version       INTEGER NOT NULL DEFAULT 0 CHECK (version >= 0),
  deleted       INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL,
  client_id     TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
  session_id    TEXT REFERENCES sessions (id),  -- NULL for a note not tied to a session
  clinician_id  TEXT REFERENCES clinicians (id),  -- the author
  template_kind TEXT NOT NULL DEFAULT 'free'
                CHECK (template_kind IN ('SOAP', 'DAP', 'BIRP', 'free')),
  body          BLOB  -- encrypted: the clinical content, special-category health data
                CHECK (body IS NULL OR (typeof(body) = 'blob' AND length(body) >= 47)),
  status        TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'signed')),
  signed_by     TEXT REFERENCES clinicians (id),
  signed_at     TEXT,
  amends_id     TEXT REFERENCES notes (id),  -- the note this one amends
  ai_assisted   INTEGER NOT NULL DEFAULT 0 CHECK (ai_assisted IN (0, 1)),
  CHECK ((status = 'signed') = (signed_by IS NOT NULL AND signed_at IS NOT NULL)),
  CHECK (status = 'draft' OR body IS NOT NULL),
  CHECK (amends_id IS NULL OR amends_id <> id)
);
CREATE INDEX notes_client ON notes (client_id, created_at);
CREATE INDEX notes_session ON notes (session_id);
CREATE INDEX notes_amends ON notes (amends_id);

-- A signed note is the record: only sync bookkeeping may change on it.
-- (A later migration that adds a column to notes must list it here too.)
CREATE TRIGGER notes_signed_immutable BEFORE UPDATE ON notes
WHEN OLD.status = 'signed'
 AND (NEW.id IS NOT OLD.id
      OR NEW.created_at IS NOT OLD.created_at
      OR NEW.client_id IS NOT OLD.client_id
      OR NEW.session_id IS NOT OLD.session_id
      OR NEW.clinician_id IS NOT OLD.clinician_id
      OR NEW.template_kind IS NOT OLD.template_kind
      OR NEW.body IS NOT OLD.body
      OR NEW.status IS NOT OLD.status
      OR NEW.signed_by IS NOT OLD.signed_by
      OR NEW.signed_at IS NOT OLD.signed_at
      OR NEW.amends_id IS NOT OLD.amends_id
      OR NEW.ai_assisted IS NOT OLD.ai_assisted)
BEGIN
  SELECT RAISE(ABORT, 'note is signed: amend it instead');
END;

-- ---------------------------------------------------------------------------
-- documents: files kept for a client (letters, forms, recordings).  The file
-- itself is in the store's files folder, named by the document's id,
-- encrypted with libsodium secretstream under file_key.
CREATE TABLE documents (
  id            TEXT PRIMARY KEY NOT NULL,
  version       INTEGER NOT NULL DEFAULT 0 CHECK (version >= 0),
  deleted       INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL,
  client_id     TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
  session_id    TEXT REFERENCES sessions (id) ON DELETE SET NULL,  -- e.g. the session a recording is of
  file_name     BLOB  -- encrypted: names often say who and what (a client's name, 'GP letter.pdf')
                CHECK (file_name IS NULL OR (typeof(file_name) = 'blob' AND length(file_name) >= 47)),
  mime_type     TEXT,
  size_bytes    INTEGER NOT NULL CHECK (size_bytes >= 0),  -- of the plaintext
  content_hash  BLOB CHECK (content_hash IS NULL OR typeof(content_hash) = 'blob'),  -- keyed hash of the plaintext, checked on read
  file_key      BLOB  -- encrypted: the file's secretstream key, wrapped (never stored bare)
                CHECK (file_key IS NULL OR (typeof(file_key) = 'blob' AND length(file_key) >= 47)),
  CHECK (deleted = 1 OR (file_name IS NOT NULL AND content_hash IS NOT NULL AND file_key IS NOT NULL))
);
CREATE INDEX documents_client ON documents (client_id);
CREATE INDEX documents_session ON documents (session_id);

-- ---------------------------------------------------------------------------
-- agreements: therapy contracts and consents, generated for a client to sign.
CREATE TABLE agreements (
  id            TEXT PRIMARY KEY NOT NULL,
  version       INTEGER NOT NULL DEFAULT 0 CHECK (version >= 0),
  deleted       INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL,
  client_id     TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
  title         TEXT NOT NULL,  -- the kind of agreement, e.g. 'Therapy agreement'
  body          BLOB  -- encrypted: filled in with the client's details and terms
                CHECK (body IS NULL OR (typeof(body) = 'blob' AND length(body) >= 47)),
  status        TEXT NOT NULL DEFAULT 'generated'
                CHECK (status IN ('generated', 'signed', 'revoked')),
  generated_at  TEXT NOT NULL,
  signed_at     TEXT,
  revoked_at    TEXT,
  CHECK (deleted = 1 OR body IS NOT NULL),
  CHECK (status <> 'signed' OR signed_at IS NOT NULL),
  CHECK (status <> 'revoked' OR revoked_at IS NOT NULL)
);
CREATE INDEX agreements_client ON agreements (client_id);

-- ---------------------------------------------------------------------------
-- risk_flags: risks a clinician has raised about a client.
CREATE TABLE risk_flags (
  id            TEXT PRIMARY KEY NOT NULL,
  version       INTEGER NOT NULL DEFAULT 0 CHECK (version >= 0),
  deleted       INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL,
  client_id     TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
  level         TEXT NOT NULL CHECK (level IN ('low', 'medium', 'high')),
  text          BLOB  -- encrypted: describes self-harm, harm to others, safeguarding
                CHECK (text IS NULL OR (typeof(text) = 'blob' AND length(text) >= 47)),
  raised_by     TEXT REFERENCES clinicians (id),
  raised_at     TEXT NOT NULL,
  resolved_at   TEXT,  -- NULL while the risk is current
  CHECK (deleted = 1 OR text IS NOT NULL),
  CHECK (resolved_at IS NULL OR resolved_at >= raised_at)
);
CREATE INDEX risk_flags_client ON risk_flags (client_id);

-- ---------------------------------------------------------------------------
-- ai_consents: whether the client agreed to AI-assisted drafting.  One row
-- per client; the server checks it before any AI call about the client.
CREATE TABLE ai_consents (
  id            TEXT PRIMARY KEY NOT NULL,
  version       INTEGER NOT NULL DEFAULT 0 CHECK (version >= 0),
  deleted       INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1)),
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL,
  client_id     TEXT NOT NULL UNIQUE REFERENCES clients (id) ON DELETE CASCADE,
  consented     INTEGER NOT NULL CHECK (consented IN (0, 1)),
  recorded_at   TEXT NOT NULL,
  recorded_by   TEXT REFERENCES clinicians (id)
);

-- ---------------------------------------------------------------------------
-- Local-only sync bookkeeping: not synced, not audited, nothing sensitive.

-- One entry per local change still to push (see docs/store.md): a change
-- and its entry are written in one transaction; values are read from the row
-- at push time.
-- seq is never reused (AUTOINCREMENT): it is the device sequence number
-- that makes a retried push idempotent.
CREATE TABLE sync_outbox (
  seq             INTEGER PRIMARY KEY AUTOINCREMENT,
  table_name      TEXT NOT NULL,
  row_id          TEXT NOT NULL,
  op              TEXT NOT NULL CHECK (op IN ('upsert', 'delete')),
  changed_columns TEXT,  -- comma-separated; NULL for a delete
  base_version    INTEGER NOT NULL CHECK (base_version >= 0),
  created_at      TEXT NOT NULL
);
CREATE INDEX sync_outbox_row ON sync_outbox (table_name, row_id);

-- Key/value state of the sync engine (device id, pull cursor, ...).
CREATE TABLE sync_state (
  key    TEXT PRIMARY KEY NOT NULL,
  value
);

-- ---------------------------------------------------------------------------
-- Audit every clinical table.  (After an ALTER TABLE on one of these, a
-- later migration must run mts_audit_disable and mts_audit_enable on it.)
SELECT mts_audit_enable('clinicians');
SELECT mts_audit_enable('clients');
SELECT mts_audit_enable('invoices');
SELECT mts_audit_enable('payments');
SELECT mts_audit_enable('sessions');
SELECT mts_audit_enable('note_templates');
SELECT mts_audit_enable('notes');
SELECT mts_audit_enable('documents');
SELECT mts_audit_enable('agreements');
SELECT mts_audit_enable('risk_flags');
SELECT mts_audit_enable('ai_consents');
