/* SPDX-License-Identifier: MIT */
/* pynames.h: the name a Python program gave a thread (threading.Thread.name), read from
 * outside. Used by the sampler once per new thread. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sampler/target.h"

/* Looks up threading._active[ident].name in the interpreter at interp (ident is the thread
 * state's thread_id). Returns 0 with the name in out (NUL-terminated, cut to cap), or -1
 * when the program has no such thread object (yet) or anything read was implausible. The
 * address of _active is kept; when it is not known yet, or the thread is not in it, refind
 * looks _active up (again: it may have been replaced), which reads sys.modules and costs far
 * more than a lookup; without refind the lookup fails instead. */
int pynames_thread_name(Target *t, uintptr_t interp, uint64_t ident, bool refind, char *out,
                        size_t cap);
