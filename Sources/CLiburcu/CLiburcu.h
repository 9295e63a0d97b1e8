/*
 * CLiburcu — liburcu's memb flavour, seen through pkg-config (liburcu-memb).
 *
 * _LGPL_SOURCE makes the read-side primitives static inlines instead of calls
 * into the shared object; memb is the flavour that needs no signal and no
 * quiescent-state annotations from readers (see README, "Why memb").
 */
#ifndef CLIBURCU_SHIM_H
#define CLIBURCU_SHIM_H
#define _LGPL_SOURCE 1
#include <urcu/urcu-memb.h>
#include <urcu/rculist.h>
#endif
