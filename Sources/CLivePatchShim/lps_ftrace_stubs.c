/*
 * The landing stubs of armed pads: an armed pad is `jmp rel32` with rel32 =
 * 0x90909090 (a GCC pad's own NOPs), which lands LPS_FTRACE_REL32 + 5 bytes
 * from the pad, about 1.8 GiB below the text. Each object with pads gets a
 * mapping there: first a mirror of its text, with at each pad's landing
 * address that pad's slot, or a `jmp` to it when the next pad is closer
 * than a slot (pads may be as close as 6 bytes); then the slots of those,
 * 16 bytes each. A slot is `movabs $cell, %r11; jmp` to
 * lps_ftrace_trampoline when it is within reach (the library linked into
 * the executable), else to the last page, whose `jmp *` reaches it at any
 * distance. The trampoline finds the function in the pad's cell. Written
 * once, before any pad of the object is armed, then read+exec for good.
 */
#define _GNU_SOURCE
#include "lps_ftrace_stubs.h"
#include "lps_ftrace_shim.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

enum { SLOT_SIZE = 16 };

/* Whether a rel32 jump from `from` (the end of the instruction) reaches `to`. */
static int reachable(const unsigned char *from, const unsigned char *to)
{
    intptr_t d = (intptr_t)(to - from);
    return d == (intptr_t)(int32_t)d;
}

static void put_jmp(unsigned char *at, const unsigned char *to)
{
    int32_t rel = (int32_t)(to - (at + 5));
    at[0] = 0xe9;
    memcpy(at + 1, &rel, sizeof rel);
}

int lps_ftrace_map_stubs(struct lps_ftrace_cell *cells, size_t count)
{
    if (count == 0)
        return 0;
    lps_ftrace_note_trampoline();
    const uintptr_t first_pad = (uintptr_t)cells[0].pad, last_pad = (uintptr_t)cells[count - 1].pad;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    /* cells are sorted by pad: the landing addresses span [lo, hi). */
    if (first_pad + 5 < (uintptr_t)-LPS_FTRACE_REL32 + page)
        return -ERANGE; /* text too low (a non-PIE executable): no room below it */
    uintptr_t lo = (first_pad + 5 + (uintptr_t)LPS_FTRACE_REL32) & ~(page - 1);
    uintptr_t hi = (last_pad + 5 + (uintptr_t)LPS_FTRACE_REL32 + SLOT_SIZE + page - 1) & ~(page - 1);
    size_t slots = (count * SLOT_SIZE + page - 1) & ~(page - 1);
    size_t len = hi - lo + slots + page;
    unsigned char *m = mmap((void *)lo, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (m == MAP_FAILED)
        return -errno;
    if ((uintptr_t)m != lo) { /* a kernel before 4.17 ignores MAP_FIXED_NOREPLACE */
        munmap(m, len);
        return -EEXIST;
    }
    /* jmp *0(%rip); .quad lps_ftrace_trampoline */
    unsigned char *far = m + len - page;
    uintptr_t trampoline = (uintptr_t)lps_ftrace_trampoline;
    far[0] = 0xff;
    far[1] = 0x25;
    memset(far + 2, 0, 4);
    memcpy(far + 6, &trampoline, sizeof trampoline);
    for (size_t i = 0; i < count; i++) {
        unsigned char *landing = (unsigned char *)((uintptr_t)cells[i].pad + 5 + (uintptr_t)LPS_FTRACE_REL32);
        /* The slot's code at the landing itself when the next pad is far
         * enough (functions are mostly 16-byte aligned): one jump less. */
        size_t room = i + 1 < count ? (size_t)((const char *)cells[i + 1].pad - (const char *)cells[i].pad) : SLOT_SIZE;
        unsigned char *slot = room >= SLOT_SIZE ? landing : m + (hi - lo) + i * SLOT_SIZE;
        if (slot != landing)
            put_jmp(landing, slot);
        struct lps_ftrace_cell *cell = &cells[i];
        slot[0] = 0x49; /* movabs $cell, %r11 */
        slot[1] = 0xbb;
        memcpy(slot + 2, &cell, sizeof cell);
        put_jmp(slot + 10, reachable(slot + 15, (const unsigned char *)trampoline) ? (const unsigned char *)trampoline : far);
    }
    if (mprotect(m, len, PROT_READ | PROT_EXEC) != 0) {
        munmap(m, len);
        return -EPERM;
    }
    return 0;
}
