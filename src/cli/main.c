/* SPDX-License-Identifier: MIT */
/* main.c: ferret's entry point: picks the subcommand from FERRET_COMMANDS and runs it. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/exitcode.h"

static const struct {
    const char *name;
    const char *help;
    int (*fn)(int, char **);
} commands[] = {
#define X(name, help) {#name, help, cmd_##name},
    FERRET_COMMANDS(X)
#undef X
};

static void
usage(FILE *f)
{
    fprintf(f, "usage: ferret COMMAND [OPTIONS] [ARGS...]\n\n"
               "ferret profiles Python programs: time, memory, exact calls, benchmarks.\n\n"
               "commands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\n`ferret COMMAND --help` describes each command's options.\n");
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0)
        cmd = "version";
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(commands[i].name, cmd) == 0) {
            int rc = commands[i].fn(argc - 1, argv + 1);
            /* a reader that went away (| head) is not an error; any other failure is */
            bool bad = fflush(stdout) != 0 && errno != EPIPE;
            if ((bad || ferror(stdout)) && rc == EXIT_OK) { /* else already reported */
                fprintf(stderr, "ferret: writing to standard output: %s\n",
                        bad ? strerror(errno) : "write error");
                rc = EXIT_FAIL;
            }
            return rc;
        }
    }
    return cli_usage("unknown command '%s' (try `ferret --help`)", cmd);
}
