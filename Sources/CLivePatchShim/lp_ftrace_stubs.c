/*
 * The landing pads of armed pads: an armed pad is `call rel32` with rel32 =
 * 0x90909090 (its compiled NOPs), which lands LP_FTRACE_REL32 + 5 bytes
 * from the pad, about 1.8 GiB below the text. Each object with pads gets a
 * mapping there, mirroring its text: at each pad's landing address a `jmp`
 * to the mapping's last page, which jumps to lp_ftrace_trampoline (any
 * distance). Written once, before any pad of the object is armed, then made
 * read+exec for good.
 */
#define _GNU_SOURCE
#include "lp_ftrace_stubs.h"
#include "lp_ftrace_shim.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int lp_ftrace_map_stubs(const uintptr_t *pads, size_t count)
{
    if (count == 0)
        return 0;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    /* pads is sorted: the landing addresses span [lo, hi). */
    if (pads[0] + 5 < (uintptr_t)-LP_FTRACE_REL32 + page)
        return -ERANGE; /* text too low (a non-PIE executable): no room below it */
    uintptr_t lo = (pads[0] + 5 + (uintptr_t)LP_FTRACE_REL32) & ~(page - 1);
    uintptr_t hi = (pads[count - 1] + 5 + (uintptr_t)LP_FTRACE_REL32 + 5 + page - 1) & ~(page - 1);
    size_t len = hi - lo + page;
    unsigned char *m = mmap((void *)lo, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (m == MAP_FAILED)
        return -errno;
    if ((uintptr_t)m != lo) { /* a kernel before 4.17 ignores MAP_FIXED_NOREPLACE */
        munmap(m, len);
        return -EEXIST;
    }
    /* jmp *0(%rip); .quad lp_ftrace_trampoline */
    unsigned char *far = m + len - page;
    uintptr_t trampoline = (uintptr_t)lp_ftrace_trampoline;
    far[0] = 0xff;
    far[1] = 0x25;
    memset(far + 2, 0, 4);
    memcpy(far + 6, &trampoline, sizeof trampoline);
    for (size_t i = 0; i < count; i++) {
        unsigned char *stub = (unsigned char *)(pads[i] + 5 + (uintptr_t)LP_FTRACE_REL32);
        int32_t rel = (int32_t)(far - (stub + 5));
        stub[0] = 0xe9; /* jmp rel32 */
        memcpy(stub + 1, &rel, sizeof rel);
    }
    if (mprotect(m, len, PROT_READ | PROT_EXEC) != 0) {
        munmap(m, len);
        return -EPERM;
    }
    return 0;
}
