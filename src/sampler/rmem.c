/* SPDX-License-Identifier: MIT */
/* rmem.c: process_vm_readv with error kinds the sampler can act on. */
#include "sampler/rmem.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "sampler/proc.h"

void
rmem_init(Rmem *m, pid_t pid)
{
    memset(m, 0, sizeof *m);
    m->pid = m->tgid = pid;
}

/* process_vm_readv through m->pid; when that task is gone but the process lives on in
 * another thread, through that thread. */
static ssize_t
vm_readv(Rmem *m, const struct iovec *local, const struct iovec *remote, size_t n)
{
    ssize_t got = process_vm_readv(m->pid, local, n, remote, n, 0);
    if (got < 0 && errno == ESRCH && m->tgid > 0) {
        pid_t alt = proc_mm_pid(m->tgid);
        if (alt != m->pid) {
            m->pid = alt;
            got = process_vm_readv(m->pid, local, n, remote, n, 0);
        } else {
            errno = ESRCH;
        }
    }
    return got;
}

void
rmem_init_local(Rmem *m)
{
    memset(m, 0, sizeof *m);
    m->pid = m->tgid = getpid();
    m->local = true;
}

static int
fail(Rmem *m, int e, uintptr_t addr, size_t len, Err *err)
{
    if (e == EFAULT || e == EINVAL || e == 0) {
        m->faults++;
        return err_set(err, ERR_IO, "reading %zu bytes at %#lx of process %d: bad address", len,
                       (unsigned long)addr, (int)m->tgid);
    }
    if (e == ESRCH)
        return err_set(err, ERR_GONE, "process %d exited", (int)m->tgid);
    if (e == EPERM || e == EACCES)
        return err_set(err, ERR_PERM, "no permission to read the memory of process %d",
                       (int)m->tgid);
    return err_sys(err, e, "reading the memory of process %d", (int)m->tgid);
}

int
rmem_read(Rmem *m, uintptr_t addr, void *buf, size_t len, Err *err)
{
    RmemReq r = {addr, buf, len};
    return rmem_readv(m, &r, 1, err);
}

int
rmem_readv(Rmem *m, const RmemReq *reqs, size_t n, Err *err)
{
    if (n > RMEM_MAX_BATCH)
        return err_set(err, ERR_INTERNAL, "too many reads in one batch");
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (reqs[i].addr == 0 || reqs[i].addr + reqs[i].len < reqs[i].addr)
            return fail(m, EFAULT, reqs[i].addr, reqs[i].len, err);
        total += reqs[i].len;
    }
    m->reads++;
    if (m->local) {
        for (size_t i = 0; i < n; i++)
            memcpy(reqs[i].buf, (const void *)reqs[i].addr, reqs[i].len);
        m->bytes += total;
        return 0;
    }
    struct iovec local[RMEM_MAX_BATCH], remote[RMEM_MAX_BATCH];
    for (size_t i = 0; i < n; i++) {
        local[i] = (struct iovec){reqs[i].buf, reqs[i].len};
        remote[i] = (struct iovec){(void *)reqs[i].addr, reqs[i].len};
    }
    ssize_t got = vm_readv(m, local, remote, n);
    if (got < 0)
        return fail(m, errno, reqs[0].addr, reqs[0].len, err);
    m->bytes += (size_t)got;
    if ((size_t)got != total) {
        /* find the first incomplete request, for the message */
        size_t i = 0, seen = 0;
        while (i < n && seen + reqs[i].len <= (size_t)got)
            seen += reqs[i++].len;
        return fail(m, EFAULT, reqs[i < n ? i : 0].addr, reqs[i < n ? i : 0].len, err);
    }
    return 0;
}

int
rmem_read_ptr(Rmem *m, uintptr_t addr, uintptr_t *out, Err *err)
{
    return rmem_read(m, addr, out, sizeof *out, err);
}

ssize_t
rmem_readv_raw(Rmem *m, const struct iovec *local, const struct iovec *remote, size_t n,
               Err *err)
{
    if (n > RMEM_MAX_IOV)
        return err_set(err, ERR_INTERNAL, "too many pieces in one read");
    m->reads++;
    if (m->local) {
        size_t total = 0;
        for (size_t i = 0; i < n; i++) {
            memcpy(local[i].iov_base, remote[i].iov_base, remote[i].iov_len);
            total += remote[i].iov_len;
        }
        m->bytes += total;
        return (ssize_t)total;
    }
    ssize_t got = vm_readv(m, local, remote, n);
    if (got < 0) {
        if (errno == EFAULT)
            return 0;
        fail(m, errno, (uintptr_t)(n ? remote[0].iov_base : 0), 0, err);
        return -1;
    }
    m->bytes += (size_t)got;
    return got;
}

ssize_t
rmem_read_partial(Rmem *m, uintptr_t addr, void *buf, size_t len, Err *err)
{
    if (m->local) {
        memcpy(buf, (const void *)addr, len);
        return (ssize_t)len;
    }
    /* split at page boundaries so a fault stops the copy there rather than failing it all */
    size_t done = 0;
    while (done < len) {
        size_t page = 4096 - ((addr + done) & 4095);
        size_t n = len - done < page ? len - done : page;
        struct iovec l = {(char *)buf + done, n}, r = {(void *)(addr + done), n};
        m->reads++;
        ssize_t got = vm_readv(m, &l, &r, 1);
        if (got < 0) {
            if (errno == EFAULT)
                break;
            return fail(m, errno, addr, len, err);
        }
        done += (size_t)got;
        if ((size_t)got < n)
            break;
    }
    m->bytes += done;
    return (ssize_t)done;
}
