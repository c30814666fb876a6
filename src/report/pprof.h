/* SPDX-License-Identifier: MIT */
/* pprof.h: the pprof writer's encoder, exposed for its unit test (known bytes). */
#pragma once
#include "report/report.h"
#include "util/buf.h"

/* Appends the profile as an uncompressed profile.proto message to out (the `pprof` report
 * format is this, gzipped). Returns 0, or -1 with *err set. */
int pprof_encode(const Profile *p, const ReportOptions *opt, Buf *out, Err *err);
