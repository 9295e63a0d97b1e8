/*
 * lp_torture.h — the torture harness, in the spirit of rcutorture: many real
 * pthreads call patched functions while a driver runs random transitions
 * over every consistency model, and a checker verifies invariants I0-I3
 * (DESIGN.md section 2) on what the threads recorded.
 *
 * It uses only the public C ABI (<livepatch.h>), so it runs the same linked
 * into the `livepatch` CLI (livepatch torture ...) and as a bare C program
 * against liblivepatch.a (standalone/torture_main.c).
 */
#ifndef LP_TORTURE_H
#define LP_TORTURE_H

/* Parses argv (see --help), runs, prints the summary; returns the process
 * exit status: 0 clean, 1 violations or unexplained hangs, 2 usage. */
int lp_torture_main(int argc, char **argv);

#endif
