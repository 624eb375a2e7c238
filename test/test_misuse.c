/*
 * test_misuse.c -- calls made wrongly: each prints one message naming the
 * call and returns a defined result, and the heap stays usable.  Plus the
 * small API contracts: gc_init twice, gc_strerror, gc_store typing.
 */
#include "test/test_util.h"

Test(misuse, calls_before_gc_init)
{
    tu_pin_no_torture(); /* counts the collections */
    unsetenv("MGC_PERCENT");
    tu_warn_capture();

    cr_assert_null(gc_alloc(16), "gc_alloc before gc_init returned memory");
    tu_expect_one_warning("gc_alloc before gc_init", "gc_alloc", "gc_init");
    cr_assert_null(gc_alloc_noscan(4));
    tu_expect_one_warning("gc_alloc_noscan before gc_init", "gc_alloc_noscan", "gc_init");
    cr_assert_null(gc_alloc_array(2, 8));
    tu_expect_one_warning("gc_alloc_array before gc_init", "gc_alloc_array", "gc_init");
    cr_assert_null(gc_alloc(100000));
    tu_expect_one_warning("large gc_alloc before gc_init", "gc_alloc", "gc_init");

    gc_collect();
    tu_expect_one_warning("gc_collect before gc_init", "gc_collect", "gc_init");

    cr_assert_eq(gc_register_thread(), GC_ENOTINIT);
    tu_expect_one_warning("gc_register_thread before gc_init", "gc_register_thread", "gc_init");
    cr_assert_eq(gc_thread_is_registered(), 0);

    gc_unregister_thread();
    tu_expect_one_warning("gc_unregister_thread before gc_init", "gc_unregister_thread", NULL);

    int local;
    cr_assert_null(gc_base(&local));
    cr_assert_eq(gc_size(&local), 0);

    /* None of it hurt: the collector starts and works. */
    tu_init();
    cr_assert_eq(tu_warn_count(), 0, "gc_init printed: %s", tu_warn_msg(0));
    cr_assert(gc_thread_is_registered());
    char *p = gc_alloc(16);
    cr_assert_not_null(p);
    gc_collect();
    cr_assert_eq(gc_base(p), p);
    cr_assert_eq(tu_stats().num_gc, 1);
}

Test(misuse, gc_init_twice_returns_ok)
{
    tu_init();
    char *volatile p = gc_alloc(40);
    tu_fill(p, 40, 9);
    cr_assert_eq(gc_init(NULL), GC_OK);
    gc_config cfg;
    gc_config_default(&cfg);
    cfg.percent = 5;
    cr_assert_eq(gc_init(&cfg), GC_OK);
    cr_assert(gc_thread_is_registered());
    cr_assert_eq(tu_stats().num_threads, 1, "a second gc_init registered the thread again");
    gc_collect();
    cr_assert_eq(gc_base(p), (void *)p);
    cr_assert(tu_check(p, 40, 9), "a second gc_init disturbed the heap");
    /* The second configuration was ignored. */
    cr_assert_eq(gc_set_percent(100), 100);
}

Test(misuse, gc_init_with_equal_signals_is_einval)
{
    unsetenv("MGC_SIG_SUSPEND");
    unsetenv("MGC_SIG_RESTART");
    tu_warn_capture();
    gc_config cfg;
    gc_config_default(&cfg);
    cfg.restart_signal = cfg.suspend_signal;
    cr_assert_eq(gc_init(&cfg), GC_EINVAL);
    tu_expect_one_warning("gc_init with equal signals", "gc_init", NULL);
    cr_assert_null(gc_alloc(8));
    tu_expect_one_warning("gc_alloc after failed gc_init", "gc_alloc", "gc_init");
    /* A correct second try works. */
    tu_init();
    cr_assert_not_null(gc_alloc(8));
}

Test(misuse, config_default)
{
    gc_config cfg;
    memset(&cfg, 0x7F, sizeof cfg);
    gc_config_default(&cfg);
    cr_assert_eq(cfg.percent, 100);
    cr_assert_neq(cfg.suspend_signal, cfg.restart_signal);
    cr_assert_gt(cfg.suspend_signal, 0);
    cr_assert_gt(cfg.restart_signal, 0);
    cr_assert_eq(cfg.verbose, 0);
    gc_config_default(NULL); /* no crash */
}

Test(misuse, get_stats_null)
{
    tu_init();
    tu_warn_capture();
    gc_get_stats(NULL);
    tu_expect_one_warning("gc_get_stats(NULL)", "gc_get_stats", NULL);
    void *volatile p = gc_alloc(10);
    gc_collect();
    cr_assert_eq(gc_base(p), p);
}

Test(misuse, strerror_names_every_code)
{
    const int codes[] = {GC_OK, GC_EINVAL, GC_ENOMEM, GC_EALREADY, GC_ENOTREG, GC_ENOTINIT,
                         GC_ESYS};
    const int n = sizeof codes / sizeof codes[0];
    for (int i = 0; i < n; i++) {
        const char *s = gc_strerror(codes[i]);
        cr_assert_not_null(s, "gc_strerror(%d)", codes[i]);
        cr_assert_gt(strlen(s), 0, "gc_strerror(%d) is empty", codes[i]);
        for (int j = 0; j < i; j++)
            cr_assert_str_neq(s, gc_strerror(codes[j]), "codes %d and %d share a name", codes[i],
                              codes[j]);
    }
    cr_assert_not_null(gc_strerror(-1));
    cr_assert_not_null(gc_strerror(12345));
    for (int i = 1; i < n; i++)
        cr_assert_str_neq(gc_strerror(12345), gc_strerror(codes[i]),
                          "an unknown code is named like code %d", codes[i]);
}

Test(misuse, warn_handler_returns_previous_and_null_restores_default)
{
    cr_assert_null(gc_set_warn_handler(tu_warn_handler), "a handler was set by default");
    cr_assert_eq(gc_set_warn_handler(NULL), tu_warn_handler);
    cr_assert_null(gc_set_warn_handler(NULL));
}

/* ---- gc_store ------------------------------------------------------------------------ */

struct node {
    struct node *next;
    const char *name;
    long value;
};

Test(misuse, gc_store_is_typed_and_stores)
{
    tu_init();
    struct node *a = gc_alloc(sizeof *a);
    struct node *b = gc_alloc(sizeof *b);
    cr_assert(a && b);
    gc_store(&a->next, b); /* struct node * into struct node *: no cast */
    cr_assert_eq(a->next, b);
    char *s = gc_alloc_noscan(8);
    strcpy(s, "seven");
    gc_store(&a->name, s); /* char * into const char * */
    cr_assert_eq(a->name, s);
    gc_store(&b->next, NULL);
    cr_assert_null(b->next);

    /* Each argument is evaluated once. */
    struct node *arr[3] = {a, b, a};
    int i = 0, j = 0;
    gc_store(&arr[i++]->next, arr[2 + j++]);
    cr_assert_eq(i, 1);
    cr_assert_eq(j, 1);
    cr_assert_eq(a->next, a);

    /* A stored pointer is a reference the collector follows. */
    gc_store(&a->next, b);
    b->value = 4242;
    struct node *volatile root = a;
    b = NULL;
    gc_collect();
    cr_assert_eq(gc_base(root->next), (void *)root->next);
    cr_assert_eq(root->next->value, 4242);
    cr_assert_str_eq(root->name, "seven");
}
