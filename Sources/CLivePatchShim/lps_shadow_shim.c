/*
 * The out-of-line half of the shadow shim (see lps_shadow_shim.h for why it
 * is C): liburcu's hash table, read side and call_rcu, the writer lock and
 * the per-thread registration. No shadow-variable logic lives here.
 */
#define _GNU_SOURCE
#include "lps_shadow_shim.h"
#include "lps_rcu.h"

#include <pthread.h>
#include <stdlib.h>

__thread lps_sv_tls_t lps_sv_tls_block __attribute__((tls_model("initial-exec")));

lps_sv_tls_t *lps_sv_tls(void) { return &lps_sv_tls_block; }

/* ---- writer lock, the thread-exit key, fork ----------------------------------- */

static pthread_mutex_t sv_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t sv_once = PTHREAD_ONCE_INIT;
static pthread_key_t sv_exit_key;

/* At thread exit: give back the memb registration taken in lps_sv_rcu_enter.
 * lps_rcu_reader_online() nests, so the engine's own per-use registrations on
 * this thread (thread retirement runs call_rcu from another exit destructor)
 * keep working whichever destructor runs first. */
static void sv_thread_exit(void *value)
{
    (void)value;
    if (lps_sv_tls_block.registered) {
        lps_sv_tls_block.registered = 0;
        lps_rcu_reader_offline();
    }
}

/* A fork child must not inherit the lock held by a thread it does not have. */
static void sv_prepare(void) { pthread_mutex_lock(&sv_lock); }
static void sv_parent(void) { pthread_mutex_unlock(&sv_lock); }
static void sv_child(void) { pthread_mutex_init(&sv_lock, NULL); }

static int sv_once_error;
static void sv_init_once(void)
{
    sv_once_error = pthread_key_create(&sv_exit_key, sv_thread_exit);
    if (sv_once_error == 0)
        sv_once_error = pthread_atfork(sv_prepare, sv_parent, sv_child);
}

void lps_sv_lock(void) { pthread_mutex_lock(&sv_lock); }
void lps_sv_unlock(void) { pthread_mutex_unlock(&sv_lock); }

/* ---- read side ------------------------------------------------------------------
 * A thread stays registered with urcu_memb from its first shadow call to its
 * exit, so that lp_shadow_get never takes liburcu's registry mutex (which
 * synchronize_rcu takes too). A thread already
 * registered (by the engine for the span of a scan, or by the program
 * itself) is used as it is and left alone. */
static __attribute__((noinline)) int sv_register_slow(void)
{
    pthread_once(&sv_once, sv_init_once);
    if (sv_once_error != 0)
        return -ENOMEM;
    /* Armed before registering: if arming fails the thread is not left
     * registered without a destructor to unregister it at exit. */
    if (pthread_setspecific(sv_exit_key, (void *)1) != 0)
        return -ENOMEM;
    lps_rcu_reader_online();
    lps_sv_tls_block.registered = 1;
    return 0;
}

int lps_sv_rcu_enter(void)
{
    if (caa_unlikely(!URCU_TLS(urcu_memb_reader).registered)) {
        int err = sv_register_slow();
        if (err)
            return err;
    }
    urcu_memb_read_lock();
    return 0;
}

void lps_sv_rcu_exit(void) { urcu_memb_read_unlock(); }

/* ---- the table ----------------------------------------------------------------- */

static struct cds_lfht *sv_table;

struct cds_lfht *lps_sv_table(void)
{
    /* Pairs with the release store in lps_sv_table_create: a reader that sees
     * the table sees it initialised. */
    return __atomic_load_n(&sv_table, __ATOMIC_ACQUIRE);
}

struct cds_lfht *lps_sv_table_create(void)
{
    pthread_once(&sv_once, sv_init_once);
    if (sv_once_error != 0)
        return NULL;
    /* Grows and shrinks with the number of shadows (resizes run on liburcu's
     * worker thread, which registers itself with the memb flavour). */
    struct cds_lfht *ht = cds_lfht_new_flavor(64, 64, 0, CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING,
                                              &urcu_memb_flavor, NULL);
    if (ht)
        __atomic_store_n(&sv_table, ht, __ATOMIC_RELEASE); /* pairs with lps_sv_table() */
    return ht;
}

typedef struct sv_key {
    void *obj;
    unsigned long id;
} sv_key_t;

static int sv_match(struct cds_lfht_node *node, const void *key)
{
    const lps_sv_t *sv = caa_container_of(node, lps_sv_t, node);
    const sv_key_t *k = key;
    return sv->obj == k->obj && sv->id == k->id;
}

/* cds_lfht_lookup reads the chain with rcu_dereference, which pairs with the
 * rcu_assign_pointer in cds_lfht_add: a record found here is seen with the
 * fields, and the data its constructor wrote, before it was added. */
lps_sv_t *lps_sv_lookup(struct cds_lfht *ht, unsigned long hash, void *obj, unsigned long id)
{
    sv_key_t key = { obj, id };
    struct cds_lfht_iter iter;
    cds_lfht_lookup(ht, hash, sv_match, &key, &iter);
    struct cds_lfht_node *node = cds_lfht_iter_get_node(&iter);
    return node ? caa_container_of(node, lps_sv_t, node) : NULL;
}

lps_sv_t *lps_sv_first(struct cds_lfht *ht, struct cds_lfht_iter *iter)
{
    cds_lfht_first(ht, iter);
    struct cds_lfht_node *node = cds_lfht_iter_get_node(iter);
    return node ? caa_container_of(node, lps_sv_t, node) : NULL;
}

lps_sv_t *lps_sv_next(struct cds_lfht *ht, struct cds_lfht_iter *iter)
{
    cds_lfht_next(ht, iter);
    struct cds_lfht_node *node = cds_lfht_iter_get_node(iter);
    return node ? caa_container_of(node, lps_sv_t, node) : NULL;
}

void lps_sv_add(struct cds_lfht *ht, unsigned long hash, lps_sv_t *sv) { cds_lfht_add(ht, hash, &sv->node); }

void lps_sv_del(struct cds_lfht *ht, lps_sv_t *sv)
{
    /* Only writers delete, under the writer lock, so the node is still in
     * the table and cds_lfht_del cannot fail. */
    (void)cds_lfht_del(ht, &sv->node);
}

/* ---- records -------------------------------------------------------------------- */

lps_sv_t *lps_sv_new(void *obj, unsigned long id, size_t size)
{
    if (size > SIZE_MAX - sizeof(lps_sv_t))
        return NULL;
    lps_sv_t *sv = calloc(1, sizeof(lps_sv_t) + size); /* zeroed, as the kernel's kzalloc */
    if (sv) {
        sv->obj = obj;
        sv->id = id;
    }
    return sv;
}

void lps_sv_drop(lps_sv_t *sv) { free(sv); }

static void sv_reclaim(struct rcu_head *head) { free(caa_container_of(head, lps_sv_t, rcu)); }

/* Every reader that could have found the record is out of its read section
 * before sv_reclaim runs. */
void lps_sv_retire(lps_sv_t *sv) { lps_rcu_call(&sv->rcu, sv_reclaim); }
