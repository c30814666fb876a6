/* SPDX-License-Identifier: MIT */
/* faultfs.c: an LD_PRELOAD shim that makes chosen file operations fail, so tests can show
 * what ferret does on a full disk, an I/O error or a read-only file without needing one.
 * Only files whose path (as /proc/self/fd shows it) contains $FAULTFS_PATH are affected:
 *   FAULTFS_PATH=substring      which files (unset: the shim does nothing)
 *   FAULTFS_ERRNO=ENOSPC|EIO    how writes fail (default ENOSPC)
 *   FAULTFS_AFTER=N             let the first N bytes written to matching files through
 *   FAULTFS_OPEN=EROFS|EACCES   also refuse to open matching files for writing
 * Intercepts write, pwrite, pwrite64, writev, fsync, fdatasync, open, open64, openat and the
 * stdio flushes (fflush, fclose), whose own writes glibc makes internally, out of reach. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static long long allowed = -1; /* bytes still allowed; -1 until read from the environment */

static int
errno_named(const char *s, int dflt)
{
    if (!s || !*s)
        return dflt;
    if (strcmp(s, "EIO") == 0)
        return EIO;
    if (strcmp(s, "ENOSPC") == 0)
        return ENOSPC;
    if (strcmp(s, "EROFS") == 0)
        return EROFS;
    if (strcmp(s, "EACCES") == 0)
        return EACCES;
    return dflt;
}

static int
path_matches(const char *path)
{
    const char *want = getenv("FAULTFS_PATH");
    return want && *want && path && strstr(path, want) != NULL;
}

static int
fd_matches(int fd)
{
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0)
        return 0;
    path[n] = 0;
    return path_matches(path);
}

/* Returns 1 if a write of n bytes to fd must fail (errno set). */
static int
should_fail(int fd, size_t n)
{
    if (!fd_matches(fd))
        return 0;
    if (allowed < 0) {
        const char *a = getenv("FAULTFS_AFTER");
        allowed = a ? atoll(a) : 0;
    }
    if ((long long)n <= allowed) {
        allowed -= (long long)n;
        return 0;
    }
    errno = errno_named(getenv("FAULTFS_ERRNO"), ENOSPC);
    return 1;
}

typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef ssize_t (*writev_fn)(int, const struct iovec *, int);
typedef int (*fd_fn)(int);
typedef int (*open_fn)(const char *, int, ...);
typedef int (*openat_fn)(int, const char *, int, ...);
typedef int (*file_fn)(FILE *);

/* the next definition of `name` (libc's), looked up once */
#define REAL(name, type)                                                                           \
    static type real_##name;                                                                       \
    if (!real_##name)                                                                              \
    real_##name = (type)dlsym(RTLD_NEXT, #name)

ssize_t
write(int fd, const void *buf, size_t n)
{
    REAL(write, write_fn);
    return should_fail(fd, n) ? -1 : real_write(fd, buf, n);
}

ssize_t
pwrite(int fd, const void *buf, size_t n, off_t off)
{
    REAL(pwrite, pwrite_fn);
    return should_fail(fd, n) ? -1 : real_pwrite(fd, buf, n, off);
}

ssize_t
pwrite64(int fd, const void *buf, size_t n, off_t off)
{
    REAL(pwrite64, pwrite_fn);
    return should_fail(fd, n) ? -1 : real_pwrite64(fd, buf, n, off);
}

ssize_t
writev(int fd, const struct iovec *iov, int cnt)
{
    REAL(writev, writev_fn);
    size_t n = 0;
    for (int i = 0; i < cnt; i++)
        n += iov[i].iov_len;
    return should_fail(fd, n) ? -1 : real_writev(fd, iov, cnt);
}

int
fsync(int fd)
{
    REAL(fsync, fd_fn);
    if (fd_matches(fd) && getenv("FAULTFS_ERRNO") && errno_named(getenv("FAULTFS_ERRNO"), 0) == EIO) {
        errno = EIO;
        return -1;
    }
    return real_fsync(fd);
}

int
fdatasync(int fd)
{
    REAL(fdatasync, fd_fn);
    if (fd_matches(fd) && getenv("FAULTFS_ERRNO") && errno_named(getenv("FAULTFS_ERRNO"), 0) == EIO) {
        errno = EIO;
        return -1;
    }
    return real_fdatasync(fd);
}

static int
refuse_open(const char *path, int flags)
{
    int e = errno_named(getenv("FAULTFS_OPEN"), 0);
    if (e && (flags & O_ACCMODE) != O_RDONLY && path_matches(path)) {
        errno = e;
        return 1;
    }
    return 0;
}

int
open(const char *path, int flags, ...)
{
    REAL(open, open_fn);
    va_list ap;
    va_start(ap, flags);
    mode_t mode = (flags & (O_CREAT | O_TMPFILE)) ? va_arg(ap, mode_t) : 0;
    va_end(ap);
    return refuse_open(path, flags) ? -1 : real_open(path, flags, mode);
}

int
open64(const char *path, int flags, ...)
{
    REAL(open64, open_fn);
    va_list ap;
    va_start(ap, flags);
    mode_t mode = (flags & (O_CREAT | O_TMPFILE)) ? va_arg(ap, mode_t) : 0;
    va_end(ap);
    return refuse_open(path, flags) ? -1 : real_open64(path, flags, mode);
}

int
openat(int dir, const char *path, int flags, ...)
{
    REAL(openat, openat_fn);
    va_list ap;
    va_start(ap, flags);
    mode_t mode = (flags & (O_CREAT | O_TMPFILE)) ? va_arg(ap, mode_t) : 0;
    va_end(ap);
    return refuse_open(path, flags) ? -1 : real_openat(dir, path, flags, mode);
}

/* A stdio stream on a matching file loses what it buffered: the file is cut back and the
 * flush reports the error, as a real full disk would at that point. */
static int
stream_fails(FILE *f)
{
    if (!f)
        return 0;
    int fd = fileno(f);
    if (fd < 0 || !should_fail(fd, 1))
        return 0;
    int e = errno;
    if (ftruncate(fd, 0) != 0) { /* best effort */
    }
    errno = e;
    return 1;
}

int
fflush(FILE *f)
{
    REAL(fflush, file_fn);
    if (stream_fails(f)) {
        __fpurge(f);
        return EOF;
    }
    return real_fflush(f);
}

int
fclose(FILE *f)
{
    REAL(fclose, file_fn);
    if (stream_fails(f)) {
        int e = errno;
        __fpurge(f);
        real_fclose(f);
        errno = e;
        return EOF;
    }
    return real_fclose(f);
}
