/*
 * Counts heap allocations made by the calling thread while hb_alloc_counting
 * is set, to check docs/DESIGN.md section 6's "zero allocations on the hot path"
 * at run time, next to scripts/check-hot-path's static check.
 *
 * hookbench defines the allocation entry points itself; the executable's
 * definitions win over libc's for every caller, the engine included (linked
 * in, or as a shared object). They forward to glibc's __libc_* entry points,
 * so the allocator is unchanged. Elsewhere than glibc nothing is interposed
 * and hb_alloc_supported is 0. free() is not interposed: it needs no count.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "hb.h"

__thread int hb_alloc_counting __attribute__((tls_model("initial-exec")));
__thread uint64_t hb_alloc_count __attribute__((tls_model("initial-exec")));

#if defined(__GLIBC__) && !defined(HB_NO_ALLOC_COUNT)
const int hb_alloc_supported = 1;

extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void *__libc_memalign(size_t align, size_t n);

#define COUNT()                                                                                                        \
    do {                                                                                                               \
        if (hb_alloc_counting) hb_alloc_count++;                                                                       \
    } while (0)

void *malloc(size_t n)
{
    COUNT();
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t size)
{
    COUNT();
    return __libc_calloc(n, size);
}

void *realloc(void *p, size_t n)
{
    COUNT();
    return __libc_realloc(p, n);
}

void *memalign(size_t align, size_t n)
{
    COUNT();
    return __libc_memalign(align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
    COUNT();
    return __libc_memalign(align, n);
}

void *valloc(size_t n)
{
    COUNT();
    return __libc_memalign(4096, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
    COUNT();
    if (align < sizeof(void *) || (align & (align - 1)) != 0) return EINVAL;
    void *p = __libc_memalign(align, n);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}
#else
const int hb_alloc_supported = 0;
#endif
