/* mts-sync-tables.h — the sync protocol's view of the practice schema,
 * shared by the server (what it accepts) and the sync engine (what it
 * sends and applies): the synced tables, their
 * fields, each field's type, whether it is sensitive (sealed with the
 * practice key before it reaches the server's database, withheld from
 * support users) and whether concurrent edits to it merge line-wise.
 *
 * It mirrors schema/0001-initial.sql minus what is local to a device: the
 * five bookkeeping columns (id, version and deleted travel beside the
 * fields), blind indexes (keyed with the device's own key) and the
 * documents' file key and content hash (wrapped by the device's key; file
 * bodies do not sync through this API).  A test checks the mirror against
 * the schema (tests/schema/test-sync-tables.c).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  MTS_FIELD_TEXT,      /* a JSON string or null */
  MTS_FIELD_INTEGER,   /* a JSON integer or null */
} MtsFieldType;

typedef enum {
  MTS_FIELD_SENSITIVE = 1 << 0,  /* sealed at rest, withheld from support */
  MTS_FIELD_MERGE     = 1 << 1,  /* free text: line-wise three-way merge */
  MTS_FIELD_REQUIRED  = 1 << 2,  /* a live record must have it non-null */
} MtsFieldFlags;

typedef struct {
  const char *name;
  MtsFieldType type;
  MtsFieldFlags flags;
  const char *const *allowed;   /* NULL-terminated values a text may take, or NULL */
  gint64 min, max;              /* for integers: the range allowed */
  gsize max_bytes;              /* for text: the most bytes, 0 for the default */
} MtsFieldSpec;

typedef struct {
  const char *name;
  const MtsFieldSpec *fields;   /* terminated by an entry with name NULL */
  guint n_fields;
} MtsTableSpec;

/* Text fields without their own max_bytes may hold at most this. */
#define MTS_FIELD_DEFAULT_MAX_BYTES (64 * 1024)

/* The table called @name, or NULL if it is not synced. */
const MtsTableSpec *mts_table_lookup (const char *name);

/* The field called @name of @table, or NULL. */
const MtsFieldSpec *mts_table_field (const MtsTableSpec *table, const char *name);

/* Every synced table, in an order in which a record's references come
 * before it (clinicians, clients, invoices, ...); *@n receives the count. */
const MtsTableSpec *mts_tables (guint *n);

/* Whether @table has any sensitive field. */
gboolean mts_table_has_sensitive (const MtsTableSpec *table);

G_END_DECLS
