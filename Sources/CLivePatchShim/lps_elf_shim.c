/*
 * The functions a loaded object defines, from its ELF symbol table (libelf),
 * at the addresses it is loaded at (dl_iterate_phdr's load bias). Static
 * functions included: .symtab first, .dynsym when the file is stripped.
 */
#define _GNU_SOURCE
#include "lps_elf_shim.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <gelf.h>
#include <limits.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct object_query {
    const char *object; /* NULL: the main executable */
    char path[PATH_MAX];
    uintptr_t bias;
    int found;
};

static int find_object(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct object_query *q = data;
    const char *name = info->dlpi_name ? info->dlpi_name : "";
    if (q->object == NULL) {
        /* The first entry is the main executable; its name is empty. */
        snprintf(q->path, sizeof q->path, "/proc/self/exe");
    } else {
        const char *slash = strrchr(name, '/');
        const char *base = slash ? slash + 1 : name;
        if (name[0] == '\0' || (strcmp(name, q->object) != 0 && strcmp(base, q->object) != 0))
            return 0;
        snprintf(q->path, sizeof q->path, "%s", name);
    }
    q->bias = info->dlpi_addr;
    q->found = 1;
    return 1;
}

/* GCC's clone suffixes, as kpatch-build reads them: "f.part.N", "f.isra.N",
 * "f.constprop.N", "f.cold" (or "f.cold.N") and "f.lto_priv.N", chained
 * ("f.constprop.0.isra.0"). The length of the parent's name when every
 * dotted component after it is one of those (or a number), else 0; *lto_only
 * says whether all of them were lto_priv. */
static size_t clone_parent_length(const char *name, int *lto_only)
{
    static const char *const suffixes[] = {"part", "isra", "constprop", "cold", "lto_priv"};
    for (const char *dot = strchr(name, '.'); dot && dot != name; dot = strchr(dot + 1, '.')) {
        int all_known = 1, lto = 1;
        for (const char *c = dot + 1; *c && all_known;) {
            size_t len = strcspn(c, ".");
            int known = strspn(c, "0123456789") == len;
            for (size_t i = 0; !known && i < sizeof suffixes / sizeof *suffixes; i++) {
                if (strlen(suffixes[i]) == len && strncmp(c, suffixes[i], len) == 0) {
                    known = 1;
                    lto &= i == 4;
                }
            }
            all_known = known;
            c += len + (c[len] == '.');
        }
        if (all_known) {
            *lto_only = lto;
            return (size_t)(dot - name);
        }
    }
    return 0;
}

static Elf_Scn *symbol_table(Elf *elf, GElf_Shdr *shdr)
{
    Elf_Scn *dynsym = NULL;
    GElf_Shdr dynsym_hdr;
    for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn; scn = elf_nextscn(elf, scn)) {
        GElf_Shdr h;
        if (!gelf_getshdr(scn, &h))
            continue;
        if (h.sh_type == SHT_SYMTAB) {
            *shdr = h;
            return scn;
        }
        if (h.sh_type == SHT_DYNSYM) {
            dynsym = scn;
            dynsym_hdr = h;
        }
    }
    if (dynsym)
        *shdr = dynsym_hdr;
    return dynsym;
}

int lps_elf_for_each_function_symbol(Elf *elf, lps_elf_symbol_cb cb, void *ctx)
{
    GElf_Shdr shdr;
    Elf_Scn *scn = symbol_table(elf, &shdr);
    Elf_Data *data = scn ? elf_getdata(scn, NULL) : NULL;
    if (!data || shdr.sh_entsize == 0)
        return -ENOEXEC;
    char qualified[1024];
    /* The source file of the local symbols that follow (STT_FILE). */
    const char *file = NULL;
    size_t count = shdr.sh_size / shdr.sh_entsize;
    for (size_t i = 0; i < count; i++) {
        GElf_Sym sym;
        if (!gelf_getsym(data, (int)i, &sym))
            continue;
        if (GELF_ST_TYPE(sym.st_info) == STT_FILE)
            file = elf_strptr(elf, shdr.sh_link, sym.st_name);
        if (GELF_ST_TYPE(sym.st_info) != STT_FUNC || sym.st_size == 0 || sym.st_shndx == SHN_UNDEF)
            continue;
        const char *name = elf_strptr(elf, shdr.sh_link, sym.st_name);
        if (!name || !*name)
            continue;
        const char *local = NULL;
        if (GELF_ST_BIND(sym.st_info) == STB_LOCAL && file && *file) {
            snprintf(qualified, sizeof qualified, "%s:%s", file, name);
            local = qualified;
        }
        int r = cb(name, local, sym.st_value, sym.st_size, ctx);
        if (r != 0)
            return r;
    }
    return 0;
}

struct walk {
    uintptr_t bias;
    const char *name_glob;
    lps_elf_function_cb cb;
    void *ctx;
};

static int register_symbol(const char *name, const char *qualified, uint64_t value, uint64_t size, void *ctx)
{
    (void)size;
    struct walk *w = ctx;
    char parent[512];
    /* Two static functions of one name: the second is registered under
     * its symbol name (LTO's "f.lto_priv.1") or as "file.c:f". */
    const char *fallback = qualified;
    int lto_only = 0;
    size_t parent_len = clone_parent_length(name, &lto_only);
    if (parent_len != 0) {
        /* A clone's instrumentation was inserted before GCC cloned the
         * body, so its hooks pass the parent's address: its calls are
         * already the parent's and it is not registered. An lto_priv
         * symbol is no clone but the function itself, renamed by LTO. */
        if (!lto_only || parent_len >= sizeof parent)
            return 0;
        memcpy(parent, name, parent_len);
        parent[parent_len] = '\0';
        fallback = name;
        name = parent;
    }
    if (w->name_glob && fnmatch(w->name_glob, name, 0) != 0)
        return 0;
    return w->cb(name, fallback, (const void *)(w->bias + value), w->ctx);
}

int lps_elf_for_each_function(const char *object, const char *name_glob, lps_elf_function_cb cb, void *ctx)
{
    /* The object is only located under the loader's lock; its file is read
     * after, so cb may call anything. */
    struct object_query q = {.object = object};
    dl_iterate_phdr(find_object, &q);
    if (!q.found)
        return -ENOENT;
    if (elf_version(EV_CURRENT) == EV_NONE)
        return -ENOEXEC;
    int fd = open(q.path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOMEM ? -ENOMEM : -ENOEXEC;
    Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
    struct walk w = {.bias = q.bias, .name_glob = name_glob, .cb = cb, .ctx = ctx};
    int r = elf && elf_kind(elf) == ELF_K_ELF ? lps_elf_for_each_function_symbol(elf, register_symbol, &w) : -ENOEXEC;
    if (elf)
        elf_end(elf);
    close(fd);
    return r;
}
