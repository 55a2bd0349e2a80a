/* test-merge.c — the line-wise three-way merge of free text
 * (server/mts-merge.h): non-overlapping edits merge, in either order and to
 * the same text; overlapping, adjacent and competing appended lines
 * conflict with no text returned; identical edits, unchanged sides, empty
 * texts, missing final newlines, CRLF, UTF-8 and a 200 KiB note; refusals
 * of NULL and non-UTF-8 input, whose messages hold none of the texts. */
#include <string.h>

#include "mts-merge.h"

/* Merges both ways round (ours/theirs swapped) and checks that each gives
 * exactly EXPECTED. */
static void
assert_clean (const char *base, const char *ours, const char *theirs,
              const char *expected)
{
  for (int swap = 0; swap < 2; swap++)
    {
      g_autoptr (GError) error = NULL;
      g_autofree char *merged = NULL;
      MtsMergeResult r;

      r = mts_merge_text (base, swap ? theirs : ours, swap ? ours : theirs,
                          &merged, &error);
      g_assert_no_error (error);
      g_assert_cmpint (r, ==, MTS_MERGE_CLEAN);
      g_assert_nonnull (merged);
      g_assert_cmpstr (merged, ==, expected);
    }
}

/* Both ways round: a conflict, no error, and *merged reset to NULL. */
static void
assert_conflict (const char *base, const char *ours, const char *theirs)
{
  for (int swap = 0; swap < 2; swap++)
    {
      g_autoptr (GError) error = NULL;
      char *merged = (char *) "not reset";
      MtsMergeResult r;

      r = mts_merge_text (base, swap ? theirs : ours, swap ? ours : theirs,
                          &merged, &error);
      g_assert_no_error (error);
      g_assert_cmpint (r, ==, MTS_MERGE_CONFLICT);
      g_assert_null (merged);
    }
}

#define NOTE "Presenting issue: low mood\nSleep: poor\nGoals: return to work\nPlan: weekly sessions\nRisk: none disclosed\n"

/* ---- clean merges ---- */

static void
test_clean_start_end (void)
{
  assert_clean (NOTE,
                "Presenting issue: low mood, anxiety\nSleep: poor\nGoals: return to work\nPlan: weekly sessions\nRisk: none disclosed\n",
                "Presenting issue: low mood\nSleep: poor\nGoals: return to work\nPlan: weekly sessions\nRisk: reviewed, none\n",
                "Presenting issue: low mood, anxiety\nSleep: poor\nGoals: return to work\nPlan: weekly sessions\nRisk: reviewed, none\n");
}

static void
test_clean_middle (void)
{
  /* Line 2 on one side, line 4 on the other: one unchanged line between. */
  assert_clean (NOTE,
                "Presenting issue: low mood\nSleep: improving\nGoals: return to work\nPlan: weekly sessions\nRisk: none disclosed\n",
                "Presenting issue: low mood\nSleep: poor\nGoals: return to work\nPlan: fortnightly sessions\nRisk: none disclosed\n",
                "Presenting issue: low mood\nSleep: improving\nGoals: return to work\nPlan: fortnightly sessions\nRisk: none disclosed\n");
}

static void
test_clean_insertions (void)
{
  /* A line inserted at the start on one side, one appended at the end on
   * the other. */
  assert_clean ("a\nb\nc\n", "title\na\nb\nc\n", "a\nb\nc\nsigned off\n",
                "title\na\nb\nc\nsigned off\n");
}

static void
test_clean_one_side_unchanged (void)
{
  assert_clean (NOTE, NOTE, "rewritten entirely\n", "rewritten entirely\n");
  assert_clean (NOTE, NOTE, "", "");
  assert_clean (NOTE, NOTE, NOTE, NOTE);
}

static void
test_clean_identical (void)
{
  /* The same edit on both sides counts once. */
  assert_clean (NOTE,
                "Presenting issue: low mood\nSleep: better\nGoals: return to work\nPlan: weekly sessions\nRisk: none disclosed\n",
                "Presenting issue: low mood\nSleep: better\nGoals: return to work\nPlan: weekly sessions\nRisk: none disclosed\n",
                "Presenting issue: low mood\nSleep: better\nGoals: return to work\nPlan: weekly sessions\nRisk: none disclosed\n");
  /* ...as does the same line appended on both, and the same whole new
   * text on an empty base. */
  assert_clean ("a\nb\n", "a\nb\nc\n", "a\nb\nc\n", "a\nb\nc\n");
  assert_clean ("", "first note\n", "first note\n", "first note\n");
  /* One side makes an edit, the other the same edit and another one. */
  assert_clean ("a\nb\nc\nd\n", "A\nb\nc\nd\n", "A\nb\nc\nD\n", "A\nb\nc\nD\n");
}

static void
test_clean_deletions (void)
{
  /* Line b deleted on one side, line e edited on the other. */
  assert_clean ("a\nb\nc\nd\ne\n", "a\nc\nd\ne\n", "a\nb\nc\nd\nE\n",
                "a\nc\nd\nE\n");
  /* The first two lines deleted on one side, a line appended on the other. */
  assert_clean ("a\nb\nc\nd\n", "c\nd\n", "a\nb\nc\nd\ne\n", "c\nd\ne\n");
  /* The same line deleted on both sides, and an edit elsewhere. */
  assert_clean ("a\nb\nc\nd\n", "a\nc\nd\n", "a\nc\nD\n", "a\nc\nD\n");
}

static void
test_clean_empty (void)
{
  /* An empty base: one side writes, the other leaves it empty. */
  assert_clean ("", "first note\n", "", "first note\n");
  assert_clean ("", "", "", "");
  /* Both sides empty the note. */
  assert_clean ("a\nb\n", "", "", "");
}

static void
test_clean_no_final_newline (void)
{
  /* The last line, without its newline, edited on one side. */
  assert_clean ("a\nb\nc", "A\nb\nc", "a\nb\nC", "A\nb\nC");
  /* A final newline added on one side, the first line edited on the other. */
  assert_clean ("a\nb\nc", "a\nb\nc\n", "A\nb\nc", "A\nb\nc\n");
  /* A final newline removed on one side. */
  assert_clean ("a\nb\nc\n", "a\nb\nc", "A\nb\nc\n", "A\nb\nc");
  /* One line, no newline anywhere. */
  assert_clean ("x", "x", "y", "y");
}

static void
test_clean_crlf (void)
{
  assert_clean ("a\r\nb\r\nc\r\nd\r\n", "A\r\nb\r\nc\r\nd\r\n",
                "a\r\nb\r\nc\r\nD\r\n", "A\r\nb\r\nc\r\nD\r\n");
  /* Lines are split on \n only: a lone CR is inside a line. */
  assert_clean ("a\rb\nc\nd\n", "a\rB\nc\nd\n", "a\rb\nc\nD\n",
                "a\rB\nc\nD\n");
}

static void
test_clean_utf8 (void)
{
  assert_clean ("Stimmung: gedrückt\n情绪：低落\nÉtat: stable 🙂\nמצב: יציב\n",
                "Stimmung: gedrückt, Ängste\n情绪：低落\nÉtat: stable 🙂\nמצב: יציב\n",
                "Stimmung: gedrückt\n情绪：低落\nÉtat: stable 🙂\nמצב: משתפר\n",
                "Stimmung: gedrückt, Ängste\n情绪：低落\nÉtat: stable 🙂\nמצב: משתפר\n");
}

/* A note of 5,200 numbered lines (203 KiB); EDITS replaces the lines at the
 * given numbers (terminated by -1) with "edited N". */
static char *
long_note (const int *edits)
{
  GString *s = g_string_sized_new (210 * 1024);

  for (int n = 0; n < 5200; n++)
    {
      gboolean edited = FALSE;
      for (const int *e = edits; *e >= 0; e++)
        edited |= (*e == n);
      if (edited)
        g_string_append_printf (s, "edited %d\n", n);
      else
        g_string_append_printf (s, "line %05d: the session went as planned\n", n);
    }
  return g_string_free (s, FALSE);
}

static void
test_clean_long (void)
{
  const int none[] = { -1 };
  const int first[] = { 0, 100, 2500, -1 };
  const int second[] = { 1000, 5000, -1 };
  const int both[] = { 0, 100, 1000, 2500, 5000, -1 };
  g_autofree char *base = long_note (none);
  g_autofree char *ours = long_note (first);
  g_autofree char *theirs = long_note (second);
  g_autofree char *expected = long_note (both);

  g_assert_cmpuint (strlen (base), >=, 200 * 1024);
  g_assert_nonnull (strstr (base, "line 05000:"));
  assert_clean (base, ours, theirs, expected);
}

/* ---- conflicts ---- */

static void
test_conflict_overlap (void)
{
  /* The same line changed differently. */
  assert_conflict (NOTE,
                   "Presenting issue: low mood\nSleep: improving\nGoals: return to work\nPlan: weekly sessions\nRisk: none disclosed\n",
                   "Presenting issue: low mood\nSleep: worse\nGoals: return to work\nPlan: weekly sessions\nRisk: none disclosed\n");
  /* Overlapping ranges of lines. */
  assert_conflict ("a\nb\nc\nd\ne\n", "a\nB\nC\nd\ne\n", "a\nb\nX\nY\ne\n");
  /* Different lines inserted at the same place in the middle. */
  assert_conflict ("a\nc\n", "a\nb1\nc\n", "a\nb2\nc\n");
}

static void
test_conflict_adjacent (void)
{
  /* Lines 2 and 3: no unchanged line between the edits, so, as in git, a
   * conflict (test_clean_middle has the same with one line between). */
  assert_conflict ("a\nb\nc\nd\n", "a\nB\nc\nd\n", "a\nb\nC\nd\n");
}

static void
test_conflict_append_end (void)
{
  /* Both sides append different lines at the end: libgit2 has no order to
   * put them in and reports a conflict (mts-merge.h). */
  assert_conflict (NOTE, NOTE "Homework: sleep diary\n",
                   NOTE "Next: review medication\n");
  /* Likewise at the start, and two different texts on an empty base. */
  assert_conflict ("a\n", "x\na\n", "y\na\n");
  assert_conflict ("", "first note\n", "another first note\n");
}

static void
test_conflict_delete_edit (void)
{
  /* A line deleted on one side, changed on the other. */
  assert_conflict ("a\nb\nc\n", "a\nc\n", "a\nB\nc\n");
  /* Everything deleted on one side, a line changed on the other. */
  assert_conflict ("a\nb\n", "", "a\nB\n");
}

static void
test_conflict_line_endings (void)
{
  /* One side converts CRLF to LF (every line changes), the other edits. */
  assert_conflict ("a\r\nb\r\nc\r\n", "a\nb\nc\n", "a\r\nb\r\nC\r\n");
  /* Both sides edit the last line, one of them adding a final newline. */
  assert_conflict ("a\nb\nc", "a\nb\nC", "a\nb\nc\n");
}

static void
test_conflict_utf8 (void)
{
  assert_conflict ("Stimmung: gedrückt\n", "Stimmung: gedrückt 😟\n",
                   "Stimmung: gedrückt 🙂\n");
}

static void
test_conflict_long (void)
{
  const int none[] = { -1 };
  const int first[] = { 10, 2500, -1 };
  const int second[] = { 2500, 4000, -1 };
  g_autofree char *base = long_note (none);
  g_autofree char *ours = long_note (first);
  g_autofree char *theirs = long_note (second);
  g_autofree char *other = NULL;

  /* Same edit of line 2500 on both sides: clean... */
  {
    const int both[] = { 10, 2500, 4000, -1 };
    g_autofree char *expected = long_note (both);
    assert_clean (base, ours, theirs, expected);
  }
  /* ...a different one: a conflict. */
  other = g_strdup (theirs);
  {
    char *line = strstr (other, "edited 2500\n");
    g_assert_nonnull (line);
    line[0] = 'E';
  }
  assert_conflict (base, ours, other);
}

/* ---- refusals ---- */

#define SECRET_BASE "Client disclosed history of self-harm\n"
#define SECRET_OURS "Client disclosed history of self-harm\nSafety plan agreed\n"
#define SECRET_THEIRS "Client disclosed history of self-harm\nReferred to crisis team\n"

/* The message names neither a text nor any line of one. */
static void
assert_no_text (const GError *error)
{
  const char *texts[] = { SECRET_BASE, SECRET_OURS, SECRET_THEIRS,
                          "self-harm", "Safety plan", "crisis team",
                          "Client disclosed", "\xff" };

  g_assert_nonnull (error);
  g_assert_nonnull (error->message);
  g_assert_cmpstr (error->message, !=, "");
  for (gsize i = 0; i < G_N_ELEMENTS (texts); i++)
    g_assert_null (strstr (error->message, texts[i]));
}

static void
assert_invalid (const char *base, const char *ours, const char *theirs)
{
  g_autoptr (GError) error = NULL;
  char *merged = (char *) "not reset";
  MtsMergeResult r;

  r = mts_merge_text (base, ours, theirs, &merged, &error);
  g_assert_cmpint (r, ==, MTS_MERGE_FAILED);
  g_assert_error (error, MTS_MERGE_ERROR, MTS_MERGE_ERROR_INVALID);
  g_assert_null (merged);
  assert_no_text (error);
}

static void
test_invalid_null (void)
{
  g_autoptr (GError) error = NULL;

  assert_invalid (NULL, SECRET_OURS, SECRET_THEIRS);
  assert_invalid (SECRET_BASE, NULL, SECRET_THEIRS);
  assert_invalid (SECRET_BASE, SECRET_OURS, NULL);
  assert_invalid (NULL, NULL, NULL);

  g_assert_cmpint (mts_merge_text (SECRET_BASE, SECRET_OURS, SECRET_THEIRS,
                                   NULL, &error), ==, MTS_MERGE_FAILED);
  g_assert_error (error, MTS_MERGE_ERROR, MTS_MERGE_ERROR_INVALID);
  assert_no_text (error);
}

static void
test_invalid_utf8 (void)
{
  /* Latin-1, a truncated sequence, an overlong encoding. */
  assert_invalid ("Stimmung: gedr\xfc" "ckt\n", SECRET_OURS, SECRET_THEIRS);
  assert_invalid (SECRET_BASE, SECRET_OURS "caf\xc3", SECRET_THEIRS);
  assert_invalid (SECRET_BASE, SECRET_OURS, SECRET_THEIRS "\xc0\xaf\n");
  assert_invalid (SECRET_BASE "\xff\n", SECRET_OURS, SECRET_THEIRS);
}

static void
test_conflict_sets_no_error (void)
{
  /* The texts used above do conflict (a check of the check), and a
   * conflict is a result, not an error. */
  assert_conflict (SECRET_BASE, SECRET_OURS, SECRET_THEIRS);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/merge/clean/start-end", test_clean_start_end);
  g_test_add_func ("/merge/clean/middle", test_clean_middle);
  g_test_add_func ("/merge/clean/insertions", test_clean_insertions);
  g_test_add_func ("/merge/clean/one-side-unchanged", test_clean_one_side_unchanged);
  g_test_add_func ("/merge/clean/identical", test_clean_identical);
  g_test_add_func ("/merge/clean/deletions", test_clean_deletions);
  g_test_add_func ("/merge/clean/empty", test_clean_empty);
  g_test_add_func ("/merge/clean/no-final-newline", test_clean_no_final_newline);
  g_test_add_func ("/merge/clean/crlf", test_clean_crlf);
  g_test_add_func ("/merge/clean/utf8", test_clean_utf8);
  g_test_add_func ("/merge/clean/long", test_clean_long);
  g_test_add_func ("/merge/conflict/overlap", test_conflict_overlap);
  g_test_add_func ("/merge/conflict/adjacent", test_conflict_adjacent);
  g_test_add_func ("/merge/conflict/append-end", test_conflict_append_end);
  g_test_add_func ("/merge/conflict/delete-edit", test_conflict_delete_edit);
  g_test_add_func ("/merge/conflict/line-endings", test_conflict_line_endings);
  g_test_add_func ("/merge/conflict/utf8", test_conflict_utf8);
  g_test_add_func ("/merge/conflict/long", test_conflict_long);
  g_test_add_func ("/merge/conflict/no-error", test_conflict_sets_no_error);
  g_test_add_func ("/merge/invalid/null", test_invalid_null);
  g_test_add_func ("/merge/invalid/utf8", test_invalid_utf8);

  return g_test_run ();
}
