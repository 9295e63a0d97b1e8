/*
 * The torture's models and their names. Every name it prints or parses is
 * the library's, from lp_model_describe: a preset's ("KGRAFT"), a cell's
 * ("PATCHED_SET x THREAD", or the preset it equals) or a registered one's.
 * The library has no lookup by name, so the parser compares against the
 * names of the candidates below.
 */
#include "torture.h"

#include "deadline_reverse.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The worked example of a user-defined model, with a deadline short enough
 * that some of its transitions reverse themselves. */
#define TORTURE_DEADLINE_NS 5000000ull

static char names_of[NMODELS][LP_MODEL_NAME_MAX];

size_t torture_models(lp_model_t *out, const char **names)
{
    size_t n = 0;
    for (unsigned l = 0; l < 3; l++)
        for (unsigned w = 0; w < 3; w++)
            out[n++] = lp_model((lp_leave_t)l, (lp_switch_t)w);
    const lp_model_t presets[9] = { LP_MODEL_IMMEDIATE, LP_MODEL_KGRAFT, LP_MODEL_KPATCH, LP_MODEL_UPSTREAM,
                                    LP_MODEL_HIRAMATSU, LP_MODEL_RENEW, deadline_reverse_model(TORTURE_DEADLINE_NS),
                                    LP_MODEL_UPSTREAM_STACK, LP_MODEL_KPATCH_STACK };
    for (size_t p = 0; p < 9; p++)
        out[n++] = presets[p];
    for (size_t i = 0; i < n; i++) {
        lp_model_info_t info;
        if (out[i] == LP_MODEL_INVALID || lp_model_describe(out[i], &info) != 0) {
            fprintf(stderr, "torture: cannot register or describe model %zu\n", i);
            exit(2);
        }
        snprintf(names_of[i], sizeof names_of[i], "%s", info.name);
        names[i] = names_of[i];
    }
    return n;
}

/* The library's spelling in any case, or with a cell's " x " written "-"
 * ("patched_set-thread"), which a command line takes unquoted. */
int model_name_matches(const char *name, const char *tok, size_t len)
{
    if (strlen(name) == len && strncasecmp(tok, name, len) == 0)
        return 1;
    const char *x = strstr(name, " x ");
    size_t head = x ? (size_t)(x - name) : 0;
    return x && strlen(name) - 2 == len && strncasecmp(tok, name, head) == 0 && tok[head] == '-' &&
           strncasecmp(tok + head + 1, x + 3, len - head - 1) == 0;
}

void model_name_list(const char *const *names, size_t n, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = 0;
    for (size_t i = 0; i < n && used < len; i++) {
        size_t j;
        for (j = 0; j < i && strcmp(names[j], names[i]) != 0; j++)
            ;
        if (j == i)
            used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "", names[i]);
    }
}
