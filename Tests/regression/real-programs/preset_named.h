/*
 * preset_named.h — the preset a real program's patcher is told to use, by
 * its name in an environment variable (pigz_patcher.c, lua_patcher.c).
 */
#ifndef PRESET_NAMED_H
#define PRESET_NAMED_H

#include <livepatch.h>
#include <string.h>

static inline lp_model_t preset_named(const char *name)
{
    if (strcmp(name, "UPSTREAM") == 0) return LP_MODEL_UPSTREAM;
    if (strcmp(name, "KGRAFT") == 0) return LP_MODEL_KGRAFT;
    if (strcmp(name, "KPATCH") == 0) return LP_MODEL_KPATCH;
    if (strcmp(name, "HIRAMATSU") == 0) return LP_MODEL_HIRAMATSU;
    return LP_MODEL_INVALID;
}

#endif
