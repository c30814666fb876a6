/* SPDX-License-Identifier: MIT */
/* err.c: building and extending Err values. Pure; no output. */
#include "util/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void
err_clear(Err *err)
{
    err->kind = ERR_NONE;
    err->sys_errno = 0;
    err->msg[0] = '\0';
}

int
err_set(Err *err, ErrKind kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->kind = kind;
    err->sys_errno = 0;
    return -1;
}

static ErrKind
kind_of_errno(int errnum)
{
    switch (errnum) {
    case ESRCH:
        return ERR_GONE;
    case EPERM:
    case EACCES:
        return ERR_PERM;
    case ENOMEM:
        return ERR_NOMEM;
    default:
        return ERR_IO;
    }
}

int
err_sys(Err *err, int errnum, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof err->msg)
        snprintf(err->msg + n, sizeof err->msg - (size_t)n, ": %s", strerror(errnum));
    err->kind = kind_of_errno(errnum);
    err->sys_errno = errnum;
    return -1;
}

int
err_context(Err *err, const char *fmt, ...)
{
    char ctx[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(ctx, sizeof ctx, fmt, ap);
    va_end(ap);
    size_t clen = n < 0 ? 0 : (size_t)n;
    if (clen > ERR_MSG_MAX - 3)
        clen = ERR_MSG_MAX - 3;
    size_t olen = strlen(err->msg);
    size_t shift = olen ? clen + 2 : clen;
    /* keep as much of the old message as fits after "<context>: " */
    if (olen > ERR_MSG_MAX - 1 - shift)
        olen = ERR_MSG_MAX - 1 - shift;
    memmove(err->msg + shift, err->msg, olen);
    err->msg[shift + olen] = '\0';
    memcpy(err->msg, ctx, clen);
    if (shift > clen)
        memcpy(err->msg + clen, ": ", 2);
    if (err->kind == ERR_NONE)
        err->kind = ERR_INTERNAL;
    return -1;
}

const char *
err_kind_name(ErrKind kind)
{
    static const char *const names[] = {
#define X(k, s) s,
        ERR_KINDS(X)
#undef X
    };
    if ((unsigned)kind >= ERR_KIND_COUNT)
        return "unknown";
    return names[kind];
}
