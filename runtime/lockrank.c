/*
 * lockrank.c -- the checked lock wrappers of MGC_LOCKRANK builds (the rule
 * and the table: runtime/lockrank.h).
 *
 * Each thread keeps the locks it holds, in the order it took them, in a
 * fixed array in initial-exec TLS: no allocation, no lock, nothing a
 * signal handler could find half written (the stop handler never reads
 * it).  A lock is checked against every lock held, not only the last one
 * taken: a trylock may have taken a higher one out of order, and pthreads
 * lets locks be released in any order.  The check runs before the thread
 * blocks, so an inversion is reported on every run that takes that path,
 * not only on the rare one that deadlocks.
 */
#include "runtime/collector.h"

const char *const mgc_lock_names[MGC_RANK_COUNT] = {
    [MGC_RANK_NONE] = "?",
#define MGC_RANK_NAME(id, name, leaf, stop) [MGC_RANK_##id] = name,
    MGC_LOCK_RANKS(MGC_RANK_NAME)
#undef MGC_RANK_NAME
};

#ifdef MGC_LOCKRANK

static const unsigned char leaf[MGC_RANK_COUNT] = {
#define MGC_RANK_LEAF(id, name, is_leaf, stop) [MGC_RANK_##id] = is_leaf,
    MGC_LOCK_RANKS(MGC_RANK_LEAF)
#undef MGC_RANK_LEAF
};
static const unsigned char stop[MGC_RANK_COUNT] = {
#define MGC_RANK_STOP(id, name, leaf, is_stop) [MGC_RANK_##id] = is_stop,
    MGC_LOCK_RANKS(MGC_RANK_STOP)
#undef MGC_RANK_STOP
};

/* Deepest nesting today: fork's prepare, eight. */
#define MAX_HELD 32

static __thread struct {
    unsigned n;
    mgc_mutex *lock[MAX_HELD];
} held __attribute__((tls_model("initial-exec")));

static const char *name(const mgc_mutex *l) {
    return l->rank > MGC_RANK_NONE && l->rank < MGC_RANK_COUNT ? mgc_lock_names[l->rank] : "?";
}

/* ** May l be taken (again, after a condition wait: again) with what this
 * thread holds now?  Throws naming both locks if not. */
static void check_order(const mgc_mutex *l, const char *verb) {
    if (l->rank <= MGC_RANK_NONE || l->rank >= MGC_RANK_COUNT)
        mgc_throw("lock order: %s a lock with no rank (%d): give it one in "
                  "runtime/lockrank.h", verb, (int)l->rank);
    for (unsigned i = 0; i < held.n; i++) {
        const mgc_mutex *h = held.lock[i];
        if (h == l) continue; /* a condition wait's own lock */
        if (leaf[h->rank])
            mgc_throw("lock order: %s %s while holding %s, a leaf lock", verb, name(l), name(h));
        if (h->rank >= l->rank)
            mgc_throw("lock order: %s %s while holding %s", verb, name(l), name(h));
    }
}

static void push(mgc_mutex *l) {
    if (held.n == MAX_HELD)
        mgc_throw("lock order: more than %d locks held, taking %s", MAX_HELD, name(l));
    held.lock[held.n++] = l;
}

/* ** Forget l, wherever it is on the stack. */
static void pop(const mgc_mutex *l) {
    for (unsigned i = held.n; i-- > 0;) {
        if (held.lock[i] != l) continue;
        for (; i + 1 < held.n; i++) held.lock[i] = held.lock[i + 1];
        held.n--;
        return;
    }
    mgc_throw("lock order: releasing %s, which this thread does not hold", name(l));
}

/* ** A condition wait on l: this thread must hold it, and may take it back. */
static void check_wait(const mgc_mutex *l) {
    unsigned i = 0;
    while (i < held.n && held.lock[i] != l) i++;
    if (i == held.n)
        mgc_throw("lock order: a condition wait on %s, which this thread does not hold", name(l));
    check_order(l, "retaking (condition wait)");
}

/* ** A lock the collector takes while threads are stopped, on a thread it
 * could stop here: a registered one, outside a no-preempt section and not
 * itself the stopper (fork's prepare and child, gc/fork.c). */
static void check_stoppable(const mgc_mutex *l) {
    gc_thread *t = mgc_self;
    if (stop[l->rank] && t && !t->nopreempt && !mgc_stopping)
        mgc_throw("lock order: taking %s on a registered thread outside a no-preempt section "
                  "(a stop could find it held, and wait for it with the world stopped): use "
                  "mgc_lock", name(l));
}

void mgc_mutex_lock(mgc_mutex *l) {
    check_order(l, "taking");
    check_stoppable(l);
    pthread_mutex_lock(&l->m);
    push(l);
}

int mgc_mutex_trylock(mgc_mutex *l) {
    int rc = pthread_mutex_trylock(&l->m);
    if (rc == 0) push(l);
    return rc;
}

void mgc_mutex_unlock(mgc_mutex *l) {
    pop(l);
    pthread_mutex_unlock(&l->m);
}

int mgc_cond_wait(pthread_cond_t *c, mgc_mutex *l) {
    check_wait(l);
    return pthread_cond_wait(c, &l->m);
}

int mgc_cond_timedwait(pthread_cond_t *c, mgc_mutex *l, const struct timespec *ts) {
    check_wait(l);
    return pthread_cond_timedwait(c, &l->m, ts);
}

#endif
