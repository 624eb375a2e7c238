/*
 * host.c -- a program that loads a plugin using mgc with dlopen and unloads
 * it with dlclose, several times.  The host does not link libmgc; only the
 * plugin does, so the plugin's dlclose drops the last reference to
 * libmgc.so.  The collector's threads (coordinator, mark workers, scavenger,
 * finalizer thread) run inside libmgc.so for the life of the process:
 * unmapping it under them crashed the process (SIGSEGV within half a
 * second, when the scavenger woke).  libmgc.so is linked with -z nodelete,
 * so it must still be loaded after every dlclose.
 *
 *   host PLUGIN.so ROUNDS
 *
 * Exits 0 when every round's plugin check passed, libmgc.so.0 stayed
 * loaded after each dlclose, and a collection started by the host after
 * the last one completes (the collector's threads still work).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>

#define MGC_SONAME "libmgc.so.0"

/* ** Whether libmgc is mapped: RTLD_NOLOAD finds a loaded object only. */
static int mgc_loaded(void) {
    void *h = dlopen(MGC_SONAME, RTLD_NOW | RTLD_NOLOAD);
    if (h) dlclose(h);
    return h != NULL;
}

/* ** One load, run and unload of the plugin; 0 on success. */
static int one_round(const char *path, int round) {
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) { fprintf(stderr, "host: dlopen: %s\n", dlerror()); return 1; }
    int (*run)(int) = (int (*)(int))dlsym(h, "plugin_run");
    if (!run) { fprintf(stderr, "host: dlsym: %s\n", dlerror()); return 1; }
    if (run(round) != 0) { fprintf(stderr, "host: round %d: plugin check failed\n", round); return 1; }
    if (dlclose(h) != 0) { fprintf(stderr, "host: dlclose: %s\n", dlerror()); return 1; }
    if (!mgc_loaded()) {
        fprintf(stderr, "host: round %d: dlclose unloaded " MGC_SONAME " while its threads run "
                        "(link it with -Wl,-z,nodelete)\n", round);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: host PLUGIN.so ROUNDS\n"); return 2; }
    int rounds = atoi(argv[2]);
    if (mgc_loaded()) { fprintf(stderr, "host: " MGC_SONAME " loaded before the plugin\n"); return 1; }
    for (int r = 1; r <= rounds; r++)
        if (one_round(argv[1], r) != 0) return 1;
    /* The plugin is gone; the collector is not.  A full cycle wakes its
     * coordinator and mark workers; this thread was registered by the
     * plugin's gc_init. */
    void *mgc = dlopen(MGC_SONAME, RTLD_NOW | RTLD_NOLOAD);
    void (*collect)(void) = mgc ? (void (*)(void))dlsym(mgc, "gc_collect") : NULL;
    if (!collect) { fprintf(stderr, "host: gc_collect not found after the last dlclose\n"); return 1; }
    collect();
    dlclose(mgc);
    printf("plugin test: %d dlopen/dlclose rounds, libmgc stayed loaded, collector still runs\n", rounds);
    return 0;
}
