/* mts-store-records.h — the practice store's other records: sessions, note
 * templates, agreements, invoices and payments, risk flags and AI consent.
 *
 * As for clients and notes (mts-store.h): each record is a plain struct
 * with its fields decrypted (mts_*_new, mts_*_free, g_autoptr); every write
 * runs in one BEGIN IMMEDIATE transaction with its audit entries (the
 * schema's triggers) and its sync outbox entry, so a refused write leaves
 * nothing behind; sensitive values are bound as parameters to
 * mts_encrypt(?, '<table>.<column>:' || id), never pasted into SQL.
 *
 * The encrypted fields are sessions.location, agreements.body and
 * risk_flags.text.  Everything else here is not sensitive on its own
 * (docs/store.md, "Encryption contexts").
 *
 * Common rules:
 *   - add sets the record's id (a UUIDv7), version (0) and times, and fills
 *     in defaults and the values the store decides (an agreement's status
 *     and times, a risk flag's raiser);
 *   - update writes the record as given (take it from get and change it):
 *     an optional field that is NULL or "" is cleared; an enumeration that
 *     is NULL keeps its value; a field the store or the record's history
 *     fixes (the client, a payment's invoice, who raised a risk and when,
 *     an agreement's times) must be NULL or unchanged.  The outbox names
 *     only the columns that changed, with the row's current version as
 *     base; nothing changed, nothing written;
 *   - delete leaves a tombstone for sync (deleted = 1, its encrypted fields
 *     NULL) and queues an outbox delete; get and list no longer see it;
 *   - lists return live records only, and an empty list for an unknown
 *     parent.
 *
 * Instants ("starts_at", "raised_at", ...) are written in the store's form,
 * UTC "YYYY-MM-DDTHH:MM:SS.sssZ"; any ISO 8601 date and time with a zone
 * ("2024-11-28T09:00:00+00:00") is accepted and converted.  Dates
 * ("issued_on", ...) are "YYYY-MM-DD".  Money is pence.
 *
 * Errors are MTS_STORE_ERROR: LOCKED (the store is locked), NOT_FOUND (no
 * live record with that id; on a write, no such client, clinician, invoice),
 * INVALID (a missing or out-of-range value, a change out of order; the
 * message says which), DB (the database refused).
 */
#pragma once

#include "mts-store.h"

G_BEGIN_DECLS

/* ---- records ---- */

typedef struct {
  char *id;
  gint64 version;
  char *created_at;
  char *updated_at;
  char *client_id;
  char *clinician_id;     /* who sees the client; nullable */
  char *starts_at;        /* UTC instant, required */
  char *ends_at;          /* UTC instant, after starts_at, required */
  char *modality;         /* in_person (default) | video | phone */
  char *status;           /* scheduled (default) | attended | cancelled | no_show */
  gboolean has_fee;       /* whether fee_pence is set (NULL in the database otherwise) */
  gint64 fee_pence;       /* >= 0 */
  char *location;         /* encrypted at rest; nullable */
  char *invoice_id;       /* the invoice that bills it (one of the client's); nullable */
} MtsSession;

typedef struct {
  char *id;
  gint64 version;
  char *created_at;
  char *updated_at;
  char *name;             /* required */
  char *kind;             /* SOAP | DAP | BIRP | free, required */
  char *structure;        /* the headings, a JSON array; default "[]" */
} MtsNoteTemplate;

typedef struct {
  char *id;
  gint64 version;
  char *created_at;
  char *updated_at;
  char *client_id;
  char *title;            /* the kind of agreement, e.g. "Therapy agreement"; required */
  char *body;             /* encrypted at rest; required */
  char *status;           /* generated | signed | revoked: set by the store */
  char *generated_at;     /* set by the store */
  char *signed_at;        /* set by mts_store_agreement_sign() */
  char *revoked_at;       /* set by mts_store_agreement_revoke() */
} MtsAgreement;

typedef struct {
  char *id;
  gint64 version;
  char *created_at;
  char *updated_at;
  char *client_id;
  char *number;           /* unique; required unless a draft */
  char *issued_on;        /* date; required unless a draft */
  char *due_on;           /* date, not before issued_on; nullable */
  gint64 amount_pence;    /* >= 0 */
  char *status;           /* draft (default) | issued | paid | void */
} MtsInvoice;

typedef struct {
  char *id;
  gint64 version;
  char *created_at;
  char *updated_at;
  char *invoice_id;       /* an issued invoice */
  char *paid_on;          /* date, required */
  gint64 amount_pence;    /* > 0 */
  char *method;           /* card | bank_transfer | cash | other, required */
} MtsPayment;

typedef struct {
  char *id;
  gint64 version;
  char *created_at;
  char *updated_at;
  char *client_id;
  char *level;            /* low | medium | high, required */
  char *text;             /* encrypted at rest; required */
  char *raised_by;        /* a clinician; default: the actor, if a clinician */
  char *raised_at;        /* UTC instant; default: now */
  char *resolved_at;      /* UTC instant, not before raised_at; NULL while current */
} MtsRiskFlag;

typedef struct {
  char *id;
  gint64 version;
  char *created_at;
  char *updated_at;
  char *client_id;
  gboolean consented;     /* TRUE consented, FALSE declined or withdrawn */
  char *recorded_at;      /* when the answer was recorded */
  char *recorded_by;      /* the clinician who recorded it */
} MtsAiConsent;

MtsSession *mts_session_new (void);
void mts_session_free (MtsSession *session);
MtsNoteTemplate *mts_note_template_new (void);
void mts_note_template_free (MtsNoteTemplate *template_);
MtsAgreement *mts_agreement_new (void);
void mts_agreement_free (MtsAgreement *agreement);
MtsInvoice *mts_invoice_new (void);
void mts_invoice_free (MtsInvoice *invoice);
MtsPayment *mts_payment_new (void);
void mts_payment_free (MtsPayment *payment);
MtsRiskFlag *mts_risk_flag_new (void);
void mts_risk_flag_free (MtsRiskFlag *flag);
MtsAiConsent *mts_ai_consent_new (void);
void mts_ai_consent_free (MtsAiConsent *consent);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtsSession, mts_session_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtsNoteTemplate, mts_note_template_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtsAgreement, mts_agreement_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtsInvoice, mts_invoice_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtsPayment, mts_payment_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtsRiskFlag, mts_risk_flag_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (MtsAiConsent, mts_ai_consent_free)

/* ---- sessions ---- */

/* Adds a session of @session->client_id.  @session->clinician_id, if set,
 * must be a clinician; @session->invoice_id, if set, one of the client's
 * invoices. */
gboolean mts_store_session_add (MtsStore *store, MtsSession *session, GError **error);
MtsSession *mts_store_session_get (MtsStore *store, const char *id, GError **error);
gboolean mts_store_session_update (MtsStore *store, const MtsSession *session, GError **error);
/* A session that live notes name is refused (INVALID: cancel it instead;
 * a session is never deleted from under a note); documents of the session
 * are detached from it (session_id NULL), each queued for sync. */
gboolean mts_store_session_delete (MtsStore *store, const char *id, GError **error);
/* @client_id's sessions by start time.  (element-type MtsSession) (transfer full) */
GPtrArray *mts_store_session_list (MtsStore *store, const char *client_id, GError **error);

/* ---- note templates ---- */

gboolean mts_store_note_template_add (MtsStore *store, MtsNoteTemplate *template_, GError **error);
MtsNoteTemplate *mts_store_note_template_get (MtsStore *store, const char *id, GError **error);
gboolean mts_store_note_template_update (MtsStore *store, const MtsNoteTemplate *template_,
                                         GError **error);
gboolean mts_store_note_template_delete (MtsStore *store, const char *id, GError **error);
/* Every live template, by name.  (element-type MtsNoteTemplate) (transfer full) */
GPtrArray *mts_store_note_template_list (MtsStore *store, GError **error);

/* ---- agreements ---- */

/* Adds a generated agreement: status "generated", generated_at now (a
 * status other than NULL or "generated" is INVALID). */
gboolean mts_store_agreement_add (MtsStore *store, MtsAgreement *agreement, GError **error);
MtsAgreement *mts_store_agreement_get (MtsStore *store, const char *id, GError **error);
/* Changes the title or text of a generated agreement; once signed or
 * revoked it is INVALID, as is a change of status (sign or revoke). */
gboolean mts_store_agreement_update (MtsStore *store, const MtsAgreement *agreement,
                                     GError **error);
/* generated → signed, signed_at now.  Otherwise INVALID. */
gboolean mts_store_agreement_sign (MtsStore *store, const char *id, GError **error);
/* signed → revoked, revoked_at now.  Otherwise INVALID. */
gboolean mts_store_agreement_revoke (MtsStore *store, const char *id, GError **error);
/* Deletes a generated agreement; a signed or revoked one is the record of
 * what the client agreed to and is INVALID to delete (revoke it; it goes
 * only with the client). */
gboolean mts_store_agreement_delete (MtsStore *store, const char *id, GError **error);
/* (element-type MtsAgreement) (transfer full) */
GPtrArray *mts_store_agreement_list (MtsStore *store, const char *client_id, GError **error);

/* ---- invoices ---- */

/* Adds a draft, or an issued invoice (status "issued", with a number and
 * issued_on).  A number already used is INVALID. */
gboolean mts_store_invoice_add (MtsStore *store, MtsInvoice *invoice, GError **error);
MtsInvoice *mts_store_invoice_get (MtsStore *store, const char *id, GError **error);
/* A draft may change in every field, and be issued (status "issued", with
 * a number and issued_on).  An issued invoice changes only its status, to
 * "paid" or "void"; a paid or void one does not change.  Anything else,
 * and any step back, is INVALID. */
gboolean mts_store_invoice_update (MtsStore *store, const MtsInvoice *invoice, GError **error);
/* Deletes a draft (its number is freed; sessions it billed are detached,
 * each queued for sync).  An issued, paid or void invoice is INVALID to
 * delete: void it. */
gboolean mts_store_invoice_delete (MtsStore *store, const char *id, GError **error);
/* (element-type MtsInvoice) (transfer full) */
GPtrArray *mts_store_invoice_list (MtsStore *store, const char *client_id, GError **error);

/* ---- payments ---- */

/* Records a payment against an issued invoice (a draft, paid or void one
 * is INVALID). */
gboolean mts_store_payment_add (MtsStore *store, MtsPayment *payment, GError **error);
MtsPayment *mts_store_payment_get (MtsStore *store, const char *id, GError **error);
gboolean mts_store_payment_update (MtsStore *store, const MtsPayment *payment, GError **error);
gboolean mts_store_payment_delete (MtsStore *store, const char *id, GError **error);
/* @invoice_id's payments by date.  (element-type MtsPayment) (transfer full) */
GPtrArray *mts_store_payment_list (MtsStore *store, const char *invoice_id, GError **error);

/* ---- risk flags ---- */

/* Raises a risk about @flag->client_id.  raised_by defaults to the actor
 * when the actor is a clinician (else NULL: the audit log still names the
 * actor; a risk is never refused for want of one); raised_at to now. */
gboolean mts_store_risk_flag_add (MtsStore *store, MtsRiskFlag *flag, GError **error);
MtsRiskFlag *mts_store_risk_flag_get (MtsStore *store, const char *id, GError **error);
/* Changes the level, the text or resolved_at (set it to resolve the risk). */
gboolean mts_store_risk_flag_update (MtsStore *store, const MtsRiskFlag *flag, GError **error);
gboolean mts_store_risk_flag_delete (MtsStore *store, const char *id, GError **error);
/* By raised_at.  (element-type MtsRiskFlag) (transfer full) */
GPtrArray *mts_store_risk_flag_list (MtsStore *store, const char *client_id, GError **error);

/* ---- AI consent ---- */

/* Records @client_id's answer: consented, recorded_at now, recorded_by the
 * actor, who must be a clinician of the practice (INVALID otherwise).  One
 * row per client: an existing row (even a deleted one) is updated and keeps
 * its id. */
gboolean mts_store_ai_consent_set (MtsStore *store, const char *client_id, gboolean consented,
                                   GError **error);
/* @client_id's recorded answer; NOT_FOUND when none is recorded.
 * (transfer full) */
MtsAiConsent *mts_store_ai_consent_get (MtsStore *store, const char *client_id, GError **error);
/* Forgets @client_id's answer (as if never asked): a tombstone for sync. */
gboolean mts_store_ai_consent_delete (MtsStore *store, const char *client_id, GError **error);

G_END_DECLS
