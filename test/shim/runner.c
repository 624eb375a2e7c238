/*
 * runner.c -- the test runner behind the Criterion stand-in (see
 * criterion/criterion.h here).  One forked process per test, so each starts
 * with a fresh collector; a failure is a non-zero exit or a signal.
 *
 *   mgc-tests-tsan ['suite/glob|suite/glob...']
 *
 * Ends with the line "N passed, N failed, N skipped" (a test skips with
 * cr_skip_test, exit status 77).
 */
#include <fnmatch.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "criterion/criterion.h"

#define MAX_TESTS 512
static struct { const char *suite, *name; void (*fn)(void); } tests[MAX_TESTS];
static int ntests;

void shim_register(const char *suite, const char *name, void (*fn)(void)) {
    if (ntests < MAX_TESTS) {
        tests[ntests].suite = suite;
        tests[ntests].name = name;
        tests[ntests].fn = fn;
        ntests++;
    }
}

void shim_fail(const char *file, int line, const char *expr, const char *fmt, ...) {
    fprintf(stderr, "%s:%d: assertion failed: %s\n  ", file, line, expr);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    fflush(stderr);
    _exit(1);
}

void shim_skip(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(NULL);
    _exit(77);
}

static int selected(const char *full, const char *filter) {
    if (!filter) return 1;
    char buf[512];
    snprintf(buf, sizeof buf, "%s", filter);
    for (char *save, *pat = strtok_r(buf, "|", &save); pat; pat = strtok_r(NULL, "|", &save))
        if (fnmatch(pat, full, 0) == 0) return 1;
    return 0;
}

int main(int argc, char **argv) {
    const char *filter = argc > 1 ? argv[1] : NULL;
    int passed = 0, failed = 0, skipped = 0;
    for (int i = 0; i < ntests; i++) {
        char full[256];
        snprintf(full, sizeof full, "%s/%s", tests[i].suite, tests[i].name);
        if (!selected(full, filter)) continue;
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            alarm(180); /* a hung test fails instead of hanging the run */
            tests[i].fn();
            fflush(NULL);
            _exit(0);
        }
        int st = 0;
        waitpid(pid, &st, 0);
        if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
            printf("[SKIP] %s\n", full);
            skipped++;
        } else if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
            printf("[PASS] %s\n", full);
            passed++;
        } else {
            if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM) printf("[FAIL] %s: timed out\n", full);
            else if (WIFSIGNALED(st)) printf("[FAIL] %s: killed by signal %d\n", full, WTERMSIG(st));
            else printf("[FAIL] %s: exit %d\n", full, WEXITSTATUS(st));
            failed++;
        }
        fflush(stdout);
    }
    printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
    return failed != 0 || passed == 0;
}
