/* SPDX-License-Identifier: MIT */
/* test_tracer.c: the tracer core (src/ext/tracer.c, no Python) driven by synthetic events:
 * call counting, self time, recursion, generator resumes, unmatched exits, lines, the
 * timeline ring, windowed CPU time against real sleeps and busy loops; then emit.c into a
 * Profile, callgraph.c over it, and the pstats bytes for numbers beyond 32 bits. The core is
 * compiled into this test (the extension's objects are built per interpreter). */
#include <stdlib.h>
#include <time.h>

#include "check.h"
#include "ext/clock.c"
#include "ext/emit.c"
#include "ext/tracer.c"
#include "profile/callgraph.h"
#include "report/report.h"

/* Keys are addresses of these; the describe callback names them. */
static const char *const names[] = {"main", "fib", "gen", "leaf", "own", "sleeper", "busy"};
enum { MAIN, FIB, GEN, LEAF, OWN, SLEEPER, BUSY, NKEYS };
static char keys[NKEYS];

static int
describe(void *ctx, const void *k1, const void *k2, TFuncDesc *out, Err *err)
{
    (void)ctx;
    (void)err;
    size_t i = (size_t)((const char *)k1 - keys);
    CHECK(i < NKEYS);
    out->name = names[i];
    out->file = "app.py";
    out->line = (int32_t)(10 * i + 1);
    out->kind = k2 ? TFUNC_C : TFUNC_PY;
    out->ignore = i == OWN;
    out->lines = i == LEAF;
    return 0;
}

static const void *
key(int i)
{
    return &keys[i];
}

static Tracer *
new_tracer(bool lines, uint32_t timeline, bool cpu)
{
    TracerOptions o;
    tracer_options_default(&o);
    o.lines = lines;
    o.timeline_cap = timeline;
    o.cpu = cpu;
    Err err;
    Tracer *t = tracer_new(&o, describe, NULL, &err);
    CHECK(t != NULL);
    return t;
}

/* Self time of every function node (not the thread roots). */
static uint64_t
self_ticks_sum(const Tracer *t)
{
    uint64_t sum = 0;
    for (uint32_t i = 1; i < t->nnodes; i++)
        if (t->nodes[i].depth > 0)
            sum += t->nodes[i].self_ticks;
    return sum;
}

/* A tracer with one thread, MainThread, for the event tests. */
static Tracer *
new_traced_thread(TThread **th)
{
    Tracer *t = new_tracer(false, 0, false);
    Err err;
    *th = tracer_thread_new(t, 1, 1, "MainThread", &err);
    CHECK(*th != NULL);
    return t;
}

static void
test_calls_and_recursion(void)
{
    TThread *th;
    Tracer *t = new_traced_thread(&th);
    uint64_t now = 1000;
    CHECK_EQ_INT(tracer_enter(t, th, key(MAIN), NULL, true, now), 0);
    /* fib(3) by hand: fib -> fib -> fib, then back */
    for (int depth = 0; depth < 3; depth++)
        CHECK_EQ_INT(tracer_enter(t, th, key(FIB), NULL, true, now += 10), 0);
    CHECK_EQ_INT(th->depth, 4);
    for (int depth = 0; depth < 3; depth++)
        tracer_exit(t, th, key(FIB), now += 5);
    CHECK_EQ_INT(th->depth, 1);
    /* ten leaf calls reuse one node (the child cache) */
    uint32_t nodes_before = t->nnodes;
    for (int i = 0; i < 10; i++) {
        tracer_enter(t, th, key(LEAF), NULL, true, now += 1);
        tracer_exit(t, th, key(LEAF), now += 2);
    }
    CHECK_EQ_INT(t->nnodes, nodes_before + 1);
    const TNode *leaf = &t->nodes[t->nnodes - 1];
    CHECK_EQ_U64(leaf->calls, 10);
    CHECK_EQ_U64(leaf->self_ticks, 20);
    /* a generator: started once, resumed twice (resumes are not calls) */
    tracer_enter(t, th, key(GEN), NULL, true, now += 1);
    tracer_exit(t, th, key(GEN), now += 3);
    for (int i = 0; i < 2; i++) {
        tracer_enter(t, th, key(GEN), NULL, false, now += 1);
        tracer_exit(t, th, key(GEN), now += 3);
    }
    const TNode *gen = &t->nodes[t->nnodes - 1];
    CHECK_EQ_U64(gen->calls, 1);
    CHECK_EQ_U64(gen->self_ticks, 9);
    /* ferret's own code is transparent: not pushed, its exit ignored */
    CHECK_EQ_INT(tracer_enter(t, th, key(OWN), NULL, true, now += 1), 1);
    CHECK_EQ_INT(th->depth, 1);
    tracer_exit(t, th, key(OWN), now += 1);
    CHECK_EQ_INT(th->depth, 1);
    CHECK(tracer_key_ignored(t, key(OWN), NULL));
    /* an exit of a frame that started before tracing is ignored */
    tracer_exit(t, th, key(SLEEPER), now += 1);
    CHECK_EQ_INT(th->depth, 1);
    /* a missed exit (the C frame's return never came): the caller's exit pops both */
    tracer_enter(t, th, key(LEAF), key(LEAF), true, now += 1);
    tracer_exit(t, th, key(MAIN), now += 1);
    CHECK_EQ_INT(th->depth, 0);
    CHECK_EQ_INT(th->top, th->root);
    /* self times add up to the time main was open */
    CHECK_EQ_U64(self_ticks_sum(t), now - 1000);
    tracer_free(t);
}

/* Frames seeded at the start (running before tracing) that return unseen: a call made from
 * a frame below them ends them; a call from a frame not among them changes nothing. */
static void
test_unwind_seeded(void)
{
    TThread *th;
    Tracer *t = new_traced_thread(&th);
    uint64_t now = 1000;
    CHECK_EQ_INT(tracer_seed(t, th, key(MAIN), NULL, 1, now), 0);
    CHECK_EQ_INT(tracer_seed(t, th, key(FIB), NULL, 1, now), 0);
    CHECK_EQ_INT(tracer_seed(t, th, key(GEN), NULL, 1, now), 0);
    th->seeded = th->depth;
    /* a call from the top seeded frame: nothing ends */
    tracer_unwind_seeded(t, th, key(GEN), now += 10);
    CHECK_EQ_INT(th->depth, 3);
    /* from ferret's own code (not on the stack): nothing ends */
    tracer_unwind_seeded(t, th, key(OWN), now += 10);
    CHECK_EQ_INT(th->depth, 3);
    /* from main: fib and gen have returned, and end now */
    tracer_unwind_seeded(t, th, key(MAIN), now += 10);
    CHECK_EQ_INT(th->depth, 1);
    CHECK_EQ_INT(th->seeded, 1);
    tracer_enter(t, th, key(LEAF), NULL, true, now += 1);
    CHECK_EQ_INT(th->stack[0].k1 == key(MAIN) && th->stack[1].k1 == key(LEAF), 1);
    /* with a pushed frame on top the seeded ones are not looked at */
    tracer_unwind_seeded(t, th, NULL, now += 1);
    CHECK_EQ_INT(th->depth, 2);
    tracer_exit(t, th, key(LEAF), now += 1);
    /* from no Python frame at all: every seeded frame has ended */
    tracer_unwind_seeded(t, th, NULL, now += 1);
    CHECK_EQ_INT(th->depth, 0);
    CHECK_EQ_INT(th->seeded, 0);
    /* the three seeded functions were charged up to the moment they were found gone */
    CHECK_EQ_U64(self_ticks_sum(t), now - 1000);
    tracer_free(t);
}

static void
test_lines_and_ring(void)
{
    Tracer *t = new_tracer(true, 4, false);
    Err err;
    TThread *th = tracer_thread_new(t, 1, 1, NULL, &err);
    uint64_t now = 0;
    tracer_enter(t, th, key(MAIN), NULL, true, now);
    CHECK(!tracer_line(t, th, key(MAIN), 3, now)); /* main does not want lines */
    for (int i = 0; i < 3; i++) {
        tracer_enter(t, th, key(LEAF), NULL, true, now += 10);
        CHECK(tracer_line(t, th, key(LEAF), 41, now += 1));
        CHECK(tracer_line(t, th, key(LEAF), 42, now += 2));
        CHECK(tracer_line(t, th, key(LEAF), 1000, now += 3)); /* grows the table upward */
        CHECK(tracer_line(t, th, key(LEAF), 5, now += 4));    /* and downward */
        tracer_exit(t, th, key(LEAF), now += 5);
    }
    TLineTab *lt = t->nodes[t->nnodes - 1].lines;
    CHECK(lt != NULL);
    CHECK_EQ_U64(tracer_line_slot(t, t->nnodes - 1, 41)->hits, 3);
    CHECK_EQ_U64(tracer_line_slot(t, t->nnodes - 1, 41)->ticks, 6);
    CHECK_EQ_U64(tracer_line_slot(t, t->nnodes - 1, 42)->ticks, 9);
    CHECK_EQ_U64(tracer_line_slot(t, t->nnodes - 1, 1000)->ticks, 12);
    CHECK_EQ_U64(tracer_line_slot(t, t->nnodes - 1, 5)->ticks, 15); /* closed by the exit */
    CHECK(tracer_line_slot(t, t->nnodes - 1, 0) == NULL);
    tracer_exit(t, th, key(MAIN), now += 1);
    /* 4 spans (3 leaf + main) fit the ring of 4; two more push out the oldest */
    CHECK_EQ_U64(t->spans_total, 4);
    tracer_enter(t, th, key(FIB), NULL, true, now += 1);
    tracer_exit(t, th, key(FIB), now += 1);
    tracer_enter(t, th, key(FIB), NULL, true, now += 1);
    tracer_exit(t, th, key(FIB), now += 1);
    CHECK_EQ_U64(t->spans_total, 6);
    CHECK_EQ_INT(t->ring_pos, 2);
    tracer_free(t);
}

static void
spin_ms(int ms)
{
    int64_t end = clock_mono_ns() + (int64_t)ms * 1000000;
    volatile uint64_t x = 0;
    while (clock_mono_ns() < end)
        x++;
}

/* Windowed CPU time against the thread's own CPU clock: a function that sleeps gets
 * (almost) none, one that spins gets what the clock says it used (a loaded machine takes
 * the CPU away from both, which is why the truth is the CPU clock, not the wall). */
static void
test_cpu_windows(void)
{
    Tracer *t = new_tracer(false, 0, true);
    Err err;
    TThread *th = tracer_thread_new(t, 1, 1, NULL, &err);
    tracer_enter(t, th, key(MAIN), NULL, true, clock_ticks(&t->clock));
    tracer_enter(t, th, key(SLEEPER), NULL, true, clock_ticks(&t->clock));
    struct timespec ts = {0, 60 * 1000000};
    nanosleep(&ts, NULL);
    tracer_exit(t, th, key(SLEEPER), clock_ticks(&t->clock));
    bool ok = true;
    int64_t cpu0 = thread_cpu_ns(&ok);
    tracer_enter(t, th, key(BUSY), NULL, true, clock_ticks(&t->clock));
    for (int i = 0; i < 20; i++) {
        spin_ms(1);
        tracer_enter(t, th, key(LEAF), NULL, true, clock_ticks(&t->clock));
        tracer_exit(t, th, key(LEAF), clock_ticks(&t->clock));
    }
    tracer_exit(t, th, key(BUSY), clock_ticks(&t->clock));
    double busy_truth = (double)(thread_cpu_ns(&ok) - cpu0);
    tracer_exit(t, th, key(MAIN), clock_ticks(&t->clock));
    clock_rate(&t->clock);
    double rate = t->clock.ns_per_tick;
    const TNode *sleeper = NULL, *busy = NULL;
    for (uint32_t i = 1; i < t->nnodes; i++) {
        if (t->nodes[i].func && strcmp(t->funcs[t->nodes[i].func].name, "sleeper") == 0)
            sleeper = &t->nodes[i];
        if (t->nodes[i].func && strcmp(t->funcs[t->nodes[i].func].name, "busy") == 0)
            busy = &t->nodes[i];
    }
    CHECK(sleeper && busy);
    if (sleeper && busy) {
        double sleep_wall = (double)sleeper->self_ticks * rate,
               sleep_cpu = sleeper->cpu_ticks * rate;
        double busy_wall = (double)busy->self_ticks * rate, busy_cpu = busy->cpu_ticks * rate;
        CHECK(sleep_wall >= 59e6);
        CHECK(sleep_cpu < 10e6);
        CHECK(busy_wall >= 19e6);
        /* busy's leaf() calls take a little of it; windows smear at most ~1 ms */
        CHECK_NEAR(busy_cpu, busy_truth, 0.2 * busy_truth + 1e6);
        if (!(sleep_cpu < 10e6))
            fprintf(stderr, "  sleeper %.0f/%.0f ns (cpu/wall)\n", sleep_cpu, sleep_wall);
    }
    tracer_free(t);
}

/* Tracer -> Profile -> callgraph: series, exact calls, recursion, deltas, deep stacks. */
static void
test_emit_and_callgraph(void)
{
    Tracer *t = new_tracer(true, 16, false);
    Err err;
    TThread *th = tracer_thread_new(t, 7, 7, "MainThread", &err);
    Profile *p = profile_new(PROFILE_TRACE, &err);
    EmitInfo info = {
        .pid = 7, .command = "python3 app.py", .python_version = "3.12.1", .hook = "test"};
    Emit *e = emit_new(p, t, &info, &err);
    CHECK(e != NULL);
    uint64_t now = 100;
    tracer_enter(t, th, key(MAIN), NULL, true, now);
    for (int i = 0; i < 5; i++) {
        tracer_enter(t, th, key(FIB), NULL, true, now += 10);
        tracer_enter(t, th, key(FIB), NULL, true, now += 10);
        tracer_enter(t, th, key(LEAF), NULL, true, now += 10);
        tracer_line(t, th, key(LEAF), 33, now += 1);
        tracer_exit(t, th, key(LEAF), now += 10);
        tracer_exit(t, th, key(FIB), now += 10);
        tracer_exit(t, th, key(FIB), now += 10);
    }
    CHECK(emit_deltas(e, t, now, &err) == 0);
    size_t first = profile_nsamples(p);
    CHECK(emit_deltas(e, t, now, &err) == 0); /* nothing new: no samples */
    CHECK_EQ_SIZE(profile_nsamples(p), first);
    /* a second batch, flushed as deltas, adds up with the first */
    for (int i = 0; i < 3; i++) {
        tracer_enter(t, th, key(LEAF), NULL, true, now += 10);
        tracer_exit(t, th, key(LEAF), now += 10);
    }
    /* a recursion deeper than PROFILE_MAX_DEPTH */
    for (int i = 0; i < PROFILE_MAX_DEPTH + 50; i++)
        tracer_enter(t, th, key(FIB), NULL, true, now += 1);
    for (int i = 0; i < PROFILE_MAX_DEPTH + 50; i++)
        tracer_exit(t, th, key(FIB), now += 1);
    tracer_exit(t, th, key(MAIN), now += 1);
    CHECK(emit_deltas(e, t, now, &err) == 0);
    CHECK(emit_spans(e, t, &err) == 0);
    CHECK_EQ_STR(profile_meta_get(p, "tracer"), "test");
    SeriesId s;
    CHECK(profile_series_find(p, "line_hits", &s));
    CHECK(profile_series_find(p, "spans", &s));
    CHECK(profile_info_c(p)->dropped > 0); /* the ring of 16 held far fewer spans */
    for (StackId i = 0; i < profile_nstacks(p); i++)
        CHECK(profile_stack_at(p, i)->depth <= PROFILE_MAX_DEPTH);

    Callgraph cg;
    CHECK(callgraph_build(p, -1, &cg, &err) == 0);
    const CgFunc *fib = NULL, *leaf = NULL, *mainf = NULL;
    for (size_t i = 0; i < cg.nfuncs; i++) {
        const char *n = profile_strp(p, cg.funcs[i].name);
        if (!cg.funcs[i].calls)
            continue;
        if (strcmp(n, "fib") == 0)
            fib = &cg.funcs[i];
        else if (strcmp(n, "leaf") == 0)
            leaf = &cg.funcs[i];
        else if (strcmp(n, "main") == 0)
            mainf = &cg.funcs[i];
    }
    CHECK(fib && leaf && mainf);
    if (fib && leaf && mainf) {
        CHECK_EQ_INT(fib->calls, 10 + PROFILE_MAX_DEPTH + 50);
        CHECK_EQ_INT(fib->prim_calls, 6);
        CHECK_EQ_INT(leaf->calls, 8);
        CHECK_EQ_INT(mainf->calls, 1);
        /* main's total is everything; the self times add up to it */
        CHECK_EQ_INT(cg.wall_ns, mainf->total_ns);
        CHECK(fib->total_ns >= fib->self_ns);
    }
    CHECK(cg.has_lines);
    CHECK_EQ_SIZE(cg.nlines, 1);
    if (cg.nlines)
        CHECK_EQ_INT(cg.lines[0].hits, 5);
    callgraph_fini(&cg);

    /* pstats: counts beyond 32 bits go out as marshal longs (15-bit digits) */
    SeriesId calls;
    CHECK(profile_series_find(p, "calls", &calls));
    ProfSample big = {.t_ns = 1, .stack = 1, .thread = 0, .series = calls, .weight = 5000000000LL};
    CHECK(profile_add_sample(p, &big, &err) == 0);
    char *data = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&data, &len);
    ReportOptions opt;
    report_options_init(&opt, p);
    CHECK(report_find("pstats")->write(p, &opt, f, &err) == 0);
    fclose(f);
    /* main: 1 + 5000000000 calls = 15-bit digits 0x7201, 0x540b, 0x4 (marshal.dumps agrees) */
    static const unsigned char want[] = {'l', 3, 0, 0, 0, 0x01, 0x72, 0x0b, 0x54, 0x04, 0x00};
    bool found = false;
    for (size_t i = 0; i + sizeof want <= len && !found; i++)
        found = memcmp(data + i, want, sizeof want) == 0;
    CHECK(found);
    CHECK(len > 2 && data[0] == '{' && data[len - 1] == '0');
    free(data);

    /* the trace text report sorts as asked and refuses unknown keys */
    f = open_memstream(&data, &len);
    opt.sort = "calls";
    CHECK(report_trace_text(p, &opt, f, &err) == 0);
    fclose(f);
    CHECK(strstr(data, "Functions by calls") != NULL);
    free(data);
    f = open_memstream(&data, &len);
    opt.sort = "bogus";
    CHECK(report_trace_text(p, &opt, f, &err) < 0);
    CHECK_EQ_INT(err.kind, ERR_USAGE);
    fclose(f);
    free(data);

    emit_free(e);
    profile_free(p);
    tracer_free(t);
}

int
main(void)
{
    test_calls_and_recursion();
    test_unwind_seeded();
    test_lines_and_ring();
    test_cpu_windows();
    test_emit_and_callgraph();
    return check_report();
}
