/* SPDX-License-Identifier: MIT */
/* frame_name.c: frame labels shared by the text and collapsed writers. */
#include "report/frame_name.h"

#include <string.h>

#include "util/escape.h"

void
frame_label(Buf *b, const Profile *p, FrameId id, int flags)
{
    const ProfFrame *f = profile_frame_at(p, id);
    esc_text(b, profile_strp(p, f->name), profile_strlen(p, f->name), flags);
    if (f->kind != FRAME_PY || f->file == PROFILE_EMPTY)
        return;
    buf_puts(b, " (");
    esc_text(b, profile_strp(p, f->file), profile_strlen(p, f->file), flags);
    buf_printf(b, ":%d)", (int)f->line);
}

void
frame_short_file(Buf *b, const Profile *p, StrId file, int keep, int flags)
{
    const char *s = profile_strp(p, file);
    size_t n = profile_strlen(p, file);
    size_t start = n;
    int seen = 0;
    while (start > 0) {
        if (s[start - 1] == '/' && ++seen == keep)
            break;
        start--;
    }
    if (start > 0)
        buf_puts(b, "...");
    esc_text(b, s + start, n - start, flags);
}
