/* SPDX-License-Identifier: MIT */
/* frame_name.h: the one way every line-oriented writer names a frame:
 * `qualname (file:line)` for Python frames, the bare name for synthetic and native ones. */
#pragma once
#include "profile/profile.h"
#include "util/buf.h"

/* Appends the frame's label, escaped for plain text (esc_text with `flags`). */
void frame_label(Buf *b, const Profile *p, FrameId id, int flags);
/* Appends a file name shortened for tables: the last `keep` path components. */
void frame_short_file(Buf *b, const Profile *p, StrId file, int keep, int flags);
