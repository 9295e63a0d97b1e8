/* Patch a function under kGraft's model while 8 threads keep calling it. */
#include <livepatch.h>
#include <pthread.h>
#include <stdio.h>

static int old_answer(void) { return 41; }
static int new_answer(void) { return 42; }
static lp_func_t *answer;
static volatile int stop;

static void *worker(void *went_back) {          /* counts 41 seen after 42: must stay 0 */
    for (int seen_new = 0, v; !stop; seen_new |= v == 42) {
        lp_kernel_enter();                       /* a "system call": kGraft's unit */
        v = ((int (*)(void))lp_func_enter(answer))();
        lp_func_exit(answer);
        lp_kernel_exit();                        /* the switch point */
        if (v == 41 && seen_new) ++*(long *)went_back;
    }
    return NULL;
}

int main(void) {
    pthread_t t[8]; long went_back[8] = {0}, total = 0;
    answer = lp_func_register("answer", (const void *)old_answer);
    for (int i = 0; i < 8; i++) pthread_create(&t[i], NULL, worker, &went_back[i]);
    lp_patch_t *p = lp_patch_create("fix-answer", LP_MODEL_KGRAFT, 0);
    lp_patch_add_func(p, answer, (const void *)new_answer);
    lp_patch_enable(p);                          /* starts the transition */
    int rc = lp_transition_wait(5000000000ull);  /* ... and drives it home (5 s at most) */
    int now = ((int (*)(void))lp_func_enter(answer))();
    lp_func_exit(answer);
    stop = 1;
    for (int i = 0; i < 8; i++) { pthread_join(t[i], NULL); total += went_back[i]; }
    printf("wait: %s; answer is now %d; calls that went back: %ld\n", lp_strerror(rc), now, total);
    return rc == 0 && now == 42 && total == 0 ? 0 : 1;
}
