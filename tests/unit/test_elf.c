/* SPDX-License-Identifier: MIT */
/* test_elf.c: ELF symbol, section and DT_NEEDED lookup on this very test program (whose
 * symbols' run-time addresses we know) and on a libpython when one is installed; the load
 * bias from /proc/self/maps; and /proc/PID/maps parsing. */
#include <stdlib.h>
#include <unistd.h>

#include "check.h"
#include "sampler/elf.h"
#include "sampler/maps.h"

/* a variable in a section of our own, and a function with a known address */
__attribute__((section("ferret_test_sec"), used)) int ferret_test_var = 42;

__attribute__((noinline, used, visibility("default"))) int
ferret_test_function(int x)
{
    return x + 1;
}

static void
test_self(void)
{
    Err err;
    Elf e;
    CHECK(elf_open(&e, "/proc/self/exe", &err) == 0);
    uint64_t value = 0, size = 0;
    CHECK(elf_symbol(&e, "ferret_test_function", &value, &size));
    CHECK(size > 0);
    CHECK(!elf_symbol(&e, "no_such_symbol_anywhere", &value, NULL));
    /* only whether it exists (how a Python 3.6 binary's Py_Initialize was looked for) */
    CHECK(elf_symbol(&e, "ferret_test_function", NULL, NULL));
    uint64_t sec_addr, sec_size;
    CHECK(elf_section(&e, "ferret_test_sec", &sec_addr, &sec_size));
    CHECK(sec_size >= sizeof(int));
    /* the load bias from our own memory map turns link-time into run-time addresses */
    Maps m;
    CHECK(maps_read(getpid(), &m, &err) == 0);
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    CHECK(n > 0);
    exe[n > 0 ? n : 0] = '\0';
    const MapRegion *r = maps_find_path(&m, exe);
    CHECK(r != NULL);
    uintptr_t bias = 0;
    if (r)
        CHECK(elf_bias(&e, r->start, r->offset, &bias));
    CHECK_EQ_U64(bias + value, (uintptr_t)&ferret_test_function);
    CHECK_EQ_U64(bias + sec_addr, (uintptr_t)&ferret_test_var);
    /* maps_find agrees */
    const MapRegion *code = maps_find(&m, (uintptr_t)&ferret_test_function);
    CHECK(code && code->x && strcmp(code->path, exe) == 0);
    CHECK(maps_find(&m, 0) == NULL);
    CHECK(elf_needs(&e, "libc.so", NULL, 0));
    CHECK(!elf_needs(&e, "libpython", NULL, 0));
    maps_fini(&m);
    elf_close(&e);
}

static void
test_libpython(void)
{
    /* a shared-library CPython, if this machine has one: _PyRuntime, .PyRuntime, Py_Version */
    const char *root = getenv("HOME");
    char path[512];
    snprintf(path, sizeof path, "%s/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0",
             root ? root : "/root");
    Elf e;
    Err err;
    if (elf_open(&e, path, &err) < 0) {
        printf("  (no libpython3.11 at %s: skipped)\n", path);
        return;
    }
    uint64_t rt, sec, size, ver;
    CHECK(elf_symbol(&e, "_PyRuntime", &rt, NULL));
    CHECK(elf_section(&e, ".PyRuntime", &sec, &size));
    CHECK_EQ_U64(rt, sec); /* 3.11 puts _PyRuntime at the start of its own section */
    CHECK(elf_symbol(&e, "Py_Version", &ver, NULL));
    elf_close(&e);
}

static void
test_bad_elf(void)
{
    Err err;
    Elf e;
    static const uint8_t junk[] = "not an elf at all";
    CHECK(elf_parse(&e, junk, sizeof junk, &err) < 0);
    CHECK_EQ_INT(err.kind, ERR_FORMAT);
    uint8_t hdr[64] = {0x7f, 'E', 'L', 'F', 1 /* 32-bit */, 1};
    CHECK(elf_parse(&e, hdr, sizeof hdr, &err) < 0);
    CHECK_EQ_INT(err.kind, ERR_UNSUPPORTED);
    CHECK(elf_open(&e, "/no/such/file", &err) < 0);
    CHECK(elf_open(&e, "/proc/self", &err) < 0); /* a directory */
}

static void
test_maps_parse(void)
{
    const char text[] =
        "55d0e2a00000-55d0e2a21000 r--p 00000000 fe:00 117222                     /usr/bin/python3.11\n"
        "55d0e2a21000-55d0e2b00000 r-xp 00021000 fe:00 117222                     /usr/bin/python3.11\n"
        "7ffd1a2e0000-7ffd1a301000 rw-p 00000000 00:00 0                          [stack]\n"
        "garbage line\n"
        "7f00-7e00 r--p 0 0:0 0 /inverted\n"
        "7f0000000000-7f0000001000 rw-p 00000000 00:00 0 \n"
        "7f0000002000-7f0000003000 r--p 00000000 fe:00 55 /path with spaces (deleted)";
    Maps m;
    Err err;
    CHECK(maps_parse(text, sizeof text - 1, &m, &err) == 0);
    CHECK_EQ_SIZE(m.n, 5);
    CHECK_EQ_U64(m.regions[1].offset, 0x21000);
    CHECK(m.regions[1].x && !m.regions[1].w);
    CHECK_EQ_STR(m.regions[2].path, "[stack]");
    CHECK_EQ_STR(m.regions[3].path, "");
    CHECK_EQ_STR(m.regions[4].path, "/path with spaces");
    CHECK(m.regions[4].deleted && !m.regions[1].deleted && !m.regions[2].deleted);
    CHECK_EQ_U64(m.regions[4].inode, 55);
    CHECK(maps_find(&m, 0x55d0e2a21000) == &m.regions[1]);
    CHECK(maps_find(&m, 0x55d0e2b00000) == NULL);
    maps_fini(&m);
}

int
main(void)
{
    test_self();
    test_libpython();
    test_bad_elf();
    test_maps_parse();
    return check_report();
}
