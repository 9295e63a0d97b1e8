/* Quick start: patch a function under kGraft's model while 8 threads call it. */
#include <livepatch.h>
#include <pthread.h>
#include <stdio.h>

static int old_answer(void) { return 41; }
static int new_answer(void) { return 42; }
static lp_func_t *answer;
static volatile int stop;

static void *worker(void *arg) {
    long *went_back = arg;                       /* got 41 after 42: never, per thread */
    int seen_new = 0;
    while (!stop) {
        lp_kernel_enter();                       /* a "system call" */
        int (*impl)(void) = (int (*)(void))lp_func_enter(answer);
        int v = impl();
        lp_func_exit(answer);
        lp_kernel_exit();                        /* kGraft's switch point */
        if (v == 42) seen_new = 1; else if (seen_new) ++*went_back;
    }
    return NULL;
}

int main(void) {
    pthread_t t[8]; long went_back[8] = {0}, total = 0;
    answer = lp_func_register("answer", (const void *)old_answer);
    for (int i = 0; i < 8; i++) pthread_create(&t[i], NULL, worker, &went_back[i]);
    lp_patch_t *p = lp_patch_create("fix-answer", LP_MODEL_KGRAFT, 0);
    lp_patch_add_func(p, answer, (const void *)new_answer);
    lp_patch_enable(p);
    int rc = lp_transition_wait(5000000000ull);  /* at most 5 s */
    int now = ((int (*)(void))lp_func_enter(answer))();
    lp_func_exit(answer);
    stop = 1;
    for (int i = 0; i < 8; i++) { pthread_join(t[i], NULL); total += went_back[i]; }
    printf("wait: %s; answer is now %d; threads that went back: %ld\n", lp_strerror(rc), now, total);
    return rc == 0 && now == 42 && total == 0 ? 0 : 1;
}
