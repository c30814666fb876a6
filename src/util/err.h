/* SPDX-License-Identifier: MIT */
/* err.h: the error value every layer fills and extends on the way up.
 * A function that can fail returns 0 or -1 and sets *err; callers add context with
 * err_context() so the user reads one line: "attach 4242: reading ...: process exited".
 * Only cli/ turns an Err into output and an exit status (cli/exitcode.h). */
#pragma once
#include <stddef.h>

/* Error kinds. cli/exitcode.h maps each kind to an exit status. */
#define ERR_KINDS(X)                                                                               \
    X(ERR_NONE, "no error")                                                                        \
    X(ERR_USAGE, "usage")                                                                          \
    X(ERR_PERM, "permission")                                                                      \
    X(ERR_GONE, "process gone")                                                                    \
    X(ERR_IO, "i/o")                                                                               \
    X(ERR_FORMAT, "format")                                                                        \
    X(ERR_NOMEM, "out of memory")                                                                  \
    X(ERR_NOTPY, "not python")                                                                     \
    X(ERR_UNSUPPORTED, "unsupported")                                                              \
    X(ERR_TARGET, "target failed")                                                                 \
    X(ERR_INTERNAL, "internal")

typedef enum {
#define X(k, s) k,
    ERR_KINDS(X)
#undef X
        ERR_KIND_COUNT
} ErrKind;

#define ERR_MSG_MAX 1024

typedef struct {
    ErrKind kind;
    int sys_errno; /* errno of the failing call, 0 if none */
    char msg[ERR_MSG_MAX];
} Err;

/* Resets *err to ERR_NONE with an empty message. */
void err_clear(Err *err);
/* Sets kind and message (printf format). Always returns -1 so callers can `return err_set(...)`. */
int err_set(Err *err, ErrKind kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Like err_set, with the kind derived from errnum (ESRCH -> ERR_GONE, EPERM/EACCES -> ERR_PERM,
 * ENOMEM -> ERR_NOMEM, otherwise ERR_IO) and ": strerror(errnum)" appended. Returns -1. */
int err_sys(Err *err, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Prefixes the existing message with "<context>: ". Keeps the kind. Returns -1. */
int err_context(Err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Short name of a kind, e.g. "permission". */
const char *err_kind_name(ErrKind kind);
