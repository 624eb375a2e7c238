/*
 * object.h -- the heap objects of Lox: strings, functions, natives,
 * closures, upvalues, classes, instances and bound methods.
 *
 * Every object is one collector block starting with an Obj header that
 * only says its type: there is no mark bit and no list of all objects, as
 * the collector owns both.  Strings and natives hold no heap pointers and
 * are allocated noscan; the others are scanned, and each pointer field is
 * written with heap_store (value_set for Value fields).
 */
#ifndef LOX_OBJECT_H
#define LOX_OBJECT_H

#include "chunk.h"
#include "common.h"
#include "table.h"
#include "value.h"

typedef enum {
    OBJ_STRING,
    OBJ_FUNCTION,
    OBJ_NATIVE,
    OBJ_CLOSURE,
    OBJ_UPVALUE,
    OBJ_CLASS,
    OBJ_INSTANCE,
    OBJ_BOUND_METHOD
} ObjType;

struct Obj {
    ObjType type;
};

/* Characters inline: a string is a single noscan block. */
struct ObjString {
    Obj obj;
    int length;
    uint32_t hash;
    char chars[];
};

typedef struct {
    Obj obj;
    int arity;
    int upvalue_count;
    /* The most value-stack slots a call uses, counted from its frame's
     * first slot (the callee); the VM reserves them at the call, so a push
     * needs no check (compiler.c, max_stack). */
    int max_stack;
    Chunk chunk;
    ObjString *name; /* NULL for the top-level script */
} ObjFunction;

typedef Value (*NativeFn)(int argc, Value *args);

typedef struct {
    Obj obj;
    NativeFn function;
} ObjNative;

typedef struct ObjUpvalue {
    Obj obj;
    Value *location; /* a VM stack slot while open, &closed once closed */
    Value closed;
    struct ObjUpvalue *next; /* the VM's list of open upvalues */
} ObjUpvalue;

typedef struct {
    Obj obj;
    int upvalue_count;
    ObjFunction *function;
    ObjUpvalue *upvalues[];
} ObjClosure;

typedef struct {
    Obj obj;
    ObjString *name;
    Table methods;
} ObjClass;

typedef struct {
    Obj obj;
    ObjClass *klass;
    Table fields;
} ObjInstance;

typedef struct {
    Obj obj;
    Value receiver;
    ObjClosure *method;
} ObjBoundMethod;

#define OBJ_TYPE(v) (AS_OBJ(v)->type)
static inline bool is_obj_type(Value v, ObjType t) { return IS_OBJ(v) && AS_OBJ(v)->type == t; }
#define IS_STRING(v) is_obj_type(v, OBJ_STRING)
#define IS_FUNCTION(v) is_obj_type(v, OBJ_FUNCTION)
#define IS_CLOSURE(v) is_obj_type(v, OBJ_CLOSURE)
#define IS_CLASS(v) is_obj_type(v, OBJ_CLASS)
#define IS_INSTANCE(v) is_obj_type(v, OBJ_INSTANCE)

#define AS_STRING(v) ((ObjString *)AS_OBJ(v))
#define AS_CSTRING(v) (AS_STRING(v)->chars)
#define AS_FUNCTION(v) ((ObjFunction *)AS_OBJ(v))
#define AS_NATIVE(v) (((ObjNative *)AS_OBJ(v))->function)
#define AS_CLOSURE(v) ((ObjClosure *)AS_OBJ(v))
#define AS_CLASS(v) ((ObjClass *)AS_OBJ(v))
#define AS_INSTANCE(v) ((ObjInstance *)AS_OBJ(v))
#define AS_BOUND_METHOD(v) ((ObjBoundMethod *)AS_OBJ(v))

/* The interned string with these characters, made if there is none. */
ObjString *copy_string(const char *chars, int length);
/* The interned concatenation a + b. */
ObjString *concat_strings(const ObjString *a, const ObjString *b);

ObjFunction *new_function(void);
ObjNative *new_native(NativeFn fn);
ObjClosure *new_closure(ObjFunction *fn);
ObjUpvalue *new_upvalue(Value *slot);
ObjClass *new_class(ObjString *name);
ObjInstance *new_instance(ObjClass *klass);
ObjBoundMethod *new_bound_method(Value receiver, ObjClosure *method);

void print_object(Value v);

#endif
