/*
 * main.c -- the lox command: run a script, or a REPL without one.
 *
 *   lox [--gc-summary] [--gc-natives] [FILE.lox]
 *
 * Exit codes follow the Lox test suite (and sysexits): 65 for a compile
 * error, 70 for a runtime error, 74 for a file that cannot be read, 64 for
 * bad usage.  --gc-summary prints the collector's pause summary on stderr
 * at exit; --gc-natives defines gcCollect() and internedStrings().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm.h"

static bool gc_summary;

static int finish(int code) {
    fflush(stdout);
    vm_free();
    if (gc_summary) heap_print_summary(stderr);
    return code;
}

typedef struct {
    char *buf;
    int size;
    char *got;
} LineRead;

/* Runs parked (heap_blocking): touches only the C buffer, not the heap. */
static void *read_line(void *arg) {
    LineRead *r = arg;
    r->got = fgets(r->buf, r->size, stdin);
    return NULL;
}

static void repl(void) {
    char line[4096];
    for (;;) {
        printf("> ");
        fflush(stdout);
        LineRead r = {line, (int)sizeof line, NULL};
        heap_blocking(read_line, &r);
        if (!r.got) {
            printf("\n");
            break;
        }
        interpret(line);
    }
}

static char *read_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "Could not open file \"%s\".\n", path);
        exit(74);
    }
    fseek(f, 0L, SEEK_END);
    long size = ftell(f);
    rewind(f);
    char *buf = malloc((size_t)size + 1); /* source text: not on the heap, tokens point into it */
    if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "Could not read file \"%s\".\n", path);
        exit(74);
    }
    buf[size] = '\0';
    fclose(f);
    return buf;
}

int main(int argc, char **argv) {
    bool gc_natives = false;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--gc-summary") == 0)
            gc_summary = true;
        else if (strcmp(argv[i], "--gc-natives") == 0)
            gc_natives = true;
        else if (!path && argv[i][0] != '-')
            path = argv[i];
        else {
            fprintf(stderr, "Usage: lox [--gc-summary] [--gc-natives] [path]\n");
            return 64;
        }
    }
    heap_init(); /* registers this, the one mutator thread */
    vm_init(gc_natives);
    if (!path) {
        repl();
        return finish(0);
    }
    char *source = read_file(path);
    InterpretResult r = interpret(source);
    free(source);
    return finish(r == INTERPRET_COMPILE_ERROR ? 65 : r == INTERPRET_RUNTIME_ERROR ? 70 : 0);
}
