/* SPDX-License-Identifier: MIT */
/* target.c: finding CPython inside a process. The binaries are opened through
 * /proc/PID/root so a process in a container is read from the host. Order: libpython then
 * the executable; _PyRuntime symbol, then the .PyRuntime section (3.11+), then the debug
 * cookie (3.13+), then a scan of the binary's writable memory for the interpreter list,
 * validated by back-pointers. The version comes from Py_Version (3.11+), the binary's own
 * version string, then file names. */
#include "sampler/target.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sampler/elf.h"
#include "sampler/maps.h"
#include "sampler/proc.h"
#include "sampler/target_impl.h"
#include "util/rd.h"

pid_t
target_pid(const Target *t)
{
    return t->pid;
}

const char *
target_version(const Target *t)
{
    return t->version;
}

uintptr_t
target_runtime_addr(const Target *t)
{
    return t->runtime_addr;
}

const char *
target_found_by(const Target *t)
{
    return t->found_by;
}

void
target_read_stats(const Target *t, uint64_t *reads, uint64_t *bytes)
{
    *reads = t->mem.reads;
    *bytes = t->mem.bytes;
}

void
target_close(Target *t)
{
    if (!t)
        return;
    code_cache_fini(t);
    snap_fini(&t->snap);
    free(t->scratch);
    free(t);
}

static bool
is_libpython3(const char *base)
{
    return strncmp(base, "libpython3.", 11) == 0 && strstr(base, ".so") != NULL;
}

/* libpython of any version (2.7's too: an old interpreter is named, not "not Python"). */
static bool
is_libpython(const char *base)
{
    return strncmp(base, "libpython", 9) == 0 && isdigit((unsigned char)base[9]) &&
           strstr(base, ".so") != NULL;
}

/* "X.Y" from a name like libpython3.11.so.1.0 or python3.11: the minor (major in *major),
 * or -1. */
static int
version_from_name(const char *base, int *major)
{
    for (const char *p = strstr(base, "python"); p; p = strstr(p + 1, "python")) {
        const char *q = p + 6;
        if (!isdigit((unsigned char)q[0]) || q[1] != '.' || !isdigit((unsigned char)q[2]))
            continue;
        *major = q[0] - '0';
        return atoi(q + 2);
    }
    return -1;
}

/* Looks for the interpreter's own version string (PY_VERSION, "3.X.Y" ending in a NUL; the
 * linker may have merged it into the tail of a longer string such as an install path) in
 * .rodata. With want_minor >= 0 only that minor is accepted. Returns the minor and fills
 * micro, or -1. */
static int
version_from_rodata(const Elf *e, int want_minor, int *micro)
{
    const uint8_t *d;
    size_t n;
    if (!elf_section_data(e, ".rodata", &d, &n))
        return -1;
    for (size_t i = 1; i + 6 < n; i++) {
        if (d[i] != '3' || d[i + 1] != '.' || isdigit(d[i - 1]) || d[i - 1] == '.')
            continue;
        size_t j = i + 2;
        int minor = 0, mic = 0, digits = 0;
        while (j < n && isdigit(d[j]) && digits < 3)
            minor = minor * 10 + (d[j++] - '0'), digits++;
        if (!digits || j >= n || d[j] != '.')
            continue;
        j++;
        digits = 0;
        while (j < n && isdigit(d[j]) && digits < 3)
            mic = mic * 10 + (d[j++] - '0'), digits++;
        if (!digits || j >= n)
            continue;
        if (d[j] == '+')
            j++;
        if (j < n && d[j] == 0 && minor >= 6 && minor <= 20 &&
            (want_minor < 0 || minor == want_minor)) {
            *micro = mic;
            return minor;
        }
    }
    return -1;
}

/* Whether the deleted file of r is the process's executable (/proc/PID/exe still opens it). */
static bool
is_deleted_exe(pid_t pid, const MapRegion *r)
{
    char link[64], exe[4200], want[4200];
    snprintf(link, sizeof link, "/proc/%d/exe", (int)pid);
    ssize_t n = readlink(link, exe, sizeof exe - 1);
    if (n <= 0)
        return false;
    exe[n] = '\0';
    snprintf(want, sizeof want, "%s (deleted)", r->path);
    return strcmp(exe, want) == 0;
}

/* Opens a file the target has mapped, as the target sees it: by its name under the target's
 * root, through map_files (root only), or by its name here. A file deleted since it was
 * mapped (an upgrade replaced it: its name may now lead to another build) only through
 * map_files or, for the executable, /proc/PID/exe. */
static int
open_target_elf(pid_t pid, const MapRegion *r, Elf *e, Err *err)
{
    char path[4200];
    snprintf(path, sizeof path, "/proc/%d/root%s", (int)pid, r->path);
    if (!r->deleted && elf_open(e, path, err) == 0)
        return 0;
    snprintf(path, sizeof path, "/proc/%d/map_files/%lx-%lx", (int)pid, (unsigned long)r->start,
             (unsigned long)r->end);
    if (elf_open(e, path, err) == 0)
        return 0;
    if (!r->deleted && elf_open(e, r->path, err) == 0)
        return 0;
    if (r->deleted) {
        snprintf(path, sizeof path, "/proc/%d/exe", (int)pid);
        if (is_deleted_exe(pid, r) && elf_open(e, path, err) == 0)
            return 0;
        return err_set(err, ERR_IO,
                       "%s, mapped by process %d, was deleted since (replaced by an upgrade?) "
                       "and only root can read it through /proc/%d/map_files",
                       r->path, (int)pid, (int)pid);
    }
    return err_context(err, "reading %s of process %d", r->path, (int)pid);
}

/* Installs a layout and the read sizes derived from it. */
static void
set_layout(Target *t, const PyLayout *L)
{
    t->layout = *L;
    t->span_thread = layout_span_thread(L);
    t->span_frame = layout_span_frame(L);
    if (L->frames_kind == LAYOUT_FRAMES_OBJECTS && t->span_frame < L->pyobject.ob_type + 8)
        t->span_frame = L->pyobject.ob_type + 8;
    t->span_code = layout_span_code(L);
    if (t->span_code < L->pyobject.ob_type + 8)
        t->span_code = L->pyobject.ob_type + 8;
}

static uintptr_t
symbol_addr(const Elf *e, uintptr_t bias, const char *name)
{
    uint64_t v;
    return elf_symbol(e, name, &v, NULL) ? bias + (uintptr_t)v : 0;
}

/* Is there an interpreter at interp, with the given id, whose first thread state points back
 * at it and carries a thread id? (id < 0: any id.) Used only by the scan. */
static bool
interp_plausible(Target *t, uintptr_t interp, int64_t want_id)
{
    const PyLayout *L = &t->layout;
    Err err;
    uintptr_t tstate, back, thread_id;
    int64_t id;
    if (!interp || (interp & 7) ||
        rmem_read_ptr(&t->mem, interp + (uintptr_t)L->interp.threads_head, &tstate, &err) < 0 ||
        rmem_read(&t->mem, interp + (uintptr_t)L->interp.id, &id, sizeof id, &err) < 0 ||
        (want_id >= 0 && id != want_id) || id < 0)
        return false;
    /* a scan only trusts an interpreter that already runs a thread: zeroed memory elsewhere
     * would pass every other test */
    return tstate && !(tstate & 7) &&
           rmem_read_ptr(&t->mem, tstate + (uintptr_t)L->thread.interp, &back, &err) == 0 &&
           back == interp &&
           rmem_read_ptr(&t->mem, tstate + (uintptr_t)L->thread.thread_id, &thread_id, &err) == 0 &&
           thread_id > 4096;
}

/* Validates that runtime_addr holds the interpreter list: head and main interpreters (the
 * same one unless there are subinterpreters), each with thread states pointing back. */
static bool
runtime_plausible(Target *t, uintptr_t runtime_addr)
{
    const PyLayout *L = &t->layout;
    Err err;
    uintptr_t pair[2];
    if (L->runtime.interpreters_main != L->runtime.interpreters_head + 8 ||
        rmem_read(&t->mem, runtime_addr + (uintptr_t)L->runtime.interpreters_head, pair,
                  sizeof pair, &err) < 0)
        return false;
    /* the main interpreter has id 0; the head is the newest (the same one when there are no
     * subinterpreters) */
    if (!interp_plausible(t, pair[1], 0) || (pair[0] != pair[1] && !interp_plausible(t, pair[0], -1)))
        return false;
    if (L->runtime.ceval_gil >= 0) { /* 3.9-3.11: the GIL lives in the runtime too */
        int32_t locked;
        if (rmem_read(&t->mem, runtime_addr + (uintptr_t)(L->runtime.ceval_gil + L->gil.locked),
                      &locked, sizeof locked, &err) < 0 ||
            (locked != 0 && locked != 1))
            return false;
    }
    return true;
}

/* Is s (n bytes) a plausible Python identifier or path: printable, no control characters? */
static bool
printable(const char *s, size_t n)
{
    if (!n)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    return true;
}

/* The final proof for a scanned candidate: some thread of the main interpreter has a frame
 * whose code object has a printable name and file name. */
static bool
runtime_walks(Target *t, uintptr_t runtime_addr)
{
    const PyLayout *L = &t->layout;
    Err err;
    uintptr_t interp, tstate;
    if (rmem_read_ptr(&t->mem, runtime_addr + (uintptr_t)L->runtime.interpreters_main, &interp,
                      &err) < 0 ||
        rmem_read_ptr(&t->mem, interp + (uintptr_t)L->interp.threads_head, &tstate, &err) < 0)
        return false;
    uint8_t ts[LAYOUT_MAX_READ];
    RawFrame raw[8];
    for (int k = 0; tstate && k < 64; k++) {
        size_t n;
        bool partial;
        if (rmem_read(&t->mem, tstate, ts, (size_t)t->span_thread, &err) < 0)
            return false;
        if (walk_raw(t, ts, raw, 8, &n, &partial, &err) == 0 && n > 0) {
            uint8_t code[LAYOUT_MAX_READ];
            char name[256], file[1024];
            size_t nl, fl;
            uintptr_t name_ptr, file_ptr;
            if (rmem_read(&t->mem, raw[0].code, code, (size_t)t->span_code, &err) < 0)
                return false;
            memcpy(&name_ptr, code + L->code_object.name, sizeof name_ptr);
            memcpy(&file_ptr, code + L->code_object.filename, sizeof file_ptr);
            return code_read_string(t, name_ptr, name, sizeof name, &nl, &err) == 0 &&
                   code_read_string(t, file_ptr, file, sizeof file, &fl, &err) == 0 &&
                   printable(name, nl) && printable(file, fl);
        }
        tstate = rd_ptr(ts, L->thread.next);
    }
    return false;
}

/* Last resort: scan the binary's writable memory (its data and the bss after it) for a word
 * that is the interpreter list's head, validated by back-pointers. The lowest match wins
 * (interpreters.head comes before interpreters.main). */
static uintptr_t
scan_for_runtime(Target *t, const Maps *maps, const char *binary)
{
    const PyLayout *L = &t->layout;
    for (size_t i = 0; i < maps->n; i++) {
        const MapRegion *r = &maps->regions[i];
        bool ours = strcmp(r->path, binary) == 0 ||
                    (r->path[0] == '\0' && i > 0 && strcmp(maps->regions[i - 1].path, binary) == 0 &&
                     maps->regions[i - 1].end == r->start);
        if (!ours || !r->w || !r->r)
            continue;
        size_t len = r->end - r->start;
        if (len > (64u << 20))
            continue;
        uint8_t *buf = malloc(len);
        if (!buf)
            continue;
        Err err;
        ssize_t got = rmem_read_partial(&t->mem, r->start, buf, len, &err);
        uintptr_t found = 0;
        /* 3.13+: the debug table's cookie marks the runtime's first byte */
        for (ssize_t o = 0; L->debug.present && !found && o + 8 <= got; o += 8)
            if (memcmp(buf + o, "xdebugpy", 8) == 0 && runtime_plausible(t, r->start + (size_t)o) &&
                runtime_walks(t, r->start + (size_t)o))
                found = r->start + (size_t)o;
        for (ssize_t o = L->runtime.interpreters_head; !found && o + 8 <= got; o += 8) {
            uintptr_t v;
            memcpy(&v, buf + o, sizeof v);
            if (!v || (v & 7))
                continue;
            const MapRegion *dst = maps_find(maps, v);
            if (!dst || !dst->w)
                continue;
            uintptr_t cand = r->start + (size_t)o - (size_t)L->runtime.interpreters_head;
            if (runtime_plausible(t, cand) && runtime_walks(t, cand))
                found = cand;
        }
        free(buf);
        if (found)
            return found;
    }
    return 0;
}

static int
permission_error(Err *err, pid_t pid)
{
    FILE *f = fopen("/proc/sys/kernel/yama/ptrace_scope", "r");
    int scope = f ? fgetc(f) : EOF;
    if (f)
        fclose(f);
    if (scope == EOF) /* no Yama: the same user is enough */
        return err_set(err, ERR_PERM,
                       "not allowed to read process %d: attaching needs ptrace permission, "
                       "which the same user as the process has (or run ferret as root or with "
                       "CAP_SYS_PTRACE, e.g. docker run --cap-add SYS_PTRACE)",
                       (int)pid);
    return err_set(err, ERR_PERM,
                   "not allowed to read process %d: attaching needs the same user and ptrace "
                   "permission (kernel.yama.ptrace_scope is %c; 0 allows it, or run ferret as "
                   "root or with CAP_SYS_PTRACE, e.g. docker run --cap-add SYS_PTRACE)",
                   (int)pid, (char)scope);
}

/* Fills in the runtime address, version and layout from one binary of the process. Returns
 * 1 when found, 0 when this binary holds no CPython, -1 on a hard error. */
static int
probe_binary(Target *t, const Maps *maps, const MapRegion *r, TargetFind how, Err *err)
{
    Elf e;
    if (open_target_elf(t->mem.pid, r, &e, err) < 0)
        return err->kind == ERR_PERM ? -1 : 0;
    int rc = 0;
    uintptr_t bias;
    if (!elf_bias(&e, r->start, r->offset, &bias))
        goto done;
    uint64_t rt_sym = 0, rt_size = 0, sec_addr = 0, sec_size = 0;
    bool has_sym = elf_symbol(&e, "_PyRuntime", &rt_sym, &rt_size);
    bool has_sec = elf_section(&e, ".PyRuntime", &sec_addr, &sec_size);
    bool looks_python = has_sym || has_sec || elf_symbol(&e, "Py_Initialize", NULL, NULL) ||
                        elf_symbol(&e, "Py_BytesMain", NULL, NULL);
    if (!looks_python)
        goto done;
    /* version */
    int major = 3, minor = -1, micro = -1;
    uint64_t vsym;
    uint32_t hex = 0;
    if (elf_symbol(&e, "Py_Version", &vsym, NULL)) {
        Err e2;
        if (rmem_read(&t->mem, bias + (uintptr_t)vsym, &hex, sizeof hex, &e2) == 0 &&
            (hex >> 24) >= 3) {
            major = (int)(hex >> 24);
            minor = (int)((hex >> 16) & 0xff);
            micro = (int)((hex >> 8) & 0xff);
        } else if (e2.kind == ERR_PERM) {
            rc = permission_error(err, t->pid);
            goto done;
        }
    }
    /* without Py_Version (3.9, 3.10): file names are reliable for the minor, the binary's
     * version string gives the micro */
    const char *base = strrchr(r->path, '/') ? strrchr(r->path, '/') + 1 : r->path;
    char needed[256];
    if (minor < 0)
        minor = version_from_name(base, &major);
    if (minor < 0 && elf_needs(&e, "libpython", needed, sizeof needed))
        minor = version_from_name(needed, &major);
    if (minor < 0 && (elf_symbol(&e, "Py_InitModule4_64", NULL, NULL) ||
                      elf_symbol(&e, "Py_InitModule4", NULL, NULL))) {
        rc = err_set(err, ERR_UNSUPPORTED, "CPython 2 is not supported (ferret reads %s)",
                     layout_supported());
        goto done;
    }
    if (major == 3 && micro < 0) {
        int m = version_from_rodata(&e, minor, &micro);
        if (minor < 0)
            minor = m;
    }
    if (minor < 0) {
        rc = err_set(err, ERR_UNSUPPORTED, "%s looks like Python but its version is unknown",
                     r->path);
        goto done;
    }
    const PyLayout *L = layout_require(major, minor, err);
    if (!L) {
        rc = -1;
        goto done;
    }
    set_layout(t, L);
    if (micro >= 0)
        snprintf(t->version, sizeof t->version, "3.%d.%d", minor, micro);
    else
        snprintf(t->version, sizeof t->version, "3.%d", minor);
    /* the runtime */
    if (how == TARGET_FIND_AUTO && has_sym) {
        t->runtime_addr = bias + (uintptr_t)rt_sym;
        t->found_by = "symbol";
    } else if (how == TARGET_FIND_AUTO && has_sec) {
        t->runtime_addr = bias + (uintptr_t)sec_addr;
        t->found_by = "section";
    } else {
        t->runtime_addr = scan_for_runtime(t, maps, r->path);
        t->found_by = "scan";
        if (!t->runtime_addr) {
            rc = err_set(err, ERR_NOTPY, "no initialised CPython runtime found in %s (scan)",
                         r->path);
            goto done;
        }
    }
    t->code_type = symbol_addr(&e, bias, "PyCode_Type");
    t->frame_type = symbol_addr(&e, bias, "PyFrame_Type");
    t->unicode_type = symbol_addr(&e, bias, "PyUnicode_Type");
    t->bytes_type = symbol_addr(&e, bias, "PyBytes_Type");
    rc = 1;
done:
    elf_close(&e);
    return rc;
}

/* 3.13+: the target's own offsets table, at the start of _PyRuntime. */
static int
apply_debug_offsets(Target *t, Err *err)
{
    const PyLayout *L = &t->layout;
    if (!L->debug.present)
        return 0;
    uint8_t buf[LAYOUT_MAX_READ];
    if ((size_t)L->debug.table_size > sizeof buf)
        return err_set(err, ERR_INTERNAL, "debug offsets table larger than expected");
    if (rmem_read(&t->mem, t->runtime_addr, buf, (size_t)L->debug.table_size, err) < 0)
        return err_context(err, "reading _Py_DebugOffsets");
    PyLayout checked;
    uint64_t hex;
    int ndiffer;
    if (layout_from_debug_offsets(L, buf, (size_t)L->debug.table_size, &checked, &hex, &ndiffer,
                                  err) < 0)
        return err->kind == ERR_UNSUPPORTED ? -1 : err_context(err, "CPython %s", t->version);
    if ((int)((hex >> 24) & 0xff) != L->major || (int)((hex >> 16) & 0xff) != L->minor)
        return err_set(err, ERR_FORMAT, "the debug table says CPython %d.%d, the binary 3.%d",
                       (int)((hex >> 24) & 0xff), (int)((hex >> 16) & 0xff), L->minor);
    snprintf(t->version, sizeof t->version, "%d.%d.%d", L->major, L->minor,
             (int)((hex >> 8) & 0xff));
    set_layout(t, &checked);
    (void)ndiffer; /* a patch release that moved a field: the target's offsets are used */
    return 0;
}

static Target *
target_alloc(pid_t pid)
{
    Target *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    t->pid = pid;
    pid_t ns = proc_ns_tid(pid, pid);
    t->ns_pid = ns > 0 ? ns : pid;
    t->pthread_tid_offset = -1;
    if (snap_init(&t->snap) < 0) {
        snap_fini(&t->snap);
        free(t);
        return NULL;
    }
    rmem_init(&t->mem, pid);
    hashu64_init(&t->code_index);
    hashu64_init(&t->line_frames);
    return t;
}

static int
target_find(Target *t, TargetFind how, Err *err)
{
    Maps maps;
    /* the leader may have exited, the process not: read through a live thread from the start */
    t->mem.pid = proc_mm_pid(t->pid);
    if (maps_read(t->mem.pid, &maps, err) < 0) {
        if (err->kind == ERR_PERM)
            return permission_error(err, t->pid);
        return -1;
    }
    char exe[4096];
    char link[64];
    snprintf(link, sizeof link, "/proc/%d/exe", (int)t->mem.pid);
    ssize_t n = readlink(link, exe, sizeof exe - 1);
    if (n < 0 && errno == EACCES) {
        maps_fini(&maps);
        return permission_error(err, t->pid);
    }
    exe[n > 0 ? n : 0] = '\0';
    /* candidates: libpython first (the runtime lives there in a shared build), then exe */
    const MapRegion *cands[2];
    size_t ncand = 0;
    const MapRegion *lib = maps_find_file(&maps, is_libpython3); /* before a 2.7 beside it */
    if (!lib)
        lib = maps_find_file(&maps, is_libpython);
    if (lib)
        cands[ncand++] = lib;
    const char *exe_path = exe;
    size_t elen = strlen(exe);
    if (elen > 10 && strcmp(exe + elen - 10, " (deleted)") == 0)
        exe[elen - 10] = '\0'; /* as maps_parse does */
    const MapRegion *xr = exe_path[0] ? maps_find_path(&maps, exe_path) : NULL;
    if (xr)
        cands[ncand++] = xr;
    /* a version ferret does not read is the answer only when no other candidate is one it
     * reads (a static python that loaded another libpython, as an embedding does) */
    int rc = 0;
    Err unsupported = {0};
    for (size_t i = 0; i < ncand && rc <= 0; i++) {
        rc = probe_binary(t, &maps, cands[i], how, err);
        if (rc < 0 && err->kind == ERR_UNSUPPORTED) {
            if (!unsupported.kind)
                unsupported = *err;
            rc = 0;
        } else if (rc < 0) {
            maps_fini(&maps);
            return -1;
        }
    }
    maps_fini(&maps);
    if (rc == 0 && unsupported.kind) {
        *err = unsupported;
        return -1;
    }
    if (rc == 0) {
        char comm[64] = "";
        char cpath[64];
        snprintf(cpath, sizeof cpath, "/proc/%d/comm", (int)t->pid);
        FILE *f = fopen(cpath, "r");
        if (f) {
            if (fgets(comm, sizeof comm, f))
                comm[strcspn(comm, "\n")] = '\0';
            fclose(f);
        }
        return err_set(err, ERR_NOTPY,
                       "process %d (%s) is not a Python program: no CPython runtime in %s or "
                       "any libpython it maps",
                       (int)t->pid, comm, exe_path[0] ? exe_path : "its executable");
    }
    if (apply_debug_offsets(t, err) < 0 || layout_validate(&t->layout, err) < 0)
        return -1;
    return 0;
}

Target *
target_open(pid_t pid, TargetFind how, Err *err)
{
    char path[64];
    struct stat st;
    snprintf(path, sizeof path, "/proc/%d", (int)pid);
    if (pid <= 0 || stat(path, &st) < 0) {
        err_set(err, ERR_GONE, "no process with PID %d", (int)pid);
        return NULL;
    }
    if (!proc_alive(pid)) {
        /* its memory is gone, its /proc entry stays until its parent waits for it */
        char comm[64] = "";
        proc_thread_comm(pid, pid, comm, sizeof comm);
        err_set(err, ERR_GONE,
                "process %d%s%s%s has exited (a zombie: its parent has not waited for it yet)",
                (int)pid, comm[0] ? " (" : "", comm, comm[0] ? ")" : "");
        return NULL;
    }
    Target *t = target_alloc(pid);
    if (!t) {
        err_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (target_find(t, how, err) < 0) {
        target_close(t);
        return NULL;
    }
    /* one read proves we may read it at all */
    uintptr_t probe;
    if (rmem_read_ptr(&t->mem, t->runtime_addr, &probe, err) < 0) {
        if (err->kind == ERR_PERM)
            permission_error(err, pid);
        target_close(t);
        return NULL;
    }
    return t;
}

Target *
target_open_self_local(Err *err)
{
    Target *t = target_alloc(getpid());
    if (!t) {
        err_set(err, ERR_NOMEM, "out of memory");
        return NULL;
    }
    /* discovery reads through process_vm_readv, which reports bad addresses instead of
     * faulting; only then are reads switched to plain copies */
    if (target_find(t, TARGET_FIND_AUTO, err) < 0) {
        target_close(t);
        return NULL;
    }
    rmem_init_local(&t->mem);
    return t;
}

bool
target_initialized(Target *t, Err *err)
{
    const PyLayout *L = &t->layout;
    uintptr_t interp, tstate;
    if (rmem_read_ptr(&t->mem, t->runtime_addr + (uintptr_t)L->runtime.interpreters_head, &interp,
                      err) < 0 ||
        !interp)
        return false;
    if (rmem_read_ptr(&t->mem, interp + (uintptr_t)L->interp.threads_head, &tstate, err) < 0)
        return false;
    return tstate != 0;
}
