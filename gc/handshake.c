/*
 * handshake.c -- a cycle's phase changes by per-thread handshakes
 * (MGC_HANDSHAKE=1), so no thread ever waits for another to be scheduled.
 *
 * Stopping the world needs every registered thread on a CPU at once; with
 * more threads than cores the first stopped wait for the last scheduled.
 * The two facts the stops establish need no such moment (on-the-fly
 * collectors: Doligez-Leroy-Gonthier; Domani et al.; Go's forEachP ragged
 * barriers).  Each thread keeps its own view of the cycle -- gc_thread's
 * marking (its barrier shades, its refills owe assists), black_sg (it
 * allocates black while that equals its view of sweepgen) and sg_view --
 * and the collector changes a thread's view only at that thread's
 * handshake: its signal handler, outside every no-preempt section
 * (gc/stw.c defers it to the section's end), or, for a thread parked in
 * the library or gc_do_blocking, the coordinator on its behalf while it is
 * held.  A handshake holds one thread for its own action only.
 *
 * A cycle in this mode (gc/mgc.c drives it):
 *
 *   setup     every thread, at its handshake: barrier and black
 *             allocation on, tiny block grey, cached spans premarked.
 *             Scanning (workers, assists, the unregistered barrier:
 *             mgc_marking) starts only when every thread has answered.
 *   stacks    every thread, at its handshake, scans its own stack into
 *             its own buffer (a parked one is scanned by the coordinator),
 *             all threads at once; this may only begin once every barrier
 *             is on, which is why it is a round of its own.
 *   mark      as in the stop-the-world mode: roots and grey objects
 *             concurrently (and the stacks of threads registered since,
 *             one held thread at a time).
 *   done?     rounds, below, until one proves no grey object is left.
 *   off       every thread, at its handshake: barrier off, buffer
 *             flushed.  Black allocation stays on: the spans a thread
 *             caches still carry this cycle's mark bits.
 *   advance   the coordinator sets heap_live to what was marked and
 *             advances sweepgen -- with no thread stopped.
 *   release   every thread, at its handshake: its view of sweepgen
 *             catches up (so it allocates white from now on), and the
 *             spans it cached before the advance go to the sweepers.
 *   sweep     concurrent, as before; it starts after every thread has
 *             passed "off" (a barrier shading after a span's bitmaps
 *             swap would mark an object for the next cycle unscanned).
 *
 * Why setup is safe.  Sweep termination first waits for every sweep still
 * running in another thread (gc/sweep.c's mgc_sweep_active): the stop it
 * replaces waited for them implicitly, and a thread that enters the mark
 * sets mark bits at once, which a sweep swapping that span's bitmaps would
 * lose (ThreadSanitizer found it).  Until every thread has answered, no object is
 * scanned (workers and assists wait for mgc_marking, which rises after the
 * last answer), so a thread that has not answered -- storing without the
 * barrier, allocating white -- acts as before a stop-the-world setup would
 * have: at the moment of the last answer the heap is in the state such a
 * setup sees, with some objects already grey (the barrier of threads that
 * answered), which only marks more.
 *
 * Why "done" is right.  A round: wait until the markers are quiet; pause
 * them (workers inactive, assists refused, mgc_mark_paused) and wait until
 * none holds work; then, at t_q, check that the pool is empty and no root,
 * stack or finalizer job is pending; then hand shake with every thread: it
 * flushes its buffer to the pool and says whether it greyed anything since
 * its previous handshake (gcwork.bytes_marked is reset only by a flush).
 * If no thread had, and the pool is still empty and nothing pending, the
 * mark is complete.  Proof: at t_q a grey object can only sit in a
 * thread's buffer (the pool is empty, markers hold nothing, unregistered
 * threads publish at once), and a thread's buffer at t_q holds only
 * objects greyed after its previous handshake, which was before t_q; so
 * had one been grey at t_q, that thread's answer would have said so.
 * Hence no object is grey at t_q.  Every stack has been scanned, every root
 * range too (plain stores into ranges need the rescan with the world
 * stopped: such cycles end that way, gc/mgc.c), new objects are black.
 * With no grey object, the hybrid barrier's invariant leaves no black
 * object pointing to a white one, so every object a thread can reach is
 * black, and from t_q on the barrier can only shade black objects: no new
 * grey object can appear.  The mark is complete at t_q.
 *
 * Weak references break that premise: gc_weak_get hands out objects no
 * strong path reaches, and greying such a white object after t_q makes it
 * grey again.  So a weak get that greys (its target was white) counts a
 * resurrection; the coordinator, once a round is clean, sets
 * mgc_mark_decided tentatively and then reads the count: changed since
 * t_q, the round does not count (the store and the load on both sides are
 * sequentially consistent, so one sees the other).  Only then is the
 * decision final.  From the final decision to the advance a weak get whose
 * target is white returns NULL: it is garbage.  While the decision is
 * tentative a weak get waits (a few instructions of the coordinator's):
 * trusting it, a get returned NULL for an object a resurrection had just
 * made reachable again, and a resurrecting get returned NULL for an object
 * the abort then kept -- a weak reference that read NULL and later did
 * not (weak/no_null_for_an_object_a_resurrection_keeps).  The decision
 * carries its sweepgen, so a reader that read it just before the advance
 * does not apply it to the next cycle's spans.
 *
 * Why "advance" needs no stop.  Each thread reads and writes span states
 * relative to its own view, one view per no-preempt section.  A view one
 * cycle behind reads every state right -- advancing by 2 turns each swept
 * state into its unswept twin and the mcentral lists swap roles with it --
 * so a lagging thread that pops a "swept" span gets one the sweepers have
 * not swept yet: it allocates from it as its last sweep left it (the slots
 * it hands out are free; dead ones still count as allocated), black,
 * because its black_sg still equals its view, and caches it labelled
 * "cached before the sweep", so the span is swept when it is given back.
 * A lagging thread never sweeps (runtime/mcentral.c's claim covers the one
 * race, a view that turned stale inside a section).
 */
#include "gc/gc.h"
#include "gc/barrier.h"
#include "gc/workbuf.h"

/* Set by the coordinator when a round proved the mark complete (tentative,
 * then final or 0), cleared just after the sweepgen advance; read by
 * gc_weak_get (gc/weak.c).  Written by the coordinator only. */
_Atomic uint64_t mgc_mark_decided;
void (*_Atomic mgc_hs_test_decision_hook)(int stage);
/* Weak gets that greyed a white object; compared for change only. */
static _Atomic uint64_t resurrections;
/* A thread answered this round having greyed something; coordinator and
 * the answering handlers. */
static _Atomic int round_dirty;

/* ** A weak get greyed its white target: count it, and say whether the
 * caller may keep it (false once the mark is decided: it is garbage). */
bool mgc_weak_resurrected(void) {
    atomic_fetch_add(&resurrections, 1);
    for (;;) { /* the caller's thread still marks: no advance can come */
        uint64_t d = atomic_load(&mgc_mark_decided);
        int state = MGC_DECISION_STATE(d);
        if (state != MGC_DECISION_TENTATIVE) return state != MGC_DECISION_FINAL;
        sched_yield(); /* the coordinator is between two stores */
    }
}

/* ** The test hook, if a white-box test set one. */
static void decision_hook(int stage) {
    void (*hook)(int) = atomic_load_explicit(&mgc_hs_test_decision_hook, memory_order_acquire);
    if (hook) hook(stage);
}

/* ---- the actions, each run by one thread at its handshake ------------------ */

static bool gcw_holds(const gcwork *w) {
    return (w->wbuf1 && w->wbuf1->nobj) || (w->wbuf2 && w->wbuf2->nobj);
}

/* ** A termination round: publish what the barrier shaded, and say whether
 * anything was greyed since the last handshake. */
static void hs_flush(gc_thread *t) {
    if (t->gcw.bytes_marked || gcw_holds(&t->gcw)) atomic_store(&round_dirty, 1);
    mgc_mark_flush_thread(t);
}

/* ** The mark is over: no more shading.  Whatever is flushed now is black
 * already, or a weak get's late grey (gc_weak_get returned NULL for it). */
static void hs_off(gc_thread *t) {
    t->marking = 0;
    mgc_mark_flush_thread(t);
}

/* ** After the advance: the thread's view catches up (from now on its
 * refills are swept spans, allocated white) and the spans it cached before
 * go to the sweepers. */
static void hs_release(gc_thread *t) {
    t->sg_view = mgc_sweepgen();
    mgc_cache_release_stale(t);
}

/* ---- the coordinator's side ------------------------------------------------- */

/* ** Mark setup: every thread enters the mark at its own handshake; then
 * scanning may begin. */
void mgc_hs_mark_setup(void) {
    atomic_store(&mgc_mark_paused, 0);
    mgc_threads_lock();
    mgc_mark_setup_global();
    mgc_handshake_locked(mgc_mark_setup_thread, MGC_HOLD_HANDSHAKE);
    atomic_store(&mgc_marking, 1);
    /* Every stack at once, each by its own thread (one signal each, where a
     * stack-scan stop takes two round trips one thread after the other);
     * only now, with every barrier on (gc/mark.c says why). */
    mgc_handshake_locked(mgc_mark_scan_self, MGC_HOLD_STACK);
    mgc_threads_unlock();
    mgc_thread_roots_warn_deferred(); /* a thread found on an unknown stack */
}

/* ** Nothing left that the markers could take?  Threads lock held. */
static bool nothing_pending_locked(void) {
    return atomic_load(&mgc_wbuf_nfull) == 0 && !mgc_roots_pending() && !mgc_fin_pending() &&
           !mgc_mark_stacks_pending_locked();
}

/* ** Pause (on) or resume the markers; paused, none holds grey objects
 * when this returns. */
static void markers_pause(bool on) {
    if (!on) {
        atomic_store(&mgc_mark_paused, 0);
        mgc_workers_set_active(1);
        return;
    }
    atomic_store(&mgc_mark_paused, 1);
    mgc_workers_set_active(0);
    while (atomic_load(&mgc_mark_nbusy) != 0) mgc_workers_wait_idle(100000);
}

/* ** One termination round (see the top of the file).  True: the mark is
 * complete, mgc_mark_decided is set, scanning is off and the markers stay
 * paused.  False: marking goes on. */
bool mgc_hs_try_terminate(void) {
    markers_pause(true);
    mgc_threads_lock();
    bool done = false;
    if (nothing_pending_locked()) { /* t_q */
        uint64_t r0 = atomic_load(&resurrections);
        atomic_store(&round_dirty, 0);
        mgc_handshake_locked(hs_flush, MGC_HOLD_HANDSHAKE);
        done = !atomic_load(&round_dirty) && nothing_pending_locked();
        if (done) {
            uint64_t d = (uint64_t)mgc_sweepgen() << 2;
            decision_hook(0);
            atomic_store(&mgc_mark_decided, d | MGC_DECISION_TENTATIVE);
            decision_hook(1);
            done = atomic_load(&resurrections) == r0;
            atomic_store(&mgc_mark_decided, done ? d | MGC_DECISION_FINAL : 0);
        }
        if (done) {
            /* Unregistered threads shade under this lock: none is midway. */
            mgc_barrier_lock_unregistered();
            atomic_store(&mgc_marking, 0);
            mgc_barrier_unlock_unregistered();
        }
    }
    mgc_threads_unlock();
    if (!done) markers_pause(false);
    return done;
}

/* ** The barrier off, thread by thread. */
void mgc_hs_barrier_off(void) {
    mgc_threads_lock();
    mgc_handshake_locked(hs_off, MGC_HOLD_HANDSHAKE);
    mgc_threads_unlock();
}

/* ** The sweepgen advance, with no thread stopped, then every thread's view
 * catches up at its handshake.  marked: the mark's total, the new
 * heap_live. */
void mgc_hs_advance(uint64_t marked) {
    mgc_threads_lock(); /* a thread registering copies the views */
    atomic_store(&mgc_hstats.heap_live, marked);
    mgc_sweepgen_advance();
    atomic_store(&mgc_mark_decided, 0);
    atomic_store(&mgc_sweep_done, 0);
    mgc_handshake_locked(hs_release, MGC_HOLD_HANDSHAKE);
    mgc_threads_unlock();
    atomic_store(&mgc_mark_paused, 0);
}
