/*
 * object.c -- making objects and printing them.
 *
 * Constructors initialise pointer fields with heap_store even in a fresh
 * object: the fresh block may already be black to a concurrent mark, and
 * the barrier is what tells the marker about the objects it now reaches.
 * Temporaries between allocations need no protection: they sit in C locals
 * on the registered main thread's stack, which is scanned.
 */
#include <stdio.h>
#include <string.h>

#include "intern.h"
#include "memory.h"
#include "object.h"

static void *new_object(size_t size, ObjType type, bool scanned) {
    Obj *o = lox_alloc(size, scanned);
    o->type = type;
    return o;
}

/* FNV-1a, continued from h: the hash of a + b is hash_more(hash of a, b). */
static uint32_t hash_more(uint32_t h, const char *s, int length) {
    for (int i = 0; i < length; i++) {
        h ^= (uint8_t)s[i];
        h *= 16777619u;
    }
    return h;
}

static uint32_t hash_bytes(const char *s, int length) {
    uint32_t h = 2166136261u; /* FNV-1a */
    for (int i = 0; i < length; i++) {
        h ^= (uint8_t)s[i];
        h *= 16777619u;
    }
    return h;
}

/* A fresh uninterned string with room for length characters.  At least 16
 * bytes: smaller noscan blocks come from the tiny allocator, which packs
 * several into one block, and a weak slot refers to a whole block. */
static ObjString *alloc_string(int length) {
    size_t size = sizeof(ObjString) + (size_t)length + 1;
    if (size < 16) size = 16;
    ObjString *s = new_object(size, OBJ_STRING, false);
    s->length = length;
    return s;
}

/* Intern a string built in place: the existing twin if there is one (the
 * new block is then garbage), else s itself. */
static ObjString *intern(ObjString *s) {
    s->hash = hash_bytes(s->chars, s->length);
    ObjString *twin = intern_find(s->chars, s->length, s->hash);
    if (twin) return twin;
    intern_add(s);
    return s;
}

ObjString *copy_string(const char *chars, int length) {
    ObjString *twin = intern_find(chars, length, hash_bytes(chars, length));
    if (twin) return twin;
    ObjString *s = alloc_string(length);
    memcpy(s->chars, chars, (size_t)length);
    return intern(s);
}

/* A concatenation whose result is already interned allocates nothing: the
 * hash continues from a's over b's bytes, and the twin is compared in two
 * parts.  (clox allocates the string, finds the twin and frees it; on a
 * collected heap that garbage costs a cache line and a sweep.) */
ObjString *concat_strings(const ObjString *a, const ObjString *b) {
    uint32_t hash = hash_more(a->hash, b->chars, b->length);
    ObjString *twin = intern_find2(a->chars, a->length, b->chars, b->length, hash);
    if (twin) return twin;
    ObjString *s = alloc_string(a->length + b->length);
    memcpy(s->chars, a->chars, (size_t)a->length);
    memcpy(s->chars + a->length, b->chars, (size_t)b->length);
    return intern(s);
}

ObjFunction *new_function(void) {
    ObjFunction *f = new_object(sizeof(ObjFunction), OBJ_FUNCTION, true);
    chunk_init(&f->chunk);
    return f;
}

ObjNative *new_native(NativeFn fn) {
    ObjNative *n = new_object(sizeof(ObjNative), OBJ_NATIVE, false); /* a code pointer only */
    n->function = fn;
    return n;
}

ObjClosure *new_closure(ObjFunction *fn) {
    ObjClosure *c = new_object(sizeof(ObjClosure) + (size_t)fn->upvalue_count * sizeof(ObjUpvalue *),
                               OBJ_CLOSURE, true);
    c->upvalue_count = fn->upvalue_count;
    heap_store(&c->function, fn);
    return c;
}

ObjUpvalue *new_upvalue(Value *slot) {
    ObjUpvalue *u = new_object(sizeof(ObjUpvalue), OBJ_UPVALUE, true);
    heap_store(&u->location, slot);
    return u;
}

ObjClass *new_class(ObjString *name) {
    ObjClass *k = new_object(sizeof(ObjClass), OBJ_CLASS, true);
    heap_store(&k->name, name);
    table_init(&k->methods);
    return k;
}

ObjInstance *new_instance(ObjClass *klass) {
    ObjInstance *i = new_object(sizeof(ObjInstance), OBJ_INSTANCE, true);
    heap_store(&i->klass, klass);
    table_init(&i->fields);
    return i;
}

ObjBoundMethod *new_bound_method(Value receiver, ObjClosure *method) {
    ObjBoundMethod *b = new_object(sizeof(ObjBoundMethod), OBJ_BOUND_METHOD, true);
    value_set(&b->receiver, receiver);
    heap_store(&b->method, method);
    return b;
}

static void print_function(const ObjFunction *f) {
    if (f->name)
        printf("<fn %s>", f->name->chars);
    else
        printf("<script>");
}

void print_object(Value v) {
    switch (OBJ_TYPE(v)) {
    case OBJ_STRING: printf("%s", AS_CSTRING(v)); break;
    case OBJ_FUNCTION: print_function(AS_FUNCTION(v)); break;
    case OBJ_NATIVE: printf("<native fn>"); break;
    case OBJ_CLOSURE: print_function(AS_CLOSURE(v)->function); break;
    case OBJ_UPVALUE: printf("upvalue"); break;
    case OBJ_CLASS: printf("%s", AS_CLASS(v)->name->chars); break;
    case OBJ_INSTANCE: printf("%s instance", AS_INSTANCE(v)->klass->name->chars); break;
    case OBJ_BOUND_METHOD: print_function(AS_BOUND_METHOD(v)->method->function); break;
    }
}
