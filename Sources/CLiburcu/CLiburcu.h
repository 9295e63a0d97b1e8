/*
 * CLiburcu — liburcu's memb flavour, seen through pkg-config (liburcu-memb),
 * and its RCU lock-free hash table (liburcu-cds), which the shadow variables
 * use with the memb flavour (cds_lfht_new_flavor(..., &urcu_memb_flavor)).
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
#include <urcu/rculfhash.h>
#endif
