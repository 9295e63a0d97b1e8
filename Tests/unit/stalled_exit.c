// harness-cflags: -Wl,--wrap=lps_rcu_reader_offline
/*
 * lp_transition_for_each_stalled reports the threads of a fresh scan. A
 * stalled thread that exited between the scan and the report was reported
 * all the same, from its retired record (and, had its slot been reused, as
 * whichever thread took it). Now each is reported only while its record is
 * still live and of the same generation, as the nudges check.
 *
 * The exit is made to happen in that window: the engine's
 * lps_rcu_reader_offline (an internal symbol of liblivepatch.a), which the
 * scan calls once it has walked the threads, is wrapped (the line above),
 * and when armed lets the stalled thread leave and waits until it has
 * exited.
 */
#include "lifecycle.h"

static baton_t leaver_baton = BATON_INIT;
static pthread_t leaver;
static _Thread_local int exit_leaver_at_scan_end;
static int leaver_gone_in_window;

void __real_lps_rcu_reader_offline(void);
void __wrap_lps_rcu_reader_offline(void)
{
    __real_lps_rcu_reader_offline();
    if (exit_leaver_at_scan_end) {
        exit_leaver_at_scan_end = 0;
        baton_set(&leaver_baton, 2);
        pthread_join(leaver, NULL);
        leaver_gone_in_window = 1;
    }
}

static void *leaver_main(void *arg)
{
    (void)arg;
    sleep_in_kernel("leaver", &leaver_baton);
    return NULL;
}

static int saw_leaver;
static int find_leaver(const lp_thread_info_t *info, void *ctx)
{
    (void)ctx;
    saw_leaver |= strcmp(info->name, "leaver") == 0;
    return 0;
}

int main(void)
{
    f = lp_func_register("f", (const void *)impl_old);
    pthread_create(&leaver, NULL, leaver_main, NULL);
    baton_wait(&leaver_baton, 1);
    lp_patch_t *p = patch_on("stalled-exit", LP_MODEL_KGRAFT);
    check_rc("the transition waits for the leaver", lp_transition_wait(SHORT_WAIT), -ETIMEDOUT);
    check_rc("lp_transition_for_each_stalled", lp_transition_for_each_stalled(find_leaver, NULL), 0);
    check(saw_leaver, "it reports the leaver");

    saw_leaver = 0;
    exit_leaver_at_scan_end = 1;
    check_rc("lp_transition_for_each_stalled, the leaver exiting after its scan",
             lp_transition_for_each_stalled(find_leaver, NULL), 0);
    check(leaver_gone_in_window, "the leaver exited between the scan and the report");
    check(!saw_leaver, "the report leaves out the thread that exited");
    check_rc("the transition completes", lp_transition_wait(HANG_BOUND), 0);
    patch_off("stalled-exit", p);
    return check_summary();
}
