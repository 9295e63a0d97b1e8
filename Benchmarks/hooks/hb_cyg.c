/*
 * The body of the "cyg hooks" rows: an empty function compiled with
 * -finstrument-functions (scripts/bench builds this file alone with it), so
 * that each call also calls __cyg_profile_func_enter and _exit, which
 * swift-livepatch defines. One copy stays unregistered (the hooks' miss: a
 * hash and a table load), the other is registered with
 * lp_func_register_auto (the hooks run lp_func_enter / lp_func_exit).
 */
#include "hb.h"

__attribute__((noinline, aligned(64))) void hb_cyg_unregistered(void *f)
{
    (void)f;
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline, aligned(64))) void hb_cyg_registered(void *f)
{
    (void)f;
    __asm__ volatile("" ::: "memory");
}
