/* mts-server-admin.h — the operator's commands (mts-server <command> ...),
 * run on the server machine against its storage and vault:
 *
 *   practice-create SLUG NAME          a practice and its vault keystore
 *   practice-list
 *   user-add [--no-qr] SLUG USERNAME ROLE
 *                                      ROLE: clinician, practice_admin or
 *                                      support.  The password comes from
 *                                      MTS_USER_PASSWORD_FILE, then
 *                                      MTS_USER_PASSWORD, then the terminal.
 *                                      Prints the otpauth:// URI for the
 *                                      user's authenticator and, unless
 *                                      --no-qr, a QR code of it (libqrencode)
 *   user-reset-2fa [--no-qr] SLUG USERNAME
 *                                      a new TOTP secret; the user's tokens
 *                                      are revoked
 *   user-unlock SLUG USERNAME          clears a login lockout
 *   user-list SLUG
 *   device-list SLUG
 *   device-revoke SLUG DEVICE_ID       the device's tokens stop working
 *   audit-verify                       checks the server's audit log chain
 *   ai-key-set anthropic|openai        seals the provider's API key, read
 *                                      from standard input (its first
 *                                      line; a terminal does not echo it),
 *                                      in the vault (mts_vault_secret_set)
 *   ai-key-clear anthropic|openai      removes it
 *
 * Every command that changes something writes an entry to the server's
 * audit log (actor "admin").  Nothing secret is printed except what the
 * command exists to hand over (the otpauth URI and its QR code).
 */
#pragma once

#include "mts-server-config.h"
#include "mts-server-storage.h"
#include "mts-vault.h"

G_BEGIN_DECLS

/* Whether @name is one of the commands above. */
gboolean mts_server_admin_is_command (const char *name);

/* Runs @command with its arguments (argv[0] is the first argument after the
 * command name).  Output on stdout, errors on stderr.  Returns the exit
 * status: 0 on success, 1 on failure, 2 on a usage error. */
int mts_server_admin_run (const MtsServerConfig *config, MtsStorage *storage,
                          MtsVault *vault, const char *command, int argc, char **argv);

G_END_DECLS
