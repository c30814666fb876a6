/* SPDX-License-Identifier: MIT */
/* exitcode.h: ferret's own exit statuses. `ferret run` otherwise exits with the command's
 * status (128+N when the command was killed by signal N). */
#pragma once
#include "util/err.h"

#define EXIT_OK 0
#define EXIT_FAIL 1  /* a runtime failure: I/O, a target that vanished, a bad file */
#define EXIT_USAGE 2 /* bad command line: unknown option, bad value, missing argument */
#define EXIT_INTERRUPTED 130 /* stopped by Ctrl-C before finishing (128 + SIGINT, as a shell
                                reports it), where no command's own status applies */

static inline int
exitcode_for(ErrKind kind)
{
    return kind == ERR_USAGE ? EXIT_USAGE : EXIT_FAIL;
}
