/* mts-server-main.c — the mts-server command: `serve`, or one of the
 * operator's commands (mts-server-admin.h).
 *
 *   mts-server [--config FILE] serve
 *   mts-server [--config FILE] <admin command> [arguments]
 *
 * Both open the storage and the vault named by the configuration.  The vault
 * passphrase comes from [vault] passphrase_file, else MTS_VAULT_PASSPHRASE_FILE,
 * else MTS_VAULT_PASSPHRASE, else the terminal.  docs/server.md has the rest.
 */
#define G_LOG_DOMAIN "mts-server"

#include <glib/gstdio.h>
#include <locale.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "mts-passphrase.h"
#include "mts-server-admin.h"
#include "mts-server.h"

static MtsVault *
open_vault (const MtsServerConfig *config, GError **error)
{
  g_autofree char *server_key = g_build_filename (config->vault_dir, "server.mtskey", NULL);
  gboolean creating = !g_file_test (server_key, G_FILE_TEST_EXISTS);
  gsize len = 0;
  char *passphrase;
  MtsVault *vault;

  if (config->vault_passphrase_file != NULL)
    g_setenv ("MTS_VAULT_PASSPHRASE_FILE", config->vault_passphrase_file, TRUE);
  passphrase = mts_passphrase_read ("MTS_VAULT_PASSPHRASE",
                                    creating ? "New vault passphrase: " : "Vault passphrase: ",
                                    creating, &len, error);
  if (passphrase == NULL)
    return NULL;
  vault = mts_vault_open (config->vault_dir, passphrase, len, config->vault_kdf, error);
  mts_passphrase_free (passphrase);
  return vault;
}

static void
usage (void)
{
  g_printerr ("usage: mts-server [--config FILE] serve\n"
              "       mts-server [--config FILE] COMMAND [ARGUMENTS]\n"
              "commands: practice-create, practice-list, user-add, user-reset-2fa,\n"
              "          user-unlock, user-list, device-list, device-revoke, audit-verify,\n"
              "          ai-key-set, ai-key-clear\n"
              "see docs/server.md\n");
}

int
main (int argc, char **argv)
{
  g_autofree char *config_path = NULL;
  gboolean version = FALSE;
  const GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, "configuration file", "FILE" },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, "print the version", NULL },
    G_OPTION_ENTRY_NULL
  };
  g_autoptr(GOptionContext) options = g_option_context_new ("COMMAND [ARGUMENTS]");
  g_autoptr(MtsServerConfig) config = NULL;
  g_autoptr(MtsVault) vault = NULL;
  g_autoptr(GError) error = NULL;
  MtsStorage *storage = NULL;
  const char *command;
  int status = 1;

  setlocale (LC_ALL, "");
  if (sodium_init () < 0)
    {
      g_printerr ("mts-server: libsodium failed to initialise\n");
      return 1;
    }
  g_option_context_add_main_entries (options, entries, NULL);
  g_option_context_set_strict_posix (options, TRUE);
  if (!g_option_context_parse (options, &argc, &argv, &error))
    {
      g_printerr ("mts-server: %s\n", error->message);
      usage ();
      return 2;
    }
  if (version)
    {
      g_print ("mts-server %s (protocol %d)\n", MTS_VERSION, MTS_PROTOCOL_VERSION);
      return 0;
    }
  if (argc < 2)
    {
      usage ();
      return 2;
    }
  command = argv[1];
  if (strcmp (command, "serve") != 0 && !mts_server_admin_is_command (command))
    {
      g_printerr ("mts-server: unknown command \"%s\"\n", command);
      usage ();
      return 2;
    }

  config = mts_server_config_load (config_path, &error);
  if (config == NULL)
    goto out;

  if (strcmp (command, "serve") == 0)
    mts_server_install_log_writer ();

  vault = open_vault (config, &error);
  if (vault == NULL)
    {
      g_prefix_error (&error, "vault %s: ", config->vault_dir);
      goto out;
    }
  storage = mts_storage_sqlite_open (config->storage_path, &error);
  if (storage == NULL)
    {
      g_prefix_error (&error, "storage %s: ", config->storage_path);
      goto out;
    }

  if (strcmp (command, "serve") == 0)
    {
      MtsServer *server = mts_server_new (config, storage, vault, &error);
      if (server == NULL)
        goto out;
      mts_server_run (server);
      mts_server_free (server);
      status = 0;
    }
  else
    status = mts_server_admin_run (config, storage, vault, command, argc - 2, argv + 2);

out:
  if (error != NULL)
    {
      if (strcmp (command, "serve") == 0)
        mts_log ("error", "fatal", "error", error->message, NULL);
      else
        g_printerr ("mts-server: %s\n", error->message);
    }
  mts_storage_close (storage);
  return status;
}
