/*
 * staticroots.c -- the program's static data as roots (gc_config.static_roots,
 * MGC_STATIC_ROOTS=1).
 *
 * What is scanned: the writable PT_LOAD segments (.data, .bss, and what the
 * linker put beside them) of the executable and of every loaded shared
 * object, less their PT_GNU_RELRO part (read-only after relocation, so it
 * cannot hold a heap pointer), less mgc's own data: the whole of libmgc.so
 * when mgc is a shared library, and the large tables mgc keeps in static
 * storage (arena index, event ring, ...: mgc_static_exclude) when it is
 * linked into the executable.  Each segment becomes a range of the root
 * table (gc/roots.c) flagged MGC_ROOTS_STATIC: scanned concurrently by the
 * markers and, like every plain range, again in the mark-termination
 * pause, so plain stores into globals are safe (gc/roots.c says why).
 *
 * The snapshot.  The set of segments is taken with dl_iterate_phdr, which
 * takes the dynamic loader's lock; a thread stopped by the collector may
 * hold that lock (it was inside dlopen), so the loader is never called
 * while the world is stopped.  The coordinator refreshes the snapshot just
 * before each stop of the cycle (mark setup and every termination attempt),
 * and once stopped checks that no object was loaded or unloaded since
 * (mgc_static_roots_current): it reads the loader's debugger interface,
 * _r_debug, whose state is RT_CONSISTENT unless a dlopen or dlclose is
 * under way, and compares a fingerprint of its list of objects with the
 * one taken inside the refresh.  If they differ, the world restarts and the
 * coordinator refreshes and stops again.  So the termination pause scans
 * exactly the static data that exists while the world is stopped: a library
 * loaded during the mark is scanned before the sweep, and a library
 * unloaded is dropped.  (Namespaces made by dlmopen are not in _r_debug's
 * list; a dlmopen during a mark is not seen until the next cycle.)
 *
 * Fault safety.  A thread the collector does not stop (an unregistered
 * one, or the finalizer thread's callback) may dlclose a library while a
 * marker reads its data.  Static ranges are therefore never read in place:
 * each chunk is copied with process_vm_readv on our own process (or pread
 * of /proc/self/mem where seccomp forbids that), which reports an unmapped
 * page as an error instead of a fault, and the copy is scanned.  A page
 * that vanished is skipped; a page mapped again by another library is
 * scanned as it is, which can only keep objects alive.  The copy buffer is
 * mmap'd (not static data, which would be scanned) and used under
 * roots_lock, which every scan of the root table holds.
 *
 * Invariants:
 *  - snap[], nsnap, fingerprint: the coordinator's (mgc_static_roots_refresh
 *    and mgc_static_roots_current run only there), or gc_init's before the
 *    coordinator starts.
 *  - holes[], nholes: written by the modules' init under gc_init's lock,
 *    before any refresh; read-only after.
 *  - The nodes in snap[] are in the root table until refresh removes them.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "gc/gc.h"

#define MAX_HOLES 16
#define MAX_SEGS 4096    /* segments kept; more are dropped with a warning */
#define COPY_CHUNK (64 * 1024)
#define MAX_LINKS 65536  /* a list longer than this is being rewritten */

typedef struct seg {
    uintptr_t lo, hi;
    void *node; /* the root table's range (mgc_roots_add_static) */
} seg;

typedef struct hole {
    uintptr_t lo, hi;
} hole;

static hole holes[MAX_HOLES];
static int nholes;
static bool enabled;
static seg *snap;          /* sorted by lo; mmap'd */
static size_t nsnap;
static uint64_t fingerprint; /* of _r_debug's list when snap was taken */
static _Atomic uint64_t snap_bytes; /* written by the coordinator, read by gc_get_stats */
static unsigned char *copybuf; /* COPY_CHUNK bytes, under roots_lock */
static int mem_fd = -1;        /* /proc/self/mem when process_vm_readv is refused */

/* ---- what not to scan -------------------------------------------------------- */

void mgc_static_exclude(const void *p, size_t n) {
    for (int i = 0; i < nholes; i++)
        if (holes[i].lo == (uintptr_t)p) return; /* gc_init again after a failure */
    if (nholes == MAX_HOLES) mgc_throw("static roots: more than %d excluded tables", MAX_HOLES);
    holes[nholes].lo = (uintptr_t)p;
    holes[nholes].hi = (uintptr_t)p + n;
    nholes++;
}

/* ---- the loader's list, read without its lock ---------------------------------- */

/* ** A fingerprint of the loaded objects: their link_map nodes and load
 * addresses, in list order; 0 while a dlopen or dlclose is under way.
 * Read with the world stopped, the list does not change under us unless
 * a thread we do not stop loads or unloads; the state is read before and
 * after to catch that.  The reads race with the loader by design (the
 * loader's own lock is not ours to take here, and the sanitizers cannot see
 * it), hence no_sanitize. */
__attribute__((no_sanitize("address", "thread"))) static uint64_t loader_fingerprint(void) {
    volatile struct r_debug *r = &_r_debug;
    if (r->r_state != RT_CONSISTENT) return 0;
    uint64_t h = 1469598103934665603ull, n = 0;
    for (struct link_map *l = r->r_map; l && n < MAX_LINKS; l = l->l_next, n++) {
        h = (h ^ (uintptr_t)l) * 1099511628211ull;
        h = (h ^ (uintptr_t)l->l_addr) * 1099511628211ull;
    }
    if (r->r_state != RT_CONSISTENT || n == MAX_LINKS) return 0;
    return h | 1;
}

/* ---- taking the snapshot ---------------------------------------------------------- */

typedef struct collect {
    seg *out;
    size_t n, max;
    bool overflow, first;
    uintptr_t self_pc;   /* an address of mgc's code */
    uint64_t fingerprint;
} collect;

static void add_seg(collect *c, uintptr_t lo, uintptr_t hi) {
    lo = (lo + sizeof(void *) - 1) & ~(uintptr_t)(sizeof(void *) - 1);
    hi &= ~(uintptr_t)(sizeof(void *) - 1);
    if (hi <= lo) return;
    if (c->n == c->max) {
        c->overflow = true;
        return;
    }
    c->out[c->n].lo = lo;
    c->out[c->n].hi = hi;
    c->out[c->n].node = NULL;
    c->n++;
}

/* ** Add [lo, hi) less the holes (mgc's own tables): holes are few and
 * disjoint, so split recursively at the first one that overlaps. */
static void add_minus_holes(collect *c, uintptr_t lo, uintptr_t hi, int from) {
    for (int i = from; i < nholes; i++) {
        if (holes[i].hi <= lo || holes[i].lo >= hi) continue;
        if (holes[i].lo > lo) add_minus_holes(c, lo, holes[i].lo, i + 1);
        if (holes[i].hi < hi) add_minus_holes(c, holes[i].hi, hi, i + 1);
        return;
    }
    add_seg(c, lo, hi);
}

/* ** Does this object hold mgc's own code (pc inside an executable segment)? */
static bool holds_pc(const struct dl_phdr_info *info, uintptr_t pc) {
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X) && pc >= lo && pc < lo + ph->p_memsz)
            return true;
    }
    return false;
}

/* ** dl_iterate_phdr's callback, under the loader's lock: no malloc, no
 * mgc lock; only the array the refresh handed us. */
static int collect_cb(struct dl_phdr_info *info, size_t size, void *arg) {
    (void)size;
    collect *c = arg;
    bool main_program = c->first;
    if (c->first) {
        c->first = false;
        c->fingerprint = loader_fingerprint(); /* the list as it is under the lock */
    }
    /* libmgc.so itself: nothing in it is the program's.  (Linked into the
     * executable or into another library, mgc's data is left out by the
     * holes instead, and the program's data around it is scanned.) */
    if (!main_program && holds_pc(info, c->self_pc) && strstr(info->dlpi_name, "libmgc"))
        return 0;
    uintptr_t relro_lo = 0, relro_hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_GNU_RELRO) {
            relro_lo = info->dlpi_addr + ph->p_vaddr;
            relro_hi = relro_lo + ph->p_memsz;
        }
    }
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W)) continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        /* The RELRO part (at the segment's start, as linkers lay it out). */
        if (relro_hi > lo && relro_lo <= lo) lo = relro_hi < hi ? relro_hi : hi;
        if (hi > lo) add_minus_holes(c, lo, hi, 0);
    }
    return 0;
}

static int seg_cmp(const void *a, const void *b) {
    const seg *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static void *map_array(size_t bytes) {
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* ** Coordinator, world running: make the root table's static ranges those
 * of the objects loaded now.  Unchanged segments keep their ranges (and
 * the walk's position in them); new ones are added (while marking, they
 * go on the pending list and are scanned this cycle); vanished ones are
 * removed. */
void mgc_static_roots_refresh(void) {
    if (!enabled) return;
    static seg *fresh; /* coordinator only */
    if (!fresh && !(fresh = map_array(MAX_SEGS * sizeof(seg)))) return;
    collect c = {fresh, 0, MAX_SEGS, false, true, (uintptr_t)&mgc_static_roots_refresh, 0};
    dl_iterate_phdr(collect_cb, &c);
    if (c.overflow) {
        static bool warned;
        if (!warned)
            mgc_warn("static roots: more than %d writable segments; the rest are not scanned "
                     "(register their globals with gc_add_roots)", MAX_SEGS);
        warned = true;
    }
    qsort(fresh, c.n, sizeof(seg), seg_cmp);
    /* Both lists sorted by lo: a segment with the same bounds keeps its
     * range; one that is gone (or changed size) loses it. */
    size_t i = 0, j = 0;
    while (i < nsnap && j < c.n) {
        if (snap[i].lo == fresh[j].lo && snap[i].hi == fresh[j].hi) fresh[j++].node = snap[i++].node;
        else if (snap[i].lo <= fresh[j].lo) mgc_roots_remove_static(snap[i++].node);
        else j++;
    }
    while (i < nsnap) mgc_roots_remove_static(snap[i++].node);
    size_t kept = 0;
    uint64_t bytes = 0;
    for (j = 0; j < c.n; j++) {
        if (!fresh[j].node) fresh[j].node = mgc_roots_add_static(fresh[j].lo, fresh[j].hi);
        if (!fresh[j].node) continue; /* out of memory: tried again at the next refresh */
        bytes += fresh[j].hi - fresh[j].lo;
        fresh[kept++] = fresh[j];
    }
    c.n = kept;
    seg *old = snap;
    snap = fresh;
    nsnap = c.n;
    fresh = old;
    fingerprint = c.fingerprint;
    atomic_store_explicit(&snap_bytes, bytes, memory_order_relaxed);
}

/* ** World stopped: is the snapshot that of the objects loaded now? */
bool mgc_static_roots_current(void) {
    if (!enabled) return true;
    uint64_t f = loader_fingerprint();
    return f != 0 && f == fingerprint;
}

uint64_t mgc_static_roots_bytes(void) {
    return enabled ? atomic_load_explicit(&snap_bytes, memory_order_relaxed) : 0;
}

/* ---- reading a static range without faulting -------------------------------------- */

/* ** Copy up to n bytes at p into copybuf; returns the bytes copied (a
 * short count stops at a page that is gone), or -1 if none. */
static ssize_t copy_in(uintptr_t p, size_t n) {
    if (mem_fd < 0) {
        struct iovec local = {copybuf, n}, remote = {(void *)p, n};
        return process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
    }
    return pread(mem_fd, copybuf, n, (off_t)p);
}

/* ** Scan [lo, hi) of static data through copies, chunk by chunk; a page
 * that is no longer mapped (its library was unloaded) is skipped.  Called
 * under roots_lock. */
void mgc_static_scan(uintptr_t lo, uintptr_t hi, mgc_range_fn fn, void *arg) {
    long ps = getpagesize();
    while (lo < hi) {
        size_t n = hi - lo > COPY_CHUNK ? COPY_CHUNK : hi - lo;
        ssize_t got = copy_in(lo, n);
        if (got > 0) {
            fn((uintptr_t)copybuf, (uintptr_t)copybuf + ((size_t)got & ~(sizeof(void *) - 1)), arg);
            lo += (size_t)got;
        }
        if (got < (ssize_t)n) /* the page at lo is gone: on to the next one */
            lo = (lo & ~(uintptr_t)(ps - 1)) + (uintptr_t)ps;
    }
}

/* ---- switching it on --------------------------------------------------------------- */

/* ** gc_init: can we read our own memory without faulting?  Try it on our
 * own data; fall back to /proc/self/mem; else say so and stay off. */
static bool reader_works(void) {
    static uint64_t probe = 42;
    struct iovec local = {copybuf, sizeof probe}, remote = {&probe, sizeof probe};
    if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) == (ssize_t)sizeof probe) return true;
    int err = errno;
    mem_fd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
    if (mem_fd >= 0 && pread(mem_fd, copybuf, sizeof probe, (off_t)(uintptr_t)&probe) == sizeof probe)
        return true;
    mgc_warn("gc_init: static_roots (MGC_STATIC_ROOTS=1) needs process_vm_readv or "
             "/proc/self/mem to read static data safely, and both are refused here (%s); "
             "static data is not scanned: register globals with gc_add_roots",
             strerror(err));
    if (mem_fd >= 0) close(mem_fd);
    mem_fd = -1;
    return false;
}

/* ** gc_init, before the coordinator starts. */
void mgc_static_roots_init(int on) {
    if (!on) return;
    copybuf = map_array(COPY_CHUNK);
    if (!copybuf || !reader_works()) return;
    enabled = true;
    mgc_static_roots_refresh();
}
