/* mts-merge.h — the line-wise three-way merge of free text (a note edited
 * on two devices at once), per ../shared/DESIGN.md §5 "Merges".
 *
 * The merge is libgit2's git_merge_file (the xdiff merge git itself uses),
 * with its default options: lines are compared byte for byte, and a change
 * made identically on both sides counts once.  The result is either CLEAN,
 * with the merged text, or CONFLICT, with no text at all: the caller keeps
 * both versions and shows them side by side, so nothing is silently dropped
 * and no conflict markers ever end up in a note.
 *
 * What merges cleanly and what conflicts (each pinned by tests/server/
 * test-merge.c):
 *   - Edits, insertions and deletions on the two sides merge when at least
 *     one unchanged line separates them.  Edits to ADJACENT lines (line 2 on
 *     one side, line 3 on the other) conflict, as they do in git.
 *   - Both sides inserting different lines at the same place conflict; in
 *     particular both sides APPENDING different lines at the end of a note
 *     conflict (there is no order to put them in), as do two different
 *     texts written over an empty base.  Identical insertions merge.
 *   - A side equal to the base takes the other side as it is; two equal
 *     sides give that text.
 *   - One side deleting lines that the other side changed conflicts.
 *   - A missing final newline is a change of the last line like any other:
 *     kept when only one side touches it.
 *   - CR is part of the line, so CRLF text merges as CRLF text; a side that
 *     converts line endings changes every line and conflicts with any edit
 *     on the other side.
 *   - Texts are UTF-8 (anything else is refused); lines are split on '\n'
 *     only, so the merged text is made of whole input lines and stays valid
 *     UTF-8.
 *
 * The texts are clinical notes: no error message, log line or return value
 * other than *merged contains any part of them.  Thread-safe.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define MTS_MERGE_ERROR (mts_merge_error_quark ())
GQuark mts_merge_error_quark (void);

/**
 * MtsMergeError:
 * @MTS_MERGE_ERROR_INVALID: a text is NULL or not valid UTF-8, or @merged is NULL.
 * @MTS_MERGE_ERROR_FAILED: libgit2 could not merge (out of memory, a text
 *   too large for xdiff, about 1 GiB); the message gives libgit2's error
 *   class and code, never the texts.
 */
typedef enum {
  MTS_MERGE_ERROR_INVALID,
  MTS_MERGE_ERROR_FAILED,
} MtsMergeError;

/**
 * MtsMergeResult:
 * @MTS_MERGE_FAILED: the merge did not run; the GError says why.
 * @MTS_MERGE_CLEAN: the edits did not overlap; *merged holds the result.
 * @MTS_MERGE_CONFLICT: the edits overlap; *merged is NULL.
 */
typedef enum {
  MTS_MERGE_FAILED = -1,
  MTS_MERGE_CLEAN = 0,
  MTS_MERGE_CONFLICT = 1,
} MtsMergeResult;

/**
 * mts_merge_text:
 * @base: the common ancestor (the revision both sides started from); "" for
 *   a note that was empty.
 * @ours: one side's text (for the server: the stored current revision).
 * @theirs: the other side's text (for the server: the pushed edit).
 * @merged: (out) (transfer full): the merged text on CLEAN, else NULL;
 *   free with g_free().
 * @error: set on MTS_MERGE_FAILED only.
 *
 * Merges @ours and @theirs line by line against @base.  Conflict is a result,
 * not an error: @error stays unset.
 *
 * Returns: MTS_MERGE_CLEAN, MTS_MERGE_CONFLICT, or MTS_MERGE_FAILED
 *   with @error set.
 */
MtsMergeResult mts_merge_text (const char  *base,
                               const char  *ours,
                               const char  *theirs,
                               char       **merged,
                               GError     **error);

G_END_DECLS
