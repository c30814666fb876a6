/* SPDX-License-Identifier: MIT */
/* pstats.c: a trace profile as the file Python's pstats.Stats loads (what cProfile's
 * dump_stats writes), so snakeviz, gprof2dot and pstats itself read ferret traces.
 * The file is marshal data (Python/marshal.c, format version 2+) of one dict:
 *   {(file, line, name): (prim_calls, calls, self_s, total_s,
 *                         {(caller file, line, name): (calls, prim_calls, self_s, total_s)})}
 * as cProfile.Profile.snapshot_stats builds it (note the swapped first two fields of the
 * caller tuples). C functions are ('~', 0, '<built-in method NAME>') as in cProfile.
 * Outermost calls have an empty caller dict, and so do calls from the synthetic thread and
 * process roots of sampled profiles, which are no functions: every caller is a key of the
 * dict, as in cProfile's. A sampled profile gives estimated times and no call counts (0),
 * which pstats shows as such. pstats.Stats refuses an empty dict, so a profile without a
 * single function is refused here, with a message, rather than written unreadable. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "profile/callgraph.h"
#include "report/report.h"
#include "util/buf.h"
#include "util/escape.h"

/* marshal type codes (Python/marshal.c) */
enum {
    M_NULL = '0',
    M_INT = 'i',
    M_LONG = 'l',
    M_FLOAT = 'g', /* TYPE_BINARY_FLOAT */
    M_UNICODE = 'u',
    M_TUPLE = '(',
    M_DICT = '{',
};

static void
put_u32(Buf *b, uint32_t v)
{
    unsigned char c[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    buf_append(b, c, 4);
}

static void
put_int(Buf *b, int64_t v)
{
    if (v >= INT32_MIN && v <= INT32_MAX) {
        buf_putc(b, M_INT);
        put_u32(b, (uint32_t)(int32_t)v);
        return;
    }
    /* TYPE_LONG: signed count of 15-bit digits, least significant first */
    uint64_t m = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    uint16_t digits[5];
    int n = 0;
    while (m) {
        digits[n++] = (uint16_t)(m & 0x7fff);
        m >>= 15;
    }
    buf_putc(b, M_LONG);
    put_u32(b, (uint32_t)(v < 0 ? -n : n));
    for (int i = 0; i < n; i++) {
        unsigned char c[2] = {(unsigned char)digits[i], (unsigned char)(digits[i] >> 8)};
        buf_append(b, c, 2);
    }
}

static void
put_float(Buf *b, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    buf_putc(b, M_FLOAT);
    put_u32(b, (uint32_t)bits);
    put_u32(b, (uint32_t)(bits >> 32));
}

/* A str: the bytes as UTF-8 with every invalid sequence replaced by U+FFFD, since marshal
 * refuses invalid UTF-8 and names come from untrusted files. */
static void
put_str(Buf *b, const char *s, size_t n)
{
    Buf tmp;
    buf_init(&tmp);
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int len = utf8_decode((const unsigned char *)s + i, n - i, &cp);
        if (len < 0) {
            utf8_put(&tmp, 0xfffd);
            i++;
        } else {
            buf_append(&tmp, s + i, (size_t)len);
            i += (size_t)len;
        }
    }
    if (buf_failed(&tmp)) {
        b->failed = true;
    } else {
        buf_putc(b, M_UNICODE);
        put_u32(b, (uint32_t)tmp.len);
        buf_append(b, tmp.data, tmp.len);
    }
    buf_fini(&tmp);
}

static void
put_func(Buf *b, const Profile *p, const CgFunc *f)
{
    buf_putc(b, M_TUPLE);
    put_u32(b, 3);
    if (f->kind == FRAME_PY) {
        put_str(b, profile_strp(p, f->file), profile_strlen(p, f->file));
        put_int(b, f->line);
        put_str(b, profile_strp(p, f->name), profile_strlen(p, f->name));
    } else {
        put_str(b, "~", 1);
        put_int(b, 0);
        Buf name;
        buf_init(&name);
        buf_puts(&name, "<built-in method ");
        buf_append(&name, profile_strp(p, f->name), profile_strlen(p, f->name));
        buf_putc(&name, '>');
        if (buf_failed(&name))
            b->failed = true;
        else
            put_str(b, name.data, name.len);
        buf_fini(&name);
    }
}

/* Is the function a key of the dict? Frames of other series only are not (line frames share
 * the function), nor the synthetic thread, process and marker frames of sampled profiles. */
static bool
is_key(const CgFunc *fn)
{
    if (!fn->calls && !fn->self_ns && !fn->total_ns)
        return false;
    return fn->kind == FRAME_PY || fn->kind == FRAME_NATIVE;
}

/* pstats holds times per call path; a memory profile holds bytes. */
static int
pstats_check(ProfileKind kind, bool timeline, Err *err)
{
    (void)timeline;
    if (kind == PROFILE_MEMORY)
        return err_set(err, ERR_USAGE,
                       "a memory profile holds bytes, not the call times pstats holds: use -f "
                       "html, json, speedscope or pprof");
    return 0;
}

static int
pstats_write(const Profile *p, const ReportOptions *opt, FILE *out, Err *err)
{
    (void)opt;
    Callgraph cg;
    if (report_check(&report_pstats, p, err) < 0 || callgraph_build(p, -1, &cg, err) < 0)
        return -1;
    /* edges grouped by callee (a counting sort): by_callee[start[f] .. start[f + 1]) */
    uint32_t *by_callee = malloc((cg.nedges ? cg.nedges : 1) * sizeof *by_callee);
    uint32_t *start = calloc(cg.nfuncs + 1, sizeof *start);
    Buf b;
    buf_init(&b);
    int rc = -1;
    if (!by_callee || !start) {
        err_set(err, ERR_NOMEM, "out of memory writing pstats");
        goto done;
    }
    for (size_t i = 0; i < cg.nedges; i++)
        start[cg.edges[i].callee + 1]++;
    for (size_t f = 0; f < cg.nfuncs; f++)
        start[f + 1] += start[f];
    {
        uint32_t *fill = calloc(cg.nfuncs + 1, sizeof *fill);
        if (!fill) {
            err_set(err, ERR_NOMEM, "out of memory writing pstats");
            goto done;
        }
        for (size_t i = 0; i < cg.nedges; i++) {
            uint32_t c = cg.edges[i].callee;
            by_callee[start[c] + fill[c]++] = (uint32_t)i;
        }
        free(fill);
    }
    buf_putc(&b, M_DICT);
    size_t nkeys = 0;
    for (size_t f = 0; f < cg.nfuncs; f++) {
        const CgFunc *fn = &cg.funcs[f];
        if (!is_key(fn))
            continue;
        nkeys++;
        put_func(&b, p, fn);
        buf_putc(&b, M_TUPLE);
        put_u32(&b, 5);
        put_int(&b, fn->prim_calls);
        put_int(&b, fn->calls);
        put_float(&b, (double)fn->self_ns / 1e9);
        put_float(&b, (double)fn->total_ns / 1e9);
        buf_putc(&b, M_DICT);
        for (uint32_t k = start[f]; k < start[f + 1]; k++) {
            const CgEdge *e = &cg.edges[by_callee[k]];
            if (e->caller == CG_ROOT || !is_key(&cg.funcs[e->caller]))
                continue;
            put_func(&b, p, &cg.funcs[e->caller]);
            buf_putc(&b, M_TUPLE);
            put_u32(&b, 4);
            put_int(&b, e->calls);
            put_int(&b, e->prim_calls);
            put_float(&b, (double)e->self_ns / 1e9);
            put_float(&b, (double)e->total_ns / 1e9);
        }
        buf_putc(&b, M_NULL);
    }
    buf_putc(&b, M_NULL);
    if (nkeys == 0) {
        err_set(err, ERR_FORMAT,
                "the profile holds no function (Python's pstats cannot load an "
                "empty profile)");
        goto done;
    }
    if (buf_failed(&b)) {
        err_set(err, ERR_NOMEM, "out of memory writing pstats");
        goto done;
    }
    if (fwrite(b.data, 1, b.len, out) != b.len) {
        err_sys(err, errno, "writing pstats");
        goto done;
    }
    rc = 0;
done:
    buf_fini(&b);
    free(by_callee);
    free(start);
    callgraph_fini(&cg);
    return rc;
}

const ReportWriter report_pstats = {
    .name = "pstats",
    .extension = ".prof",
    .binary = true,
    .write = pstats_write,
    .check = pstats_check,
};
