/* SPDX-License-Identifier: MIT */
/* memview.c: the view table of memview.h. */
#include "report/memview.h"

#include <string.h>

static const struct {
    const char *name, *bytes, *companion, *what;
} views[] = {
#define X(sym, name, bytes, count, what) {name, bytes, count, what},
    MEM_VIEWS(X)
#undef X
};

bool
memview_find(const char *name, MemView *out)
{
    for (int i = 0; i < MEMVIEW_COUNT; i++) {
        if (strcmp(views[i].name, name) == 0) {
            *out = (MemView)i;
            return true;
        }
    }
    return false;
}

const char *
memview_list(void)
{
    return "peak, leaks, allocated, timeline";
}

const char *
memview_name(MemView v)
{
    return views[v].name;
}

const char *
memview_what(MemView v)
{
    return views[v].what;
}

int
memview_series(const Profile *p, MemView v, SeriesId *bytes, SeriesId *companion, Err *err)
{
    SeriesId b, c;
    if (!profile_series_find(p, views[v].bytes, &b) ||
        !profile_series_find(p, views[v].companion, &c))
        return err_set(err, ERR_FORMAT, "the profile has no %s view (not a memory profile?)",
                       views[v].name);
    if (bytes)
        *bytes = b;
    if (companion)
        *companion = c;
    return 0;
}

bool
memview_of_series(const Profile *p, SeriesId s, MemView *out)
{
    const char *name = profile_series_name(p, s);
    for (int i = 0; i < MEMVIEW_COUNT; i++) {
        if (strcmp(views[i].bytes, name) == 0) {
            *out = (MemView)i;
            return true;
        }
    }
    return false;
}
