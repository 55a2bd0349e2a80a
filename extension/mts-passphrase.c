/* mts-passphrase.c — reading passphrases from a file, the environment or the terminal. */
#define G_LOG_DOMAIN "mts-core"

#include "mts-passphrase.h"
#include "mts-error.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

void
mts_passphrase_free (char *passphrase)
{
  if (passphrase != NULL)
    sodium_free (passphrase);   /* sodium_free wipes before unmapping */
}

static char *
secure_copy (const char *src, gsize len, gsize *out_len, GError **error)
{
  char *p;

  if (len == 0 || len > MTS_PASSPHRASE_MAX)
    {
      g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_NO_PASSPHRASE,
                   len == 0 ? "the passphrase is empty"
                            : "the passphrase is longer than %d bytes", MTS_PASSPHRASE_MAX);
      return NULL;
    }
  p = sodium_malloc (len + 1);
  if (p == NULL)
    {
      g_set_error_literal (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO, "out of secure memory");
      return NULL;
    }
  memcpy (p, src, len);
  p[len] = '\0';
  *out_len = len;
  return p;
}

/* Reads the first line of @path into secure memory. */
static char *
read_from_file (const char *var, const char *path, gsize *len, GError **error)
{
  char *buf = sodium_malloc (MTS_PASSPHRASE_MAX + 2);
  char *result = NULL;
  struct stat st;
  ssize_t got;
  gsize n;
  int fd;

  if (buf == NULL)
    {
      g_set_error_literal (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO, "out of secure memory");
      return NULL;
    }
  fd = open (path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || fstat (fd, &st) != 0)
    {
      g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_NO_PASSPHRASE,
                   "%s: cannot read %s: %s", var, path, g_strerror (errno));
      goto out;
    }
  if ((st.st_mode & 077) != 0)
    {
      g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_NO_PASSPHRASE,
                   "%s: %s is readable by other users; chmod 600 it first", var, path);
      goto out;
    }
  /* Read until a line break, the end, or a full buffer: a pipe may hand
   * the line over in pieces. */
  n = 0;
  while (n < MTS_PASSPHRASE_MAX + 2 && memchr (buf, '\n', n) == NULL)
    {
      got = read (fd, buf + n, MTS_PASSPHRASE_MAX + 2 - n);
      if (got < 0 && errno == EINTR)
        continue;
      if (got < 0)
        {
          g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_NO_PASSPHRASE,
                       "%s: cannot read %s: %s", var, path, g_strerror (errno));
          goto out;
        }
      if (got == 0)
        break;
      n += (gsize) got;
    }
  /* The first line, without its line break (LF or CRLF); a line that does
   * not end within MTS_PASSPHRASE_MAX + 2 bytes is too long. */
  {
    const char *nl = memchr (buf, '\n', n);
    if (nl != NULL)
      n = (gsize) (nl - buf);
    else if (n == MTS_PASSPHRASE_MAX + 2)
      n = MTS_PASSPHRASE_MAX + 1;
  }
  if (n > 0 && buf[n - 1] == '\r')
    n--;
  if (n > MTS_PASSPHRASE_MAX)
    {
      g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_NO_PASSPHRASE,
                   "%s: the first line of %s is longer than %d bytes", var, path,
                   MTS_PASSPHRASE_MAX);
      goto out;
    }
  result = secure_copy (buf, n, len, error);
out:
  if (fd >= 0)
    close (fd);
  sodium_free (buf);
  return result;
}

/* Prompts on /dev/tty with echo off; returns NULL if there is no terminal
 * (without setting @error) or on failure (with @error set). */
static char *
read_from_terminal (const char *prompt, gsize *len, GError **error)
{
  struct termios saved, quiet;
  char *buf;
  char *result = NULL;
  gsize n = 0;
  int fd;

  fd = open ("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return NULL;
  if (tcgetattr (fd, &saved) != 0)
    {
      close (fd);
      return NULL;
    }
  buf = sodium_malloc (MTS_PASSPHRASE_MAX + 2);
  if (buf == NULL)
    {
      close (fd);
      g_set_error_literal (error, MTS_CORE_ERROR, MTS_CORE_ERROR_IO, "out of secure memory");
      return NULL;
    }
  quiet = saved;
  quiet.c_lflag &= ~(tcflag_t) ECHO;
  quiet.c_lflag |= ECHONL;
  if (write (fd, prompt, strlen (prompt)) < 0 || tcsetattr (fd, TCSAFLUSH, &quiet) != 0)
    goto out;
  while (n < MTS_PASSPHRASE_MAX + 1)
    {
      char c;
      ssize_t got = read (fd, &c, 1);
      if (got < 0 && errno == EINTR)
        continue;
      if (got <= 0 || c == '\n')
        break;
      buf[n++] = c;
    }
  tcsetattr (fd, TCSAFLUSH, &saved);
  result = secure_copy (buf, n, len, error);
out:
  sodium_free (buf);
  close (fd);
  if (result == NULL && error && *error == NULL)
    g_set_error_literal (error, MTS_CORE_ERROR, MTS_CORE_ERROR_NO_PASSPHRASE,
                         "cannot read a passphrase from the terminal");
  return result;
}

char *
mts_passphrase_read (const char *prefix, const char *prompt, gboolean confirm,
                     gsize *len, GError **error)
{
  g_autofree char *file_var = g_strconcat (prefix, "_FILE", NULL);
  const char *file = g_getenv (file_var);
  const char *value = g_getenv (prefix);
  GError *local = NULL;
  char *first, *second;
  gsize second_len = 0;

  if (!mts_core_init (error))
    return NULL;
  if (file != NULL && *file != '\0')
    return read_from_file (file_var, file, len, error);
  if (value != NULL)
    return secure_copy (value, strlen (value), len, error);

  first = read_from_terminal (prompt, len, &local);
  if (first == NULL)
    {
      if (local != NULL)
        g_propagate_error (error, local);
      else
        g_set_error (error, MTS_CORE_ERROR, MTS_CORE_ERROR_NO_PASSPHRASE,
                     "no passphrase: there is no terminal to ask, and neither %s nor %s is set",
                     prefix, file_var);
      return NULL;
    }
  if (!confirm)
    return first;
  second = read_from_terminal ("Repeat to confirm: ", &second_len, error);
  if (second == NULL || second_len != *len || sodium_memcmp (first, second, *len) != 0)
    {
      if (second != NULL)
        g_set_error_literal (error, MTS_CORE_ERROR, MTS_CORE_ERROR_NO_PASSPHRASE,
                             "the passphrases do not match");
      mts_passphrase_free (first);
      mts_passphrase_free (second);
      return NULL;
    }
  mts_passphrase_free (second);
  return first;
}
