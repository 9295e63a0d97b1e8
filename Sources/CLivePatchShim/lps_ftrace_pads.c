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
    unsigned char nops[5]; /* the pad as compiled */
} pad_info_t;

/* By function index. */
static pad_info_t by_func[LP_MAX_FUNCS];

int lps_ftrace_pad_publish(struct lps_ftrace_cell *cell, struct lp_func *f)
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
    by_func[f->index] = (pad_info_t){.pad = pad};
    memcpy(by_func[f->index].nops, pad, 5);
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
