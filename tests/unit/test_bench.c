/* SPDX-License-Identifier: MIT */
/* test_bench.c: the pieces of ferret bench around the statistics: per-process units, the
 * JSON result round trip, the history (a real SQLite file in /tmp), change points, time
 * formatting and the driver's reply parser. */
#include <stdlib.h>
#include <unistd.h>

#include "bench/driver.h"
#include "bench/history.h"
#include "bench/results.h"
#include "bench/trend.h"
#include "check.h"
#include "util/base64.h"

/* A statement benchmark with `groups` processes of `per` values around `center`. */
static void
make_bench(Bench *b, const char *name, double center, int groups, int per)
{
    Err err;
    CHECK_EQ_INT(bench_init(b, BENCH_STMT, name, "pass", "", NULL, "python3", &err), 0);
    for (int g = 0; g < groups; g++) {
        CHECK_EQ_INT(bench_begin_group(b, &err), 0);
        for (int v = 0; v < per; v++) /* deterministic spread of +-1% */
            CHECK_EQ_INT(bench_add_value(b, center * (1 + 0.01 * ((g * 7 + v * 3) % 5 - 2) / 2), &err), 0);
    }
}

static void
check_units(void)
{
    Bench b;
    Err err;
    make_bench(&b, "u", 1e-3, 4, 3);
    double *u;
    size_t n;
    bool per;
    CHECK_EQ_INT(bench_units(&b, &u, &n, &per, &err), 0);
    CHECK_EQ_SIZE(n, 4);
    CHECK(per);
    free(u);
    bench_fini(&b);
    /* two processes: too few, the values themselves are used */
    make_bench(&b, "u", 1e-3, 2, 3);
    CHECK_EQ_INT(bench_units(&b, &u, &n, &per, &err), 0);
    CHECK_EQ_SIZE(n, 6);
    CHECK(!per);
    free(u);
    bench_fini(&b);
}

static void
check_json_round_trip(void)
{
    BenchRun r, back;
    Err err;
    results_init(&r);
    Bench b;
    make_bench(&b, "a \"quoted\" name\n", 2e-6, 6, 4);
    CHECK_EQ_INT(results_add(&r, &b, &err), 0);
    make_bench(&b, "b", 3e-6, 6, 4);
    CHECK_EQ_INT(results_add(&r, &b, &err), 0);
    snprintf(r.env.git_commit, sizeof r.env.git_commit, "abc123");
    Buf out;
    buf_init(&out);
    CHECK_EQ_INT(results_json(&r, &out, &err), 0);
    CHECK_EQ_INT(results_parse_json(out.data, out.len, &back, &err), 0);
    CHECK_EQ_SIZE(back.n, 2);
    if (back.n == 2) {
        CHECK_EQ_STR(back.benches[0].name, "a \"quoted\" name\n");
        CHECK_EQ_SIZE(back.benches[0].nvalues, 24);
        CHECK_EQ_SIZE(back.benches[0].ngroups, 6);
        for (size_t i = 0; i < 24; i++)
            CHECK_NEAR(back.benches[0].values[i], r.benches[0].values[i], 0);
        CHECK_EQ_STR(back.env.git_commit, "abc123");
        StatsRatio q;
        CHECK_EQ_INT(bench_compare(&back.benches[0], &back.benches[1], &q, &err), 0);
        CHECK_NEAR(q.ratio, 1.5, 0.02);
        CHECK(q.significant);
    }
    results_fini(&back);
    /* every output format renders */
    buf_reset(&out);
    CHECK_EQ_INT(results_text(&r, &out, &err), 0);
    CHECK(strstr(out.data, "is 50.") != NULL);
    buf_reset(&out);
    CHECK_EQ_INT(results_markdown(&r, &out, &err), 0);
    CHECK(strstr(out.data, "| baseline |") != NULL);
    buf_reset(&out);
    CHECK_EQ_INT(results_csv(&r, &out, &err), 0);
    CHECK(strstr(out.data, "\"a \"\"quoted\"\" name\n\",statement,24,") != NULL);
    buf_fini(&out);
    /* malformed results are refused with a reason */
    static const char *bad[] = {
        "{}", "{\"benchmarks\": []}", "{\"benchmarks\": [{\"values\": [1]}]}",
        "{\"benchmarks\": [{\"name\": \"x\", \"values\": [0]}]}",
        "{\"benchmarks\": [{\"name\": \"x\", \"values\": [1, \"2\"]}]}",
        "{\"benchmarks\": [{\"name\": \"x\", \"runs\": [[1], 2]}]}",
        "{\"benchmarks\": [{\"name\": \"x\", \"values\": [1]}, {\"name\": \"x\", \"values\": [1]}]}",
        "{\"benchmarks\": [{\"name\": \"x\", \"kind\": \"nope\", \"values\": [1]}]}",
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        CHECK_EQ_INT(results_parse_json(bad[i], strlen(bad[i]), &back, &err), -1);
        CHECK_EQ_INT(err.kind, ERR_FORMAT);
    }
    results_fini(&r);
}

static void
check_history(void)
{
    char dir[] = "/tmp/ferret-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/sub/h.db", dir);
    History *h;
    Err err;
    CHECK_EQ_INT(history_open(path, false, &h, &err), -1); /* does not exist, not created */
    CHECK_EQ_INT(history_open(path, true, &h, &err), 0);
    CHECK_EQ_INT(history_check_writable(h, &err), 0);
    for (int run = 0; run < 3; run++) {
        BenchRun r;
        results_init(&r);
        r.env.started_unix = 1000 + run;
        Bench b;
        make_bench(&b, "s", run == 2 ? 2e-3 : 1e-3, 6, 3);
        CHECK_EQ_INT(results_add(&r, &b, &err), 0);
        int64_t id;
        CHECK_EQ_INT(history_store(h, &r, "ferret bench s", &id, &err), 0);
        CHECK_EQ_INT(id, run + 1);
        results_fini(&r);
    }
    HistoryEntry *e;
    size_t n;
    CHECK_EQ_INT(history_series(h, "s", 0, &e, &n, &err), 0);
    CHECK_EQ_SIZE(n, 3);
    if (n == 3) {
        CHECK_EQ_INT(e[0].run_id, 1);
        CHECK_EQ_SIZE(e[2].bench.nvalues, 18);
        CHECK_EQ_SIZE(e[2].bench.ngroups, 6);
        const Bench *bs[3] = {&e[0].bench, &e[1].bench, &e[2].bench};
        TrendPoint pts[3] = {{.label = "1"}, {.label = "2"}, {.label = "3"}};
        CHECK_EQ_INT(trend_analyse(bs, 3, 0.02, pts, &err), 0);
        CHECK(!pts[1].change);
        CHECK(pts[2].change);
        CHECK_NEAR(pts[2].step.ratio, 2, 0.05);
        Buf svg;
        buf_init(&svg);
        trend_svg(&svg, "s <&>", pts, 3);
        CHECK(strstr(svg.data, "s &lt;&amp;&gt;") != NULL);
        CHECK(strstr(svg.data, "change point") != NULL);
        buf_fini(&svg);
    }
    history_entries_free(e, n);
    HistoryEntry one;
    CHECK_EQ_INT(history_get(h, "s", 1, &one, &err), 0);
    CHECK_EQ_INT(one.run_id, 2);
    bench_fini(&one.bench);
    CHECK_EQ_INT(history_get(h, "s", 5, &one, &err), -1);
    CHECK_EQ_INT(history_get(h, "nope", 0, &one, &err), -1);
    HistoryName *names;
    CHECK_EQ_INT(history_names(h, &names, &n, &err), 0);
    CHECK_EQ_SIZE(n, 1);
    if (n == 1)
        CHECK_EQ_SIZE(names[0].runs, 3);
    history_names_free(names, n);
    history_close(h);
    /* a file that is not a database */
    char junk[256];
    snprintf(junk, sizeof junk, "%s/junk.db", dir);
    FILE *f = fopen(junk, "w");
    if (f) {
        for (int i = 0; i < 200; i++)
            fputs("not sqlite ", f);
        fclose(f);
    }
    CHECK_EQ_INT(history_open(junk, true, &h, &err), -1);
    CHECK(strstr(err.msg, "not an SQLite database") != NULL);
    unlink(junk);
    unlink(path);
    snprintf(junk, sizeof junk, "%s/sub", dir);
    rmdir(junk);
    rmdir(dir);
}

static void
check_format_and_replies(void)
{
    static const struct {
        bool ratio; /* results_fmt_ratio, else results_fmt_time */
        double v;
        const char *want;
    } formats[] = {
        {false, 1.5, "1.500 s"},
        {false, 0.0123, "12.30 ms"},
        {false, 98.1e-6, "98.10 µs"},
        {false, 4.2e-9, "4.200 ns"},
        /* the extremes a result may hold (RESULTS_MIN_S, RESULTS_MAX_S): no run of digits */
        {false, 1e9, "1e+09 s"},
        {false, 86400, "86400.0 s"},
        {false, 1e-12, "0.001 ns"},
        {true, 1.3124, "1.312x"},
        {true, 1e21, "1e+21x"},
        {true, 1e-21, "1e-21x"},
    };
    for (size_t i = 0; i < ARRAY_LEN(formats); i++) {
        char s[32];
        if (formats[i].ratio)
            results_fmt_ratio(s, sizeof s, formats[i].v);
        else
            results_fmt_time(s, sizeof s, formats[i].v);
        CHECK_EQ_STR(s, formats[i].want);
    }
    DriverReply r;
    Err err;
    CHECK_EQ_INT(driver_parse_reply("t 0.25", &r, &err), 0);
    CHECK_NEAR(r.seconds, 0.25, 0);
    CHECK_EQ_INT(driver_parse_reply("ok 332e3132 -", &r, &err), 0);
    CHECK_EQ_STR(r.str[0], "3.12");
    CHECK_EQ_STR(r.str[1], "");
    driver_reply_fini(&r);
    static const char *bad[] = {"", "t", "t -1", "t nan", "t 1 2", "ok 3", "ok zz -", "err 61 62",
                                "what 1"};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        CHECK_EQ_INT(driver_parse_reply(bad[i], &r, &err), -1);
    Buf b;
    buf_init(&b);
    driver_hex(&b, "a\n", 2);
    CHECK_EQ_STR(b.data, "610a");
    buf_fini(&b);
}

static void
check_base64(void)
{
    /* RFC 4648 section 10 test vectors */
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const coded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
                                        "Zm9vYmFy"};
    for (size_t i = 0; i < ARRAY_LEN(plain); i++) {
        Buf b;
        buf_init(&b);
        base64_encode(&b, plain[i], strlen(plain[i]));
        CHECK_EQ_STR(b.data ? b.data : "", coded[i]);
        buf_fini(&b);
        uint8_t *out;
        size_t n;
        Err err;
        CHECK_EQ_INT(base64_decode(coded[i], strlen(coded[i]), &out, &n, &err), 0);
        CHECK_EQ_SIZE(n, strlen(plain[i]));
        CHECK(memcmp(out, plain[i], n) == 0);
        free(out);
    }
    static const char *const bad[] = {"Zg=", "Z===", "Zg=a", "Zm9v!A==", "=Zg=", "Zg==Zg=="};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        uint8_t *out;
        size_t n;
        Err err;
        CHECK_EQ_INT(base64_decode(bad[i], strlen(bad[i]), &out, &n, &err), -1);
    }
}

int
main(void)
{
    check_base64();
    check_units();
    check_json_round_trip();
    check_history();
    check_format_and_replies();
    return check_report();
}
