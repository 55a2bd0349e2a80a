/* mts-sync-tables.c — the synced tables (see mts-sync-tables.h). */
#define G_LOG_DOMAIN "mts-server"

#include "mts-sync-tables.h"

#include <string.h>

#define T  MTS_FIELD_TEXT
#define I  MTS_FIELD_INTEGER
#define S  MTS_FIELD_SENSITIVE
#define M  MTS_FIELD_MERGE
#define R  MTS_FIELD_REQUIRED

/* Every table's first two fields. */
#define STAMPS \
  { "created_at", T, R, NULL, 0, 0, 32 }, \
  { "updated_at", T, R, NULL, 0, 0, 32 }
#define BOOL_FIELD(name, flags) { name, I, flags, NULL, 0, 1, 0 }
#define END { NULL, 0, 0, NULL, 0, 0, 0 }

static const char *const roles[] = { "clinician", "practice_admin", "support", NULL };
static const char *const client_status[] = { "active", "waiting", "closed", NULL };
static const char *const invoice_status[] = { "draft", "issued", "paid", "void", NULL };
static const char *const pay_methods[] = { "card", "bank_transfer", "cash", "other", NULL };
static const char *const modalities[] = { "in_person", "video", "phone", NULL };
static const char *const session_status[] = { "scheduled", "attended", "cancelled", "no_show", NULL };
static const char *const kinds[] = { "SOAP", "DAP", "BIRP", "free", NULL };
static const char *const note_status[] = { "draft", "signed", NULL };
static const char *const agreement_status[] = { "generated", "signed", "revoked", NULL };
static const char *const levels[] = { "low", "medium", "high", NULL };

#define MAX_MONEY G_GINT64_CONSTANT (100000000000)   /* a billion pounds, in pence */

static const MtsFieldSpec clinicians[] = {
  STAMPS,
  { "display_name", T, S | R, NULL, 0, 0, 0 },
  { "email", T, S, NULL, 0, 0, 0 },
  { "role", T, R, roles, 0, 0, 0 },
  { "registration", T, 0, NULL, 0, 0, 0 },
  BOOL_FIELD ("active", R),
  END
};

static const MtsFieldSpec clients[] = {
  STAMPS,
  { "display_name", T, S | R, NULL, 0, 0, 0 },
  { "date_of_birth", T, S, NULL, 0, 0, 0 },
  { "email", T, S, NULL, 0, 0, 0 },
  { "phone", T, S, NULL, 0, 0, 0 },
  { "address", T, S, NULL, 0, 0, 0 },
  { "gp_details", T, S, NULL, 0, 0, 0 },
  { "emergency_contact", T, S, NULL, 0, 0, 0 },
  { "status", T, R, client_status, 0, 0, 0 },
  { "last_contact_at", T, 0, NULL, 0, 0, 32 },
  { "clinician_id", T, 0, NULL, 0, 0, 36 },
  END
};

static const MtsFieldSpec invoices[] = {
  STAMPS,
  { "client_id", T, R, NULL, 0, 0, 36 },
  { "number", T, 0, NULL, 0, 0, 0 },
  { "issued_on", T, 0, NULL, 0, 0, 10 },
  { "due_on", T, 0, NULL, 0, 0, 10 },
  { "amount_pence", I, R, NULL, 0, MAX_MONEY, 0 },
  { "status", T, R, invoice_status, 0, 0, 0 },
  END
};

static const MtsFieldSpec payments[] = {
  STAMPS,
  { "invoice_id", T, R, NULL, 0, 0, 36 },
  { "paid_on", T, R, NULL, 0, 0, 10 },
  { "amount_pence", I, R, NULL, 1, MAX_MONEY, 0 },
  { "method", T, R, pay_methods, 0, 0, 0 },
  END
};

static const MtsFieldSpec sessions[] = {
  STAMPS,
  { "client_id", T, R, NULL, 0, 0, 36 },
  { "clinician_id", T, 0, NULL, 0, 0, 36 },
  { "starts_at", T, R, NULL, 0, 0, 32 },
  { "ends_at", T, R, NULL, 0, 0, 32 },
  { "modality", T, R, modalities, 0, 0, 0 },
  { "status", T, R, session_status, 0, 0, 0 },
  { "fee_pence", I, 0, NULL, 0, MAX_MONEY, 0 },
  { "location", T, S, NULL, 0, 0, 0 },
  { "invoice_id", T, 0, NULL, 0, 0, 36 },
  END
};

static const MtsFieldSpec note_templates[] = {
  STAMPS,
  { "name", T, R, NULL, 0, 0, 0 },
  { "kind", T, R, kinds, 0, 0, 0 },
  { "structure", T, R, NULL, 0, 0, 0 },
  END
};

static const MtsFieldSpec notes[] = {
  STAMPS,
  { "client_id", T, R, NULL, 0, 0, 36 },
  { "session_id", T, 0, NULL, 0, 0, 36 },
  { "clinician_id", T, 0, NULL, 0, 0, 36 },
  { "template_kind", T, R, kinds, 0, 0, 0 },
  { "body", T, S | M, NULL, 0, 0, 1024 * 1024 },
  { "status", T, R, note_status, 0, 0, 0 },
  { "signed_by", T, 0, NULL, 0, 0, 36 },
  { "signed_at", T, 0, NULL, 0, 0, 32 },
  { "amends_id", T, 0, NULL, 0, 0, 36 },
  BOOL_FIELD ("ai_assisted", R),
  END
};

static const MtsFieldSpec documents[] = {
  STAMPS,
  { "client_id", T, R, NULL, 0, 0, 36 },
  { "session_id", T, 0, NULL, 0, 0, 36 },
  { "file_name", T, S | R, NULL, 0, 0, 0 },
  { "mime_type", T, 0, NULL, 0, 0, 0 },
  { "size_bytes", I, R, NULL, 0, G_MAXINT64, 0 },
  END
};

static const MtsFieldSpec agreements[] = {
  STAMPS,
  { "client_id", T, R, NULL, 0, 0, 36 },
  { "title", T, R, NULL, 0, 0, 0 },
  { "body", T, S | M | R, NULL, 0, 0, 256 * 1024 },
  { "status", T, R, agreement_status, 0, 0, 0 },
  { "generated_at", T, R, NULL, 0, 0, 32 },
  { "signed_at", T, 0, NULL, 0, 0, 32 },
  { "revoked_at", T, 0, NULL, 0, 0, 32 },
  END
};

static const MtsFieldSpec risk_flags[] = {
  STAMPS,
  { "client_id", T, R, NULL, 0, 0, 36 },
  { "level", T, R, levels, 0, 0, 0 },
  { "text", T, S | M | R, NULL, 0, 0, 0 },
  { "raised_by", T, 0, NULL, 0, 0, 36 },
  { "raised_at", T, R, NULL, 0, 0, 32 },
  { "resolved_at", T, 0, NULL, 0, 0, 32 },
  END
};

static const MtsFieldSpec ai_consents[] = {
  STAMPS,
  { "client_id", T, R, NULL, 0, 0, 36 },
  BOOL_FIELD ("consented", R),
  { "recorded_at", T, R, NULL, 0, 0, 32 },
  { "recorded_by", T, 0, NULL, 0, 0, 36 },
  END
};

#define TABLE(x) { #x, x, G_N_ELEMENTS (x) - 1 }

/* References before the records that make them. */
static const MtsTableSpec tables[] = {
  TABLE (clinicians),
  TABLE (clients),
  TABLE (invoices),
  TABLE (payments),
  TABLE (sessions),
  TABLE (note_templates),
  TABLE (notes),
  TABLE (documents),
  TABLE (agreements),
  TABLE (risk_flags),
  TABLE (ai_consents),
};

const MtsTableSpec *
mts_tables (guint *n)
{
  *n = G_N_ELEMENTS (tables);
  return tables;
}

const MtsTableSpec *
mts_table_lookup (const char *name)
{
  for (guint i = 0; name != NULL && i < G_N_ELEMENTS (tables); i++)
    if (strcmp (tables[i].name, name) == 0)
      return &tables[i];
  return NULL;
}

const MtsFieldSpec *
mts_table_field (const MtsTableSpec *table, const char *name)
{
  for (guint i = 0; name != NULL && i < table->n_fields; i++)
    if (strcmp (table->fields[i].name, name) == 0)
      return &table->fields[i];
  return NULL;
}

gboolean
mts_table_has_sensitive (const MtsTableSpec *table)
{
  for (guint i = 0; i < table->n_fields; i++)
    if (table->fields[i].flags & MTS_FIELD_SENSITIVE)
      return TRUE;
  return FALSE;
}
