/* SPDX-License-Identifier: MIT */
/* maps.c: parsing /proc/PID/maps lines: "start-end perms offset dev inode   path". */
#include "sampler/maps.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool
parse_hex(const char **p, const char *end, uint64_t *out)
{
    uint64_t v = 0;
    const char *s = *p;
    int digits = 0;
    while (s < end) {
        char c = *s;
        int d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            break;
        if (++digits > 16)
            return false;
        v = v << 4 | (uint64_t)d;
        s++;
    }
    if (!digits)
        return false;
    *p = s;
    *out = v;
    return true;
}

static bool
expect(const char **p, const char *end, char c)
{
    if (*p >= end || **p != c)
        return false;
    (*p)++;
    return true;
}

static void
skip_spaces(const char **p, const char *end)
{
    while (*p < end && **p == ' ')
        (*p)++;
}

/* Parses one line [s, end); returns false if it is malformed. */
static bool
parse_line(const char *s, const char *end, MapRegion *r)
{
    uint64_t start, stop, off, dmaj, dmin, inode = 0;
    if (!parse_hex(&s, end, &start) || !expect(&s, end, '-') || !parse_hex(&s, end, &stop) ||
        !expect(&s, end, ' ') || end - s < 5)
        return false;
    r->r = s[0] == 'r';
    r->w = s[1] == 'w';
    r->x = s[2] == 'x';
    s += 4;
    if (!expect(&s, end, ' ') || !parse_hex(&s, end, &off) || !expect(&s, end, ' ') ||
        !parse_hex(&s, end, &dmaj) || !expect(&s, end, ':') || !parse_hex(&s, end, &dmin) ||
        !expect(&s, end, ' '))
        return false;
    while (s < end && *s >= '0' && *s <= '9') {
        if (inode > UINT64_MAX / 10)
            return false;
        inode = inode * 10 + (uint64_t)(*s++ - '0');
    }
    if (stop < start)
        return false;
    skip_spaces(&s, end);
    size_t plen = (size_t)(end - s);
    static const char gone[] = " (deleted)";
    r->deleted = plen > sizeof gone - 1 && s[0] == '/' &&
                 memcmp(s + plen - (sizeof gone - 1), gone, sizeof gone - 1) == 0;
    if (r->deleted)
        plen -= sizeof gone - 1;
    r->path = malloc(plen + 1);
    if (!r->path)
        return false;
    memcpy(r->path, s, plen);
    r->path[plen] = '\0';
    r->start = (uintptr_t)start;
    r->end = (uintptr_t)stop;
    r->offset = off;
    r->inode = inode;
    return true;
}

int
maps_parse(const char *text, size_t len, Maps *out, Err *err)
{
    out->regions = NULL;
    out->n = 0;
    size_t cap = 0;
    const char *p = text, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl ? nl : end;
        if (out->n == cap) {
            cap = cap ? cap * 2 : 64;
            MapRegion *r = realloc(out->regions, cap * sizeof *r);
            if (!r) {
                maps_fini(out);
                return err_set(err, ERR_NOMEM, "out of memory reading a memory map");
            }
            out->regions = r;
        }
        if (parse_line(p, line_end, &out->regions[out->n]))
            out->n++;
        p = nl ? nl + 1 : end;
    }
    return 0;
}

int
maps_read(pid_t pid, Maps *out, Err *err)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return err_set(err, ERR_GONE, "process %d does not exist", (int)pid);
        return err_sys(err, errno, "opening %s", path);
    }
    size_t cap = 65536, len = 0;
    char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        return err_set(err, ERR_NOMEM, "out of memory reading %s", path);
    }
    for (;;) {
        if (len == cap) {
            char *b = realloc(buf, cap * 2);
            if (!b) {
                free(buf);
                close(fd);
                return err_set(err, ERR_NOMEM, "out of memory reading %s", path);
            }
            buf = b;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            free(buf);
            close(fd);
            if (e == ESRCH)
                return err_set(err, ERR_GONE, "process %d exited", (int)pid);
            return err_sys(err, e, "reading %s", path);
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    int rc = maps_parse(buf, len, out, err);
    free(buf);
    return rc;
}

void
maps_fini(Maps *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->regions[i].path);
    free(m->regions);
    m->regions = NULL;
    m->n = 0;
}

const MapRegion *
maps_find(const Maps *m, uintptr_t addr)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->regions[mid].end <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < m->n && m->regions[lo].start <= addr && addr < m->regions[lo].end)
        return &m->regions[lo];
    return NULL;
}

const MapRegion *
maps_find_file(const Maps *m, bool (*match)(const char *base))
{
    for (size_t i = 0; i < m->n; i++) {
        const char *path = m->regions[i].path;
        if (path[0] != '/')
            continue;
        const char *base = strrchr(path, '/') + 1;
        if (match(base))
            return &m->regions[i];
    }
    return NULL;
}

const MapRegion *
maps_find_path(const Maps *m, const char *path)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->regions[i].path, path) == 0)
            return &m->regions[i];
    return NULL;
}
