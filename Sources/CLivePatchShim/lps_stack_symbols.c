/*
 * What the stack check needs to know before it signals anyone: the code
 * range of each implementation of the set (from the symbol table, as
 * kpatch and klp know a function's size from kallsyms) and each thread's
 * stack bounds. Patcher side only: none of this is async-signal-safe.
 */
#define _GNU_SOURCE
#include "lps_stack_shim.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

struct containing {
    uintptr_t addr;
    uintptr_t bias;
    char path[PATH_MAX];
    int found;
};

static int find_containing(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct containing *q = data;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type != PT_LOAD || q->addr < lo || q->addr >= lo + ph->p_memsz) continue;
        /* The main executable's name is empty. */
        snprintf(q->path, sizeof q->path, "%s", info->dlpi_name && info->dlpi_name[0] ? info->dlpi_name : "/proc/self/exe");
        q->bias = info->dlpi_addr;
        q->found = 1;
        return 1;
    }
    return 0;
}

/* The STT_FUNC symbol of section `type` that contains addr. */
static int search(Elf *elf, Elf64_Word type, uintptr_t addr, uintptr_t *lo, uintptr_t *hi)
{
    for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn; scn = elf_nextscn(elf, scn)) {
        GElf_Shdr shdr;
        if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != type || shdr.sh_entsize == 0) continue;
        Elf_Data *data = elf_getdata(scn, NULL);
        size_t count = shdr.sh_size / shdr.sh_entsize;
        for (size_t i = 0; data && i < count; i++) {
            GElf_Sym sym;
            if (!gelf_getsym(data, (int)i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_size == 0) continue;
            if (addr >= sym.st_value && addr < sym.st_value + sym.st_size) {
                *lo = sym.st_value;
                *hi = sym.st_value + sym.st_size;
                return 0;
            }
        }
    }
    return -ENOENT;
}

int lps_stack_symbol_range(const void *addr, uintptr_t *lo, uintptr_t *hi)
{
    struct containing q = {.addr = (uintptr_t)addr};
    dl_iterate_phdr(find_containing, &q);
    if (!q.found || elf_version(EV_CURRENT) == EV_NONE) return -ENOENT;
    int fd = open(q.path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -ENOENT;
    Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
    int r = -ENOENT;
    if (elf && elf_kind(elf) == ELF_K_ELF) {
        uintptr_t rel = q.addr - q.bias;
        r = search(elf, SHT_SYMTAB, rel, lo, hi);
        if (r != 0) r = search(elf, SHT_DYNSYM, rel, lo, hi);
    }
    if (elf) elf_end(elf);
    close(fd);
    if (r == 0) {
        *lo += q.bias;
        *hi += q.bias;
    }
    return r;
}

void lps_stack_learn_bounds(lps_thread_rec_t *rec, uint64_t pthread, uint64_t generation)
{
    lps_stack_cell_t *c = lps_stack_cell(rec);
    /* The bounds are the patcher's own: it alone writes them, before the
     * request whose release store publishes them to the handler. */
    if (c->stack_hi != 0 && c->bounds_generation == generation) return;
    pthread_attr_t attr;
    void *base;
    size_t size;
    c->stack_lo = c->stack_hi = 0;
    if (pthread_getattr_np((pthread_t)pthread, &attr) != 0) return;
    if (pthread_attr_getstack(&attr, &base, &size) == 0) {
        c->stack_lo = (uintptr_t)base;
        c->stack_hi = (uintptr_t)base + size;
        c->bounds_generation = generation;
    }
    pthread_attr_destroy(&attr);
}
