/* mts-setup-page.c — the first run (see mts-setup-page.h). */
#define G_LOG_DOMAIN "mts-desktop"

#include "mts-setup-page.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <pwquality.h>
#include <string.h>

#include "mts-account.h"
#include "mts-application.h"
#include "mts-passphrase.h"
#include "mts-sync-client.h"
#include "mts-sync-session.h"

/* Scores (libpwquality, 0-100) below this are refused as too easy to guess. */
#define MIN_SCORE 50
#define MIN_LENGTH 10

struct _MtsSetupPage
{
  AdwBin parent_instance;

  GtkStack *steps;
  AdwEntryRow *server_url;
  AdwEntryRow *ca_file;
  AdwEntryRow *practice;
  AdwEntryRow *username;
  AdwEntryRow *password;
  GtkLabel *account_error;
  GtkSpinner *account_spinner;
  GtkButton *account_next;
  AdwEntryRow *passphrase;
  AdwEntryRow *passphrase_confirm;
  GtkLevelBar *strength_bar;
  GtkLabel *strength_label;
  GtkLabel *passphrase_error;
  AdwEntryRow *code;
  GtkLabel *code_error;
  GtkButton *code_back;
  GtkButton *sign_in;
  GtkSpinner *code_spinner;
  AdwStatusPage *sync_status;
  GtkProgressBar *sync_progress;
  GtkLabel *sync_label;
  GtkLabel *sync_error;
  GtkButton *sync_skip;
  GtkButton *sync_retry;
  GtkButton *finish;

  GCancellable *cancellable;
  gboolean busy;
  gboolean prefilled;

  pwquality_settings_t *pwq;

  /* The store made here: in the .setup folder until the login succeeded
   * (logged_in), then in the store folder.  NULL while a worker has it. */
  MtsStore *store;
  char *store_id;
  gboolean logged_in;
  char *user_id;
  char *username_used;
  MtsSyncManager *manager;
  gint64 received;
  guint pulse_source;
};

G_DEFINE_FINAL_TYPE (MtsSetupPage, mts_setup_page, ADW_TYPE_BIN)

/* ---- helpers ---- */

static MtsApplication *
page_app (MtsSetupPage *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkApplication *app = GTK_IS_WINDOW (root) ? gtk_window_get_application (GTK_WINDOW (root)) : NULL;

  return app != NULL ? MTS_APPLICATION (app) : MTS_APPLICATION_DEFAULT;
}

static char *
text_of (gpointer editable)
{
  return g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (editable))));
}

static void
show_error (GtkLabel *label, const char *message)
{
  gtk_label_set_text (label, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (label), message != NULL);
}

static void
set_busy (MtsSetupPage *self, gboolean busy)
{
  self->busy = busy;
  gtk_widget_set_sensitive (GTK_WIDGET (self->account_next), !busy);
  gtk_widget_set_visible (GTK_WIDGET (self->account_spinner), busy);
  gtk_spinner_set_spinning (self->account_spinner, busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->sign_in), !busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->code_back), !busy);
  gtk_widget_set_visible (GTK_WIDGET (self->code_spinner), busy);
  gtk_spinner_set_spinning (self->code_spinner, busy);
}

static void
show_step (MtsSetupPage *self, const char *step, GtkWidget *focus)
{
  gtk_stack_set_visible_child_name (self->steps, step);
  if (focus != NULL)
    gtk_widget_grab_focus (focus);
}

static char *
setup_dir_for (const char *store_dir)
{
  g_autofree char *trimmed = g_strdup (store_dir);
  gsize len = strlen (trimmed);

  while (len > 1 && trimmed[len - 1] == G_DIR_SEPARATOR)
    trimmed[--len] = '\0';
  return g_strconcat (trimmed, ".setup", NULL);
}

/* What a store folder holds (mts-store.h), and the actor file: removing
 * these and nothing else, a half-made store goes without any risk to other
 * files in the folder. */
static const char *const store_files[] = {
  "practice.db", "practice.db-wal", "practice.db-shm", "practice.db-journal",
  "practice.mtskey", "practice.mtskey.lock", "practice.mtskey.log", "practice.mtskey.log.lock",
  "actor", NULL,
};

static void
remove_half_made_store (const char *dir)
{
  g_autofree char *files = g_build_filename (dir, "files", NULL);

  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    return;
  for (const char *const *f = store_files; *f != NULL; f++)
    {
      g_autofree char *path = g_build_filename (dir, *f, NULL);
      if (g_remove (path) != 0 && errno != ENOENT)
        g_warning ("cannot remove %s: %s", path, g_strerror (errno));
    }
  g_rmdir (files);
  if (g_rmdir (dir) != 0)
    g_warning ("cannot remove the half-made store folder %s: %s", dir, g_strerror (errno));
}

/* Moves a closed store from @from into @to (made if missing), the database
 * last: until it is there, @to holds no store. */
static gboolean
move_store (const char *from, const char *to, GError **error)
{
  g_autoptr (GDir) dir = NULL;
  const char *name;

  if (g_mkdir_with_parents (to, 0700) != 0)
    {
      int saved = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved), "cannot create %s: %s",
                   to, g_strerror (saved));
      return FALSE;
    }
  dir = g_dir_open (from, 0, error);
  if (dir == NULL)
    return FALSE;
  for (int pass = 0; pass < 2; pass++)
    {
      g_dir_rewind (dir);
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          gboolean db = g_str_has_prefix (name, "practice.db");
          g_autofree char *src = NULL;
          g_autofree char *dst = NULL;

          if (db != (pass == 1))
            continue;
          src = g_build_filename (from, name, NULL);
          dst = g_build_filename (to, name, NULL);
          if (g_rename (src, dst) != 0)
            {
              int saved = errno;
              g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                           "cannot move the new store into %s: %s", to, g_strerror (saved));
              return FALSE;
            }
        }
    }
  g_rmdir (from);
  return TRUE;
}

/* ---- step 1: the server and the account ---- */

static void
account_changed_cb (MtsSetupPage *self)
{
  if (!self->busy)
    show_error (self->account_error, NULL);
}

static void
ca_chosen_cb (GtkNativeDialog *dialog, int response, MtsSetupPage *self)
{
  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr (GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file != NULL ? g_file_get_path (file) : NULL;

      if (path != NULL)
        gtk_editable_set_text (GTK_EDITABLE (self->ca_file), path);
    }
  g_object_unref (dialog);
}

static void
ca_choose_cb (MtsSetupPage *self)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkFileChooserNative *chooser;
  g_autoptr (GtkFileFilter) pem = gtk_file_filter_new ();
  g_autoptr (GtkFileFilter) all = gtk_file_filter_new ();

  chooser = gtk_file_chooser_native_new ("Choose the Practice's CA Certificate",
                                         GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                         GTK_FILE_CHOOSER_ACTION_OPEN, "_Choose", "_Cancel");
  gtk_file_filter_set_name (pem, "Certificates (PEM)");
  gtk_file_filter_add_pattern (pem, "*.pem");
  gtk_file_filter_add_pattern (pem, "*.crt");
  gtk_file_filter_add_mime_type (pem, "application/x-x509-ca-cert");
  gtk_file_filter_set_name (all, "All files");
  gtk_file_filter_add_pattern (all, "*");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), pem);
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), all);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect (chooser, "response", G_CALLBACK (ca_chosen_cb), self);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

typedef struct {
  char *url;
  char *ca;
} CheckData;

static void
check_data_free (CheckData *data)
{
  g_free (data->url);
  g_free (data->ca);
  g_free (data);
}

static void
check_server_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  CheckData *data = task_data;
  g_autoptr (MtsSyncClient) client = NULL;
  g_autoptr (JsonNode) answer = NULL;
  GError *error = NULL;

  client = mts_sync_client_new (data->url, data->ca, &error);
  if (client != NULL)
    answer = mts_sync_client_request (client, "GET", "/v1/health", NULL, NULL, cancellable, NULL,
                                      NULL, &error);
  if (answer == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
server_checked_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  MtsSetupPage *self = MTS_SETUP_PAGE (source);
  g_autoptr (GError) error = NULL;
  CheckData *data = g_task_get_task_data (G_TASK (result));

  if (g_cancellable_is_cancelled (g_task_get_cancellable (G_TASK (result))))
    return;
  set_busy (self, FALSE);
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_autofree char *text = mts_account_error_text (error, data->url);
      show_error (self->account_error, text);
      return;
    }
  if (self->store != NULL)
    show_step (self, "code", GTK_WIDGET (self->code));
  else
    show_step (self, "passphrase", GTK_WIDGET (self->passphrase));
}

static void
account_next_cb (MtsSetupPage *self)
{
  g_autofree char *url = text_of (self->server_url);
  g_autofree char *ca = text_of (self->ca_file);
  g_autofree char *practice = text_of (self->practice);
  g_autofree char *username = text_of (self->username);
  const char *password = gtk_editable_get_text (GTK_EDITABLE (self->password));
  g_autoptr (GTask) task = NULL;
  CheckData *data;

  if (self->busy)
    return;
  if (*url == '\0')
    {
      show_error (self->account_error, "Enter your practice's server address, such as "
                                       "https://sync.example.org.");
      gtk_widget_grab_focus (GTK_WIDGET (self->server_url));
      return;
    }
  if (*ca != '\0' && !g_file_test (ca, G_FILE_TEST_IS_REGULAR))
    {
      g_autofree char *text = g_strdup_printf ("There is no CA certificate file at %s. Choose the "
                                               "file your practice gave you, or leave it empty.",
                                               ca);
      show_error (self->account_error, text);
      gtk_widget_grab_focus (GTK_WIDGET (self->ca_file));
      return;
    }
  if (*practice == '\0' || *username == '\0' || *password == '\0')
    {
      show_error (self->account_error, "Enter your practice, username and password: your "
                                       "practice administrator gave you all three.");
      gtk_widget_grab_focus (GTK_WIDGET (*practice == '\0' ? self->practice
                                         : *username == '\0' ? self->username : self->password));
      return;
    }

  show_error (self->account_error, NULL);
  set_busy (self, TRUE);
  data = g_new0 (CheckData, 1);
  data->url = g_steal_pointer (&url);
  data->ca = *ca != '\0' ? g_steal_pointer (&ca) : NULL;
  task = g_task_new (self, self->cancellable, server_checked_cb, NULL);
  g_task_set_source_tag (task, account_next_cb);
  g_task_set_task_data (task, data, (GDestroyNotify) check_data_free);
  g_task_run_in_thread (task, check_server_thread);
}

/* ---- step 2: the passphrase ---- */

/* The strength of @text: 0 (nothing typed), 1 too weak (refused), 2 fair,
 * 3 good, 4 strong; *@words says it in plain words.  */
static int
passphrase_strength (MtsSetupPage *self, const char *text, char **words)
{
  g_autofree char *user = text_of (self->username);
  void *aux = NULL;
  int score;
  const char *why;

  if (*text == '\0')
    {
      *words = g_strdup_printf ("Type a passphrase of at least %d characters.", MIN_LENGTH);
      return 0;
    }
  score = pwquality_check (self->pwq, text, NULL, *user != '\0' ? user : NULL, &aux);
  if (score < 0)
    {
      switch (score)
        {
        case PWQ_ERROR_MIN_LENGTH:
          why = "it is too short: use at least 10 characters";
          break;
        case PWQ_ERROR_PALINDROME:
          why = "it reads the same backwards";
          break;
        case PWQ_ERROR_USER_CHECK:
        case PWQ_ERROR_GECOS_CHECK:
          why = "it contains your username";
          break;
        case PWQ_ERROR_CRACKLIB_CHECK:
          why = "it is based on a dictionary word";
          break;
        case PWQ_ERROR_MAX_CONSECUTIVE:
        case PWQ_ERROR_MAX_CLASS_REPEAT:
        case PWQ_ERROR_MAX_SEQUENCE:
          why = "it repeats characters or follows a simple sequence";
          break;
        case PWQ_ERROR_MIN_CLASSES:
          why = "it uses too few kinds of characters";
          break;
        default:
          why = "it is too easy to guess";
          break;
        }
      /* (@aux is an integer or a static string, never freed.) */
      *words = g_strdup_printf ("Too weak: %s.", why);
      return 1;
    }
  if (score < MIN_SCORE)
    {
      *words = g_strdup ("Too weak: it is too easy to guess. Add another word or two.");
      return 1;
    }
  if (score < 70)
    {
      *words = g_strdup ("Fair. A longer passphrase would be stronger.");
      return 2;
    }
  if (score < 90)
    {
      *words = g_strdup ("Good passphrase.");
      return 3;
    }
  *words = g_strdup ("Strong passphrase.");
  return 4;
}

static void
passphrase_changed_cb (MtsSetupPage *self)
{
  g_autofree char *words = NULL;
  int level = passphrase_strength (self, gtk_editable_get_text (GTK_EDITABLE (self->passphrase)),
                                   &words);

  gtk_level_bar_set_value (self->strength_bar, level);
  gtk_label_set_text (self->strength_label, words);
  show_error (self->passphrase_error, NULL);
}

static void
passphrase_activated_cb (MtsSetupPage *self)
{
  gtk_widget_grab_focus (GTK_WIDGET (self->passphrase_confirm));
}

static void
passphrase_back_cb (MtsSetupPage *self)
{
  show_step (self, "account", NULL);
}

static void
passphrase_next_cb (MtsSetupPage *self)
{
  const char *first = gtk_editable_get_text (GTK_EDITABLE (self->passphrase));
  const char *second = gtk_editable_get_text (GTK_EDITABLE (self->passphrase_confirm));
  g_autofree char *words = NULL;
  int level = passphrase_strength (self, first, &words);

  if (level == 0)
    {
      show_error (self->passphrase_error, "Choose a passphrase and type it twice.");
      gtk_widget_grab_focus (GTK_WIDGET (self->passphrase));
      return;
    }
  if (level == 1)
    {
      g_autofree char *text = g_strdup_printf ("This passphrase is too weak to protect your "
                                               "clients' records. %s A few unrelated words make "
                                               "a strong one.", words);
      show_error (self->passphrase_error, text);
      gtk_widget_grab_focus (GTK_WIDGET (self->passphrase));
      return;
    }
  if (strcmp (first, second) != 0)
    {
      show_error (self->passphrase_error, "The two passphrases differ. Type the same passphrase "
                                          "in both fields.");
      gtk_widget_grab_focus (GTK_WIDGET (self->passphrase_confirm));
      return;
    }
  show_error (self->passphrase_error, NULL);
  show_step (self, "code", GTK_WIDGET (self->code));
}

/* ---- step 3: the code; the store is made and signed in ---- */

static void
code_changed_cb (MtsSetupPage *self)
{
  /* (The code is emptied after each attempt: keep the message then.) */
  if (!self->busy && *gtk_editable_get_text (GTK_EDITABLE (self->code)) != '\0')
    show_error (self->code_error, NULL);
}

static void
code_back_cb (MtsSetupPage *self)
{
  /* Once the store is made its passphrase is chosen: back to the account. */
  show_step (self, self->store != NULL ? "account" : "passphrase", NULL);
}

typedef struct {
  MtsStore *store;          /* the store from an earlier attempt, or NULL */
  char *setup_dir;
  char *store_dir;
  char *kdf_level;
  char *url;
  char *ca;
  char *practice;
  char *username;
  char *device_name;
  char *passphrase;         /* sodium_malloc, for a new store and the reopening */
  gsize passphrase_len;
  char *password;           /* sodium_malloc */
  char code[16];
  /* results */
  gboolean logged_in;
  char *user_id;
} SignInData;

static void
sign_in_data_free (SignInData *data)
{
  g_clear_object (&data->store);
  g_free (data->setup_dir);
  g_free (data->store_dir);
  g_free (data->kdf_level);
  g_free (data->url);
  g_free (data->ca);
  g_free (data->practice);
  g_free (data->username);
  g_free (data->device_name);
  mts_passphrase_free (data->passphrase);
  mts_passphrase_free (data->password);
  memset (data->code, 0, sizeof data->code);
  g_free (data->user_id);
  g_free (data);
}

/* On the worker: make the store (first attempt), configure, log in; after a
 * login, move the store into the store folder and open it there.  The task
 * data keeps the store of a failed attempt for the next. */
static void
sign_in_thread (GTask *task, gpointer source, gpointer task_data, GCancellable *cancellable)
{
  SignInData *data = task_data;
  g_autoptr (MtsSyncSession) session = NULL;
  GError *error = NULL;

  if (data->store == NULL)
    {
      remove_half_made_store (data->setup_dir);
      data->store = mts_store_create (data->setup_dir, data->passphrase, data->passphrase_len,
                                      data->kdf_level, &error);
      if (data->store == NULL)
        {
          g_task_return_error (task, error);
          return;
        }
      /* Until a clinician record is chosen, the audit log names the user. */
      mts_store_set_actor (data->store, data->username);
    }

  session = mts_sync_session_new (data->store, &error);
  if (session == NULL
      || !mts_sync_session_configure (session, data->url, data->ca, &error)
      || !mts_sync_session_login (session, data->practice, data->username, data->password,
                                  data->code, data->device_name, cancellable, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  data->user_id = g_strdup (mts_sync_session_get_user_id (session));
  data->logged_in = TRUE;

  /* Close the store, move it in, open it where it now lives. */
  g_clear_object (&session);
  g_clear_object (&data->store);
  if (!move_store (data->setup_dir, data->store_dir, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  data->store = mts_store_open (data->store_dir, &error);
  if (data->store == NULL
      || !mts_store_unlock (data->store, data->passphrase, data->passphrase_len, &error))
    {
      g_clear_object (&data->store);
      g_task_return_error (task, error);
      return;
    }
  mts_store_set_actor (data->store, data->username);
  g_task_return_boolean (task, TRUE);
}

static void start_first_sync (MtsSetupPage *self);

static gboolean
error_is_about_the_server (const GError *error)
{
  return g_error_matches (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_TLS)
      || g_error_matches (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_INVALID)
      || g_error_matches (error, MTS_SYNC_ERROR, MTS_SYNC_ERROR_PROTOCOL);
}

static void
signed_in_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  MtsSetupPage *self = MTS_SETUP_PAGE (source);
  SignInData *data = g_task_get_task_data (G_TASK (result));
  g_autoptr (GError) error = NULL;
  gboolean ok = g_task_propagate_boolean (G_TASK (result), &error);

  if (g_cancellable_is_cancelled (g_task_get_cancellable (G_TASK (result))))
    {
      /* The page went away mid-way: a store that never logged in goes. */
      if (!data->logged_in && data->store != NULL)
        {
          g_clear_object (&data->store);
          remove_half_made_store (data->setup_dir);
        }
      return;
    }

  set_busy (self, FALSE);
  g_clear_object (&self->store);
  self->store = g_steal_pointer (&data->store);
  g_clear_pointer (&self->store_id, g_free);
  if (self->store != NULL)
    self->store_id = g_strdup (mts_store_get_id (self->store));
  /* A code is accepted once: never offer the same one again. */
  gtk_editable_set_text (GTK_EDITABLE (self->code), "");

  if (!ok)
    {
      g_autofree char *text = mts_account_error_text (error, data->url);

      if (data->logged_in)
        {
          /* Logged in, but the store could not be moved or reopened. */
          show_error (self->code_error, text);
          return;
        }
      if (error_is_about_the_server (error))
        {
          show_error (self->account_error, text);
          show_step (self, "account", GTK_WIDGET (self->server_url));
        }
      else
        {
          show_error (self->code_error, text);
          gtk_widget_grab_focus (GTK_WIDGET (self->code));
        }
      return;
    }

  self->logged_in = TRUE;
  g_free (self->user_id);
  self->user_id = g_steal_pointer (&data->user_id);
  g_free (self->username_used);
  self->username_used = g_strdup (data->username);

  /* Secrets typed here are done with. */
  gtk_editable_set_text (GTK_EDITABLE (self->password), "");
  gtk_editable_set_text (GTK_EDITABLE (self->passphrase), "");
  gtk_editable_set_text (GTK_EDITABLE (self->passphrase_confirm), "");

  /* Offered again on another first run (a second store, a reinstall). */
  {
    GSettings *settings = mts_application_get_settings (page_app (self));
    g_settings_set_string (settings, "server-url", data->url);
    g_settings_set_string (settings, "ca-file", data->ca != NULL ? data->ca : "");
  }
  /* The actor until the first sync says which clinician this is. */
  mts_application_set_actor (page_app (self), data->username, NULL);

  start_first_sync (self);
}

static void
sign_in_cb (MtsSetupPage *self)
{
  MtsApplication *app = page_app (self);
  g_autofree char *code = text_of (self->code);
  g_autofree char *ca = text_of (self->ca_file);
  g_autoptr (GTask) task = NULL;
  SignInData *data;
  gsize digits = 0;
  GString *clean = g_string_new (NULL);

  if (self->busy)
    {
      g_string_free (clean, TRUE);
      return;
    }
  for (const char *p = code; *p != '\0'; p++)
    if (g_ascii_isdigit (*p))
      {
        g_string_append_c (clean, *p);
        digits++;
      }
    else if (*p != ' ')
      digits = 99;
  if (digits != 6)
    {
      g_string_free (clean, TRUE);
      show_error (self->code_error, "Enter the 6 digits your authenticator app shows.");
      gtk_widget_grab_focus (GTK_WIDGET (self->code));
      return;
    }

  data = g_new0 (SignInData, 1);
  g_strlcpy (data->code, clean->str, sizeof data->code);
  memset (clean->str, 0, clean->len);
  g_string_free (clean, TRUE);
  data->store = g_steal_pointer (&self->store);
  data->store_dir = g_strdup (mts_application_get_store_dir (app));
  data->setup_dir = setup_dir_for (data->store_dir);
  data->kdf_level = g_strdup (mts_account_kdf_level ());
  data->url = text_of (self->server_url);
  data->ca = *ca != '\0' ? g_steal_pointer (&ca) : NULL;
  data->practice = text_of (self->practice);
  data->username = text_of (self->username);
  data->device_name = g_strdup (g_get_host_name ());
  data->passphrase = mts_account_secret_dup (gtk_editable_get_text (GTK_EDITABLE (self->passphrase)),
                                             &data->passphrase_len);
  data->password = mts_account_secret_dup (gtk_editable_get_text (GTK_EDITABLE (self->password)),
                                           NULL);

  show_error (self->code_error, NULL);
  set_busy (self, TRUE);
  task = g_task_new (self, self->cancellable, signed_in_cb, NULL);
  g_task_set_source_tag (task, sign_in_cb);
  g_task_set_task_data (task, data, (GDestroyNotify) sign_in_data_free);
  g_task_run_in_thread (task, sign_in_thread);
}

/* ---- step 4: the first sync ---- */

static gboolean
pulse_cb (gpointer user_data)
{
  MtsSetupPage *self = user_data;

  gtk_progress_bar_pulse (self->sync_progress);
  return G_SOURCE_CONTINUE;
}

static void
stop_pulse (MtsSetupPage *self)
{
  g_clear_handle_id (&self->pulse_source, g_source_remove);
}

static void
sync_progress_cb (MtsSyncManager *mgr, MtsSyncPhase phase, gint64 done, gint64 total,
                  MtsSetupPage *self)
{
  g_autofree char *text = NULL;

  if (total <= 0)
    return;
  stop_pulse (self);
  gtk_progress_bar_set_fraction (self->sync_progress, CLAMP ((double) done / total, 0.0, 1.0));
  if (phase == MTS_SYNC_PHASE_PUSH)
    text = g_strdup_printf ("Sending %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " changes", done,
                            total);
  else
    {
      self->received = done;
      text = g_strdup_printf ("Received %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT " records",
                              done, total);
    }
  gtk_progress_bar_set_text (self->sync_progress, text);
}

/* The clinician the audit log and signatures name from now on. */
static void
choose_actor (MtsSetupPage *self)
{
  MtsApplication *app = page_app (self);
  g_autoptr (MtsClinician) found = NULL;
  g_autoptr (GError) error = NULL;

  if (self->store == NULL)
    return;
  if (self->user_id != NULL)
    found = mts_store_clinician_get (self->store, self->user_id, NULL);
  if (found == NULL)
    {
      g_autoptr (MtsClinician) mine = mts_clinician_new ();

      mine->display_name = g_strdup (self->username_used);
      if (!mts_store_clinician_add (self->store, mine, &error))
        {
          g_warning ("cannot add the clinician record: %s", error->message);
          return;
        }
      found = g_steal_pointer (&mine);
    }
  if (!mts_application_set_actor (app, found->id, &error))
    g_warning ("cannot keep the actor: %s", error->message);
  mts_store_set_actor (self->store, found->id);
}

static void
first_sync_done_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  MtsSetupPage *self = user_data;
  g_autoptr (GError) error = NULL;
  gboolean ok = mts_sync_manager_sync_finish (MTS_SYNC_MANAGER (source), result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || self->store == NULL)
    {
      g_object_unref (self);
      return;
    }
  stop_pulse (self);
  self->busy = FALSE;
  if (!ok)
    {
      const char *why = mts_sync_manager_get_error_message (MTS_SYNC_MANAGER (source));
      g_autofree char *text = NULL;

      if (why != NULL)
        text = g_strdup_printf ("The first sync did not finish: %s. Try again, or continue "
                                "offline: the app syncs by itself once it can.", why);
      else
        text = g_strdup_printf ("The first sync did not finish: %s", error->message);
      gtk_progress_bar_set_text (self->sync_progress, "Not finished");
      show_error (self->sync_error, text);
      gtk_widget_set_visible (GTK_WIDGET (self->sync_retry), TRUE);
      gtk_widget_set_visible (GTK_WIDGET (self->sync_skip), TRUE);
      gtk_widget_grab_focus (GTK_WIDGET (self->sync_retry));
      g_object_unref (self);
      return;
    }

  choose_actor (self);
  gtk_progress_bar_set_fraction (self->sync_progress, 1.0);
  gtk_progress_bar_set_text (self->sync_progress, "Done");
  {
    g_autofree char *text = NULL;
    if (self->received == 1)
      text = g_strdup ("1 record received. Your practice is ready on this computer.");
    else
      text = g_strdup_printf ("%" G_GINT64_FORMAT " records received. Your practice is ready on "
                              "this computer.", self->received);
    gtk_label_set_text (self->sync_label, text);
  }
  adw_status_page_set_title (self->sync_status, "Your Practice is Ready");
  adw_status_page_set_icon_name (self->sync_status, "emblem-ok-symbolic");
  gtk_widget_set_visible (GTK_WIDGET (self->finish), TRUE);
  gtk_widget_grab_focus (GTK_WIDGET (self->finish));
  g_object_unref (self);
}

static void
start_first_sync (MtsSetupPage *self)
{
  show_step (self, "sync", NULL);
  show_error (self->sync_error, NULL);
  gtk_widget_set_visible (GTK_WIDGET (self->sync_retry), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->sync_skip), FALSE);
  gtk_widget_set_visible (GTK_WIDGET (self->finish), FALSE);
  gtk_progress_bar_set_fraction (self->sync_progress, 0.0);
  gtk_progress_bar_set_text (self->sync_progress, "Connecting…");
  gtk_label_set_text (self->sync_label, "You can leave this running: large practices take a "
                                        "few minutes.");
  self->received = 0;

  if (self->manager == NULL)
    {
      self->manager = mts_sync_manager_new (self->store);
      g_signal_connect_object (self->manager, "progress", G_CALLBACK (sync_progress_cb), self, 0);
    }
  stop_pulse (self);
  self->pulse_source = g_timeout_add (150, pulse_cb, self);
  self->busy = TRUE;
  mts_sync_manager_sync_async (self->manager, self->cancellable, first_sync_done_cb,
                               g_object_ref (self));
}

static void
sync_retry_cb (MtsSetupPage *self)
{
  if (!self->busy)
    start_first_sync (self);
}

static void
finish_cb (MtsSetupPage *self)
{
  MtsApplication *app = page_app (self);
  g_autoptr (MtsStore) store = NULL;

  if (self->busy || self->store == NULL || !self->logged_in)
    return;
  /* (Continue Offline, after a failed sync, comes here too.) */
  if (g_strcmp0 (mts_application_get_actor (app), self->username_used) == 0
      || mts_application_get_actor (app) == NULL)
    choose_actor (self);
  g_clear_object (&self->manager);
  store = g_steal_pointer (&self->store);
  g_clear_pointer (&self->store_id, g_free);
  self->logged_in = FALSE;
  mts_application_adopt_store (app, store);
  /* The page is ready for another first run (not that there is one). */
  show_step (self, "account", NULL);
  adw_status_page_set_title (self->sync_status, "Getting Your Practice's Records");
  adw_status_page_set_icon_name (self->sync_status, "emblem-synchronizing-symbolic");
}

/* ---- the page ---- */

const char *
mts_setup_page_get_step (MtsSetupPage *self)
{
  return gtk_stack_get_visible_child_name (self->steps);
}

const char *
mts_setup_page_get_store_id (MtsSetupPage *self)
{
  return self->store_id;
}

gboolean
mts_setup_page_is_busy (MtsSetupPage *self)
{
  return self->busy;
}

static void
mts_setup_page_map (GtkWidget *widget)
{
  MtsSetupPage *self = MTS_SETUP_PAGE (widget);
  MtsApplication *app = page_app (self);

  GTK_WIDGET_CLASS (mts_setup_page_parent_class)->map (widget);

  if (!self->prefilled && app != NULL)
    {
      GSettings *settings = mts_application_get_settings (app);
      g_autofree char *url = g_settings_get_string (settings, "server-url");
      g_autofree char *ca = g_settings_get_string (settings, "ca-file");

      self->prefilled = TRUE;
      if (*gtk_editable_get_text (GTK_EDITABLE (self->server_url)) == '\0')
        gtk_editable_set_text (GTK_EDITABLE (self->server_url), url);
      if (*gtk_editable_get_text (GTK_EDITABLE (self->ca_file)) == '\0')
        gtk_editable_set_text (GTK_EDITABLE (self->ca_file), ca);
    }
  /* A first run left half-way (the app closed, or killed, before the
   * login) left a store that never signed in beside the store folder. */
  if (app != NULL && self->store == NULL && !self->busy)
    {
      g_autofree char *setup_dir = setup_dir_for (mts_application_get_store_dir (app));
      remove_half_made_store (setup_dir);
    }
  show_error (self->account_error, NULL);
  if (g_str_equal (mts_setup_page_get_step (self), "account"))
    gtk_widget_grab_focus (GTK_WIDGET (*gtk_editable_get_text (GTK_EDITABLE (self->server_url)) == '\0'
                                       ? self->server_url : self->practice));
}

static void
mts_setup_page_dispose (GObject *object)
{
  MtsSetupPage *self = MTS_SETUP_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  stop_pulse (self);
  if (self->manager != NULL)
    mts_sync_manager_cancel (self->manager);
  g_clear_object (&self->manager);
  if (self->store != NULL && !self->logged_in)
    {
      /* Never logged in: nothing of it is worth keeping. */
      g_autofree char *setup_dir = g_strdup (mts_store_get_dir (self->store));
      g_clear_object (&self->store);
      if (g_str_has_suffix (setup_dir, ".setup"))
        remove_half_made_store (setup_dir);
    }
  g_clear_object (&self->store);
  /* (AdwBin unparents its child: the template's top widget goes first.) */
  adw_bin_set_child (ADW_BIN (self), NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), MTS_TYPE_SETUP_PAGE);
  G_OBJECT_CLASS (mts_setup_page_parent_class)->dispose (object);
}

static void
mts_setup_page_finalize (GObject *object)
{
  MtsSetupPage *self = MTS_SETUP_PAGE (object);

  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->pwq, pwquality_free_settings);
  g_free (self->store_id);
  g_free (self->user_id);
  g_free (self->username_used);
  G_OBJECT_CLASS (mts_setup_page_parent_class)->finalize (object);
}

static void
mts_setup_page_class_init (MtsSetupPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = mts_setup_page_dispose;
  object_class->finalize = mts_setup_page_finalize;
  widget_class->map = mts_setup_page_map;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/uk/co/mytherapysuite/Desktop/mts-setup-page.ui");
  gtk_widget_class_bind_template_child (widget_class, MtsSetupPage, steps);
  gtk_widget_class_bind_template_child (widget_class, MtsSetupPage, server_url);
  gtk_widget_class_bind_template_child (widget_class, MtsSetupPage, ca_file);
  gtk_widget_class_bind_template_child (widget_class, MtsSetupPage, practice);
  gtk_widget_class_bind_template_child (widget_class, MtsSetupPage, username);
  gtk_widget_class_bind_template_child (widget_class, MtsSetupPage, password);
  gtk_widget_class_bind_template_child (widget_class, MtsSetupPage, account_error);
  gtk_widget_class_bind_template_child (widget_class, MtsSetupPage, account_spinner);
  gtk_widget_class_bind_template_child (widget_class, MtsSetupPage, account_next);
  gtk_widget_class_bind_template_child (widget_class, MtsSetupPage, passphrase);
  gtk_widget_class_bind_template_child (widget_class, MtsSetupPage, passphrase_confirm);
  gtk_widget_class_bind_template_child (widget_class, MtsSetupPage, strength_bar);
  gtk_widget_class_bind_template_child (widget_class, MtsSetupPage, strength_label);
  gtk_widget_class_bind_template_child (widget_class, MtsSetupPage, passphrase_error);
  gtk_widget_class_bind_template_child (widget_class, MtsSetupPage, code);
  gtk_widget_class_bind_template_child (widget_class, MtsSetupPage, code_error);
  gtk_widget_class_bind_template_child (widget_class, MtsSetupPage, code_back);
  gtk_widget_class_bind_template_child (widget_class, MtsSetupPage, sign_in);
  gtk_widget_class_bind_template_child (widget_class, MtsSetupPage, code_spinner);
  gtk_widget_class_bind_template_child (widget_class, MtsSetupPage, sync_status);
  gtk_widget_class_bind_template_child (widget_class, MtsSetupPage, sync_progress);
  gtk_widget_class_bind_template_child (widget_class, MtsSetupPage, sync_label);
  gtk_widget_class_bind_template_child (widget_class, MtsSetupPage, sync_error);
  gtk_widget_class_bind_template_child (widget_class, MtsSetupPage, sync_skip);
  gtk_widget_class_bind_template_child (widget_class, MtsSetupPage, sync_retry);
  gtk_widget_class_bind_template_child (widget_class, MtsSetupPage, finish);
  gtk_widget_class_bind_template_callback (widget_class, account_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, account_next_cb);
  gtk_widget_class_bind_template_callback (widget_class, ca_choose_cb);
  gtk_widget_class_bind_template_callback (widget_class, passphrase_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, passphrase_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, passphrase_back_cb);
  gtk_widget_class_bind_template_callback (widget_class, passphrase_next_cb);
  gtk_widget_class_bind_template_callback (widget_class, code_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, code_back_cb);
  gtk_widget_class_bind_template_callback (widget_class, sign_in_cb);
  gtk_widget_class_bind_template_callback (widget_class, sync_retry_cb);
  gtk_widget_class_bind_template_callback (widget_class, finish_cb);
}

/* Whether cracklib's dictionary is installed where libpwquality looks by
 * default; without it every check fails with "error loading dictionary",
 * so the dictionary check is left out (the other checks and the score
 * still apply). */
static gboolean
dictionary_installed (void)
{
  static const char *const paths[] = {
    "/var/cache/cracklib/cracklib_dict.pwd", "/usr/share/cracklib/pw_dict.pwd",
    "/usr/lib/cracklib_dict.pwd", NULL,
  };

  for (const char *const *p = paths; *p != NULL; p++)
    if (g_file_test (*p, G_FILE_TEST_EXISTS))
      return TRUE;
  return FALSE;
}

static void
mts_setup_page_init (MtsSetupPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();

  /* libpwquality's defaults, not the system's pwquality.conf: the same
   * rules on every computer.  At least 10 characters. */
  self->pwq = pwquality_default_settings ();
  pwquality_set_int_value (self->pwq, PWQ_SETTING_MIN_LENGTH, MIN_LENGTH);
  if (!dictionary_installed ())
    pwquality_set_int_value (self->pwq, PWQ_SETTING_DICT_CHECK, 0);

  gtk_level_bar_remove_offset_value (self->strength_bar, GTK_LEVEL_BAR_OFFSET_LOW);
  gtk_level_bar_remove_offset_value (self->strength_bar, GTK_LEVEL_BAR_OFFSET_HIGH);
  gtk_level_bar_remove_offset_value (self->strength_bar, GTK_LEVEL_BAR_OFFSET_FULL);
  gtk_level_bar_add_offset_value (self->strength_bar, GTK_LEVEL_BAR_OFFSET_LOW, 1.0);
  gtk_level_bar_add_offset_value (self->strength_bar, GTK_LEVEL_BAR_OFFSET_HIGH, 3.0);
  gtk_level_bar_add_offset_value (self->strength_bar, GTK_LEVEL_BAR_OFFSET_FULL, 4.0);
  gtk_level_bar_set_value (self->strength_bar, 0);
}

GtkWidget *
mts_setup_page_new (void)
{
  return g_object_new (MTS_TYPE_SETUP_PAGE, NULL);
}
