/* mts-extension-private.h — what mts.c and mts-audit.c share inside the
 * loadable extension: the per-connection state and error helpers. */
#pragma once

#include <sqlite3ext.h>
#include <glib.h>

#include "mts-audit-chain.h"
#include "mts-keystore.h"

/* The audit entry being written by one INSERT of an audit trigger: set up
 * by mts_audit_begin(), filled by mts_audit_digest(), MACed by
 * mts_audit_mac(), numbered by mts_audit_seq() (see mts-audit.c). */
typedef struct {
  gboolean open;               /* begun, not yet MACed */
  gboolean macked;             /* MACed, its number not yet taken */
  gint64 seq;
  gboolean has_prev;
  guint8 prev_mac[32];
  guint32 key_id;
  char at[32];
  gboolean has_digest[2];      /* old, new */
  guint8 digest[2][16];
} MtsAuditPending;

/* Per-connection state, shared by every function registered on it and
 * freed when the last of them is dropped (the connection closes). */
typedef struct {
  int refs;
  MtsKeystore *ks;
  char *actor;        /* who the audit log names; NULL means the OS user */
  MtsAuditPending pending;   /* the audit entry being written */
  /* The prepared hash states of one audit subkey (sodium memory), so each
   * entry does not hash the key again; dropped on lock and unlock. */
  MtsAuditKeyState *audit_state;
  guint32 audit_state_key_id;
  /* "YYYY-MM-DDTHH:MM:SS." for the second at_secs, to time entries. */
  gint64 at_secs;
  char at_prefix[24];
} MtsConn;

/* Drops the connection's prepared audit key state (on lock, unlock). */
void mts_conn_forget_audit_state (MtsConn *conn);

void mts_conn_unref (void *conn);

/* Reports @error as "<fn>: <message>" and frees it. */
void mts_result_gerror (sqlite3_context *ctx, const char *fn, GError *error);

/* Reports a formatted error message. */
void mts_result_errorf (sqlite3_context *ctx, const char *fmt, ...) G_GNUC_PRINTF (2, 3);

/* The connection's keystore, or NULL after reporting that it is locked. */
MtsKeystore *mts_require_unlocked (sqlite3_context *ctx, const char *fn);

/* A non-empty text argument, or NULL after reporting which one is missing. */
const char *mts_require_text (sqlite3_context *ctx, const char *fn, sqlite3_value *v,
                              const char *what);

/* Registers the audit functions (mts-audit.c) on @db, sharing @conn. */
int mts_audit_register (sqlite3 *db, MtsConn *conn);
