/* SPDX-License-Identifier: MIT */
/* elf.c: bounds-checked reading of ELF64 headers, sections, symbols and DT_NEEDED. */
#include "sampler/elf.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Is [off, off + n) inside the image? */
static bool
in_bounds(const Elf *e, uint64_t off, uint64_t n)
{
    return off <= e->len && n <= e->len - off;
}

static Elf64_Shdr
shdr_at(const Elf *e, size_t i)
{
    Elf64_Shdr s;
    memcpy(&s, e->sh + i * sizeof s, sizeof s);
    return s;
}

static Elf64_Phdr
phdr_at(const Elf *e, size_t i)
{
    Elf64_Phdr p;
    memcpy(&p, e->ph + i * sizeof p, sizeof p);
    return p;
}

int
elf_parse(Elf *e, const uint8_t *data, size_t len, Err *err)
{
    memset(e, 0, sizeof *e);
    e->data = data;
    e->len = len;
    Elf64_Ehdr h;
    if (len < sizeof h || memcmp(data, ELFMAG, SELFMAG) != 0)
        return err_set(err, ERR_FORMAT, "not an ELF file");
    memcpy(&h, data, sizeof h);
    if (h.e_ident[EI_CLASS] != ELFCLASS64 || h.e_ident[EI_DATA] != ELFDATA2LSB)
        return err_set(err, ERR_UNSUPPORTED, "not a 64-bit little-endian ELF file");
    if (h.e_type != ET_EXEC && h.e_type != ET_DYN)
        return err_set(err, ERR_FORMAT, "ELF file is neither an executable nor a shared object");
    e->type = h.e_type;
    if (h.e_phnum) {
        if (h.e_phentsize != sizeof(Elf64_Phdr) ||
            !in_bounds(e, h.e_phoff, (uint64_t)h.e_phnum * sizeof(Elf64_Phdr)))
            return err_set(err, ERR_FORMAT, "ELF program headers out of bounds");
        e->ph = data + h.e_phoff; /* only once it is known to lie inside the image */
        e->nph = h.e_phnum;
    }
    if (h.e_shnum && h.e_shentsize == sizeof(Elf64_Shdr) &&
        in_bounds(e, h.e_shoff, (uint64_t)h.e_shnum * sizeof(Elf64_Shdr))) {
        e->sh = data + h.e_shoff;
        e->nsh = h.e_shnum;
        if (h.e_shstrndx < e->nsh) {
            Elf64_Shdr s = shdr_at(e, h.e_shstrndx);
            if (s.sh_type != SHT_NOBITS && in_bounds(e, s.sh_offset, s.sh_size)) {
                e->shstr = (const char *)data + s.sh_offset;
                e->shstr_len = s.sh_size;
            }
        }
    }
    return 0;
}

int
elf_open(Elf *e, const char *path, Err *err)
{
    memset(e, 0, sizeof *e);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_sys(err, errno, "opening %s", path);
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) {
        close(fd);
        return err_set(err, ERR_FORMAT, "%s is not a regular file", path);
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e2 = errno;
    close(fd);
    if (p == MAP_FAILED)
        return err_sys(err, e2, "mapping %s", path);
    if (elf_parse(e, p, (size_t)st.st_size, err) < 0) {
        munmap(p, (size_t)st.st_size);
        memset(e, 0, sizeof *e);
        return err_context(err, "%s", path);
    }
    e->mapped = true;
    return 0;
}

void
elf_close(Elf *e)
{
    if (e->mapped)
        munmap((void *)e->data, e->len);
    memset(e, 0, sizeof *e);
}

/* Name of a string-table entry, or NULL if it is out of bounds or unterminated. */
static const char *
str_at(const Elf *e, uint64_t tab_off, uint64_t tab_len, uint64_t idx)
{
    if (idx >= tab_len || !in_bounds(e, tab_off, tab_len))
        return NULL;
    const char *s = (const char *)e->data + tab_off + idx;
    if (!memchr(s, '\0', tab_len - idx))
        return NULL;
    return s;
}

static bool
find_in_symtab(const Elf *e, uint32_t type, const char *name, uint64_t *value, uint64_t *size)
{
    for (size_t i = 0; i < e->nsh; i++) {
        Elf64_Shdr s = shdr_at(e, i);
        if (s.sh_type != type || s.sh_entsize != sizeof(Elf64_Sym) ||
            !in_bounds(e, s.sh_offset, s.sh_size) || s.sh_link >= e->nsh)
            continue;
        Elf64_Shdr strs = shdr_at(e, s.sh_link);
        if (strs.sh_type != SHT_STRTAB || !in_bounds(e, strs.sh_offset, strs.sh_size))
            continue;
        size_t n = s.sh_size / sizeof(Elf64_Sym);
        for (size_t j = 1; j < n; j++) {
            Elf64_Sym sym;
            memcpy(&sym, e->data + s.sh_offset + j * sizeof sym, sizeof sym);
            if (sym.st_shndx == SHN_UNDEF || sym.st_value == 0)
                continue;
            const char *sn = str_at(e, strs.sh_offset, strs.sh_size, sym.st_name);
            if (sn && strcmp(sn, name) == 0) {
                if (value)
                    *value = sym.st_value;
                if (size)
                    *size = sym.st_size;
                return true;
            }
        }
    }
    return false;
}

bool
elf_symbol(const Elf *e, const char *name, uint64_t *value, uint64_t *size)
{
    return find_in_symtab(e, SHT_DYNSYM, name, value, size) ||
           find_in_symtab(e, SHT_SYMTAB, name, value, size);
}

static bool
find_section(const Elf *e, const char *name, Elf64_Shdr *out)
{
    if (!e->shstr)
        return false;
    for (size_t i = 0; i < e->nsh; i++) {
        Elf64_Shdr s = shdr_at(e, i);
        if (s.sh_name >= e->shstr_len)
            continue;
        const char *sn = e->shstr + s.sh_name;
        size_t room = e->shstr_len - s.sh_name;
        if (strnlen(sn, room) < room && strcmp(sn, name) == 0) {
            *out = s;
            return true;
        }
    }
    return false;
}

bool
elf_section(const Elf *e, const char *name, uint64_t *addr, uint64_t *size)
{
    Elf64_Shdr s;
    if (!find_section(e, name, &s))
        return false;
    *addr = s.sh_addr;
    *size = s.sh_size;
    return true;
}

bool
elf_section_data(const Elf *e, const char *name, const uint8_t **data, size_t *len)
{
    Elf64_Shdr s;
    if (!find_section(e, name, &s) || s.sh_type == SHT_NOBITS ||
        !in_bounds(e, s.sh_offset, s.sh_size))
        return false;
    *data = e->data + s.sh_offset;
    *len = s.sh_size;
    return true;
}

/* File offset of a link-time address, through the PT_LOAD segments. */
static bool
vaddr_to_offset(const Elf *e, uint64_t vaddr, uint64_t *off)
{
    for (size_t i = 0; i < e->nph; i++) {
        Elf64_Phdr p = phdr_at(e, i);
        if (p.p_type == PT_LOAD && vaddr >= p.p_vaddr && vaddr - p.p_vaddr < p.p_filesz) {
            *off = p.p_offset + (vaddr - p.p_vaddr);
            return true;
        }
    }
    return false;
}

bool
elf_needs(const Elf *e, const char *prefix, char *out, size_t outlen)
{
    for (size_t i = 0; i < e->nph; i++) {
        Elf64_Phdr p = phdr_at(e, i);
        if (p.p_type != PT_DYNAMIC || !in_bounds(e, p.p_offset, p.p_filesz))
            continue;
        size_t n = p.p_filesz / sizeof(Elf64_Dyn);
        uint64_t strtab = 0, strsz = 0;
        for (size_t j = 0; j < n; j++) {
            Elf64_Dyn d;
            memcpy(&d, e->data + p.p_offset + j * sizeof d, sizeof d);
            if (d.d_tag == DT_STRTAB)
                strtab = d.d_un.d_ptr;
            else if (d.d_tag == DT_STRSZ)
                strsz = d.d_un.d_val;
        }
        uint64_t stroff;
        if (!strtab || !vaddr_to_offset(e, strtab, &stroff))
            continue;
        for (size_t j = 0; j < n; j++) {
            Elf64_Dyn d;
            memcpy(&d, e->data + p.p_offset + j * sizeof d, sizeof d);
            if (d.d_tag == DT_NULL)
                break;
            if (d.d_tag != DT_NEEDED)
                continue;
            const char *lib = str_at(e, stroff, strsz, d.d_un.d_val);
            if (lib && strncmp(lib, prefix, strlen(prefix)) == 0) {
                if (out && outlen) {
                    strncpy(out, lib, outlen - 1);
                    out[outlen - 1] = '\0';
                }
                return true;
            }
        }
    }
    return false;
}

bool
elf_bias(const Elf *e, uintptr_t map_start, uint64_t map_offset, uintptr_t *bias)
{
    for (size_t i = 0; i < e->nph; i++) {
        Elf64_Phdr p = phdr_at(e, i);
        if (p.p_type != PT_LOAD)
            continue;
        /* the kernel maps segments page by page: the mapping's offset is the segment's
         * offset rounded down to a page, and its start the rounded-down address plus bias */
        uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
        if ((p.p_offset & ~(page - 1)) == map_offset) {
            *bias = map_start - (uintptr_t)(p.p_vaddr & ~(page - 1));
            return true;
        }
    }
    return false;
}
