/* SPDX-License-Identifier: MIT */
/* elf.h: the few questions ferret asks of an ELF file (the Python executable or libpython):
 * where is a symbol, where is a section, which libraries it needs, and where it was loaded.
 * The bytes are untrusted: every offset is bounds-checked (fuzzed by tests/fuzz/fuzz_elf.c).
 * 64-bit little-endian only. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

typedef struct {
    const uint8_t *data;
    size_t len;
    bool mapped;       /* data is an mmap owned by this Elf */
    uint16_t type;     /* ET_EXEC or ET_DYN */
    const uint8_t *sh; /* section headers, nsh of them (checked in bounds) */
    size_t nsh;
    const uint8_t *ph; /* program headers */
    size_t nph;
    const char *shstr; /* section name table */
    size_t shstr_len;
} Elf;

/* Parses an ELF image held in memory (not copied; must outlive the Elf). */
int elf_parse(Elf *e, const uint8_t *data, size_t len, Err *err);
/* Maps and parses a file. */
int elf_open(Elf *e, const char *path, Err *err);
void elf_close(Elf *e);
/* Looks a symbol up in .dynsym, then .symtab. *value is its link-time address, *size its
 * size (either may be NULL). */
bool elf_symbol(const Elf *e, const char *name, uint64_t *value, uint64_t *size);
/* A section's link-time address and size. */
bool elf_section(const Elf *e, const char *name, uint64_t *addr, uint64_t *size);
/* The file bytes of a section (not for SHT_NOBITS). */
bool elf_section_data(const Elf *e, const char *name, const uint8_t **data, size_t *len);
/* Does DT_NEEDED name a library starting with prefix (e.g. "libpython3.")? The name found is
 * copied to out (if not NULL). */
bool elf_needs(const Elf *e, const char *prefix, char *out, size_t outlen);
/* Load bias of the file in a process, given a mapping of it: its start address and file
 * offset. Returns false if no PT_LOAD segment matches the offset. */
bool elf_bias(const Elf *e, uintptr_t map_start, uint64_t map_offset, uintptr_t *bias);
