/* SPDX-License-Identifier: MIT */
/* outpath.c: which outputs are written in place rather than through FILE.tmp. */
#include "util/outpath.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

bool
outpath_in_place(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0 || S_ISREG(st.st_mode))
        return false;
    /* a directory, or a link to one, is not an output: fopen() reports it later */
    return !(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
}

int
outpath_staging(const char *path, char **staging, Err *err)
{
    *staging = NULL;
    if (outpath_in_place(path))
        return 0;
    size_t n = strlen(path) + 5;
    if (!(*staging = malloc(n)))
        return err_set(err, ERR_NOMEM, "out of memory");
    snprintf(*staging, n, "%s.tmp", path);
    return 0;
}
