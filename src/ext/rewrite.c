/* SPDX-License-Identifier: MIT */
/* rewrite.c: line events for `ferret trace --lines` on CPython 3.11 without its tracing mode.
 *
 * On 3.11 a C trace function (PyEval_SetTrace) is the only source of line events, and
 * switching it on costs loops.py 2.8-3.4x with a trace function that does nothing
 * (bench/trace_floor.py): every instruction then runs unspecialised through the tracing
 * dispatch, and each call makes a frame object. Instead, ferret gives each function that
 * wants lines a copy of its code with a probe call in front of every line:
 *
 *     PUSH_NULL; LOAD_CONST probe; LOAD_CONST line; PRECALL 1; CALL 1; POP_TOP
 *
 * and leaves the interpreter on its fast, specialising path (the probe's PRECALL becomes
 * PRECALL_NO_KW_BUILTIN_O). Calls and returns still come from the frame evaluator
 * (hooks_eval.c), which swaps the copy in when a function first runs.
 *
 * Where probes go, so that the counts are those of the trace function (Python/ceval.c,
 * maybe_call_line_trace: a line event when an instruction's line differs from that of the
 * instruction run before it, or when a backward jump lands, except on SEND):
 *  - before each instruction whose line differs from the previous one in the code (after
 *    the first RESUME: the first line always counts);
 *  - on a jump whose landing the trace function counts but the code order does not (a
 *    loop's back edge to its FOR_ITER, a one-line `while`): before the jump when it is
 *    unconditional, else in a stub after the code (probe; JUMP_BACKWARD to the target) that
 *    the jump is pointed at;
 *  - a jump whose landing the trace function does not count but which lands on a probe
 *    (forward within one line) is pointed past the probe;
 *  - at an exception handler's first instruction a "changed" probe, which counts only when
 *    the frame's current line differs (the trace function compares with the line of the
 *    instruction that raised).
 * Jumps are re-aimed (and given EXTENDED_ARG prefixes as they grow), the exception table
 * and the location table are rebuilt (each probe has the location of the instruction it
 * precedes, so tracebacks and f_lineno are unchanged), and the stack size grows by the
 * three slots a probe uses. Anything unexpected leaves the code as it is (its lines are
 * then missing, and the report says how many functions that was).
 * Compiled to nothing on other versions. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#if PY_VERSION_HEX >= 0x030B0000 && PY_VERSION_HEX < 0x030C0000
#include <opcode.h>
#include <stdlib.h>
#include <string.h>

#include "ext/ext.h"

static uint8_t ncache[256]; /* inline cache entries per opcode (opcode._inline_cache_entries) */
static bool tables_ok;
static PyObject *map;     /* dict: id(code) -> (code, copy or None) */
static PyObject *capsule; /* self of the probes */
static PyObject *probe_fn, *changed_fn;
uint64_t rewrite_failed; /* functions whose code could not be given probes */

static PyObject *probe(PyObject *self, PyObject *line);
static PyObject *probe_changed(PyObject *self, PyObject *line);
static PyMethodDef probe_def = {"_line", probe, METH_O, NULL};
static PyMethodDef changed_def = {"_line_changed", probe_changed, METH_O, NULL};

static inline void
line_event(PyObject *line, bool only_changed)
{
    if (!ext.running)
        return;
    TThread *th = ext_thread(false);
    if (!th || th->guard || !th->depth)
        return;
    TEntry *e = &th->stack[th->depth - 1];
    if (!e->want_lines || !PyCode_Check(e->k1))
        return;
    long l = PyLong_AsLong(line);
    if (only_changed && e->line == l)
        return;
    tracer_line(ext.t, th, e->k1, (int32_t)l, clock_ticks(&ext.t->clock));
}

/* The probes trust the top of the thread's stack to be their frame: the evaluator pushes
 * every frame of a probed code (want_lines), and a probe whose frame is not on top (the
 * key differs) is ignored by tracer_line. */
static PyObject *
probe(PyObject *self, PyObject *line)
{
    (void)self;
    line_event(line, false);
    Py_RETURN_NONE;
}

static PyObject *
probe_changed(PyObject *self, PyObject *line)
{
    (void)self;
    line_event(line, true);
    Py_RETURN_NONE;
}

bool
rewrite_probed(PyCodeObject *co)
{
    PyObject *c = co->co_consts;
    Py_ssize_t n = PyTuple_GET_SIZE(c);
    return n >= 2 && PyTuple_GET_ITEM(c, n - 1) == changed_fn;
}

int
rewrite_start(void)
{
    if (!tables_ok) {
        PyObject *opcode = PyImport_ImportModule("opcode");
        PyObject *lst = opcode ? PyObject_GetAttrString(opcode, "_inline_cache_entries") : NULL;
        Py_XDECREF(opcode);
        if (!lst)
            return -1;
        if (!PyList_Check(lst) || PyList_GET_SIZE(lst) != 256) {
            Py_DECREF(lst);
            PyErr_SetString(PyExc_RuntimeError, "ferret: opcode._inline_cache_entries is odd");
            return -1;
        }
        for (int i = 0; i < 256; i++) {
            long v = PyLong_AsLong(PyList_GET_ITEM(lst, i));
            if (v < 0 || v > 32) {
                Py_DECREF(lst);
                PyErr_Clear();
                PyErr_SetString(PyExc_RuntimeError, "ferret: opcode cache table is odd");
                return -1;
            }
            ncache[i] = (uint8_t)v;
        }
        Py_DECREF(lst);
        tables_ok = true;
    }
    if (!map && !(map = PyDict_New()))
        return -1;
    if (!capsule && !(capsule = PyCapsule_New(&ncache, "ferret.probe", NULL)))
        return -1;
    if (!probe_fn && !(probe_fn = PyCFunction_New(&probe_def, capsule)))
        return -1;
    if (!changed_fn && !(changed_fn = PyCFunction_New(&changed_def, capsule)))
        return -1;
    rewrite_failed = 0;
    return 0;
}

/* ---- the rewriter ---- */

enum { P_NONE, P_LINE, P_CHANGED };
enum { D_AT, D_AFTER_PROBE, D_STUB };

typedef struct {
    int start, len; /* in the original code, in code units, EXTENDED_ARG prefixes included */
    int op, arg, line;
    int target; /* jumps: instruction index of the target; else -1 */
    int dest, stub;
    int probe;        /* P_* before the instruction */
    int edge_line;    /* unconditional jump: a line event for its target first (-1: none) */
    int pos, mid, at; /* new: first unit of the group (its line probe), after the line probe
                         (the edge probe, if any), the instruction's first unit */
    int ext;          /* EXTENDED_ARG prefixes in the new code */
} Ins;

typedef struct {
    int line, target, dest; /* dest as Ins.dest, never D_STUB */
    int pos, at, ext;
} Stub;

typedef struct {
    int start, end, target, depth_lasti;
} ExcEntry;

typedef struct {
    Ins *ins;
    int nins;
    Stub *stubs;
    int nstubs;
    int *unit_ins; /* original unit -> instruction index (-1: inside one) */
    int nconsts;   /* the original co_consts size: the line numbers follow, then the probes */
    int fn;        /* const index of probe_fn (changed_fn follows) */
    PyObject *line_consts; /* dict line -> const index */
    PyObject *extra;       /* list of added consts */
} Rw;

static inline bool
is_jump(int op)
{
    switch (op) {
    case FOR_ITER:
    case JUMP_FORWARD:
    case JUMP_IF_FALSE_OR_POP:
    case JUMP_IF_TRUE_OR_POP:
    case POP_JUMP_FORWARD_IF_FALSE:
    case POP_JUMP_FORWARD_IF_TRUE:
    case SEND:
    case POP_JUMP_FORWARD_IF_NOT_NONE:
    case POP_JUMP_FORWARD_IF_NONE:
    case JUMP_BACKWARD_NO_INTERRUPT:
    case JUMP_BACKWARD:
    case POP_JUMP_BACKWARD_IF_NOT_NONE:
    case POP_JUMP_BACKWARD_IF_NONE:
    case POP_JUMP_BACKWARD_IF_FALSE:
    case POP_JUMP_BACKWARD_IF_TRUE:
        return true;
    default:
        return false;
    }
}

static inline bool
is_backward(int op)
{
    return op == JUMP_BACKWARD_NO_INTERRUPT || op == JUMP_BACKWARD ||
           op == POP_JUMP_BACKWARD_IF_NOT_NONE || op == POP_JUMP_BACKWARD_IF_NONE ||
           op == POP_JUMP_BACKWARD_IF_FALSE || op == POP_JUMP_BACKWARD_IF_TRUE;
}

static inline bool
is_unconditional(int op)
{
    return op == JUMP_FORWARD || op == JUMP_BACKWARD || op == JUMP_BACKWARD_NO_INTERRUPT;
}

/* The conditional jump in the given direction. */
static int
pop_jump(int op, bool forward)
{
    switch (op) {
    case POP_JUMP_FORWARD_IF_FALSE:
    case POP_JUMP_BACKWARD_IF_FALSE:
        return forward ? POP_JUMP_FORWARD_IF_FALSE : POP_JUMP_BACKWARD_IF_FALSE;
    case POP_JUMP_FORWARD_IF_TRUE:
    case POP_JUMP_BACKWARD_IF_TRUE:
        return forward ? POP_JUMP_FORWARD_IF_TRUE : POP_JUMP_BACKWARD_IF_TRUE;
    case POP_JUMP_FORWARD_IF_NONE:
    case POP_JUMP_BACKWARD_IF_NONE:
        return forward ? POP_JUMP_FORWARD_IF_NONE : POP_JUMP_BACKWARD_IF_NONE;
    case POP_JUMP_FORWARD_IF_NOT_NONE:
    case POP_JUMP_BACKWARD_IF_NOT_NONE:
        return forward ? POP_JUMP_FORWARD_IF_NOT_NONE : POP_JUMP_BACKWARD_IF_NOT_NONE;
    default:
        return forward ? op : -1; /* FOR_ITER, SEND, JUMP_IF_*_OR_POP only jump forward */
    }
}

static inline int
ext_needed(int arg)
{
    return arg < (1 << 8) ? 0 : arg < (1 << 16) ? 1 : arg < (1 << 24) ? 2 : 3;
}

/* Const index of the line number `line` (added on first use); -1 on error. */
static int
line_const(Rw *rw, int line)
{
    PyObject *key = PyLong_FromLong(line);
    if (!key)
        return -1;
    PyObject *v = PyDict_GetItemWithError(rw->line_consts, key);
    if (v) {
        Py_DECREF(key);
        return (int)PyLong_AsLong(v);
    }
    int idx = rw->nconsts + (int)PyList_GET_SIZE(rw->extra);
    PyObject *iv = PyErr_Occurred() ? NULL : PyLong_FromLong(idx);
    int rc = iv ? PyDict_SetItem(rw->line_consts, key, iv) : -1;
    if (rc == 0)
        rc = PyList_Append(rw->extra, key);
    Py_XDECREF(iv);
    Py_DECREF(key);
    return rc < 0 ? -1 : idx;
}

static inline _Py_CODEUNIT
unit(int op, int arg)
{
    /* little-endian layout of 3.11's code units: opcode byte, then oparg byte */
    uint8_t b[2] = {(uint8_t)op, (uint8_t)arg};
    _Py_CODEUNIT u;
    memcpy(&u, b, sizeof u);
    return u;
}

/* Writes op/arg with `ext` EXTENDED_ARG prefixes; returns the next free index. With out
 * NULL it only counts, which is how the layout sizes what the emitter writes. */
static int
put(_Py_CODEUNIT *out, int at, int op, int arg, int next)
{
    if (!out)
        return at + next + 1 + ncache[op];
    for (int k = next; k > 0; k--)
        out[at++] = unit(EXTENDED_ARG, (arg >> (8 * k)) & 0xff);
    out[at++] = unit(op, arg & 0xff);
    for (int k = 0; k < ncache[op]; k++)
        out[at++] = unit(CACHE, 0);
    return at;
}

/* Writes a probe at `at` (out NULL: only counts); returns the next free index, or -1 with
 * an exception set. */
static int
put_probe(Rw *rw, _Py_CODEUNIT *out, int at, int kind, int line)
{
    int fn = rw->fn + (kind == P_CHANGED);
    int lc = line_const(rw, line);
    if (lc < 0)
        return -1;
    at = put(out, at, PUSH_NULL, 0, 0);
    at = put(out, at, LOAD_CONST, fn, ext_needed(fn));
    at = put(out, at, LOAD_CONST, lc, ext_needed(lc));
    at = put(out, at, PRECALL, 1, 0);
    at = put(out, at, CALL, 1, 0);
    return put(out, at, POP_TOP, 0, 0);
}

/* Exception table varints (Objects/exception_handling_notes.txt): 6-bit groups, most
 * significant first, bit 6 = more follow, bit 7 marks an entry's first byte. */
static int
exc_read(const uint8_t **p, const uint8_t *end, int *v)
{
    int val = 0;
    for (int k = 0; k < 6; k++) {
        if (*p >= end)
            return -1;
        uint8_t b = *(*p)++;
        val = (val << 6) | (b & 63);
        if (!(b & 64)) {
            *v = val;
            return 0;
        }
    }
    return -1;
}

static void
exc_write(uint8_t **p, int v, int msb)
{
    int shift = 24;
    while (shift > 0 && v < (1 << shift))
        shift -= 6;
    for (; shift > 0; shift -= 6) {
        *(*p)++ = (uint8_t)(((v >> shift) & 63) | 64 | msb);
        msb = 0;
    }
    *(*p)++ = (uint8_t)((v & 63) | msb);
}

static int
exc_parse(PyObject *table, ExcEntry **out, int *n)
{
    const uint8_t *p = (const uint8_t *)PyBytes_AS_STRING(table);
    const uint8_t *end = p + PyBytes_GET_SIZE(table);
    int cap = 0;
    *out = NULL;
    *n = 0;
    while (p < end) {
        ExcEntry e;
        int size;
        if (!(*p & 128) || exc_read(&p, end, &e.start) < 0 || exc_read(&p, end, &size) < 0 ||
            exc_read(&p, end, &e.target) < 0 || exc_read(&p, end, &e.depth_lasti) < 0)
            return -1;
        e.end = e.start + size;
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            ExcEntry *g = realloc(*out, (size_t)cap * sizeof *g);
            if (!g)
                return -1;
            *out = g;
        }
        (*out)[(*n)++] = e;
    }
    return 0;
}

/* New position a jump to instruction t lands on. */
static inline int
dest_pos(const Rw *rw, int t, int dest)
{
    const Ins *ti = &rw->ins[t];
    return dest == D_AFTER_PROBE ? ti->mid : ti->pos;
}

/* Code units of a probe; -1 with an exception set. */
static inline int
probe_units(Rw *rw, int kind, int line)
{
    return put_probe(rw, NULL, 0, kind, line);
}

/* Lays the new code out; 1 if some jump needed more EXTENDED_ARG room (lay out again). */
static int
layout(Rw *rw, int *code_end, int *total)
{
    int pos = 0;
    for (int i = 0; i < rw->nins; i++) {
        Ins *in = &rw->ins[i];
        in->pos = pos;
        if (in->probe)
            pos += probe_units(rw, in->probe, in->line);
        in->mid = pos;
        if (in->edge_line >= 0)
            pos += probe_units(rw, P_LINE, in->edge_line);
        in->at = pos;
        /* a jump is re-encoded; anything else is copied with its own prefixes */
        pos += in->target >= 0 ? in->ext + 1 + ncache[in->op] : in->len;
    }
    *code_end = pos;
    for (int s = 0; s < rw->nstubs; s++) {
        Stub *st = &rw->stubs[s];
        st->pos = pos;
        pos += probe_units(rw, P_LINE, st->line);
        st->at = pos;
        pos += st->ext + 1;
    }
    *total = pos;
    int grew = 0;
    for (int i = 0; i < rw->nins; i++) {
        Ins *in = &rw->ins[i];
        if (in->target < 0)
            continue;
        int d = in->dest == D_STUB ? rw->stubs[in->stub].pos : dest_pos(rw, in->target, in->dest);
        int next = in->at + in->ext + 1;
        int arg = d >= next ? d - next : next - d;
        if (ext_needed(arg) > in->ext) {
            in->ext = ext_needed(arg);
            grew = 1;
        }
    }
    for (int s = 0; s < rw->nstubs; s++) {
        Stub *st = &rw->stubs[s];
        int next = st->at + st->ext + 1;
        int arg = next - dest_pos(rw, st->target, st->dest);
        if (ext_needed(arg) > st->ext) {
            st->ext = ext_needed(arg);
            grew = 1;
        }
    }
    return grew;
}

/* Builds the 3.11 location table from per-unit positions (PEP 657 form, long entries). */
static void
write_varint(uint8_t **p, unsigned v)
{
    while (v >= 64) {
        *(*p)++ = (uint8_t)(64 | (v & 63));
        v >>= 6;
    }
    *(*p)++ = (uint8_t)v;
}

static inline void
write_svarint(uint8_t **p, int v)
{
    write_varint(p, v < 0 ? ((unsigned)(-v) << 1) | 1 : (unsigned)v << 1);
}

typedef struct {
    int line, end_line, col, end_col;
} Loc;

static PyObject *
location_table(const Loc *locs, int n, int firstline)
{
    /* an entry is at most 1 + 4 varints of 6 bytes each */
    uint8_t *buf = malloc((size_t)n * 25 + 1), *p = buf;
    if (!buf)
        return PyErr_NoMemory();
    int prev_line = firstline;
    for (int i = 0; i < n;) {
        int len = 1;
        while (i + len < n && len < 8 && memcmp(&locs[i + len], &locs[i], sizeof *locs) == 0)
            len++;
        const Loc *l = &locs[i];
        if (l->line < 0) {
            *p++ = (uint8_t)(0x80 | (15 << 3) | (len - 1));
        } else {
            *p++ = (uint8_t)(0x80 | (14 << 3) | (len - 1));
            write_svarint(&p, l->line - prev_line);
            write_varint(&p, (unsigned)(l->end_line >= l->line ? l->end_line - l->line : 0));
            write_varint(&p, (unsigned)(l->col + 1));
            write_varint(&p, (unsigned)(l->end_col + 1));
            prev_line = l->line;
        }
        i += len;
    }
    PyObject *b = PyBytes_FromStringAndSize((const char *)buf, p - buf);
    free(buf);
    return b;
}

/* Per-unit locations of co (co_positions()); NULL with an exception on failure. */
static Loc *
positions(PyCodeObject *co, int n)
{
    PyObject *it = PyObject_CallMethod((PyObject *)co, "co_positions", NULL);
    if (!it)
        return NULL;
    Loc *locs = calloc((size_t)n + 1, sizeof *locs);
    int i = 0;
    PyObject *t;
    while (locs && (t = PyIter_Next(it))) {
        int v[4] = {-1, -1, -1, -1};
        for (int k = 0; k < 4 && PyTuple_Check(t) && k < PyTuple_GET_SIZE(t); k++) {
            PyObject *o = PyTuple_GET_ITEM(t, k);
            if (o != Py_None)
                v[k] = (int)PyLong_AsLong(o);
        }
        Py_DECREF(t);
        if (i < n)
            locs[i] = (Loc){v[0], v[1], v[2], v[3]};
        i++;
    }
    Py_DECREF(it);
    if (!locs)
        return (Loc *)PyErr_NoMemory();
    if (PyErr_Occurred() || i != n) {
        free(locs);
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_ValueError, "co_positions() does not match the code");
        return NULL;
    }
    return locs;
}

/* Finds the exception entry covering original unit u (-1: none). */
static int
exc_covering(const ExcEntry *ex, int nex, int u)
{
    for (int k = 0; k < nex; k++)
        if (ex[k].start <= u && u < ex[k].end)
            return k;
    return -1;
}

/* Decides where probes go (see the top of the file). */
static int
plan(Rw *rw, const ExcEntry *ex, int nex)
{
    int first = -1; /* the RESUME that starts the body (_co_firsttraceable) */
    for (int i = 0; i < rw->nins && first < 0; i++)
        if (rw->ins[i].op == RESUME)
            first = i;
    if (first < 0)
        return -1;
    int prev = -1;
    for (int i = first + 1; i < rw->nins; i++) {
        Ins *in = &rw->ins[i];
        if (in->op != RESUME && in->line >= 0 && in->line != prev)
            in->probe = P_LINE;
        prev = in->line;
    }
    for (int k = 0; k < nex; k++) {
        int t = ex[k].target < 0 ? -1 : rw->unit_ins[ex[k].target];
        if (t <= first)
            return -1;
        if (rw->ins[t].line >= 0 && rw->ins[t].op != RESUME)
            rw->ins[t].probe = P_CHANGED;
    }
    for (int i = first + 1; i < rw->nins; i++) {
        Ins *in = &rw->ins[i];
        if (in->target < 0)
            continue;
        const Ins *t = &rw->ins[in->target];
        if (in->target <= first)
            return -1;
        bool backward = t->start < in->start;
        bool counts =
            t->line >= 0 && t->op != RESUME && (t->line != in->line || (backward && t->op != SEND));
        bool probed = t->probe == P_LINE || (t->probe == P_CHANGED && t->line != in->line);
        if (counts == probed)
            continue;
        if (!counts) {
            in->dest = D_AFTER_PROBE;
        } else if (is_unconditional(in->op)) {
            in->edge_line = t->line;
            in->dest = t->probe ? D_AFTER_PROBE : D_AT;
        } else {
            Stub *st = &rw->stubs[rw->nstubs];
            *st = (Stub){t->line, in->target, t->probe ? D_AFTER_PROBE : D_AT, 0, 0, 0};
            in->dest = D_STUB;
            in->stub = rw->nstubs++;
        }
    }
    return 0;
}

/* The copy of co with probes, or NULL with an exception (the caller decides). */
static PyObject *
rewrite(PyCodeObject *co)
{
    PyObject *code = PyCode_GetCode(co), *result = NULL, *consts = NULL, *lt = NULL, *et = NULL,
             *codeb = NULL;
    if (!code)
        return NULL;
    int n = (int)(PyBytes_GET_SIZE(code) / (Py_ssize_t)sizeof(_Py_CODEUNIT));
    const _Py_CODEUNIT *u = (const _Py_CODEUNIT *)PyBytes_AS_STRING(code);
    Rw rw = {0};
    ExcEntry *ex = NULL;
    int nex = 0;
    Loc *locs = NULL, *nlocs = NULL;
    _Py_CODEUNIT *out = NULL;
    rw.ins = calloc((size_t)n + 1, sizeof *rw.ins);
    rw.stubs = calloc((size_t)n + 1, sizeof *rw.stubs);
    rw.unit_ins = malloc(((size_t)n + 1) * sizeof *rw.unit_ins);
    rw.line_consts = PyDict_New();
    rw.extra = PyList_New(0);
    rw.nconsts = (int)PyTuple_GET_SIZE(co->co_consts);
    if (!rw.ins || !rw.stubs || !rw.unit_ins || !rw.line_consts || !rw.extra) {
        PyErr_NoMemory();
        goto out;
    }
    if (!(locs = positions(co, n)))
        goto out;
    if (exc_parse(co->co_exceptiontable, &ex, &nex) < 0) {
        PyErr_SetString(PyExc_ValueError, "cannot read the exception table");
        goto out;
    }
    /* decode */
    for (int i = 0; i < n;) {
        int start = i, arg = 0;
        while (i < n && _Py_OPCODE(u[i]) == EXTENDED_ARG) {
            arg = (arg << 8) | _Py_OPARG(u[i]);
            rw.unit_ins[i++] = -1;
        }
        if (i >= n)
            break;
        int op = _Py_OPCODE(u[i]);
        arg = (arg << 8) | _Py_OPARG(u[i]);
        rw.unit_ins[start] = rw.nins;
        if (i != start)
            rw.unit_ins[i] = -1;
        int len = i - start + 1 + ncache[op];
        for (int k = i + 1; k < start + len && k < n; k++)
            rw.unit_ins[k] = -1;
        Ins *in = &rw.ins[rw.nins++];
        *in = (Ins){start, len, op, arg, locs[start].line, -1, D_AT, 0, P_NONE, -1, 0, 0, 0, 0};
        if (is_jump(op)) {
            int next = start + len;
            in->target = is_backward(op) ? next - arg : next + arg; /* unit, resolved below */
        }
        i = start + len;
    }
    rw.unit_ins[n] = -1;
    for (int i = 0; i < rw.nins; i++) {
        Ins *in = &rw.ins[i];
        if (in->target < 0)
            continue;
        if (in->target >= n || rw.unit_ins[in->target] < 0) {
            PyErr_SetString(PyExc_ValueError, "a jump lands inside an instruction");
            goto out;
        }
        in->target = rw.unit_ins[in->target];
    }
    for (int k = 0; k < nex; k++) {
        if (ex[k].start < 0 || ex[k].end > n || ex[k].target < 0 || ex[k].target >= n ||
            rw.unit_ins[ex[k].start] < 0 || rw.unit_ins[ex[k].target] < 0 ||
            (ex[k].end < n && rw.unit_ins[ex[k].end] < 0)) {
            PyErr_SetString(PyExc_ValueError, "an exception table entry is odd");
            goto out;
        }
    }
    if (plan(&rw, ex, nex) < 0) {
        PyErr_SetString(PyExc_ValueError, "no RESUME, or a jump before it");
        goto out;
    }
    /* every line a probe names gets its const now; the probes' own follow */
    for (int i = 0; i < rw.nins; i++)
        if ((rw.ins[i].probe && line_const(&rw, rw.ins[i].line) < 0) ||
            (rw.ins[i].edge_line >= 0 && line_const(&rw, rw.ins[i].edge_line) < 0))
            goto out;
    for (int s = 0; s < rw.nstubs; s++)
        if (line_const(&rw, rw.stubs[s].line) < 0)
            goto out;
    rw.fn = rw.nconsts + (int)PyList_GET_SIZE(rw.extra);
    if (PyList_Append(rw.extra, probe_fn) < 0 || PyList_Append(rw.extra, changed_fn) < 0)
        goto out;
    int code_end, total;
    for (int rounds = 0;; rounds++) {
        int grew = layout(&rw, &code_end, &total);
        if (PyErr_Occurred())
            goto out;
        if (!grew)
            break;
        if (rounds > 16) {
            PyErr_SetString(PyExc_ValueError, "jump sizes do not settle");
            goto out;
        }
    }
    /* emit */
    out = calloc((size_t)total + 1, sizeof *out);
    nlocs = calloc((size_t)total + 1, sizeof *nlocs);
    if (!out || !nlocs) {
        PyErr_NoMemory();
        goto out;
    }
    int at = 0;
    for (int i = 0; i < rw.nins; i++) {
        Ins *in = &rw.ins[i];
        int from = at;
        if (in->probe)
            at = put_probe(&rw, out, at, in->probe, in->line);
        if (in->edge_line >= 0)
            at = put_probe(&rw, out, at, P_LINE, in->edge_line);
        if (at != in->at) {
            PyErr_SetString(PyExc_SystemError, "ferret: probe layout mismatch");
            goto out;
        }
        if (in->target >= 0) {
            int d =
                in->dest == D_STUB ? rw.stubs[in->stub].pos : dest_pos(&rw, in->target, in->dest);
            int next = in->at + in->ext + 1;
            bool fwd = d >= next;
            int op = is_unconditional(in->op) ? in->op : pop_jump(in->op, fwd);
            if (op < 0 || (is_unconditional(op) && fwd == is_backward(op))) {
                PyErr_SetString(PyExc_SystemError, "ferret: a jump changed direction");
                goto out;
            }
            at = put(out, at, op, fwd ? d - next : next - d, in->ext);
        } else {
            /* copy as it was (its prefixes and caches included) */
            memcpy(&out[at], &u[in->start], (size_t)in->len * sizeof *out);
            at += in->len;
        }
        for (int k = from; k < at; k++)
            nlocs[k] = locs[in->start];
    }
    for (int s = 0; s < rw.nstubs; s++) {
        Stub *st = &rw.stubs[s];
        int from = at;
        at = put_probe(&rw, out, at, P_LINE, st->line);
        int next = st->at + st->ext + 1;
        at = put(out, at, JUMP_BACKWARD, next - dest_pos(&rw, st->target, st->dest), st->ext);
        for (int k = from; k < at; k++)
            nlocs[k] = locs[rw.ins[st->target].start];
    }
    if (at != total || PyErr_Occurred()) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_SystemError, "ferret: code size mismatch");
        goto out;
    }
    /* exception table: original entries moved, then one per stub inside a handled range */
    uint8_t *eb = malloc(((size_t)nex + (size_t)rw.nstubs + 1) * 24), *ep = eb;
    if (!eb) {
        PyErr_NoMemory();
        goto out;
    }
    for (int k = 0; k < nex; k++) {
        int s = rw.ins[rw.unit_ins[ex[k].start]].pos;
        int e = ex[k].end >= n ? code_end : rw.ins[rw.unit_ins[ex[k].end]].pos;
        exc_write(&ep, s, 128);
        exc_write(&ep, e - s, 0);
        exc_write(&ep, rw.ins[rw.unit_ins[ex[k].target]].pos, 0);
        exc_write(&ep, ex[k].depth_lasti, 0);
    }
    for (int s = 0; s < rw.nstubs; s++) {
        int k = exc_covering(ex, nex, rw.ins[rw.stubs[s].target].start);
        if (k < 0)
            continue;
        exc_write(&ep, rw.stubs[s].pos, 128);
        exc_write(&ep, (s + 1 < rw.nstubs ? rw.stubs[s + 1].pos : total) - rw.stubs[s].pos, 0);
        exc_write(&ep, rw.ins[rw.unit_ins[ex[k].target]].pos, 0);
        exc_write(&ep, ex[k].depth_lasti, 0);
    }
    et = PyBytes_FromStringAndSize((const char *)eb, ep - eb);
    free(eb);
    if (!et)
        goto out;
    codeb = PyBytes_FromStringAndSize((const char *)out, (Py_ssize_t)total * 2);
    lt = location_table(nlocs, total, co->co_firstlineno);
    /* consts: the original ones, nested code objects given probes too, then the probes and
     * the line numbers */
    Py_ssize_t nc = PyTuple_GET_SIZE(co->co_consts);
    consts = codeb && lt ? PyTuple_New(nc + PyList_GET_SIZE(rw.extra)) : NULL;
    if (!consts)
        goto out;
    for (Py_ssize_t k = 0; k < nc; k++) {
        PyObject *c = PyTuple_GET_ITEM(co->co_consts, k);
        PyObject *r = NULL;
        if (PyCode_Check(c)) {
            r = rewrite_code((PyCodeObject *)c);
            if (!r)
                goto out;
            if (r == Py_None) {
                Py_DECREF(r);
                r = NULL;
            }
        }
        PyTuple_SET_ITEM(consts, k, r ? r : ext_newref(c));
    }
    for (Py_ssize_t k = 0; k < PyList_GET_SIZE(rw.extra); k++)
        PyTuple_SET_ITEM(consts, nc + k, ext_newref(PyList_GET_ITEM(rw.extra, k)));
    PyObject *kw = Py_BuildValue("{s:O,s:O,s:O,s:O,s:i}", "co_code", codeb, "co_consts", consts,
                                 "co_linetable", lt, "co_exceptiontable", et, "co_stacksize",
                                 co->co_stacksize + 3);
    PyObject *empty = kw ? PyTuple_New(0) : NULL;
    PyObject *rep = empty ? PyObject_GetAttrString((PyObject *)co, "replace") : NULL;
    if (rep)
        result = PyObject_Call(rep, empty, kw);
    Py_XDECREF(rep);
    Py_XDECREF(empty);
    Py_XDECREF(kw);
out:
    Py_XDECREF(code);
    Py_XDECREF(consts);
    Py_XDECREF(lt);
    Py_XDECREF(et);
    Py_XDECREF(codeb);
    Py_XDECREF(rw.line_consts);
    Py_XDECREF(rw.extra);
    free(rw.ins);
    free(rw.stubs);
    free(rw.unit_ins);
    free(ex);
    free(locs);
    free(nlocs);
    free(out);
    return result;
}

PyObject *
rewrite_code(PyCodeObject *co)
{
    if (rewrite_probed(co))
        return ext_newref((PyObject *)co);
    PyObject *key = PyLong_FromVoidPtr(co);
    if (!key)
        return NULL;
    PyObject *hit = PyDict_GetItemWithError(map, key);
    if (hit) {
        Py_DECREF(key);
        return ext_newref(PyTuple_GET_ITEM(hit, 1));
    }
    if (PyErr_Occurred()) {
        Py_DECREF(key);
        return NULL;
    }
    PyObject *copy = NULL;
    int want = tracer_key_lines(ext.t, co, NULL);
    if (want < 0) {
        Py_DECREF(key);
        PyErr_SetString(PyExc_RuntimeError, "ferret: recording failed");
        return NULL;
    }
    if (want) {
        copy = rewrite(co);
        if (!copy) {
            if (getenv("FERRET_DEBUG_REWRITE")) {
                PyObject *t, *v, *tb;
                PyErr_Fetch(&t, &v, &tb);
                PySys_FormatStderr("ferret: no probes for %R: %S\n", co, v ? v : Py_None);
                PyErr_Restore(t, v, tb);
            }
            PyErr_Clear(); /* left as it is: its lines are missing, and counted */
            rewrite_failed++;
        }
    }
    PyObject *entry = PyTuple_Pack(2, (PyObject *)co, copy ? copy : Py_None);
    Py_XDECREF(copy);
    int rc = entry ? PyDict_SetItem(map, key, entry) : -1;
    Py_DECREF(key);
    if (rc < 0) {
        Py_XDECREF(entry);
        return NULL;
    }
    PyObject *r = ext_newref(PyTuple_GET_ITEM(entry, 1));
    Py_DECREF(entry);
    return r;
}

#else
#include <stdint.h>
uint64_t rewrite_failed; /* stays 0 */
#endif
