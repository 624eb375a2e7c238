/*
 * vm.c -- the interpreter loop, calls, closures' upvalues and classes.
 *
 * Roots.  Everything the VM roots is this thread's own, registered with
 * heap_add_thread_roots, which the collector scans only while this thread
 * is held for its stack scan: the value stack and the call frames, written
 * at every instruction, in `run`; the globals table, the "init" string and
 * the list of open upvalues in `roots`.  So pushes, pops and frame stores
 * are plain assignments (the proof is in mgc.h, at gc_add_thread_roots),
 * and no other thread ever writes them.  No range is a gc_add_roots one:
 * such a range would make every cycle end with a stop of the world to
 * rescan it, while with thread roots only a cycle ends by handshakes alone
 * (the stores into `roots` still go through heap_store: harmless, and the
 * same code runs on Boehm GC).  The
 * registered range is the frames and the part of the stack used so far,
 * grown in place by pieces as the stack first reaches further, so a small
 * program's collections do not scan the whole 128 KiB array.  The
 * interpreter keeps the instruction pointer in a C local and writes it
 * back to its frame only around calls and errors.
 *
 * A push is one store, as in clox: the compiler counts each function's
 * deepest stack (ObjFunction.max_stack), and a call reserves that much --
 * grows the registered range and raises the stale-slot bound stack_high
 * -- so nothing between calls can reach past either.  -DLOX_CHECK_STACK
 * checks every push against them (make lox-check-stack).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "compiler.h"
#include "intern.h"
#include "memory.h"
#include "object.h"
#include "vm.h"

#define FRAMES_MAX 64
#define STACK_MAX (FRAMES_MAX * UINT8_COUNT)
#define STACK_ROOTS_STEP 1024 /* values registered at a time */

typedef struct {
    ObjClosure *closure;
    uint8_t *ip;  /* into closure's code; current only around calls */
    Value *slots; /* the frame's window on the value stack */
    /* The highest slot this frame or any caller may push below: slots +
     * max_stack, or the caller's high if that is higher. */
    Value *high;
} CallFrame;

static struct {
    Table globals;
    ObjString *init_string;
    ObjUpvalue *open_upvalues; /* sorted by stack slot, highest first */
} roots;

/* The thread-owned part: plain stores only (see the top). */
static struct {
    CallFrame frames[FRAMES_MAX];
    Value stack[STACK_MAX];
} run;

static Value *stack_top;
static Value *stack_roots_end; /* &run .. here is registered */
/* [stack_top .. here) may hold stale values; at or above the running
 * frame's high, so no frame pushes past it: every slot from here up is NIL
 * or never written. */
static Value *stack_high;
static int frame_count;

/* ---- the value stack ---- */

static void reset_stack(void) {
    stack_top = run.stack;
    frame_count = 0;
    heap_store(&roots.open_upvalues, NULL);
}

/* Grow the registered range in place (same lo: a new hi) to cover need. */
static __attribute__((noinline)) void extend_stack_roots(Value *need) {
    if (need > run.stack + STACK_MAX) {
        fprintf(stderr, "lox: value stack exhausted\n");
        exit(70);
    }
    Value *end = stack_roots_end;
    while (end < need) end += STACK_ROOTS_STEP;
    if (end > run.stack + STACK_MAX) end = run.stack + STACK_MAX;
    heap_add_thread_roots(&run, end);
    stack_roots_end = end;
}

/* Make [stack_top, need) pushable: registered, and under stack_high. */
static inline void reserve_stack(Value *need) {
    if (__builtin_expect(need > stack_roots_end, 0)) extend_stack_roots(need);
    if (need > stack_high) stack_high = need;
}

static inline void push(Value v) {
#ifdef LOX_CHECK_STACK
    if (stack_top >= stack_roots_end || (frame_count > 0 && stack_top >= stack_high)) {
        fprintf(stderr, "lox: push beyond the reserved stack (slot %td, registered %td, "
                "reserved %td): max_stack underestimated\n", stack_top - run.stack,
                stack_roots_end - run.stack, stack_high - run.stack);
        abort();
    }
#endif
    *stack_top++ = v;
}

static inline Value pop(void) { return *--stack_top; }
static void drop_to(Value *new_top) { stack_top = new_top; }

/* Popping leaves the old values in their slots, and the whole array is
 * scanned: a stale pointer above the top would keep its object (and all it
 * reaches, e.g. a whole dropped list) alive.  Clearing at every pop would
 * slow the hottest path; instead the slots popped since the last
 * allocation are cleared here, before each allocation (where a collection
 * can start) and before an explicit collection.  A cycle already marking
 * may still see a stale slot, which costs one cycle of retention, never
 * safety. */
void vm_clear_stale_stack(void) {
    for (Value *v = stack_top; v < stack_high; v++) *v = NIL_VAL;
    stack_high = stack_top;
    if (frame_count > 0 && run.frames[frame_count - 1].high > stack_high)
        stack_high = run.frames[frame_count - 1].high; /* cleared just now, or never written */
}

static inline Value peek(int distance) { return stack_top[-1 - distance]; }

/* ---- errors ---- */

static void runtime_error(const char *format, ...) {
    va_list ap;
    va_start(ap, format);
    vfprintf(stderr, format, ap);
    va_end(ap);
    fputc('\n', stderr);
    for (int i = frame_count - 1; i >= 0; i--) {
        CallFrame *f = &run.frames[i];
        ObjFunction *fn = f->closure->function;
        size_t at = (size_t)(f->ip - fn->chunk.code - 1);
        fprintf(stderr, "[line %d] in ", fn->chunk.lines[at]);
        if (fn->name)
            fprintf(stderr, "%s()\n", fn->name->chars);
        else
            fprintf(stderr, "script\n");
    }
    reset_stack();
}

/* ---- natives ---- */

static Value clock_native(int argc, Value *args) {
    (void)argc;
    (void)args;
    return NUMBER_VAL((double)clock() / CLOCKS_PER_SEC);
}

static Value gc_collect_native(int argc, Value *args) {
    (void)argc;
    (void)args;
    vm_clear_stale_stack();
    heap_collect();
    return NIL_VAL;
}

static Value interned_strings_native(int argc, Value *args) {
    (void)argc;
    (void)args;
    return NUMBER_VAL(intern_live_count());
}

static void define_native(const char *name, NativeFn fn) {
    ObjString *key = copy_string(name, (int)strlen(name));
    table_set(&roots.globals, key, OBJ_VAL(new_native(fn)));
}

/* ---- calls ---- */

static inline __attribute__((always_inline)) bool call(ObjClosure *closure, int argc) {
    if (argc != closure->function->arity) {
        runtime_error("Expected %d arguments but got %d.", closure->function->arity, argc);
        return false;
    }
    if (frame_count == FRAMES_MAX) {
        runtime_error("Stack overflow.");
        return false;
    }
    CallFrame *f = &run.frames[frame_count++];
    f->closure = closure;
    f->ip = closure->function->chunk.code;
    f->slots = stack_top - argc - 1;
    f->high = f->slots + closure->function->max_stack;
    if (frame_count > 1 && f[-1].high > f->high) f->high = f[-1].high;
    reserve_stack(f->high);
    return true;
}

static inline __attribute__((always_inline)) bool call_value(Value callee, int argc) {
    if (IS_OBJ(callee)) {
        switch (OBJ_TYPE(callee)) {
        case OBJ_BOUND_METHOD: {
            ObjBoundMethod *b = AS_BOUND_METHOD(callee);
            stack_top[-argc - 1] = b->receiver;
            return call(b->method, argc);
        }
        case OBJ_CLASS: {
            ObjClass *klass = AS_CLASS(callee);
            stack_top[-argc - 1] = OBJ_VAL(new_instance(klass));
            Value init;
            if (table_get(&klass->methods, roots.init_string, &init)) return call(AS_CLOSURE(init), argc);
            if (argc != 0) {
                runtime_error("Expected 0 arguments but got %d.", argc);
                return false;
            }
            return true;
        }
        case OBJ_CLOSURE: return call(AS_CLOSURE(callee), argc);
        case OBJ_NATIVE: {
            Value result = AS_NATIVE(callee)(argc, stack_top - argc);
            drop_to(stack_top - argc - 1);
            push(result);
            return true;
        }
        default: break;
        }
    }
    runtime_error("Can only call functions and classes.");
    return false;
}

static bool invoke_from_class(ObjClass *klass, ObjString *name, int argc) {
    Value method;
    if (!table_get(&klass->methods, name, &method)) {
        runtime_error("Undefined property '%s'.", name->chars);
        return false;
    }
    return call(AS_CLOSURE(method), argc);
}

static bool invoke(ObjString *name, int argc) {
    Value receiver = peek(argc);
    if (!IS_INSTANCE(receiver)) {
        runtime_error("Only instances have methods.");
        return false;
    }
    ObjInstance *inst = AS_INSTANCE(receiver);
    Value field;
    if (table_get(&inst->fields, name, &field)) { /* a field holding a callable */
        stack_top[-argc - 1] = field;
        return call_value(field, argc);
    }
    return invoke_from_class(inst->klass, name, argc);
}

static bool bind_method(ObjClass *klass, ObjString *name) {
    Value method;
    if (!table_get(&klass->methods, name, &method)) {
        runtime_error("Undefined property '%s'.", name->chars);
        return false;
    }
    ObjBoundMethod *b = new_bound_method(peek(0), AS_CLOSURE(method));
    pop();
    push(OBJ_VAL(b));
    return true;
}

/* ---- upvalues ---- */

static ObjUpvalue *capture_upvalue(Value *local) {
    ObjUpvalue *prev = NULL;
    ObjUpvalue *up = roots.open_upvalues;
    while (up && up->location > local) {
        prev = up;
        up = up->next;
    }
    if (up && up->location == local) return up;
    ObjUpvalue *created = new_upvalue(local);
    heap_store(&created->next, up);
    if (prev)
        heap_store(&prev->next, created);
    else
        heap_store(&roots.open_upvalues, created);
    return created;
}

/* Move every open upvalue at or above `last` off the stack, into itself. */
static void close_upvalues(Value *last) {
    while (roots.open_upvalues && roots.open_upvalues->location >= last) {
        ObjUpvalue *up = roots.open_upvalues;
        value_set(&up->closed, *up->location);
        heap_store(&up->location, &up->closed);
        heap_store(&roots.open_upvalues, up->next);
    }
}

static bool is_falsey(Value v) { return IS_NIL(v) || (IS_BOOL(v) && !AS_BOOL(v)); }

/* ---- the loop ---- */

static InterpretResult run_loop(void) {
    CallFrame *frame = &run.frames[frame_count - 1];
    uint8_t *ip = frame->ip;

#define READ_BYTE() (*ip++)
#define READ_SHORT() (ip += 2, (uint16_t)((ip[-2] << 8) | ip[-1]))
#define READ_CONSTANT() (frame->closure->function->chunk.constants.values[READ_BYTE()])
#define READ_STRING() AS_STRING(READ_CONSTANT())
#define SAVE_IP() (frame->ip = ip)
#define LOAD_FRAME() (frame = &run.frames[frame_count - 1], ip = frame->ip)
#define FAIL(...)                                                                                  \
    do {                                                                                           \
        SAVE_IP();                                                                                 \
        runtime_error(__VA_ARGS__);                                                                \
        return INTERPRET_RUNTIME_ERROR;                                                            \
    } while (0)
#define BINARY_OP(make, op)                                                                        \
    do {                                                                                           \
        if (!IS_NUMBER(peek(0)) || !IS_NUMBER(peek(1))) FAIL("Operands must be numbers.");         \
        double b = AS_NUMBER(pop());                                                               \
        double a = AS_NUMBER(pop());                                                               \
        push(make(a op b));                                                                        \
    } while (0)
/* A call that may push a frame: the frame's ip must be current first. */
#define CALL_OR_FAIL(expr)                                                                         \
    do {                                                                                           \
        SAVE_IP();                                                                                 \
        if (!(expr)) return INTERPRET_RUNTIME_ERROR;                                               \
        LOAD_FRAME();                                                                              \
    } while (0)

    for (;;) {
        uint8_t op = READ_BYTE();
        switch (op) {
        case OP_CONSTANT: push(READ_CONSTANT()); break;
        case OP_NIL: push(NIL_VAL); break;
        case OP_TRUE: push(BOOL_VAL(true)); break;
        case OP_FALSE: push(BOOL_VAL(false)); break;
        case OP_POP: pop(); break;
        case OP_GET_LOCAL: push(frame->slots[READ_BYTE()]); break;
        case OP_SET_LOCAL: frame->slots[READ_BYTE()] = peek(0); break;
        case OP_GET_GLOBAL: {
            ObjString *name = READ_STRING();
            Value v;
            if (!table_get(&roots.globals, name, &v)) FAIL("Undefined variable '%s'.", name->chars);
            push(v);
            break;
        }
        case OP_DEFINE_GLOBAL:
            table_set(&roots.globals, READ_STRING(), peek(0));
            pop();
            break;
        case OP_SET_GLOBAL: {
            ObjString *name = READ_STRING();
            if (table_set(&roots.globals, name, peek(0))) {
                table_delete(&roots.globals, name); /* assignment does not declare */
                FAIL("Undefined variable '%s'.", name->chars);
            }
            break;
        }
        case OP_GET_UPVALUE: push(*frame->closure->upvalues[READ_BYTE()]->location); break;
        case OP_SET_UPVALUE: value_set(frame->closure->upvalues[READ_BYTE()]->location, peek(0)); break;
        case OP_GET_PROPERTY: {
            if (!IS_INSTANCE(peek(0))) FAIL("Only instances have properties.");
            ObjInstance *inst = AS_INSTANCE(peek(0));
            ObjString *name = READ_STRING();
            Value v;
            if (table_get(&inst->fields, name, &v)) {
                pop();
                push(v);
                break;
            }
            SAVE_IP();
            if (!bind_method(inst->klass, name)) return INTERPRET_RUNTIME_ERROR;
            break;
        }
        case OP_SET_PROPERTY: {
            if (!IS_INSTANCE(peek(1))) FAIL("Only instances have fields.");
            ObjInstance *inst = AS_INSTANCE(peek(1));
            table_set(&inst->fields, READ_STRING(), peek(0));
            Value v = pop();
            pop();
            push(v);
            break;
        }
        case OP_GET_SUPER: {
            ObjString *name = READ_STRING();
            ObjClass *superclass = AS_CLASS(pop());
            SAVE_IP();
            if (!bind_method(superclass, name)) return INTERPRET_RUNTIME_ERROR;
            break;
        }
        case OP_EQUAL: {
            Value b = pop();
            Value a = pop();
            push(BOOL_VAL(values_equal(a, b)));
            break;
        }
        case OP_GREATER: BINARY_OP(BOOL_VAL, >); break;
        case OP_LESS: BINARY_OP(BOOL_VAL, <); break;
        case OP_ADD: {
            if (IS_STRING(peek(0)) && IS_STRING(peek(1))) {
                ObjString *s = concat_strings(AS_STRING(peek(1)), AS_STRING(peek(0)));
                pop();
                pop();
                push(OBJ_VAL(s));
            } else if (IS_NUMBER(peek(0)) && IS_NUMBER(peek(1))) {
                double b = AS_NUMBER(pop());
                double a = AS_NUMBER(pop());
                push(NUMBER_VAL(a + b));
            } else {
                FAIL("Operands must be two numbers or two strings.");
            }
            break;
        }
        case OP_SUBTRACT: BINARY_OP(NUMBER_VAL, -); break;
        case OP_MULTIPLY: BINARY_OP(NUMBER_VAL, *); break;
        case OP_DIVIDE: BINARY_OP(NUMBER_VAL, /); break;
        case OP_NOT: push(BOOL_VAL(is_falsey(pop()))); break;
        case OP_NEGATE:
            if (!IS_NUMBER(peek(0))) FAIL("Operand must be a number.");
            push(NUMBER_VAL(-AS_NUMBER(pop())));
            break;
        case OP_PRINT:
            print_value(pop());
            putchar('\n');
            break;
        case OP_JUMP: {
            uint16_t offset = READ_SHORT();
            ip += offset;
            break;
        }
        case OP_JUMP_IF_FALSE: {
            uint16_t offset = READ_SHORT();
            if (is_falsey(peek(0))) ip += offset;
            break;
        }
        case OP_LOOP: {
            uint16_t offset = READ_SHORT();
            ip -= offset;
            break;
        }
        case OP_CALL: {
            int argc = READ_BYTE();
            CALL_OR_FAIL(call_value(peek(argc), argc));
            break;
        }
        case OP_INVOKE: {
            ObjString *name = READ_STRING();
            int argc = READ_BYTE();
            CALL_OR_FAIL(invoke(name, argc));
            break;
        }
        case OP_SUPER_INVOKE: {
            ObjString *name = READ_STRING();
            int argc = READ_BYTE();
            ObjClass *superclass = AS_CLASS(pop());
            CALL_OR_FAIL(invoke_from_class(superclass, name, argc));
            break;
        }
        case OP_CLOSURE: {
            ObjFunction *fn = AS_FUNCTION(READ_CONSTANT());
            ObjClosure *closure = new_closure(fn);
            push(OBJ_VAL(closure));
            for (int i = 0; i < closure->upvalue_count; i++) {
                uint8_t is_local = READ_BYTE();
                uint8_t index = READ_BYTE();
                ObjUpvalue *up = is_local ? capture_upvalue(frame->slots + index) : frame->closure->upvalues[index];
                heap_store(&closure->upvalues[i], up);
            }
            break;
        }
        case OP_CLOSE_UPVALUE:
            close_upvalues(stack_top - 1);
            pop();
            break;
        case OP_RETURN: {
            Value result = pop();
            if (roots.open_upvalues) close_upvalues(frame->slots);
            frame_count--;
            frame->closure = NULL; /* a stale frame would keep it alive */
            if (frame_count == 0) {
                pop();
                return INTERPRET_OK;
            }
            drop_to(frame->slots);
            push(result);
            LOAD_FRAME();
            break;
        }
        case OP_CLASS: push(OBJ_VAL(new_class(READ_STRING()))); break;
        case OP_INHERIT: {
            Value superclass = peek(1);
            if (!IS_CLASS(superclass)) FAIL("Superclass must be a class.");
            table_add_all(&AS_CLASS(superclass)->methods, &AS_CLASS(peek(0))->methods);
            pop(); /* the subclass */
            break;
        }
        case OP_METHOD: {
            ObjString *name = READ_STRING();
            table_set(&AS_CLASS(peek(1))->methods, name, peek(0));
            pop();
            break;
        }
        }
    }
#undef READ_BYTE
#undef READ_SHORT
#undef READ_CONSTANT
#undef READ_STRING
#undef SAVE_IP
#undef LOAD_FRAME
#undef FAIL
#undef BINARY_OP
#undef CALL_OR_FAIL
}

/* ---- set-up ---- */

void vm_init(bool gc_natives) {
    heap_add_thread_roots(&roots, &roots + 1);
    stack_roots_end = run.stack;
    extend_stack_roots(run.stack + 1);
    reset_stack();
    stack_high = stack_roots_end; /* slots never written, until a call reserves */
    table_init(&roots.globals);
    heap_store(&roots.init_string, copy_string("init", 4));
    define_native("clock", clock_native);
    if (gc_natives) {
        define_native("gcCollect", gc_collect_native);
        define_native("internedStrings", interned_strings_native);
    }
}

void vm_free(void) {
    heap_remove_thread_roots(&run, stack_roots_end);
    heap_remove_thread_roots(&roots, &roots + 1);
    intern_free();
}

/* Aligned: run_loop, inlined here, is the VM's dispatch loop, and its
 * speed moved with where the linker happened to place it.  Placed 48 bytes
 * past a 64-byte boundary after an unrelated library change, the same code
 * byte for byte ran string_equality 0.91 -> 1.01-1.06 s and zoo 0.55 ->
 * 0.57 s.  At 64 bytes properties still ran 0.70 -> 0.77 s; at 128 all of
 * properties, string_equality, zoo, trees and method_call run as fast as
 * in the old layout or faster (two interleaved runs each).  What alignment
 * cannot pin: the same binary ran properties 0.70 or 0.79 s depending on
 * its path's length (the environment moves the C stack). */
__attribute__((aligned(128))) InterpretResult interpret(const char *source) {
    ObjFunction *fn = compile(source);
    if (!fn) return INTERPRET_COMPILE_ERROR;
    ObjClosure *closure = new_closure(fn);
    push(OBJ_VAL(closure));
    call(closure, 0);
    return run_loop();
}
