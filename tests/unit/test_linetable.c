/* SPDX-License-Identifier: MIT */
/* test_linetable.c: every instruction offset of every code object in
 * tests/data/linetable_sample.py, on every CPython 3.9-3.13 format, decoded by ferret and
 * compared with what that interpreter's own PyCode_Addr2Line returned
 * (tests/data/gen_linetables.py wrote tests/data/linetables.txt). Plus malformed tables. */
#include <stdlib.h>

#include "check.h"
#include "sampler/linetable.h"

static size_t
unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    if (strcmp(s, "-") == 0)
        return 0;
    for (; s[0] && s[1] && n < cap; s += 2) {
        unsigned v;
        sscanf(s, "%2x", &v);
        out[n++] = (uint8_t)v;
    }
    return n;
}

static void
check_reference(void)
{
    FILE *f = fopen("tests/data/linetables.txt", "r");
    CHECK(f != NULL);
    if (!f)
        return;
    static char line[1 << 16], lines[1 << 16];
    static uint8_t table[1 << 15];
    int codes = 0, offsets = 0, seen_minor[16] = {0};
    while (fgets(line, sizeof line, f)) {
        int minor, kind, first, nbytes;
        char hex[1 << 15], name[256];
        if (sscanf(line, "code %d %d %d %d %32767s %255s", &minor, &kind, &first, &nbytes, hex,
                   name) != 6)
            continue;
        CHECK(fgets(lines, sizeof lines, f) != NULL);
        size_t len = unhex(hex, table, sizeof table);
        codes++;
        seen_minor[minor & 15] = 1;
        /* expand the run-length pairs "addrq:line" */
        int expect = 0, next_addr = -2, bad = 0;
        char *p = lines + strlen("lines");
        for (int addrq = -2; addrq < nbytes; addrq += 2) {
            while (next_addr <= addrq && *p) {
                int a, l, consumed;
                if (sscanf(p, " %d:%d%n", &a, &l, &consumed) != 2)
                    break;
                if (a > addrq) {
                    next_addr = a;
                    break;
                }
                expect = l;
                p += consumed;
                next_addr = addrq + 2;
            }
            int got = linetable_line((LayoutLinetableKind)kind, table, len, first, addrq);
            offsets++;
            if (got != expect && bad++ < 3)
                fprintf(stderr, "3.%d %s addrq %d: got %d, CPython says %d\n", minor, name,
                        addrq, got, expect);
        }
        CHECK_EQ_INT(bad, 0);
    }
    fclose(f);
    for (int m = 9; m <= 13; m++)
        CHECK(seen_minor[m]);
    CHECK(codes >= 5 * 14); /* 14 code objects in the sample, per version */
    printf("  %d code objects, %d offsets compared\n", codes, offsets);
}

static void
check_malformed(void)
{
    /* a long-form entry whose varint runs off the end */
    const uint8_t cut[] = {0xf0, 0x41};
    CHECK_EQ_INT(linetable_line(LAYOUT_LINETABLE_LOCATIONS, cut, sizeof cut, 10, 0), -1);
    /* endless continuation bits */
    const uint8_t cont[] = {0xf0, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f};
    CHECK_EQ_INT(linetable_line(LAYOUT_LINETABLE_LOCATIONS, cont, sizeof cont, 10, 0), -1);
    /* past the end of any table */
    const uint8_t one[] = {0x80}; /* 1 code unit, short form: same line */
    CHECK_EQ_INT(linetable_line(LAYOUT_LINETABLE_LOCATIONS, one, sizeof one, 7, 0), 7);
    CHECK_EQ_INT(linetable_line(LAYOUT_LINETABLE_LOCATIONS, one, sizeof one, 7, 2), -1);
    CHECK_EQ_INT(linetable_line(LAYOUT_LINETABLE_310, one, 1, 7, 0), -1); /* odd length */
    CHECK_EQ_INT(linetable_line(LAYOUT_LINETABLE_310, NULL, 0, 7, 0), -1);
    CHECK_EQ_INT(linetable_line(LAYOUT_LINETABLE_310, NULL, 0, 7, -2), 7);
    /* zero-length 3.10 ranges forever: must stop at the end of the table */
    const uint8_t zeros[] = {0, 1, 0, 1, 0, 1};
    CHECK_EQ_INT(linetable_line(LAYOUT_LINETABLE_310, zeros, sizeof zeros, 1, 0), -1);
    CHECK_EQ_INT(linetable_line(LAYOUT_LINETABLE_LNOTAB, zeros, sizeof zeros, 1, 100), 4);
    CHECK_EQ_INT(linetable_line((LayoutLinetableKind)99, one, 1, 1, 0), -1);
}

int
main(void)
{
    check_reference();
    check_malformed();
    return check_report();
}
