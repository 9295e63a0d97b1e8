/*
 * urcu_program.c — a program that uses liburcu itself: its threads register
 * with urcu-memb, as liburcu requires, before they touch the engine, and
 * stay registered after. The engine's scans and shadow calls use such a
 * thread as it is (a second urcu_memb_register_thread would abort in
 * liburcu's assertion) and leave it registered.
 */
#include "check.h"

#include <pthread.h>
#include <urcu/urcu-memb.h>

static int old_impl(void) { return 1; }
static int new_impl(void) { return 2; }

static lp_func_t *f;

/* The whole patch cycle on a thread the program registered with urcu-memb. */
static int patch_cycle(const char *name)
{
    lp_patch_t *p = lp_patch_create(name, LP_MODEL_KGRAFT, 0);
    if (!p || lp_patch_add_func(p, f, (const void *)new_impl) != 0 || lp_patch_enable(p) != 0)
        return 1;
    if (lp_transition_wait(0) != 0 || lp_func_enter(f) != (const void *)new_impl)
        return 2;
    lp_func_exit(f);
    lp_snapshot_t snap = { 0 };
    if (lp_status_snapshot(&snap) < 0)
        return 3;
    int obj;
    if (lp_shadow_alloc(&obj, 1, 8, NULL, NULL) == NULL || lp_shadow_get(&obj, 1) == NULL)
        return 4;
    lp_shadow_free(&obj, 1, NULL);
    if (lp_patch_disable(p) != 0 || lp_transition_wait(0) != 0 || lp_patch_destroy(p) != 0)
        return 5;
    /* Still registered: liburcu's read side and grace periods work as before. */
    urcu_memb_read_lock();
    urcu_memb_read_unlock();
    urcu_memb_synchronize_rcu();
    return 0;
}

static void *worker(void *arg)
{
    (void)arg;
    urcu_memb_register_thread();
    int rc = patch_cycle("from-a-urcu-thread");
    urcu_memb_unregister_thread(); /* liburcu asserts here if the engine had unregistered it */
    return (void *)(long)rc;
}

static int urcu_threads(void)
{
    urcu_memb_register_thread();
    f = lp_func_register("urcu-f", (const void *)old_impl);
    if (!f)
        return 10;
    int rc = patch_cycle("from-main");
    pthread_t t;
    void *trc = NULL;
    pthread_create(&t, NULL, worker, NULL);
    pthread_join(t, &trc);
    urcu_memb_unregister_thread();
    return rc ? rc : (int)(long)trc;
}

int main(void)
{
    int rc = in_child(urcu_threads, 30);
    char line[160];
    snprintf(line, sizeof line,
             "threads registered with urcu-memb by the program patch, snapshot and use shadows (child status %d)", rc);
    check(rc == 0, line);
    return check_summary();
}
