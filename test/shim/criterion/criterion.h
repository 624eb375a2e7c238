/*
 * A minimal stand-in for Criterion, used only by `make tsan`.
 *
 * Criterion's runner cannot start under ThreadSanitizer (its shared-memory
 * arena fails to map beside TSan's shadow memory), so the sanitizer build
 * compiles the same test files against this header instead: Test()
 * registers a function, the cr_assert family fails the test with its
 * message, and test/shim/runner.c forks one process per test, as Criterion
 * does.  Only the subset of Criterion the suite uses is here.
 */
#ifndef MGC_CRITERION_SHIM_H
#define MGC_CRITERION_SHIM_H

#include <stddef.h>
#include <string.h>

void shim_register(const char *suite, const char *name, void (*fn)(void));
void shim_skip(const char *fmt, ...) __attribute__((noreturn));
void shim_fail(const char *file, int line, const char *expr, const char *fmt, ...)
    __attribute__((noreturn));

#define Test(suite, name, ...)                                                             \
    static void suite##_##name(void);                                                      \
    __attribute__((constructor)) static void shim_reg_##suite##_##name(void) {             \
        shim_register(#suite, #name, suite##_##name);                                      \
    }                                                                                      \
    static void suite##_##name(void)

#define cr_assert(cond, ...)                                                               \
    do {                                                                                   \
        if (!(cond)) shim_fail(__FILE__, __LINE__, #cond, "" __VA_ARGS__);                 \
    } while (0)
/* Exit 77: the runner reports the test as skipped. */
#define cr_skip_test(...) shim_skip("" __VA_ARGS__)
#define cr_assert_fail(...) shim_fail(__FILE__, __LINE__, "cr_assert_fail", "" __VA_ARGS__)
#define cr_assert_eq(a, b, ...) cr_assert((a) == (b), __VA_ARGS__)
#define cr_assert_neq(a, b, ...) cr_assert((a) != (b), __VA_ARGS__)
#define cr_assert_lt(a, b, ...) cr_assert((a) < (b), __VA_ARGS__)
#define cr_assert_leq(a, b, ...) cr_assert((a) <= (b), __VA_ARGS__)
#define cr_assert_gt(a, b, ...) cr_assert((a) > (b), __VA_ARGS__)
#define cr_assert_geq(a, b, ...) cr_assert((a) >= (b), __VA_ARGS__)
#define cr_assert_null(p, ...) cr_assert((p) == NULL, __VA_ARGS__)
#define cr_assert_not_null(p, ...) cr_assert((p) != NULL, __VA_ARGS__)
#define cr_assert_str_eq(a, b, ...) cr_assert(strcmp((a), (b)) == 0, __VA_ARGS__)
#define cr_assert_str_neq(a, b, ...) cr_assert(strcmp((a), (b)) != 0, __VA_ARGS__)

#endif
