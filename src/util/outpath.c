/* SPDX-License-Identifier: MIT */
/* outpath.c: which outputs are written in place rather than through FILE.tmp. */
#include "util/outpath.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

bool
outpath_in_place(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0 || S_ISREG(st.st_mode))
        return false;
    /* a directory, or a link to one, is not an output: fopen() reports it later */
    return !(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
}

char *
outpath_tmp_name(const char *path)
{
    size_t n = strlen(path) + 5;
    char *tmp = malloc(n);
    if (!tmp)
        return NULL;
    /* a name of NAME_MAX bytes is valid, its ".tmp" is not: shorten the name, not the path */
    const char *slash = strrchr(path, '/');
    size_t dir = slash ? (size_t)(slash + 1 - path) : 0, base = strlen(path) - dir;
    if (base > NAME_MAX - 4)
        base = NAME_MAX - 4;
    snprintf(tmp, n, "%.*s.tmp", (int)(dir + base), path);
    return tmp;
}

/* A regular file that exists but that this user may not write: renaming over it would replace
 * it anyway (the directory is what rename() needs), where the shell's `>` says "Permission
 * denied". A user who made a file read-only to keep it gets the same answer from ferret. */
static int
refuse_read_only(const char *path, Err *err)
{
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, W_OK) != 0 && errno == EACCES)
        return err_sys(err, EACCES, "cannot write %s", path);
    return 0;
}

int
outpath_staging(const char *path, char **staging, Err *err)
{
    *staging = NULL;
    if (outpath_in_place(path))
        return 0;
    if (refuse_read_only(path, err) < 0)
        return -1;
    if (!(*staging = outpath_tmp_name(path)))
        return err_set(err, ERR_NOMEM, "out of memory");
    return 0;
}

int
outpath_check(const char *path, Err *err)
{
    if (!path || strcmp(path, "-") == 0)
        return 0;
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return err_set(err, ERR_IO, "cannot write %s: it is a directory", path);
    if (outpath_in_place(path)) { /* /dev/null, a FIFO, a link: written in place */
        if (access(path, W_OK) != 0)
            return err_sys(err, errno, "cannot write %s", path);
        return 0;
    }
    if (refuse_read_only(path, err) < 0)
        return -1;
    /* can the file be created next to where it goes (its directory exists, is one, and may
     * be written)? */
    char *probe = outpath_tmp_name(path);
    if (!probe)
        return err_set(err, ERR_NOMEM, "out of memory");
    int fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    int e = errno;
    if (fd >= 0) {
        close(fd);
        unlink(probe);
    } else if (e == EEXIST) {
        /* FILE.tmp is written over: one that is there already (a link too) is somebody's:
         * the user's own, or the recording of a ferret that was killed, which `ferret report
         * FILE.tmp` reads */
        const char *slash = strrchr(probe, '/');
        err_set(err, ERR_IO,
                "cannot write %s: %s is in the way (left by a run that was killed?): move or "
                "remove it",
                path, slash ? slash + 1 : probe);
    } else {
        err_sys(err, e, "cannot write %s", path);
    }
    free(probe);
    return fd >= 0 ? 0 : -1;
}
