/*
 * The public headers and the header swiftc writes for the @c exports in one
 * translation unit. scripts/check-header puts every CInclude header in front
 * of this file (-include), so each exported function is declared twice, once
 * by hand and once by Swift: where the two differ for a C caller (a return or
 * parameter type, a missing const, a prototype against no prototype) the
 * compiler stops with "conflicting types". Spelling that means nothing to C
 * (parameter names, int32_t for int, Swift's nullability and attributes) is
 * not a conflict, so nothing needs normalising first.
 */
#include <LivePatch-Swift.h>

/* The control run (-DAGREE_CONTROL) adds a third declaration that conflicts
 * with both: if that compiles, the headers were not both seen and the check
 * above proves nothing. */
#ifdef AGREE_CONTROL
void lp_func_exit(int);
#endif
