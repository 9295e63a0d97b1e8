/*
 * Discovery: the pads of every loaded object, from its
 * __patchable_function_entries section as the loader mapped and relocated
 * it (so a position-independent object needs no relocation processing
 * here), each named by the function symbol that contains it (libelf).
 */
#define _GNU_SOURCE
#include "lps_elf_shim.h"
#include "lps_ftrace_shim.h"
#include "lps_ftrace_stubs.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_OBJECTS 256

struct object {
    char path[PATH_MAX];
    uintptr_t bias;
};

struct object_list {
    struct object o[MAX_OBJECTS];
    size_t n;
};

/* Objects scanned already, by load bias (what a dlclose + dlopen may reuse
 * is a new object with its own pads: not supported, docs/FTRACE.md). Guarded
 * by the callers' serialisation (the patcher lock). */
static uintptr_t scanned[MAX_OBJECTS];
/* Their pads' cells, which their stubs point at: kept for the life of the
 * process (and reachable from here, not only from the stubs). */
static struct lps_ftrace_cell *object_cells[MAX_OBJECTS];
static size_t scanned_count;


static int list_object(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct object_list *l = data;
    const char *name = info->dlpi_name ? info->dlpi_name : "";
    if (l->n == MAX_OBJECTS)
        return 1;
    if (l->n == 0)
        snprintf(l->o[0].path, sizeof l->o[0].path, "/proc/self/exe"); /* the first is the executable */
    else if (name[0] == '\0')
        return 0; /* the vDSO: no file */
    else
        snprintf(l->o[l->n].path, sizeof l->o[l->n].path, "%s", name);
    l->o[l->n].bias = info->dlpi_addr;
    l->n++;
    return 0;
}

static int compare_addresses(const void *a, const void *b)
{
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return (x > y) - (x < y);
}

/* The loaded pads of an ELF file, sorted (malloc'd; *count 0: none). */
static uintptr_t *read_pads(Elf *elf, uintptr_t bias, size_t *count)
{
    size_t shstrndx;
    *count = 0;
    if (elf_getshdrstrndx(elf, &shstrndx) != 0)
        return NULL;
    uintptr_t *pads = NULL;
    for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn; scn = elf_nextscn(elf, scn)) {
        GElf_Shdr h;
        const char *name;
        if (!gelf_getshdr(scn, &h) || !(h.sh_flags & SHF_ALLOC) ||
            !(name = elf_strptr(elf, shstrndx, h.sh_name)) || strcmp(name, "__patchable_function_entries") != 0)
            continue;
        size_t n = h.sh_size / sizeof(uintptr_t);
        uintptr_t *grown = realloc(pads, (*count + n) * sizeof *pads);
        if (!grown) {
            free(pads);
            *count = 0;
            return NULL;
        }
        pads = grown;
        memcpy(pads + *count, (const void *)(bias + h.sh_addr), n * sizeof *pads);
        *count += n;
    }
    if (pads)
        qsort(pads, *count, sizeof *pads, compare_addresses);
    return pads;
}

/* The cell of the first pad in [lo, hi), or NULL. */
static struct lps_ftrace_cell *pad_within(struct lps_ftrace_cell *cells, size_t count, uintptr_t lo, uintptr_t hi)
{
    size_t a = 0, b = count;
    while (a < b) {
        size_t m = (a + b) / 2;
        if ((uintptr_t)cells[m].pad < lo)
            a = m + 1;
        else
            b = m;
    }
    return a < count && (uintptr_t)cells[a].pad < hi ? &cells[a] : NULL;
}

struct object_pads {
    uintptr_t bias;
    struct lps_ftrace_cell *cells;
    size_t count;
    lps_ftrace_pad_cb cb;
    void *ctx;
};

static int pad_symbol(const char *name, const char *qualified, uint64_t value, uint64_t size, void *ctx)
{
    struct object_pads *op = ctx;
    uintptr_t func = op->bias + value;
    struct lps_ftrace_cell *cell = pad_within(op->cells, op->count, func, func + size);
    if (cell == NULL || !lps_ftrace_pad_usable(cell->pad))
        return 0;
    return op->cb(name, qualified, (const void *)func, cell, op->ctx);
}

static int scan_object(const struct object *o, struct lps_ftrace_cell **kept, lps_ftrace_pad_cb cb, void *ctx)
{
    int fd = open(o->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
    size_t count = 0;
    uintptr_t *pads = elf && elf_kind(elf) == ELF_K_ELF ? read_pads(elf, o->bias, &count) : NULL;
    /* The stubs point at the cells: they live as long as the process. */
    struct lps_ftrace_cell *cells = count ? calloc(count, sizeof *cells) : NULL;
    for (size_t i = 0; cells && i < count; i++)
        cells[i].pad = (const void *)pads[i];
    free(pads);
    if (count != 0 && (!cells || lps_ftrace_map_stubs(cells, count) != 0)) {
        free(cells);
        cells = NULL;
        count = 0;
    }
    *kept = cells;
    struct object_pads op = {.bias = o->bias, .cells = cells, .count = count, .cb = cb, .ctx = ctx};
    /* An object without a symbol table has pads no name can reach: none. */
    int r = count ? lps_elf_for_each_function_symbol(elf, pad_symbol, &op) : 0;
    if (elf)
        elf_end(elf);
    close(fd);
    return r == -ENOEXEC ? 0 : r;
}

int lps_ftrace_scan(lps_ftrace_pad_cb cb, void *ctx)
{
    if (elf_version(EV_CURRENT) == EV_NONE)
        return -ENOEXEC;
    /* Listed under the loader's lock, read after it: cb may call anything. */
    struct object_list *l = calloc(1, sizeof *l);
    if (!l)
        return -ENOMEM;
    dl_iterate_phdr(list_object, l);
    int r = 0;
    for (size_t i = 0; i < l->n && r == 0; i++) {
        size_t k = 0;
        while (k < scanned_count && scanned[k] != l->o[i].bias)
            k++;
        if (k < scanned_count || scanned_count == MAX_OBJECTS)
            continue;
        scanned[scanned_count] = l->o[i].bias;
        r = scan_object(&l->o[i], &object_cells[scanned_count++], cb, ctx);
    }
    free(l);
    return r;
}
