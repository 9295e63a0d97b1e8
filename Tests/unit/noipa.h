/*
 * noipa.h — keeps a function under test a real, called function: not
 * inlined, not cloned (a GCC clone would be called instead of the symbol
 * whose pad is armed), and no caller assuming anything of its body (a call
 * of a patched function must run whatever implementation it gets).
 */
#ifndef LP_NOIPA_H
#define LP_NOIPA_H

#ifdef __clang__
/* clang has no noipa; a weak definition may be replaced at link time, so
 * no caller looks into it. */
#define NOIPA __attribute__((noinline, weak))
#else
#define NOIPA __attribute__((noipa))
#endif

#endif
