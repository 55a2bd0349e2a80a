/* mts-merge.c — the line-wise three-way merge of free text, on libgit2's
 * git_merge_file.  See mts-merge.h for what merges and what conflicts. */
#define G_LOG_DOMAIN "mts-merge"

#include "mts-merge.h"

#include <git2.h>
#include <string.h>

G_DEFINE_QUARK (mts-merge-error-quark, mts_merge_error)

/* libgit2 is initialised once for the process and never shut down: its
 * init is reference-counted, and other server code may use it too. */
static gboolean
ensure_libgit2 (void)
{
  static gsize state = 0;   /* 0 not yet, 1 ready, 2 failed */

  if (g_once_init_enter (&state))
    g_once_init_leave (&state, git_libgit2_init () >= 0 ? 1 : 2);
  return state == 1;
}

static gboolean
check_text (const char *text, const char *which, GError **error)
{
  if (text == NULL)
    {
      g_set_error (error, MTS_MERGE_ERROR, MTS_MERGE_ERROR_INVALID,
                   "mts_merge_text: the %s text is missing", which);
      return FALSE;
    }
  if (!g_utf8_validate (text, -1, NULL))
    {
      g_set_error (error, MTS_MERGE_ERROR, MTS_MERGE_ERROR_INVALID,
                   "mts_merge_text: the %s text is not valid UTF-8", which);
      return FALSE;
    }
  return TRUE;
}

static void
set_input (git_merge_file_input *input, const char *text)
{
  git_merge_file_input_init (input, GIT_MERGE_FILE_INPUT_VERSION);
  input->ptr = text;
  input->size = strlen (text);
}

MtsMergeResult
mts_merge_text (const char  *base,
                const char  *ours,
                const char  *theirs,
                char       **merged,
                GError     **error)
{
  git_merge_file_input base_in, ours_in, theirs_in;
  git_merge_file_options opts;
  git_merge_file_result result;
  MtsMergeResult ret = MTS_MERGE_FAILED;
  int rc;

  g_return_val_if_fail (error == NULL || *error == NULL, MTS_MERGE_FAILED);

  if (merged == NULL)
    {
      g_set_error_literal (error, MTS_MERGE_ERROR, MTS_MERGE_ERROR_INVALID,
                           "mts_merge_text: nowhere to put the merged text");
      return MTS_MERGE_FAILED;
    }
  *merged = NULL;
  if (!check_text (base, "base", error) ||
      !check_text (ours, "our", error) ||
      !check_text (theirs, "their", error))
    return MTS_MERGE_FAILED;

  if (!ensure_libgit2 ())
    {
      g_set_error_literal (error, MTS_MERGE_ERROR, MTS_MERGE_ERROR_FAILED,
                           "mts_merge_text: libgit2 could not be initialised");
      return MTS_MERGE_FAILED;
    }

  set_input (&base_in, base);
  set_input (&ours_in, ours);
  set_input (&theirs_in, theirs);
  /* Defaults: the normal (not "ours"/"theirs"/"union") handling of
   * conflicting regions, so a conflict is reported, never resolved by
   * dropping one side; the conflict-marker text is never returned. */
  git_merge_file_options_init (&opts, GIT_MERGE_FILE_OPTIONS_VERSION);
  memset (&result, 0, sizeof result);

  rc = git_merge_file (&result, &base_in, &ours_in, &theirs_in, &opts);
  if (rc < 0)
    {
      /* libgit2's own message is not passed on: only its class and code,
       * so that no part of a note can reach a log through it. */
      const git_error *e = git_error_last ();
      g_set_error (error, MTS_MERGE_ERROR, MTS_MERGE_ERROR_FAILED,
                   "mts_merge_text: libgit2 could not merge (error %d, class %d)",
                   rc, e != NULL ? e->klass : 0);
      goto out;
    }

  if (result.automergeable)
    {
      char *text = g_malloc (result.len + 1);
      if (result.len > 0)
        memcpy (text, result.ptr, result.len);
      text[result.len] = '\0';
      *merged = text;
      ret = MTS_MERGE_CLEAN;
    }
  else
    ret = MTS_MERGE_CONFLICT;

out:
  git_merge_file_result_free (&result);
  return ret;
}
