/* SPDX-License-Identifier: MIT */
/* Output paths that are not plain regular files. */
#ifndef FERRET_UTIL_OUTPATH_H
#define FERRET_UTIL_OUTPATH_H

#include <stdbool.h>

#include "util/err.h"

/* True when path exists and is not itself a regular file: a device such as /dev/null, a
 * FIFO, a socket, or a symbolic link (/dev/stdout, a user's link to a report). Such an
 * output is written in place, never through "path.tmp" and rename(), which would replace
 * the device or the link itself with a regular file. */
bool outpath_in_place(const char *path);

/* "path.tmp" (free it), with path's last component shortened when "NAME.tmp" would be longer
 * than a file name may be; NULL when out of memory. */
char *outpath_tmp_name(const char *path);

/* Where to write an output before it is complete: *staging is a new "path.tmp" (free it;
 * rename it over path once written) for a regular or new file, or NULL when the output is
 * written in place (outpath_in_place). -1 when out of memory, or when path is a regular file
 * this user may not write (made read-only: the rename would replace it all the same). */
int outpath_staging(const char *path, char **staging, Err *err);

/* Refuses, before a program runs for nothing, an output that could not be written: a
 * directory, an in-place output or an existing file without write permission, a file that
 * cannot be created where it goes, and one whose "path.tmp" exists (the user's, or what a
 * killed run left: writing would destroy it). NULL and "-" (standard output) pass. */
int outpath_check(const char *path, Err *err);

#endif
