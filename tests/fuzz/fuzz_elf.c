/* SPDX-License-Identifier: MIT */
/* fuzz_elf.c: the ELF reader on arbitrary bytes: parsing, symbol and section lookup,
 * DT_NEEDED and the load bias must never read outside the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sampler/elf.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a private copy, so the sanitizers see reads past its end */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    Elf e;
    Err err;
    if (elf_parse(&e, copy, size, &err) == 0) {
        uint64_t v, s;
        elf_symbol(&e, "_PyRuntime", &v, &s);
        elf_symbol(&e, "Py_Version", &v, NULL);
        elf_section(&e, ".PyRuntime", &v, &s);
        const uint8_t *d;
        size_t n;
        elf_section_data(&e, ".rodata", &d, &n);
        char lib[64];
        elf_needs(&e, "libpython3", lib, sizeof lib);
        uintptr_t bias;
        elf_bias(&e, 0x400000, 0, &bias);
    }
    free(copy);
    return 0;
}
