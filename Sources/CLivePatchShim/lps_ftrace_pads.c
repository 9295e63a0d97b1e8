/*
 * Which functions have a pad, and where: looked up by pad address from the
 * trampoline and the int3 handler (lock-free, insert-only, as lps_addr_table)
 * and by function for the patcher and for stack checking.
 */
#include "lps_ftrace_shim.h"
#include "lps_shim.h"

#include <errno.h>
#include <string.h>

typedef struct {
    const void *pad; /* the key; written last, with release */
    struct lp_func *f;
} pad_slot_t;

/* Twice the functions: probing always ends at an empty slot. */
static pad_slot_t by_pad[LPS_ADDR_SLOTS];

typedef struct {
    const void *pad; /* NULL: f has no pad */
    const void *func;
    size_t size;
    unsigned char nops[5]; /* the pad as compiled */
} pad_info_t;

/* By function index. */
static pad_info_t by_func[LP_MAX_FUNCS];
/* Function indices in discovery order. */
static uint32_t order[LP_MAX_FUNCS];
static uint32_t count;

int lps_ftrace_pad_publish(struct lps_ftrace_cell *cell, const void *func, size_t size, struct lp_func *f)
{
    const void *pad = cell->pad;
    uint32_t i = lps_addr_hash(pad);
    pad_slot_t *s;
    for (;; i++) {
        s = &by_pad[i & (LPS_ADDR_SLOTS - 1)];
        if (s->pad == NULL)
            break;
        if (s->pad == pad)
            return -EEXIST;
    }
    if (by_func[f->index].pad != NULL)
        return -EEXIST;
    by_func[f->index] = (pad_info_t){.pad = pad, .func = func, .size = size};
    memcpy(by_func[f->index].nops, pad, 5);
    order[count++] = f->index;
    s->f = f;
    /* Pairs with the acquire load in lps_ftrace_pad_func(): a reader that
     * finds the key finds f. */
    __atomic_store_n(&s->pad, pad, __ATOMIC_RELEASE);
    /* Read by the trampoline only once the pad is armed, after this under
     * the same lock, and the arming's serialisation orders it. */
    __atomic_store_n(&cell->f, f, __ATOMIC_RELAXED);
    return 0;
}

struct lp_func *lps_ftrace_pad_func(const void *pad)
{
    for (uint32_t i = lps_addr_hash(pad);; i++) {
        pad_slot_t *s = &by_pad[i & (LPS_ADDR_SLOTS - 1)];
        /* Pairs with the release store in lps_ftrace_pad_publish(). */
        const void *key = __atomic_load_n(&s->pad, __ATOMIC_ACQUIRE);
        if (key == pad)
            return s->f;
        if (key == NULL)
            return NULL;
    }
}

const void *lps_ftrace_pad_of(const struct lp_func *f) { return by_func[f->index].pad; }

const unsigned char *lps_ftrace_pad_nops(const struct lp_func *f) { return by_func[f->index].nops; }

struct lp_func *lps_ftrace_func_containing(const void *addr)
{
    for (uint32_t k = 0; k < count; k++) {
        const pad_info_t *p = &by_func[order[k]];
        if ((const char *)addr >= (const char *)p->func && (const char *)addr < (const char *)p->func + p->size)
            return &lps_func_table[order[k]];
    }
    return NULL;
}

void lps_ftrace_for_each_pad(void (*fn)(struct lp_func *f, const void *func, size_t size, void *ctx), void *ctx)
{
    for (uint32_t k = 0; k < count; k++)
        fn(&lps_func_table[order[k]], by_func[order[k]].func, by_func[order[k]].size, ctx);
}
