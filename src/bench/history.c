/* SPDX-License-Identifier: MIT */
/* history.c: the SQLite side of ferret bench. The default rollback journal with
 * synchronous=FULL makes each stored run atomic and durable; a hot journal left by a killed
 * writer is rolled back by SQLite when the database is next opened. */
#include "bench/history.h"

#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct History {
    sqlite3 *db;
    char *path;
};

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS run ("
    " id INTEGER PRIMARY KEY,"
    " started_unix REAL NOT NULL, finished_unix REAL,"
    " git_commit TEXT, git_branch TEXT, git_dirty INTEGER,"
    " cpu_model TEXT, cores INTEGER, load_before REAL, load_after REAL,"
    " cpu_governor TEXT, kernel TEXT, hostname TEXT, ferret_version TEXT, argv TEXT);"
    "CREATE TABLE IF NOT EXISTS result ("
    " id INTEGER PRIMARY KEY,"
    " run_id INTEGER NOT NULL REFERENCES run(id),"
    " name TEXT NOT NULL, kind TEXT NOT NULL, code TEXT, setup TEXT, file TEXT,"
    " python TEXT, python_version TEXT, loops INTEGER NOT NULL,"
    " n INTEGER NOT NULL, median REAL, mean REAL, stdev REAL, mad REAL, min REAL, max REAL,"
    " ci_lo REAL, ci_hi REAL,"
    " runs TEXT NOT NULL," /* JSON: [[seconds per iteration, ...], ...] one list per process */
    " profile BLOB);"
    "CREATE INDEX IF NOT EXISTS result_by_name ON result(name, run_id);";

/* Maps an SQLite failure to one clear message with a kind. */
static int
db_fail(History *h, int rc, Err *err, const char *doing)
{
    int ext = h && h->db ? sqlite3_extended_errcode(h->db) : rc;
    const char *path = h ? h->path : "";
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return err_set(err, ERR_IO,
                       "history %s: %s: the database is locked by another process (waited %d s)",
                       path, doing, HISTORY_BUSY_MS / 1000);
    case SQLITE_READONLY:
        return err_set(err, ERR_PERM,
                       "history %s: %s: the database is read-only (use --db elsewhere or "
                       "--no-history)",
                       path, doing);
    case SQLITE_PERM:
    case SQLITE_CANTOPEN:
        return err_set(err, ERR_PERM, "history %s: %s: cannot open the database (%s)", path, doing,
                       h && h->db ? sqlite3_errmsg(h->db) : sqlite3_errstr(rc));
    case SQLITE_FULL:
        return err_set(err, ERR_IO, "history %s: %s: the disk is full; nothing was stored", path,
                       doing);
    case SQLITE_NOTADB:
        return err_set(err, ERR_FORMAT, "history %s: not an SQLite database (corrupted?)", path);
    case SQLITE_CORRUPT:
        return err_set(err, ERR_FORMAT, "history %s: the database is corrupted", path);
    case SQLITE_IOERR:
        return err_set(err, ERR_IO, "history %s: %s: I/O error (%s, code %d)", path, doing,
                       h && h->db ? sqlite3_errmsg(h->db) : sqlite3_errstr(rc), ext);
    default:
        return err_set(err, ERR_IO, "history %s: %s: %s", path, doing,
                       h && h->db ? sqlite3_errmsg(h->db) : sqlite3_errstr(rc));
    }
}

static int
exec_sql(History *h, const char *sql, const char *doing, Err *err)
{
    int rc = sqlite3_exec(h->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : db_fail(h, rc, err, doing);
}

static int
pragma_int(History *h, const char *sql, long long *out, Err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(h->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return db_fail(h, rc, err, "reading the database header");
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        return db_fail(h, rc, err, "reading the database header");
    }
    *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return 0;
}

/* mkdir -p of path's directory */
static int
make_parent(const char *path, Err *err)
{
    char *d = strdup(path);
    if (!d)
        return err_set(err, ERR_NOMEM, "out of memory");
    char *slash = strrchr(d, '/');
    int rc = 0;
    if (slash && slash != d) {
        *slash = 0;
        for (char *p = d + 1; *p && rc == 0; p++) {
            if (*p != '/')
                continue;
            *p = 0;
            if (mkdir(d, 0777) < 0 && errno != EEXIST)
                rc = err_sys(err, errno, "creating %s", d);
            *p = '/';
        }
        if (rc == 0 && mkdir(d, 0777) < 0 && errno != EEXIST)
            rc = err_sys(err, errno, "creating %s", d);
    }
    free(d);
    return rc;
}

/* Whether the directory a new database at path goes in may not be written (said in *err, with
 * the system's reason: "Permission denied", "Read-only file system"). */
static bool
parent_unwritable(const char *path, Err *err)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    bool no = dir && access(dir, W_OK | X_OK) != 0;
    int e = errno;
    if (no)
        err_set(err, e == EACCES || e == EPERM || e == EROFS ? ERR_PERM : ERR_IO,
                "history %s: cannot create the database: %s (use --db elsewhere or "
                "--no-history)",
                path, strerror(e));
    free(dir);
    return no;
}

/* (Re)opens h->db with SQLite's open flags; returns SQLite's code. */
static int
reopen(History *h, int flags)
{
    sqlite3_close(h->db);
    h->db = NULL;
    int rc = sqlite3_open_v2(h->path, &h->db, flags, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(h->db, HISTORY_BUSY_MS);
        sqlite3_extended_result_codes(h->db, 1);
    }
    return rc;
}

int
history_open(const char *path, bool create, History **out, Err *err)
{
    *out = NULL;
    History *h = calloc(1, sizeof *h);
    if (!h || !(h->path = strdup(path))) {
        free(h);
        return err_set(err, ERR_NOMEM, "out of memory");
    }
    struct stat sb;
    bool exists = stat(path, &sb) == 0;
    if (exists && S_ISDIR(sb.st_mode)) { /* SQLite says only "disk I/O error" */
        history_close(h);
        return err_set(err, ERR_USAGE,
                       "history %s: is a directory (give the database's file, e.g. "
                       "%s/history.db)",
                       path, path);
    }
    if (!exists && !create) {
        history_close(h);
        return err_set(err, ERR_USAGE, "history %s: no such database (run `ferret bench` first)",
                       path);
    }
    char cwd[16];
    if (!exists && path[0] != '/' && !getcwd(cwd, sizeof cwd) && errno == ENOENT) {
        history_close(h);
        return err_set(err, ERR_IO,
                       "history %s: the current directory was removed (cd to another, or "
                       "give --db)",
                       path);
    }
    if (!exists && make_parent(path, err) < 0) {
        history_close(h);
        return err_context(err, "history %s", path);
    }
    if (!exists && parent_unwritable(path, err)) { /* SQLite says "unable to open database file" */
        history_close(h);
        return -1;
    }
    /* a reader never writes: not even the tables of a new history into an empty file */
    int rc = reopen(h, create ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY);
    if (rc == SQLITE_CANTOPEN && exists && create) /* read-only file: reading still works */
        rc = reopen(h, SQLITE_OPEN_READONLY);
    if (rc != SQLITE_OK) {
        db_fail(h, rc, err, "opening");
        history_close(h);
        return -1;
    }
    long long app = 0, ver = 0, tables = 0;
    int got = pragma_int(h, "PRAGMA application_id", &app, err);
    if (got < 0 && !create && sqlite3_extended_errcode(h->db) == SQLITE_READONLY_ROLLBACK) {
        /* a writer was killed while storing a run: its hot journal must be rolled back
         * before anyone reads, and that takes write access. It restores the history as it
         * was before that run; nothing else is written */
        rc = reopen(h, SQLITE_OPEN_READWRITE);
        if (rc != SQLITE_OK) {
            db_fail(h, rc, err, "rolling back a run that was interrupted while being stored");
            goto fail;
        }
        got = pragma_int(h, "PRAGMA application_id", &app, err);
    }
    if (got < 0)
        goto fail;
    if (pragma_int(h, "PRAGMA user_version", &ver, err) < 0 ||
        pragma_int(h, "SELECT count(*) FROM sqlite_master", &tables, err) < 0)
        goto fail;
    if (tables == 0 && app == 0 && !create) {
        err_set(err, ERR_USAGE,
                "no history in %s (it is empty; `ferret bench --db %s` records one)", path, path);
        goto fail;
    } else if (tables == 0 && app == 0) {
        /* a new (empty) database: make it ours */
        if (exec_sql(h, "BEGIN IMMEDIATE", "creating the tables", err) < 0)
            goto fail;
        char sql[sizeof schema_sql + 128];
        snprintf(sql, sizeof sql, "%sPRAGMA application_id = %d; PRAGMA user_version = %d;",
                 schema_sql, HISTORY_APP_ID, HISTORY_SCHEMA);
        if (exec_sql(h, sql, "creating the tables", err) < 0 ||
            exec_sql(h, "COMMIT", "creating the tables", err) < 0) {
            sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
            goto fail;
        }
    } else if (app != HISTORY_APP_ID) {
        err_set(err, ERR_FORMAT, "history %s: an SQLite database, but not a ferret history", path);
        goto fail;
    } else if (ver != HISTORY_SCHEMA) {
        err_set(err, ERR_FORMAT,
                "history %s: schema version %lld; this ferret reads version %d", path, ver,
                HISTORY_SCHEMA);
        goto fail;
    } else {
        sqlite3_stmt *st;
        rc = sqlite3_prepare_v2(h->db, "PRAGMA quick_check(1)", -1, &st, NULL);
        if (rc != SQLITE_OK) {
            db_fail(h, rc, err, "checking the database");
            goto fail;
        }
        rc = sqlite3_step(st);
        const unsigned char *res = rc == SQLITE_ROW ? sqlite3_column_text(st, 0) : NULL;
        bool ok = res && strcmp((const char *)res, "ok") == 0;
        sqlite3_finalize(st);
        if (!ok) {
            if (rc != SQLITE_ROW)
                db_fail(h, rc, err, "checking the database");
            else
                err_set(err, ERR_FORMAT, "history %s: the database is corrupted", path);
            goto fail;
        }
    }
    *out = h;
    return 0;
fail:
    history_close(h);
    return -1;
}

void
history_close(History *h)
{
    if (!h)
        return;
    sqlite3_close(h->db);
    free(h->path);
    free(h);
}

int
history_check_writable(History *h, Err *err)
{
    if (sqlite3_db_readonly(h->db, "main") == 1)
        return db_fail(h, SQLITE_READONLY, err, "checking write access");
    if (exec_sql(h, "BEGIN IMMEDIATE", "checking write access", err) < 0)
        return -1;
    return exec_sql(h, "ROLLBACK", "checking write access", err);
}

static int
bind_text(sqlite3_stmt *st, int i, const char *s)
{
    return s && *s ? sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

static int
store_bench(History *h, sqlite3_stmt *st, int64_t run_id, const Bench *b, Err *err)
{
    StatsSummary s;
    if (bench_summary(b, &s, err) < 0)
        return -1;
    Buf runs;
    buf_init(&runs);
    results_runs_json(b, &runs);
    if (buf_failed(&runs)) {
        buf_fini(&runs);
        return err_set(err, ERR_NOMEM, "out of memory");
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    int i = 1;
    sqlite3_bind_int64(st, i++, run_id);
    bind_text(st, i++, b->name);
    bind_text(st, i++, bench_kind_name(b->kind));
    bind_text(st, i++, b->code);
    bind_text(st, i++, b->setup);
    bind_text(st, i++, b->file);
    bind_text(st, i++, b->python_exe ? b->python_exe : b->python);
    bind_text(st, i++, b->python_version);
    sqlite3_bind_int64(st, i++, (sqlite3_int64)(b->loops > INT64_MAX ? INT64_MAX : b->loops));
    sqlite3_bind_int64(st, i++, (sqlite3_int64)s.n);
    double v[] = {s.median, s.mean, s.stdev, s.mad, s.min, s.max, s.ci_lo, s.ci_hi};
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++)
        sqlite3_bind_double(st, i++, v[k]);
    sqlite3_bind_text(st, i++, runs.data, (int)runs.len, SQLITE_TRANSIENT);
    if (b->profile_blob && b->profile_len <= INT_MAX)
        sqlite3_bind_blob(st, i++, b->profile_blob, (int)b->profile_len, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i++);
    buf_fini(&runs);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE)
        return db_fail(h, rc, err, "storing the results");
    return 0;
}

int
history_store(History *h, const BenchRun *run, const char *argv_line, int64_t *run_id, Err *err)
{
    sqlite3_stmt *ins_run = NULL, *ins_res = NULL;
    int rc;
    if (exec_sql(h, "BEGIN IMMEDIATE", "storing the results", err) < 0)
        return -1;
    rc = sqlite3_prepare_v2(
        h->db,
        "INSERT INTO run (started_unix, finished_unix, git_commit, git_branch, git_dirty,"
        " cpu_model, cores, load_before, load_after, cpu_governor, kernel, hostname,"
        " ferret_version, argv) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        -1, &ins_run, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(
            h->db,
            "INSERT INTO result (run_id, name, kind, code, setup, file, python, python_version,"
            " loops, n, median, mean, stdev, mad, min, max, ci_lo, ci_hi, runs, profile)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            -1, &ins_res, NULL);
    if (rc != SQLITE_OK) {
        db_fail(h, rc, err, "storing the results");
        goto fail;
    }
    const BenchEnv *e = &run->env;
    int i = 1;
    sqlite3_bind_double(ins_run, i++, e->started_unix);
    sqlite3_bind_double(ins_run, i++, e->finished_unix);
    bind_text(ins_run, i++, e->git_commit);
    bind_text(ins_run, i++, e->git_branch);
    if (e->git_dirty < 0)
        sqlite3_bind_null(ins_run, i++);
    else
        sqlite3_bind_int(ins_run, i++, e->git_dirty);
    bind_text(ins_run, i++, e->cpu_model);
    sqlite3_bind_int(ins_run, i++, e->cores);
    sqlite3_bind_double(ins_run, i++, e->load_before[0]);
    sqlite3_bind_double(ins_run, i++, e->load_after[0]);
    bind_text(ins_run, i++, e->governor);
    bind_text(ins_run, i++, e->kernel);
    bind_text(ins_run, i++, e->hostname);
    bind_text(ins_run, i++, run->ferret_version);
    bind_text(ins_run, i++, argv_line);
    rc = sqlite3_step(ins_run);
    if (rc != SQLITE_DONE) {
        db_fail(h, rc, err, "storing the results");
        goto fail;
    }
    int64_t id = sqlite3_last_insert_rowid(h->db);
    for (size_t k = 0; k < run->n; k++)
        if (store_bench(h, ins_res, id, &run->benches[k], err) < 0)
            goto fail;
    sqlite3_finalize(ins_run);
    sqlite3_finalize(ins_res);
    ins_run = ins_res = NULL;
    rc = sqlite3_exec(h->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        db_fail(h, rc, err, "storing the results");
        goto fail;
    }
    if (run_id)
        *run_id = id;
    return 0;
fail:
    sqlite3_finalize(ins_run);
    sqlite3_finalize(ins_res);
    if (!sqlite3_get_autocommit(h->db))
        sqlite3_exec(h->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

static const char *
col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return t ? (const char *)t : NULL;
}

#define ENTRY_COLUMNS                                                                              \
    "r.id, r.started_unix, r.git_commit, r.git_dirty, x.name, x.kind, x.code, x.setup, x.file,"   \
    " x.python, x.python_version, x.loops, x.runs, x.profile"

/* Fills an entry from a row of ENTRY_COLUMNS. */
static int
read_entry(History *h, sqlite3_stmt *st, HistoryEntry *e, Err *err)
{
    memset(e, 0, sizeof *e);
    e->run_id = sqlite3_column_int64(st, 0);
    e->started_unix = sqlite3_column_double(st, 1);
    snprintf(e->git_commit, sizeof e->git_commit, "%s", col_text(st, 2) ? col_text(st, 2) : "");
    e->git_dirty = sqlite3_column_type(st, 3) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 3);
    BenchKind kind = BENCH_STMT;
    const char *k = col_text(st, 5);
    if (!k || bench_kind_parse(k, &kind) < 0)
        return err_set(err, ERR_FORMAT, "history %s: run %lld: unknown benchmark kind", h->path,
                       (long long)e->run_id);
    const char *name = col_text(st, 4);
    if (bench_init(&e->bench, kind, name ? name : "", col_text(st, 6) ? col_text(st, 6) : "",
                   col_text(st, 7), col_text(st, 8), NULL, err) < 0 ||
        bench_set_str(&e->bench.python_exe, col_text(st, 9), err) < 0 ||
        bench_set_str(&e->bench.python_version, col_text(st, 10), err) < 0)
        return -1;
    long long loops = sqlite3_column_int64(st, 11);
    e->bench.loops = loops > 0 ? (uint64_t)loops : 1;
    const char *runs = col_text(st, 12);
    char nm[BENCH_SHOWN_MAX];
    bench_shown(e->bench.name, nm);
    if (runs && results_parse_runs(runs, strlen(runs), &e->bench, err) < 0)
        return err_context(err, "history %s: run %lld: '%s'", h->path, (long long)e->run_id, nm);
    if (!runs || e->bench.nvalues == 0)
        return err_set(err, ERR_FORMAT, "history %s: run %lld: '%s' has no values", h->path,
                       (long long)e->run_id, nm);
    int plen = sqlite3_column_bytes(st, 13);
    const void *blob = sqlite3_column_blob(st, 13);
    if (blob && plen > 0) {
        e->bench.profile_blob = malloc((size_t)plen);
        if (!e->bench.profile_blob)
            return err_set(err, ERR_NOMEM, "out of memory");
        memcpy(e->bench.profile_blob, blob, (size_t)plen);
        e->bench.profile_len = (size_t)plen;
    }
    return 0;
}

void
history_entries_free(HistoryEntry *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        bench_fini(&e[i].bench);
    free(e);
}

int
history_series(History *h, const char *name, size_t limit, HistoryEntry **out, size_t *n,
               Err *err)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(h->db,
                                "SELECT * FROM (SELECT " ENTRY_COLUMNS
                                " FROM result x JOIN run r ON r.id = x.run_id WHERE x.name = ?"
                                " ORDER BY r.id DESC, x.id DESC LIMIT ?) ORDER BY 1, 5",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return db_fail(h, rc, err, "reading");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, limit ? (sqlite3_int64)limit : -1);
    HistoryEntry *v = NULL;
    size_t cap = 0;
    int ret = -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            HistoryEntry *g = realloc(v, cap * sizeof *g);
            if (!g) {
                err_set(err, ERR_NOMEM, "out of memory");
                goto done;
            }
            v = g;
        }
        if (read_entry(h, st, &v[*n], err) < 0) {
            bench_fini(&v[*n].bench);
            goto done;
        }
        (*n)++;
    }
    if (rc != SQLITE_DONE) {
        db_fail(h, rc, err, "reading");
        goto done;
    }
    ret = 0;
done:
    sqlite3_finalize(st);
    if (ret < 0) {
        history_entries_free(v, *n);
        *n = 0;
        return -1;
    }
    *out = v;
    return 0;
}

int
history_get(History *h, const char *name, size_t back, HistoryEntry *out, Err *err)
{
    HistoryEntry *v;
    size_t n;
    if (history_series(h, name, back + 1, &v, &n, err) < 0)
        return -1;
    if (n < back + 1) {
        history_entries_free(v, n);
        char nm[BENCH_SHOWN_MAX];
        bench_shown(name, nm);
        if (n == 0)
            return err_set(err, ERR_USAGE, "history %s: no benchmark named '%s'", h->path, nm);
        return err_set(err, ERR_USAGE, "history %s: '%s' has only %zu run%s", h->path, nm, n,
                       n == 1 ? "" : "s");
    }
    *out = v[0];
    memset(&v[0].bench, 0, sizeof v[0].bench);
    history_entries_free(v, n);
    return 0;
}

int
history_names(History *h, HistoryName **out, size_t *n, Err *err)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(
        h->db,
        "SELECT x.name, count(*), (SELECT y.median FROM result y WHERE y.name = x.name"
        " ORDER BY y.run_id DESC, y.id DESC LIMIT 1), max(r.started_unix)"
        " FROM result x JOIN run r ON r.id = x.run_id GROUP BY x.name ORDER BY x.name",
        -1, &st, NULL);
    if (rc != SQLITE_OK)
        return db_fail(h, rc, err, "reading");
    HistoryName *v = NULL;
    size_t cap = 0;
    int ret = -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            HistoryName *g = realloc(v, cap * sizeof *g);
            if (!g) {
                err_set(err, ERR_NOMEM, "out of memory");
                goto done;
            }
            v = g;
        }
        const char *nm = col_text(st, 0);
        v[*n].name = strdup(nm ? nm : "");
        if (!v[*n].name) {
            err_set(err, ERR_NOMEM, "out of memory");
            goto done;
        }
        v[*n].runs = (size_t)sqlite3_column_int64(st, 1);
        v[*n].last_median = sqlite3_column_double(st, 2);
        v[*n].last_unix = sqlite3_column_double(st, 3);
        (*n)++;
    }
    if (rc != SQLITE_DONE) {
        db_fail(h, rc, err, "reading");
        goto done;
    }
    ret = 0;
done:
    sqlite3_finalize(st);
    if (ret < 0) {
        history_names_free(v, *n);
        *n = 0;
        return -1;
    }
    *out = v;
    return 0;
}

void
history_names_free(HistoryName *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].name);
    free(v);
}
