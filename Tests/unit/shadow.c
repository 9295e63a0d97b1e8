/*
 * shadow.c — the shadow variables (lp_shadow_*): every call and every
 * documented misuse, the ctor/dtor protocol, 100k objects, and a concurrent
 * part: readers look shadows up while writers create and free the same keys,
 * and threads race to create one key.
 *
 * The concurrent readers hold lp_shadow_read_lock across lookup and use, so
 * the data they found must stay allocated: the dtor marks it RETIRED (the
 * kernel runs the dtor before the grace period, so a reader may see that),
 * and glibc's M_PERTURB fills freed memory with POISON_BYTE, which a reader
 * must never see. Under ASan (scripts/test builds this file with
 * -fsanitize=address too) a read of freed memory is caught directly.
 * Prints one line per check and ends with "N passed, N failed".
 */
#define _GNU_SOURCE
#include <livepatch.h>
#include "check.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* liburcu (linked with every program that links liblivepatch): waits until
 * every call_rcu callback queued so far has run, so every grace period the
 * shadows wait for has ended. A hang here is a failure. */
extern void urcu_memb_barrier(void);

#define POISON_BYTE 0xa5
#define MAGIC_LIVE 0x4c495645u    /* "LIVE": the ctor ran */
#define MAGIC_RETIRED 0x44454144u /* "DEAD": the dtor ran; still allocated */

/* ---- ctor and dtor that record what they were given ------------------------ */

static int ctor_calls, dtor_calls, ctor_saw_zeroed;
static void *ctor_obj, *ctor_data_seen, *ctor_arg;
static void *dtor_obj, *dtor_data;

static int ctor_record(void *obj, void *shadow_data, void *ctor_data)
{
    ctor_calls++;
    ctor_obj = obj;
    ctor_data_seen = shadow_data;
    ctor_arg = ctor_data;
    ctor_saw_zeroed = ((unsigned char *)shadow_data)[0] == 0 && ((unsigned char *)shadow_data)[15] == 0;
    memcpy(shadow_data, &ctor_data, sizeof ctor_data); /* the data remembers ctor_data */
    return 0;
}

static void dtor_record(void *obj, void *shadow_data)
{
    dtor_calls++;
    dtor_obj = obj;
    dtor_data = shadow_data;
}

static int ctor_fail(void *obj, void *shadow_data, void *ctor_data)
{
    (void)obj, (void)shadow_data;
    ctor_calls++;
    return *(int *)ctor_data;
}

/* Callbacks that call back into the API: writers are refused, readers work. */
static int reentry_errno, reentry_get_ok;
static char reentry_obj;
static void *reentry_seen;

static int ctor_reenter(void *obj, void *shadow_data, void *ctor_data)
{
    (void)shadow_data;
    errno = 0;
    void *p = lp_shadow_alloc(&reentry_obj, 1, 8, NULL, NULL);
    reentry_errno = p == NULL ? errno : 0;
    reentry_seen = lp_shadow_get(obj, 1);
    reentry_get_ok = reentry_seen == ctor_data;
    return 0;
}

static void dtor_reenter(void *obj, void *shadow_data)
{
    (void)shadow_data;
    errno = 0;
    lp_shadow_free(obj, 1, NULL);
    reentry_errno = errno;
    errno = 0;
    lp_shadow_free_all(1, NULL);
    reentry_errno = reentry_errno == EDEADLK ? errno : -1;
}

static void basic(void)
{
    char o1, o2;
    int arg = 42;

    printf("-- calls and misuse\n");
    EXPECT_NULL("get before any shadow: ENOENT", lp_shadow_get(&o1, 1), ENOENT);
    EXPECT_NULL("get with obj NULL: EINVAL", lp_shadow_get(NULL, 1), EINVAL);
    dtor_calls = 0;
    lp_shadow_free(&o1, 1, dtor_record);
    lp_shadow_free_all(1, dtor_record);
    check(dtor_calls == 0, "free and free_all with nothing to free run no dtor");
    EXPECT_NULL("alloc with obj NULL: EINVAL", lp_shadow_alloc(NULL, 1, 8, NULL, NULL), EINVAL);
    EXPECT_NULL("get_or_alloc with obj NULL: EINVAL", lp_shadow_get_or_alloc(NULL, 1, 8, NULL, NULL), EINVAL);
    EXPECT_NULL("alloc of SIZE_MAX bytes: ENOMEM", lp_shadow_alloc(&o1, 1, SIZE_MAX, NULL, NULL), ENOMEM);
    EXPECT_NULL("... and nothing was attached", lp_shadow_get(&o1, 1), ENOENT);

    ctor_calls = 0;
    void *p = lp_shadow_alloc(&o1, 1, 16, ctor_record, &arg);
    check(p != NULL, "alloc <o1, 1> returns data");
    check(ctor_calls == 1 && ctor_obj == &o1 && ctor_data_seen == p && ctor_arg == &arg,
          "the ctor ran once with obj, the new data and ctor_data");
    check(ctor_saw_zeroed, "the ctor found the data zeroed");
    check(((uintptr_t)p & 15) == 0, "the data is 16-byte aligned");
    check(lp_shadow_get(&o1, 1) == p, "get <o1, 1> finds it");
    EXPECT_NULL("get <o1, 2>: another id, ENOENT", lp_shadow_get(&o1, 2), ENOENT);
    EXPECT_NULL("get <o2, 1>: another object, ENOENT", lp_shadow_get(&o2, 1), ENOENT);
    EXPECT_NULL("alloc of an existing <o1, 1>: EEXIST", lp_shadow_alloc(&o1, 1, 16, ctor_record, &arg), EEXIST);
    check(ctor_calls == 1, "... and its ctor did not run");
    check(lp_shadow_get_or_alloc(&o1, 1, 16, ctor_record, &arg) == p, "get_or_alloc of an existing <o1, 1> returns it");
    check(ctor_calls == 1, "... and its ctor did not run");
    void *q = lp_shadow_get_or_alloc(&o1, 2, 16, ctor_record, &arg);
    check(q != NULL && q != p && ctor_calls == 2, "get_or_alloc of a new <o1, 2> creates it, ctor run");
    void *r = lp_shadow_alloc(&o2, 1, 0, NULL, NULL);
    check(r != NULL && r != p && r != q, "alloc of zero bytes with no ctor returns distinct data");
    check(lp_shadow_get(&o2, 1) == r, "... which get finds");

    int err = -EBUSY;
    ctor_calls = 0;
    EXPECT_NULL("a ctor returning -EBUSY fails the alloc with EBUSY", lp_shadow_alloc(&o2, 2, 8, ctor_fail, &err), EBUSY);
    EXPECT_NULL("... and nothing was attached", lp_shadow_get(&o2, 2), ENOENT);
    err = 7;
    EXPECT_NULL("a ctor returning 7 fails get_or_alloc with errno 7", lp_shadow_get_or_alloc(&o2, 2, 8, ctor_fail, &err), 7);
    check(ctor_calls == 2, "each failing ctor ran once");
    check(lp_shadow_alloc(&o2, 2, 8, NULL, NULL) != NULL, "the key can be allocated after a failed ctor");

    dtor_calls = 0;
    lp_shadow_free(&o1, 1, dtor_record);
    check(dtor_calls == 1 && dtor_obj == &o1 && dtor_data == p, "free <o1, 1> ran the dtor once on obj and its data");
    EXPECT_NULL("get after free: ENOENT", lp_shadow_get(&o1, 1), ENOENT);
    lp_shadow_free(&o1, 1, dtor_record);
    check(dtor_calls == 1, "a second free runs no dtor");
    check(lp_shadow_get(&o1, 2) == q, "<o1, 2> is still there");
    lp_shadow_free(&o1, 2, NULL);
    EXPECT_NULL("free with a NULL dtor frees too", lp_shadow_get(&o1, 2), ENOENT);
    errno = 0;
    lp_shadow_free(NULL, 1, dtor_record);
    check(errno == EINVAL && dtor_calls == 1, "free with obj NULL: errno EINVAL, no dtor");

    printf("-- callbacks that call back\n");
    void *other = lp_shadow_alloc(&reentry_obj, 2, 8, NULL, NULL);
    (void)other;
    q = lp_shadow_alloc(&o1, 1, 8, ctor_reenter, NULL);
    check(q != NULL && reentry_errno == EDEADLK, "a writer call from a ctor is refused with EDEADLK");
    check(reentry_get_ok, "get from a ctor works (and does not see the shadow being built)");
    lp_shadow_free(&o1, 1, dtor_reenter);
    check(reentry_errno == EDEADLK, "free and free_all from a dtor are refused with EDEADLK");
    EXPECT_NULL("the outer free still freed", lp_shadow_get(&o1, 1), ENOENT);
    lp_shadow_free(&reentry_obj, 2, NULL);
    lp_shadow_free(&o2, 1, NULL);
    lp_shadow_free(&o2, 2, NULL);

    printf("-- read sections\n");
    check_rc("read_unlock with none open: -EINVAL", lp_shadow_read_unlock(), -EINVAL);
    check_rc("read_lock", lp_shadow_read_lock(), 0);
    check_rc("read_lock nests", lp_shadow_read_lock(), 0);
    p = lp_shadow_alloc(&o1, 3, 64, NULL, NULL);
    memset(p, 0x5a, 64);
    check(lp_shadow_get(&o1, 3) == p, "alloc and get inside a read section");
    lp_shadow_free(&o1, 3, NULL);
    check(((unsigned char *)p)[63] == 0x5a, "data freed inside the section is still readable there");
    check_rc("read_unlock", lp_shadow_read_unlock(), 0);
    check_rc("read_unlock (outer)", lp_shadow_read_unlock(), 0);
    check_rc("a third read_unlock: -EINVAL", lp_shadow_read_unlock(), -EINVAL);
}

/* ---- many objects and ids ----------------------------------------------------- */

#define MANY 100000
#define ID_A 0xa
#define ID_B 0xb

static int count_dtor;
static void dtor_count(void *obj, void *shadow_data)
{
    (void)obj, (void)shadow_data;
    count_dtor++;
}

static void many(void)
{
    printf("-- %d objects, two ids each\n", MANY);
    char *objs = calloc(MANY, 1);
    int created = 0, found = 0, gone = 0, kept = 0;
    for (int i = 0; i < MANY; i++) {
        long *a = lp_shadow_alloc(&objs[i], ID_A, sizeof(long), NULL, NULL);
        long *b = lp_shadow_get_or_alloc(&objs[i], ID_B, sizeof(long), NULL, NULL);
        if (a && b) {
            *a = i;
            *b = -i;
            created++;
        }
    }
    check(created == MANY, "every object got both shadows");
    for (int i = 0; i < MANY; i++) {
        long *a = lp_shadow_get(&objs[i], ID_A), *b = lp_shadow_get(&objs[i], ID_B);
        found += a && b && *a == i && *b == -i;
    }
    check(found == MANY, "get finds each one with its own data");
    count_dtor = 0;
    for (int i = 0; i < MANY; i += 2)
        lp_shadow_free(&objs[i], ID_A, dtor_count);
    check(count_dtor == MANY / 2, "free of every other <obj, A> ran as many dtors");
    count_dtor = 0;
    lp_shadow_free_all(ID_A, dtor_count);
    check(count_dtor == MANY / 2, "free_all(A) ran one dtor per remaining A shadow");
    for (int i = 0; i < MANY; i++) {
        long *b = lp_shadow_get(&objs[i], ID_B);
        gone += lp_shadow_get(&objs[i], ID_A) == NULL;
        kept += b && *b == -i;
    }
    check(gone == MANY && kept == MANY, "no A shadow is left, every B shadow is");
    count_dtor = 0;
    lp_shadow_free_all(ID_B, dtor_count);
    check(count_dtor == MANY, "free_all(B) freed them all");
    urcu_memb_barrier();
    free(objs);
}

/* ---- concurrent -------------------------------------------------------------- */

#define KEYS 32
#define ID_C 0xc
#define READERS 3
#define WRITERS 2
#define WRITER_OPS 200000
#define RACERS 4
#define RACE_ROUNDS 300

typedef struct payload {
    uint32_t magic;  /* MAGIC_LIVE, then MAGIC_RETIRED; atomics: readers race with the dtor */
    uint32_t pad;
    void *obj;
    unsigned long id;
} payload_t;

static char keys[KEYS];
static int stop, ctors, dtors, bad_magic, bad_key, seen_live, seen_retired;

static int ctor_payload(void *obj, void *shadow_data, void *ctor_data)
{
    (void)ctor_data;
    payload_t *p = shadow_data;
    p->obj = obj;
    p->id = ID_C;
    /* Visible to readers only once added (the table's publication orders it). */
    __atomic_store_n(&p->magic, MAGIC_LIVE, __ATOMIC_RELAXED);
    __atomic_fetch_add(&ctors, 1, __ATOMIC_RELAXED);
    return 0;
}

static void dtor_payload(void *obj, void *shadow_data)
{
    (void)obj;
    __atomic_store_n(&((payload_t *)shadow_data)->magic, MAGIC_RETIRED, __ATOMIC_RELAXED);
    __atomic_fetch_add(&dtors, 1, __ATOMIC_RELAXED);
}

static unsigned next_rand(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

static void *reader(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    long live = 0, retired = 0;
    while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
        int k = (int)(next_rand(&seed) % KEYS);
        lp_shadow_read_lock();
        payload_t *p = lp_shadow_get(&keys[k], ID_C);
        if (p) {
            /* Read several times: the writer may free it meanwhile; it must
             * stay allocated until the section ends. */
            for (int n = 0; n < 64; n++) {
                uint32_t m = __atomic_load_n(&p->magic, __ATOMIC_RELAXED);
                if (m == MAGIC_LIVE) live++;
                else if (m == MAGIC_RETIRED) retired++;
                else __atomic_fetch_add(&bad_magic, 1, __ATOMIC_RELAXED);
            }
            if (p->obj != &keys[k] || p->id != ID_C)
                __atomic_fetch_add(&bad_key, 1, __ATOMIC_RELAXED);
        }
        lp_shadow_read_unlock();
    }
    __atomic_fetch_add(&seen_live, live > 0, __ATOMIC_RELAXED);
    __atomic_fetch_add(&seen_retired, retired > 0, __ATOMIC_RELAXED);
    return NULL;
}

static void *writer(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    for (int i = 0; i < WRITER_OPS; i++) {
        int k = (int)(next_rand(&seed) % KEYS);
        if (next_rand(&seed) & 1)
            lp_shadow_get_or_alloc(&keys[k], ID_C, sizeof(payload_t), ctor_payload, NULL);
        else
            lp_shadow_free(&keys[k], ID_C, dtor_payload);
    }
    return NULL;
}

/* The racers' ctor holds the writer lock for 200 us, so that the racers
 * that lost the lock have all missed in their lock-free first look and wait
 * for it: when it is released they must find the winner's shadow in their
 * second look under the lock (the sleep widens the window; no result
 * depends on it). */
static int ctor_racing(void *obj, void *shadow_data, void *ctor_data)
{
    struct timespec ts = { 0, 200000 };
    nanosleep(&ts, NULL);
    return ctor_payload(obj, shadow_data, ctor_data);
}

static pthread_barrier_t race_start;
static char race_obj;
static void *race_got[RACERS];

static void *racer(void *arg)
{
    int i = (int)(intptr_t)arg;
    for (int round = 0; round < RACE_ROUNDS; round++) {
        pthread_barrier_wait(&race_start);
        race_got[i] = lp_shadow_get_or_alloc(&race_obj, (unsigned long)round, sizeof(payload_t), ctor_racing, NULL);
        pthread_barrier_wait(&race_start); /* the main thread checks the round */
        pthread_barrier_wait(&race_start);
    }
    return NULL;
}

static void *fresh_thread(void *arg)
{
    /* Its first lp_shadow_* call registers it with liburcu; its exit
     * unregisters it (or later grace periods would wait on a dead thread). */
    return lp_shadow_get(arg, ID_C);
}

static void concurrent(void)
{
    printf("-- concurrent: %d readers, %d writers on %d keys\n", READERS, WRITERS, KEYS);
    pthread_t r[READERS], w[WRITERS];
    ctors = dtors = 0;
    for (int i = 0; i < READERS; i++)
        pthread_create(&r[i], NULL, reader, (void *)(uintptr_t)(i + 1));
    for (int i = 0; i < WRITERS; i++)
        pthread_create(&w[i], NULL, writer, (void *)(uintptr_t)(i + 100));
    for (int i = 0; i < WRITERS; i++)
        pthread_join(w[i], NULL);
    __atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < READERS; i++)
        pthread_join(r[i], NULL);
    check(bad_magic == 0, "no reader saw freed (poisoned) or unconstructed data");
    check(bad_key == 0, "no reader saw another key's data");
    check(seen_live == READERS, "every reader found live shadows");
    printf("     readers that saw a dtor run on data they held: %d of %d\n", seen_retired, READERS);
    lp_shadow_free_all(ID_C, dtor_payload);
    check(ctors > 0 && ctors == dtors, "every shadow constructed was destroyed once (ctors == dtors)");
    for (int k = 0; k < KEYS; k++)
        if (lp_shadow_get(&keys[k], ID_C)) check(0, "a key survived free_all");

    printf("-- concurrent: %d threads race to create one key, %d rounds\n", RACERS, RACE_ROUNDS);
    pthread_t t[RACERS];
    int same = 0, one_ctor = 0;
    pthread_barrier_init(&race_start, NULL, RACERS + 1);
    for (int i = 0; i < RACERS; i++)
        pthread_create(&t[i], NULL, racer, (void *)(intptr_t)i);
    for (int round = 0; round < RACE_ROUNDS; round++) {
        int before = __atomic_load_n(&ctors, __ATOMIC_RELAXED);
        pthread_barrier_wait(&race_start);
        pthread_barrier_wait(&race_start);
        int all = 1;
        for (int i = 0; i < RACERS; i++)
            all &= race_got[i] != NULL && race_got[i] == race_got[0];
        same += all && lp_shadow_get(&race_obj, (unsigned long)round) == race_got[0];
        one_ctor += __atomic_load_n(&ctors, __ATOMIC_RELAXED) - before == 1;
        lp_shadow_free(&race_obj, (unsigned long)round, dtor_payload);
        pthread_barrier_wait(&race_start);
    }
    for (int i = 0; i < RACERS; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&race_start);
    check(same == RACE_ROUNDS, "every racer got the one live shadow, the one get finds");
    check(one_ctor == RACE_ROUNDS, "exactly one ctor ran per round (the losers' never ran)");

    printf("-- threads that register lazily and exit\n");
    for (int i = 0; i < 200; i++) {
        pthread_t f;
        pthread_create(&f, NULL, fresh_thread, &keys[0]);
        pthread_join(f, NULL);
    }
    lp_shadow_alloc(&keys[0], ID_C, 8, NULL, NULL);
    lp_shadow_free(&keys[0], ID_C, NULL);
    urcu_memb_barrier();
    check(1, "grace periods still complete after 200 registered threads exited");
}

int main(void)
{
    /* glibc fills freed memory with the byte: the readers' poison. */
    mallopt(M_PERTURB, POISON_BYTE);
    basic();
    many();
    concurrent();
    return check_summary();
}
