/* SPDX-License-Identifier: MIT */
/* cmd_version.c: `ferret version`. */
#include <stdio.h>

#include "cli/cli.h"
#include "cli/exitcode.h"

int
cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("ferret %s\n", FERRET_VERSION);
    return EXIT_OK;
}
