/* SPDX-License-Identifier: MIT */
/* rmem.h: reading another process's memory (process_vm_readv), or this process's own memory
 * in place for the in-process reader. Every read is all-or-nothing, and a failure says why:
 * ERR_GONE (the process exited), ERR_PERM (ptrace permission), ERR_IO (an unmapped or
 * changing address: a torn read the sampler drops). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "util/err.h"

typedef struct {
    pid_t pid;       /* the task reads go through: tgid, or a live thread of it (proc_mm_pid) */
    pid_t tgid;      /* the process */
    bool local;      /* read this process's memory directly (own-thread frames only) */
    uint64_t reads;  /* syscalls made */
    uint64_t bytes;  /* bytes copied */
    uint64_t faults; /* reads that failed on a bad address */
} Rmem;

typedef struct {
    uintptr_t addr;
    void *buf;
    size_t len;
} RmemReq;

/* Reads another process (pid) with process_vm_readv. */
void rmem_init(Rmem *m, pid_t pid);
/* Reads this process's memory with plain copies: only for memory nothing else can change or
 * free meanwhile (the calling thread's own frames). */
void rmem_init_local(Rmem *m);
/* Copies len bytes at addr into buf. Returns 0, or -1 with *err set. */
int rmem_read(Rmem *m, uintptr_t addr, void *buf, size_t len, Err *err);
/* Several reads in one system call; fails unless every one is complete. At most
 * RMEM_MAX_BATCH requests. */
#define RMEM_MAX_BATCH 64
int rmem_readv(Rmem *m, const RmemReq *reqs, size_t n, Err *err);
int rmem_read_ptr(Rmem *m, uintptr_t addr, uintptr_t *out, Err *err);
/* n (local, remote) pieces in one process_vm_readv (n <= RMEM_MAX_IOV). Returns the bytes
 * copied, which stops short at the first unreadable byte, or -1 with *err when the process
 * is gone or forbidden. */
#define RMEM_MAX_IOV 1024
ssize_t rmem_readv_raw(Rmem *m, const struct iovec *local, const struct iovec *remote, size_t n,
                       Err *err);
/* Reads up to len bytes, stopping at the first unreadable page; returns the bytes read (0 if
 * none) or -1 when the process is gone or forbidden. */
ssize_t rmem_read_partial(Rmem *m, uintptr_t addr, void *buf, size_t len, Err *err);
