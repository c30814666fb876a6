/* SPDX-License-Identifier: MIT */
/* test_inject.c: the run directory and the boot function's status file (cli/inject.c): every
 * state, errors with and without the "ferret: " prefix, lines that are not ours, and the
 * run directory removed with its files. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "cli/inject.c"

static InjectState
status_of(Inject *inj, const char *text, char *msg, size_t n)
{
    FILE *f = fopen(inj->status_path, "w");
    CHECK(f != NULL);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
    return inject_status(inj, msg, n);
}

int
main(void)
{
    char dir[] = "/tmp/ferret-test-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char shim[256];
    snprintf(shim, sizeof shim, "%s/inject", dir);
    CHECK(mkdir(shim, 0700) == 0);
    snprintf(shim, sizeof shim, "%s/inject/sitecustomize.py", dir);
    FILE *f = fopen(shim, "w");
    CHECK(f != NULL);
    if (f)
        fclose(f);
    setenv("FERRET_LIBDIR", dir, 1);
    Inject inj;
    Err err;
    CHECK(inject_init(&inj, &err) == 0);
    CHECK_EQ_STR(inj.libdir, dir);
    char msg[64];
    CHECK_EQ_INT(inject_status(&inj, msg, sizeof msg), INJECT_NONE);
    CHECK_EQ_INT(status_of(&inj, "", msg, sizeof msg), INJECT_NONE);
    CHECK_EQ_INT(status_of(&inj, "started 42 3.12.1 sys.monitoring\n", msg, sizeof msg),
                 INJECT_STARTED);
    CHECK_EQ_INT(status_of(&inj, "started 42 3.12.1 x\ndone\n", msg, sizeof msg), INJECT_DONE);
    CHECK_EQ_INT(status_of(&inj, "error ferret: no _ferret extension for Python 3.8.18\n", msg,
                           sizeof msg),
                 INJECT_ERROR);
    CHECK_EQ_STR(msg, "no _ferret extension for Python 3.8.18");
    /* an error after done stays an error; text that is not ours changes nothing */
    CHECK_EQ_INT(status_of(&inj, "started 1\ndone\nerror disk full\n", msg, sizeof msg),
                 INJECT_ERROR);
    CHECK_EQ_STR(msg, "disk full");
    CHECK_EQ_INT(status_of(&inj, "started 1\nnoise\x01\xff\n", msg, sizeof msg), INJECT_STARTED);
    /* a long message is cut to the buffer, not overrun */
    CHECK_EQ_INT(status_of(&inj,
                           "error 0123456789012345678901234567890123456789012345678901234567890"
                           "123456789\n",
                           msg, sizeof msg),
                 INJECT_ERROR);
    CHECK_EQ_SIZE(strlen(msg), sizeof msg - 1);
    CHECK(inject_setenv(&inj, "ferret._boot:trace_main", &err) == 0);
    CHECK_EQ_STR(getenv("FERRET_BOOT"), "ferret._boot:trace_main");
    CHECK(strncmp(getenv("PYTHONPATH"), dir, strlen(dir)) == 0);
    char run[256];
    snprintf(run, sizeof run, "%s", inj.rundir);
    inject_fini(&inj);
    CHECK(access(run, F_OK) != 0); /* the run directory and its status file are gone */
    setenv("FERRET_LIBDIR", "/nonexistent-ferret-lib", 1);
    CHECK(inject_init(&inj, &err) < 0);
    CHECK_EQ_INT(err.kind, ERR_USAGE);
    unlink(shim);
    snprintf(shim, sizeof shim, "%s/inject", dir);
    rmdir(shim);
    rmdir(dir);
    return check_report();
}
