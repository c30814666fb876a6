/* SPDX-License-Identifier: MIT */
/* memtext.h: the text report of a memory profile. report_text (text.c) calls it for
 * PROFILE_MEMORY profiles; opt->series picks the view (memview.h). */
#pragma once
#include <stdio.h>

#include "report/report.h"

/* Renders the view opt->series belongs to (peak when it is none). Returns 0 or -1. */
int memtext_write(const Profile *p, const ReportOptions *opt, FILE *out, Err *err);
