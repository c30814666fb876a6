/* SPDX-License-Identifier: MIT */
/* test_profile.c: interning, the stack tree, folding, summaries and the collapsed and text
 * writers on a hand-built profile with a known answer. */
#include <stdlib.h>

#include "check.h"
#include "profile/profile.h"
#include "profile/summary.h"
#include "report/report.h"

static FrameId
frame(Profile *p, const char *name, const char *file, int line, int fn_line)
{
    Err err;
    ProfFrame f = {.line = line, .fn_line = fn_line, .kind = FRAME_PY};
    FrameId id = 0;
    CHECK(profile_cstr(p, name, &f.name, &err) == 0);
    CHECK(profile_cstr(p, file, &f.file, &err) == 0);
    CHECK(profile_frame(p, &f, &id, &err) == 0);
    return id;
}

static char *
render(const Profile *p, const char *fmt, const ReportOptions *opt)
{
    char *data = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&data, &len);
    Err err;
    CHECK(report_find(fmt)->write(p, opt, f, &err) == 0);
    fclose(f);
    return data;
}

int
main(void)
{
    Err err;
    Profile *p = profile_new(PROFILE_SAMPLED, &err);
    CHECK(p != NULL);
    StrId a, b;
    CHECK(profile_cstr(p, "main", &a, &err) == 0);
    CHECK(profile_cstr(p, "main", &b, &err) == 0);
    CHECK_EQ_INT(a, b);
    CHECK_EQ_STR(profile_strp(p, PROFILE_EMPTY), "");
    /* re-interning a stored string by its text, when it holds a NUL (so the text is a new,
     * shorter string) while the table has to grow: the text must survive the realloc */
    for (int i = 0; i < 64; i++) {
        StrId nul, again;
        char text[24];
        int n = snprintf(text, sizeof text, "cmd%d%cx", i, '\0');
        CHECK(profile_str(p, text, (size_t)n, &nul, &err) == 0);
        CHECK(profile_cstr(p, profile_strp(p, nul), &again, &err) == 0);
        snprintf(text, sizeof text, "cmd%d", i);
        CHECK_EQ_STR(profile_strp(p, again), text);
    }

    FrameId fmain = frame(p, "main", "app.py", 10, 1);
    FrameId fmain2 = frame(p, "main", "app.py", 11, 1); /* same function, other line */
    FrameId fhot = frame(p, "hot", "app.py", 3, 2);
    FrameId frec = frame(p, "rec", "app.py", 20, 19);
    FrameId fsemi = frame(p, "we;ird\nname", "a;b.py", 5, 5);
    CHECK_EQ_INT(frame(p, "hot", "app.py", 3, 2), fhot);

    SeriesId ser;
    CHECK(profile_series(p, "samples", "samples", &ser, &err) == 0);
    CHECK_EQ_INT(ser, 0);
    ProcId proc;
    ThreadId th;
    CHECK(profile_process(p, 100, 1, "python3 app.py", &proc, &err) == 0);
    CHECK(profile_thread(p, proc, 100, "MainThread", &th, &err) == 0);

    FrameId s1[] = {fmain, fhot};             /* 6 samples, 3 on CPU */
    FrameId s2[] = {fmain2};                  /* 2 samples */
    FrameId s3[] = {fmain, frec, frec, frec}; /* 2 samples: recursion counts once */
    FrameId s4[] = {fsemi};                   /* 1 sample */
    StackId st1, st2, st3, st4;
    CHECK(profile_stack_path(p, s1, 2, &st1, &err) == 0);
    CHECK(profile_stack_path(p, s2, 1, &st2, &err) == 0);
    CHECK(profile_stack_path(p, s3, 4, &st3, &err) == 0);
    CHECK(profile_stack_path(p, s4, 1, &st4, &err) == 0);
    CHECK_EQ_INT(profile_stack_at(p, st3)->depth, 4);
    FrameId back[8];
    CHECK_EQ_SIZE(profile_stack_frames(p, st3, back, 8), 4);
    CHECK_EQ_INT(back[0], fmain);
    CHECK_EQ_INT(back[3], frec);
    CHECK_EQ_SIZE(profile_stack_frames(p, st3, back, 2), 4);
    CHECK_EQ_INT(back[1], frec);

    for (int i = 0; i < 6; i++) {
        ProfSample s = {.t_ns = i, .stack = st1, .thread = th, .series = ser, .weight = 1,
                        .flags = i < 3 ? SAMPLE_ON_CPU : 0};
        CHECK(profile_add_sample(p, &s, &err) == 0);
    }
    ProfSample s = {.stack = st2, .thread = th, .series = ser, .weight = 1, .flags = SAMPLE_ON_CPU};
    CHECK(profile_add_sample(p, &s, &err) == 0);
    CHECK(profile_add_sample(p, &s, &err) == 0);
    s.stack = st3;
    CHECK(profile_add_sample(p, &s, &err) == 0);
    CHECK(profile_add_sample(p, &s, &err) == 0);
    s.stack = st4;
    CHECK(profile_add_sample(p, &s, &err) == 0);
    CHECK_EQ_SIZE(profile_nsamples(p), 11);
    CHECK(profile_add_dropped(p, "torn", 2, &err) == 0);
    CHECK(profile_add_dropped(p, "torn", 1, &err) == 0);
    CHECK_EQ_STR(profile_meta_get(p, "dropped.torn"), "3");
    CHECK_EQ_U64(profile_info(p)->dropped, 3);

    /* folding */
    size_t ns = profile_nstacks(p);
    int64_t *self = calloc(ns, sizeof *self), *total = calloc(ns, sizeof *total);
    ProfFilter f;
    profile_filter_init(&f);
    CHECK_EQ_INT(profile_self_weights(p, &f, self), 11);
    profile_fold_totals(p, self, total);
    CHECK_EQ_INT(total[PROFILE_ROOT], 11);
    CHECK_EQ_INT(self[st1], 6);
    f.flags_mask = f.flags_want = SAMPLE_ON_CPU;
    CHECK_EQ_INT(profile_self_weights(p, &f, self), 8);

    /* summary: main is in 10 samples (not 11), rec once per sample despite 3 frames */
    Summary sum;
    profile_filter_init(&f);
    CHECK(summary_build(p, &f, &sum, &err) == 0);
    CHECK_EQ_INT(sum.grand_total, 11);
    FuncStat *m = &sum.funcs[sum.func_of_frame[fmain]];
    CHECK_EQ_INT(m->total, 10);
    CHECK_EQ_INT(m->self, 2);
    CHECK_EQ_INT(m->hot_line, 11);
    CHECK_EQ_INT(sum.func_of_frame[fmain], sum.func_of_frame[fmain2]);
    FuncStat *r = &sum.funcs[sum.func_of_frame[frec]];
    CHECK_EQ_INT(r->total, 2);
    CHECK_EQ_INT(r->self, 2);
    CHECK_EQ_INT(sum.funcs[sum.func_of_frame[fhot]].self, 6);
    summary_fini(&sum);

    /* collapsed: root-first frames, escaped separators, counts */
    ReportOptions opt;
    report_options_init(&opt, p);
    char *out = render(p, "collapsed", &opt);
    CHECK(strstr(out, "main (app.py:10);hot (app.py:3) 6\n") != NULL);
    CHECK(strstr(out, "main (app.py:11) 2\n") != NULL);
    CHECK(strstr(out, "main (app.py:10);rec (app.py:20);rec (app.py:20);rec (app.py:20) 2\n"));
    CHECK(strstr(out, "we:ird\\x0aname (a:b.py:5) 1\n") != NULL);
    int lines = 0;
    for (char *c = out; *c; c++)
        lines += *c == '\n';
    CHECK_EQ_INT(lines, 4);
    free(out);

    /* text: the hottest function leads the self table, the dropped count is stated */
    out = render(p, "text", &opt);
    CHECK(strstr(out, "11 samples") != NULL);
    CHECK(strstr(out, "3 dropped") != NULL);
    char *selftab = strstr(out, "Top functions by self time");
    CHECK(selftab && strstr(selftab, "54.5%") && strstr(selftab, "hot (app.py:2)"));
    CHECK(strstr(out, "torn 3") != NULL);
    free(out);

    free(self);
    free(total);
    profile_free(p);
    return check_report();
}
