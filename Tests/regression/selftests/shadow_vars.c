/*
 * shadow_vars.c — the kernel's livepatch selftest "basic shadow variable
 * API" (tools/testing/selftests/livepatch/test-shadow-vars.sh, module
 * lib/livepatch/test_klp_shadow_vars.c), ported to lp_shadow_*.
 *
 * The flow is the kernel's, pass by pass: three objects each get a "char"
 * shadow (id 0x1234: get_or_alloc for even objects, alloc for odd ones) and an
 * "int" shadow (id 0x1235) that point to new fields; get finds them,
 * get_or_alloc returns them without running its ctor, free removes the 0x1234
 * ones with a dtor, free_all the 0x1235 ones without. Each call is echoed as
 * the kernel's wrappers do ("klp_" becomes "lp_", and there are no gfp
 * flags). Where the kernel prints PTRn (a number per pointer, in order of
 * first appearance) this port prints a stable name: obj[i], nfield1[i],
 * shadow_ctor, and for the shadows' data sv1[i]/sv2[i], the name the test
 * expects the new shadow to have, given to it in the ctor. The golden log is
 * shadow_vars.log; the program exits non-zero where the kernel module's init
 * fails.
 */
#include <livepatch.h>

#include <errno.h>
#include <stdio.h>

#define MOD_TEST "test_klp_shadow_vars"
#define NUM_OBJS 3
#define SV_ID1 0x1234
#define SV_ID2 0x1235

/* ---- stable pointer names (the kernel's ptr_id) ------------------------------ */

#define MAX_NAMES 64
static struct {
    const void *ptr;
    char name[24];
} names[MAX_NAMES];
static int nnames, unnamed;

static void name_ptr(const void *ptr, const char *fmt, int i)
{
    if (nnames < MAX_NAMES) {
        names[nnames].ptr = ptr;
        snprintf(names[nnames].name, sizeof names[nnames].name, fmt, i);
        nnames++;
    }
}

/* The name given to ptr, or a new "unnamed<n>": a pointer the test did not
 * expect still prints the same way on every run. */
static const char *ptr_name(const void *ptr)
{
    if (!ptr)
        return "NULL";
    for (int k = 0; k < nnames; k++)
        if (names[k].ptr == ptr)
            return names[k].name;
    name_ptr(ptr, "unnamed%d", unnamed++);
    return nnames <= MAX_NAMES ? names[nnames - 1].name : "?";
}

/* The name the ctor gives the shadow it is building. */
static const char *next_sv_fmt;
static int next_sv_index;

/* ---- echoing wrappers, as the kernel module's ---------------------------------- */

#define pr_info(...) (printf(MOD_TEST ": " __VA_ARGS__), putchar('\n'))

static void *shadow_get(void *obj, unsigned long id)
{
    void *sv = lp_shadow_get(obj, id);
    pr_info("lp_shadow_get(obj=%s, id=0x%lx) = %s", ptr_name(obj), id, ptr_name(sv));
    return sv;
}

static void *shadow_alloc(void *obj, unsigned long id, size_t size, lp_shadow_ctor_t ctor, void *ctor_data)
{
    int **var = ctor_data;
    void *sv = lp_shadow_alloc(obj, id, size, ctor, ctor_data);
    pr_info("lp_shadow_alloc(obj=%s, id=0x%lx, size=%zx), ctor=%s, ctor_data=%s = %s", ptr_name(obj), id, size,
            ptr_name((void *)ctor), ptr_name(*var), ptr_name(sv));
    return sv;
}

static void *shadow_get_or_alloc(void *obj, unsigned long id, size_t size, lp_shadow_ctor_t ctor, void *ctor_data)
{
    int **var = ctor_data;
    void *sv = lp_shadow_get_or_alloc(obj, id, size, ctor, ctor_data);
    pr_info("lp_shadow_get_or_alloc(obj=%s, id=0x%lx, size=%zx), ctor=%s, ctor_data=%s = %s", ptr_name(obj), id,
            size, ptr_name((void *)ctor), ptr_name(*var), ptr_name(sv));
    return sv;
}

static void shadow_free(void *obj, unsigned long id, lp_shadow_dtor_t dtor)
{
    lp_shadow_free(obj, id, dtor);
    pr_info("lp_shadow_free(obj=%s, id=0x%lx, dtor=%s)", ptr_name(obj), id, ptr_name((void *)dtor));
}

static void shadow_free_all(unsigned long id, lp_shadow_dtor_t dtor)
{
    lp_shadow_free_all(id, dtor);
    pr_info("lp_shadow_free_all(id=0x%lx, dtor=%s)", id, ptr_name((void *)dtor));
}

/* Shadow variable constructor: remember simple pointer data. */
static int shadow_ctor(void *obj, void *shadow_data, void *ctor_data)
{
    (void)obj;
    int **sv = shadow_data;
    int **var = ctor_data;
    if (!var)
        return -EINVAL;
    *sv = *var;
    if (next_sv_fmt) {
        name_ptr(sv, next_sv_fmt, next_sv_index);
        next_sv_fmt = NULL;
    }
    pr_info("shadow_ctor: %s -> %s", ptr_name(sv), ptr_name(*var));
    return 0;
}

static void shadow_dtor(void *obj, void *shadow_data)
{
    pr_info("shadow_dtor(obj=%s, shadow_data=%s)", ptr_name(obj), ptr_name(shadow_data));
}

/* The kernel's check after each lookup: the shadow found is the one
 * allocated, and it still points to its field. -EINVAL when none was found. */
static int expect_found(void **sv, void **want, void *field)
{
    if (!sv)
        return -EINVAL;
    if (sv == want && *want == field)
        pr_info("  got expected %s -> %s result", ptr_name(want), ptr_name(*want));
    return 0;
}

/* A field a patch adds to each object, held in shadow variables. */
struct test_object {
    char unused;
};

static int test_shadow_vars(void)
{
    struct test_object objs[NUM_OBJS];
    char nfields1[NUM_OBJS], *pnfields1[NUM_OBJS], **sv1[NUM_OBJS];
    char *pndup[NUM_OBJS];
    int nfields2[NUM_OBJS], *pnfields2[NUM_OBJS], **sv2[NUM_OBJS];
    void **sv;
    int i;

    name_ptr((void *)shadow_ctor, "shadow_ctor", 0);
    name_ptr((void *)shadow_dtor, "shadow_dtor", 0);
    for (i = 0; i < NUM_OBJS; i++) {
        name_ptr(&objs[i], "obj[%d]", i);
        name_ptr(&nfields1[i], "nfield1[%d]", i);
        name_ptr(&nfields2[i], "nfield2[%d]", i);
    }

    /* With an empty shadow variable hash table, expect not to find any matches. */
    sv = shadow_get(&objs[0], SV_ID1);
    if (!sv)
        pr_info("  got expected NULL result");

    /* pass 1: init & alloc a char+int pair of svars for each objs */
    for (i = 0; i < NUM_OBJS; i++) {
        pnfields1[i] = &nfields1[i];
        next_sv_fmt = "sv1[%d]", next_sv_index = i;
        if (i % 2)
            sv1[i] = shadow_alloc(&objs[i], SV_ID1, sizeof(pnfields1[i]), shadow_ctor, &pnfields1[i]);
        else
            sv1[i] = shadow_get_or_alloc(&objs[i], SV_ID1, sizeof(pnfields1[i]), shadow_ctor, &pnfields1[i]);
        if (!sv1[i])
            return -ENOMEM;

        pnfields2[i] = &nfields2[i];
        next_sv_fmt = "sv2[%d]", next_sv_index = i;
        sv2[i] = shadow_alloc(&objs[i], SV_ID2, sizeof(pnfields2[i]), shadow_ctor, &pnfields2[i]);
        if (!sv2[i])
            return -ENOMEM;
    }

    /* pass 2: verify we find allocated svars and where they point to */
    for (i = 0; i < NUM_OBJS; i++) {
        if (expect_found(shadow_get(&objs[i], SV_ID1), (void **)sv1[i], pnfields1[i]) ||
            expect_found(shadow_get(&objs[i], SV_ID2), (void **)sv2[i], pnfields2[i]))
            return -EINVAL;
    }

    /* pass 3: verify that 'get_or_alloc' returns already allocated svars */
    for (i = 0; i < NUM_OBJS; i++) {
        pndup[i] = &nfields1[i];
        sv = shadow_get_or_alloc(&objs[i], SV_ID1, sizeof(pndup[i]), shadow_ctor, &pndup[i]);
        if (expect_found(sv, (void **)sv1[i], pnfields1[i]))
            return -EINVAL;
    }

    /* pass 4: free <objs[*], SV_ID1> pairs of svars, verify removal */
    for (i = 0; i < NUM_OBJS; i++) {
        shadow_free(&objs[i], SV_ID1, shadow_dtor);
        sv = shadow_get(&objs[i], SV_ID1);
        if (!sv)
            pr_info("  got expected NULL result");
    }

    /* pass 5: check we still find <objs[*], SV_ID2> pairs */
    for (i = 0; i < NUM_OBJS; i++) {
        if (expect_found(shadow_get(&objs[i], SV_ID2), (void **)sv2[i], pnfields2[i]))
            return -EINVAL;
    }

    /* pass 6: free all the <objs[*], SV_ID2> svar pairs too (no dtor: with
     * more than one to free, the order is not determined). */
    shadow_free_all(SV_ID2, NULL);
    for (i = 0; i < NUM_OBJS; i++) {
        sv = shadow_get(&objs[i], SV_ID2);
        if (!sv)
            pr_info("  got expected NULL result");
    }
    return 0;
}

int main(void)
{
    int ret = test_shadow_vars();
    if (ret) {
        /* The module's error path: leave nothing behind. */
        lp_shadow_free_all(SV_ID1, NULL);
        lp_shadow_free_all(SV_ID2, NULL);
        fprintf(stderr, MOD_TEST ": failed: %s\n", lp_strerror(ret));
    }
    return ret != 0;
}
