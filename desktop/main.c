/* main.c — mts-desktop, the therapist's daily app. */
#include "mts-application.h"

int
main (int argc, char *argv[])
{
  g_autoptr (MtsApplication) app = mts_application_new (G_APPLICATION_DEFAULT_FLAGS);

  int status = g_application_run (G_APPLICATION (app), argc, argv);

  return status != 0 ? status : mts_application_get_exit_status (app);
}
