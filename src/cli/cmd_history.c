/* SPDX-License-Identifier: MIT */
#include "cli/cli.h"
int cmd_history(int argc, char **argv) { (void)argc; (void)argv; return 2; }
