/*
 * compiler.c -- a Pratt parser that emits bytecode as it parses.
 *
 * Each function being compiled has a Compiler on the C stack, linked to
 * the one of the function around it.  The ObjFunction it fills is a heap
 * object that nothing in the VM references yet, so each Compiler registers
 * its own `function` field as a root range for as long as it compiles
 * (the C stack would keep it alive too, being scanned conservatively, but
 * the registration states the rule instead of relying on where the struct
 * happens to live).  Strings and constants made while compiling go
 * straight into that function's constant pool.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compiler.h"
#include "scanner.h"

typedef struct {
    Token current;
    Token previous;
    bool had_error;
    bool panic_mode;
} Parser;

typedef enum {
    PREC_NONE,
    PREC_ASSIGNMENT, /* = */
    PREC_OR,
    PREC_AND,
    PREC_EQUALITY,   /* == != */
    PREC_COMPARISON, /* < > <= >= */
    PREC_TERM,       /* + - */
    PREC_FACTOR,     /* * / */
    PREC_UNARY,      /* ! - */
    PREC_CALL,       /* . () */
    PREC_PRIMARY
} Precedence;

typedef void (*ParseFn)(bool can_assign);

typedef struct {
    ParseFn prefix;
    ParseFn infix;
    Precedence precedence;
} ParseRule;

typedef struct {
    Token name;
    int depth; /* -1 while its initializer is compiled */
    bool captured;
} Local;

typedef struct {
    uint8_t index;
    bool is_local;
} Upvalue;

typedef enum { TYPE_FUNCTION, TYPE_INITIALIZER, TYPE_METHOD, TYPE_SCRIPT } FunctionType;

typedef struct Compiler {
    struct Compiler *enclosing;
    ObjFunction *function; /* a registered root while compiling */
    FunctionType type;
    Local locals[UINT8_COUNT];
    int local_count;
    Upvalue upvalues[UINT8_COUNT];
    int scope_depth;
} Compiler;

typedef struct ClassCompiler {
    struct ClassCompiler *enclosing;
    bool has_superclass;
} ClassCompiler;

static Parser parser;
static Compiler *current;
static ClassCompiler *current_class;

static Chunk *chunk(void) { return &current->function->chunk; }

/* ---- errors ---- */

static void error_at(const Token *t, const char *msg) {
    if (parser.panic_mode) return; /* one error per statement */
    parser.panic_mode = true;
    fprintf(stderr, "[line %d] Error", t->line);
    if (t->type == TOKEN_EOF)
        fprintf(stderr, " at end");
    else if (t->type != TOKEN_ERROR)
        fprintf(stderr, " at '%.*s'", t->length, t->start);
    fprintf(stderr, ": %s\n", msg);
    parser.had_error = true;
}

static void error(const char *msg) { error_at(&parser.previous, msg); }

/* ---- tokens ---- */

static void advance(void) {
    parser.previous = parser.current;
    for (;;) {
        parser.current = scan_token();
        if (parser.current.type != TOKEN_ERROR) break;
        error_at(&parser.current, parser.current.start);
    }
}

static void consume(TokenType type, const char *msg) {
    if (parser.current.type == type)
        advance();
    else
        error_at(&parser.current, msg);
}

static bool check(TokenType type) { return parser.current.type == type; }

static bool match(TokenType type) {
    if (!check(type)) return false;
    advance();
    return true;
}

/* ---- emitting ---- */

static void emit_byte(uint8_t b) { chunk_write(chunk(), b, parser.previous.line); }

static void emit_bytes(uint8_t a, uint8_t b) {
    emit_byte(a);
    emit_byte(b);
}

static void emit_loop(int loop_start) {
    emit_byte(OP_LOOP);
    int offset = chunk()->count - loop_start + 2;
    if (offset > UINT16_MAX) error("Loop body too large.");
    emit_bytes((uint8_t)((offset >> 8) & 0xff), (uint8_t)(offset & 0xff));
}

static int emit_jump(uint8_t op) {
    emit_byte(op);
    emit_bytes(0xff, 0xff);
    return chunk()->count - 2;
}

static void patch_jump(int at) {
    int jump = chunk()->count - at - 2;
    if (jump > UINT16_MAX) error("Too much code to jump over.");
    chunk()->code[at] = (uint8_t)((jump >> 8) & 0xff);
    chunk()->code[at + 1] = (uint8_t)(jump & 0xff);
}

static void emit_return(void) {
    if (current->type == TYPE_INITIALIZER)
        emit_bytes(OP_GET_LOCAL, 0);
    else
        emit_byte(OP_NIL);
    emit_byte(OP_RETURN);
}

static uint8_t make_constant(Value v) {
    int index = chunk_add_constant(chunk(), v);
    if (index > UINT8_MAX) {
        error("Too many constants in one chunk.");
        return 0;
    }
    return (uint8_t)index;
}

static void emit_constant(Value v) { emit_bytes(OP_CONSTANT, make_constant(v)); }

/* ---- compilers ---- */

static void init_compiler(Compiler *c, FunctionType type) {
    c->enclosing = current;
    c->function = NULL;
    c->type = type;
    c->local_count = 0;
    c->scope_depth = 0;
    /* c is a local of a C frame on this thread's stack, which every cycle
     * scans: c->function is rooted without a range of its own (a
     * gc_add_roots one would end every cycle with a stop of the world). */
    heap_store(&c->function, new_function());
    current = c;
    if (type != TYPE_SCRIPT)
        heap_store(&c->function->name, copy_string(parser.previous.start, parser.previous.length));
    /* Slot 0 holds the callee, or the receiver in methods. */
    Local *l = &c->locals[c->local_count++];
    l->depth = 0;
    l->captured = false;
    l->name.start = type == TYPE_FUNCTION || type == TYPE_SCRIPT ? "" : "this";
    l->name.length = (int)strlen(l->name.start);
}

/* ** The deepest the value stack gets in one call of this code, in slots
 * from the frame's first (the callee, then the parameters).  The VM sizes
 * the registered stack and its stale-slot bound from it at each call
 * instead of checking every push, so an underestimate would let a push
 * land beyond both: every opcode's effect is here, and a build with
 * -DLOX_CHECK_STACK checks each push against it (make lox-check-stack).
 * One forward pass, as a bytecode verifier does: the depth at a forward
 * jump's target is recorded where the jump is, and code after an
 * unconditional jump starts from that record (its only way in). */
static int max_stack(ObjFunction *f) {
    const Chunk *c = &f->chunk;
    int *at = malloc((size_t)(c->count + 1) * sizeof *at);
    if (!at) {
        fprintf(stderr, "lox: out of memory\n");
        exit(70);
    }
    for (int i = 0; i <= c->count; i++) at[i] = -1;
    int depth = f->arity + 1, max = depth;
    bool reachable = true;
    for (int i = 0; i < c->count;) {
        if (at[i] >= 0) { /* a jump target: the deeper of the ways in */
            if (!reachable || at[i] > depth) depth = at[i];
            reachable = true;
        }
        uint8_t op = c->code[i];
        int len = 1, effect = 0;
        switch (op) {
        case OP_NIL: case OP_TRUE: case OP_FALSE: effect = 1; break;
        case OP_CONSTANT: case OP_GET_LOCAL: case OP_GET_GLOBAL: case OP_GET_UPVALUE:
        case OP_CLASS: len = 2, effect = 1; break;
        case OP_SET_LOCAL: case OP_SET_GLOBAL: case OP_SET_UPVALUE: case OP_GET_PROPERTY:
            len = 2; break;
        case OP_DEFINE_GLOBAL: case OP_SET_PROPERTY: case OP_GET_SUPER: case OP_METHOD:
            len = 2, effect = -1; break;
        case OP_POP: case OP_EQUAL: case OP_GREATER: case OP_LESS: case OP_ADD:
        case OP_SUBTRACT: case OP_MULTIPLY: case OP_DIVIDE: case OP_PRINT:
        case OP_CLOSE_UPVALUE: case OP_INHERIT: effect = -1; break;
        case OP_NOT: case OP_NEGATE: break;
        case OP_CALL: len = 2, effect = -c->code[i + 1]; break;
        case OP_INVOKE: len = 3, effect = -c->code[i + 2]; break;
        case OP_SUPER_INVOKE: len = 3, effect = -c->code[i + 2] - 1; break;
        case OP_CLOSURE:
            len = 2 + 2 * AS_FUNCTION(c->constants.values[c->code[i + 1]])->upvalue_count;
            effect = 1;
            break;
        case OP_JUMP: case OP_JUMP_IF_FALSE: {
            int to = i + 3 + ((c->code[i + 1] << 8) | c->code[i + 2]);
            if (to <= c->count && at[to] < depth) at[to] = depth;
            len = 3;
            reachable = op == OP_JUMP_IF_FALSE;
            break;
        }
        case OP_LOOP: len = 3, reachable = false; break; /* back to a depth already seen */
        case OP_RETURN: reachable = false; break;
        default:
            fprintf(stderr, "lox: max_stack: unknown opcode %d\n", op);
            abort();
        }
        depth += effect;
        if (depth > max) max = depth;
        i += len;
    }
    free(at);
    return max;
}

static ObjFunction *end_compiler(void) {
    emit_return();
    ObjFunction *f = current->function; /* a C local from here on: still a root */
    /* Code compiled after an error is never run, and its operands may be
     * wrong (a failed make_constant gives 0): it is not analysed. */
    f->max_stack = parser.had_error ? 0 : max_stack(f);
    current = current->enclosing;
    return f;
}

static void begin_scope(void) { current->scope_depth++; }

static void end_scope(void) {
    current->scope_depth--;
    while (current->local_count > 0 && current->locals[current->local_count - 1].depth > current->scope_depth) {
        emit_byte(current->locals[current->local_count - 1].captured ? OP_CLOSE_UPVALUE : OP_POP);
        current->local_count--;
    }
}

/* ---- variables ---- */

static void expression(void);
static void statement(void);
static void declaration(void);
static const ParseRule *get_rule(TokenType type);
static void parse_precedence(Precedence prec);

static uint8_t identifier_constant(const Token *name) {
    return make_constant(OBJ_VAL(copy_string(name->start, name->length)));
}

static bool identifiers_equal(const Token *a, const Token *b) {
    return a->length == b->length && memcmp(a->start, b->start, (size_t)a->length) == 0;
}

static int resolve_local(Compiler *c, const Token *name) {
    for (int i = c->local_count - 1; i >= 0; i--) {
        Local *l = &c->locals[i];
        if (identifiers_equal(name, &l->name)) {
            if (l->depth == -1) error("Can't read local variable in its own initializer.");
            return i;
        }
    }
    return -1;
}

static int add_upvalue(Compiler *c, uint8_t index, bool is_local) {
    int count = c->function->upvalue_count;
    for (int i = 0; i < count; i++)
        if (c->upvalues[i].index == index && c->upvalues[i].is_local == is_local) return i;
    if (count == UINT8_COUNT) {
        error("Too many closure variables in function.");
        return 0;
    }
    c->upvalues[count].is_local = is_local;
    c->upvalues[count].index = index;
    return c->function->upvalue_count++;
}

static int resolve_upvalue(Compiler *c, const Token *name) {
    if (!c->enclosing) return -1;
    int local = resolve_local(c->enclosing, name);
    if (local != -1) {
        c->enclosing->locals[local].captured = true;
        return add_upvalue(c, (uint8_t)local, true);
    }
    int up = resolve_upvalue(c->enclosing, name);
    if (up != -1) return add_upvalue(c, (uint8_t)up, false);
    return -1;
}

static void add_local(Token name) {
    if (current->local_count == UINT8_COUNT) {
        error("Too many local variables in function.");
        return;
    }
    Local *l = &current->locals[current->local_count++];
    l->name = name;
    l->depth = -1;
    l->captured = false;
}

static void declare_variable(void) {
    if (current->scope_depth == 0) return;
    const Token *name = &parser.previous;
    for (int i = current->local_count - 1; i >= 0; i--) {
        Local *l = &current->locals[i];
        if (l->depth != -1 && l->depth < current->scope_depth) break;
        if (identifiers_equal(name, &l->name)) error("Already a variable with this name in this scope.");
    }
    add_local(*name);
}

static uint8_t parse_variable(const char *msg) {
    consume(TOKEN_IDENTIFIER, msg);
    declare_variable();
    if (current->scope_depth > 0) return 0;
    return identifier_constant(&parser.previous);
}

static void mark_initialized(void) {
    if (current->scope_depth == 0) return;
    current->locals[current->local_count - 1].depth = current->scope_depth;
}

static void define_variable(uint8_t global) {
    if (current->scope_depth > 0) {
        mark_initialized();
        return;
    }
    emit_bytes(OP_DEFINE_GLOBAL, global);
}

static void named_variable(Token name, bool can_assign) {
    uint8_t get, set;
    int arg = resolve_local(current, &name);
    if (arg != -1) {
        get = OP_GET_LOCAL;
        set = OP_SET_LOCAL;
    } else if ((arg = resolve_upvalue(current, &name)) != -1) {
        get = OP_GET_UPVALUE;
        set = OP_SET_UPVALUE;
    } else {
        arg = identifier_constant(&name);
        get = OP_GET_GLOBAL;
        set = OP_SET_GLOBAL;
    }
    if (can_assign && match(TOKEN_EQUAL)) {
        expression();
        emit_bytes(set, (uint8_t)arg);
    } else {
        emit_bytes(get, (uint8_t)arg);
    }
}

static Token synthetic_token(const char *text) {
    Token t = {TOKEN_IDENTIFIER, text, (int)strlen(text), 0};
    return t;
}

/* ---- expressions ---- */

static uint8_t argument_list(void) {
    int argc = 0;
    if (!check(TOKEN_RIGHT_PAREN)) {
        do {
            expression();
            if (argc == 255) error("Can't have more than 255 arguments.");
            argc++;
        } while (match(TOKEN_COMMA));
    }
    consume(TOKEN_RIGHT_PAREN, "Expect ')' after arguments.");
    return (uint8_t)argc;
}

static void number(bool can_assign) {
    (void)can_assign;
    emit_constant(NUMBER_VAL(strtod(parser.previous.start, NULL)));
}

static void string(bool can_assign) {
    (void)can_assign;
    emit_constant(OBJ_VAL(copy_string(parser.previous.start + 1, parser.previous.length - 2)));
}

static void literal(bool can_assign) {
    (void)can_assign;
    switch (parser.previous.type) {
    case TOKEN_FALSE: emit_byte(OP_FALSE); break;
    case TOKEN_NIL: emit_byte(OP_NIL); break;
    case TOKEN_TRUE: emit_byte(OP_TRUE); break;
    default: return;
    }
}

static void grouping(bool can_assign) {
    (void)can_assign;
    expression();
    consume(TOKEN_RIGHT_PAREN, "Expect ')' after expression.");
}

static void unary(bool can_assign) {
    (void)can_assign;
    TokenType op = parser.previous.type;
    parse_precedence(PREC_UNARY);
    emit_byte(op == TOKEN_MINUS ? OP_NEGATE : OP_NOT);
}

static void binary(bool can_assign) {
    (void)can_assign;
    TokenType op = parser.previous.type;
    parse_precedence((Precedence)(get_rule(op)->precedence + 1));
    switch (op) {
    case TOKEN_BANG_EQUAL: emit_bytes(OP_EQUAL, OP_NOT); break;
    case TOKEN_EQUAL_EQUAL: emit_byte(OP_EQUAL); break;
    case TOKEN_GREATER: emit_byte(OP_GREATER); break;
    case TOKEN_GREATER_EQUAL: emit_bytes(OP_LESS, OP_NOT); break;
    case TOKEN_LESS: emit_byte(OP_LESS); break;
    case TOKEN_LESS_EQUAL: emit_bytes(OP_GREATER, OP_NOT); break;
    case TOKEN_PLUS: emit_byte(OP_ADD); break;
    case TOKEN_MINUS: emit_byte(OP_SUBTRACT); break;
    case TOKEN_STAR: emit_byte(OP_MULTIPLY); break;
    case TOKEN_SLASH: emit_byte(OP_DIVIDE); break;
    default: return;
    }
}

static void and_(bool can_assign) {
    (void)can_assign;
    int end = emit_jump(OP_JUMP_IF_FALSE);
    emit_byte(OP_POP);
    parse_precedence(PREC_AND);
    patch_jump(end);
}

static void or_(bool can_assign) {
    (void)can_assign;
    int else_jump = emit_jump(OP_JUMP_IF_FALSE);
    int end = emit_jump(OP_JUMP);
    patch_jump(else_jump);
    emit_byte(OP_POP);
    parse_precedence(PREC_OR);
    patch_jump(end);
}

static void call(bool can_assign) {
    (void)can_assign;
    emit_bytes(OP_CALL, argument_list());
}

static void dot(bool can_assign) {
    consume(TOKEN_IDENTIFIER, "Expect property name after '.'.");
    uint8_t name = identifier_constant(&parser.previous);
    if (can_assign && match(TOKEN_EQUAL)) {
        expression();
        emit_bytes(OP_SET_PROPERTY, name);
    } else if (match(TOKEN_LEFT_PAREN)) {
        uint8_t argc = argument_list();
        emit_bytes(OP_INVOKE, name);
        emit_byte(argc);
    } else {
        emit_bytes(OP_GET_PROPERTY, name);
    }
}

static void variable(bool can_assign) { named_variable(parser.previous, can_assign); }

static void this_(bool can_assign) {
    (void)can_assign;
    if (!current_class) {
        error("Can't use 'this' outside of a class.");
        return;
    }
    variable(false);
}

static void super_(bool can_assign) {
    (void)can_assign;
    if (!current_class)
        error("Can't use 'super' outside of a class.");
    else if (!current_class->has_superclass)
        error("Can't use 'super' in a class with no superclass.");
    consume(TOKEN_DOT, "Expect '.' after 'super'.");
    consume(TOKEN_IDENTIFIER, "Expect superclass method name.");
    uint8_t name = identifier_constant(&parser.previous);
    named_variable(synthetic_token("this"), false);
    if (match(TOKEN_LEFT_PAREN)) {
        uint8_t argc = argument_list();
        named_variable(synthetic_token("super"), false);
        emit_bytes(OP_SUPER_INVOKE, name);
        emit_byte(argc);
    } else {
        named_variable(synthetic_token("super"), false);
        emit_bytes(OP_GET_SUPER, name);
    }
}

static const ParseRule rules[] = {
    [TOKEN_LEFT_PAREN] = {grouping, call, PREC_CALL},
    [TOKEN_DOT] = {NULL, dot, PREC_CALL},
    [TOKEN_MINUS] = {unary, binary, PREC_TERM},
    [TOKEN_PLUS] = {NULL, binary, PREC_TERM},
    [TOKEN_SLASH] = {NULL, binary, PREC_FACTOR},
    [TOKEN_STAR] = {NULL, binary, PREC_FACTOR},
    [TOKEN_BANG] = {unary, NULL, PREC_NONE},
    [TOKEN_BANG_EQUAL] = {NULL, binary, PREC_EQUALITY},
    [TOKEN_EQUAL_EQUAL] = {NULL, binary, PREC_EQUALITY},
    [TOKEN_GREATER] = {NULL, binary, PREC_COMPARISON},
    [TOKEN_GREATER_EQUAL] = {NULL, binary, PREC_COMPARISON},
    [TOKEN_LESS] = {NULL, binary, PREC_COMPARISON},
    [TOKEN_LESS_EQUAL] = {NULL, binary, PREC_COMPARISON},
    [TOKEN_IDENTIFIER] = {variable, NULL, PREC_NONE},
    [TOKEN_STRING] = {string, NULL, PREC_NONE},
    [TOKEN_NUMBER] = {number, NULL, PREC_NONE},
    [TOKEN_AND] = {NULL, and_, PREC_AND},
    [TOKEN_OR] = {NULL, or_, PREC_OR},
    [TOKEN_FALSE] = {literal, NULL, PREC_NONE},
    [TOKEN_NIL] = {literal, NULL, PREC_NONE},
    [TOKEN_TRUE] = {literal, NULL, PREC_NONE},
    [TOKEN_SUPER] = {super_, NULL, PREC_NONE},
    [TOKEN_THIS] = {this_, NULL, PREC_NONE},
    [TOKEN_EOF] = {NULL, NULL, PREC_NONE}, /* sizes the table: every token has a rule */
};

static const ParseRule *get_rule(TokenType type) { return &rules[type]; }

static void parse_precedence(Precedence prec) {
    advance();
    ParseFn prefix = get_rule(parser.previous.type)->prefix;
    if (!prefix) {
        error("Expect expression.");
        return;
    }
    bool can_assign = prec <= PREC_ASSIGNMENT;
    prefix(can_assign);
    while (prec <= get_rule(parser.current.type)->precedence) {
        advance();
        get_rule(parser.previous.type)->infix(can_assign);
    }
    if (can_assign && match(TOKEN_EQUAL)) error("Invalid assignment target.");
}

static void expression(void) { parse_precedence(PREC_ASSIGNMENT); }

/* ---- declarations and statements ---- */

static void block(void) {
    while (!check(TOKEN_RIGHT_BRACE) && !check(TOKEN_EOF)) declaration();
    consume(TOKEN_RIGHT_BRACE, "Expect '}' after block.");
}

static void function(FunctionType type) {
    Compiler c;
    init_compiler(&c, type);
    begin_scope();
    consume(TOKEN_LEFT_PAREN, "Expect '(' after function name.");
    if (!check(TOKEN_RIGHT_PAREN)) {
        do {
            current->function->arity++;
            if (current->function->arity > 255) error_at(&parser.current, "Can't have more than 255 parameters.");
            define_variable(parse_variable("Expect parameter name."));
        } while (match(TOKEN_COMMA));
    }
    consume(TOKEN_RIGHT_PAREN, "Expect ')' after parameters.");
    consume(TOKEN_LEFT_BRACE, "Expect '{' before function body.");
    block();
    ObjFunction *f = end_compiler();
    emit_bytes(OP_CLOSURE, make_constant(OBJ_VAL(f)));
    for (int i = 0; i < f->upvalue_count; i++) {
        emit_byte(c.upvalues[i].is_local ? 1 : 0);
        emit_byte(c.upvalues[i].index);
    }
}

static void method(void) {
    consume(TOKEN_IDENTIFIER, "Expect method name.");
    uint8_t name = identifier_constant(&parser.previous);
    FunctionType type = TYPE_METHOD;
    if (parser.previous.length == 4 && memcmp(parser.previous.start, "init", 4) == 0) type = TYPE_INITIALIZER;
    function(type);
    emit_bytes(OP_METHOD, name);
}

static void class_declaration(void) {
    consume(TOKEN_IDENTIFIER, "Expect class name.");
    Token class_name = parser.previous;
    uint8_t name = identifier_constant(&parser.previous);
    declare_variable();
    emit_bytes(OP_CLASS, name);
    define_variable(name);

    ClassCompiler cc = {current_class, false};
    current_class = &cc;
    if (match(TOKEN_LESS)) {
        consume(TOKEN_IDENTIFIER, "Expect superclass name.");
        variable(false);
        if (identifiers_equal(&class_name, &parser.previous)) error("A class can't inherit from itself.");
        begin_scope();
        add_local(synthetic_token("super"));
        define_variable(0);
        named_variable(class_name, false);
        emit_byte(OP_INHERIT);
        cc.has_superclass = true;
    }
    named_variable(class_name, false);
    consume(TOKEN_LEFT_BRACE, "Expect '{' before class body.");
    while (!check(TOKEN_RIGHT_BRACE) && !check(TOKEN_EOF)) method();
    consume(TOKEN_RIGHT_BRACE, "Expect '}' after class body.");
    emit_byte(OP_POP);
    if (cc.has_superclass) end_scope();
    current_class = cc.enclosing;
}

static void fun_declaration(void) {
    uint8_t global = parse_variable("Expect function name.");
    mark_initialized(); /* a function may refer to itself */
    function(TYPE_FUNCTION);
    define_variable(global);
}

static void var_declaration(void) {
    uint8_t global = parse_variable("Expect variable name.");
    if (match(TOKEN_EQUAL))
        expression();
    else
        emit_byte(OP_NIL);
    consume(TOKEN_SEMICOLON, "Expect ';' after variable declaration.");
    define_variable(global);
}

static void expression_statement(void) {
    expression();
    consume(TOKEN_SEMICOLON, "Expect ';' after expression.");
    emit_byte(OP_POP);
}

static void for_statement(void) {
    begin_scope();
    consume(TOKEN_LEFT_PAREN, "Expect '(' after 'for'.");
    if (match(TOKEN_SEMICOLON)) {
        /* no initializer */
    } else if (match(TOKEN_VAR)) {
        var_declaration();
    } else {
        expression_statement();
    }
    int loop_start = chunk()->count;
    int exit_jump = -1;
    if (!match(TOKEN_SEMICOLON)) {
        expression();
        consume(TOKEN_SEMICOLON, "Expect ';' after loop condition.");
        exit_jump = emit_jump(OP_JUMP_IF_FALSE);
        emit_byte(OP_POP);
    }
    if (!match(TOKEN_RIGHT_PAREN)) {
        int body_jump = emit_jump(OP_JUMP);
        int increment_start = chunk()->count;
        expression();
        emit_byte(OP_POP);
        consume(TOKEN_RIGHT_PAREN, "Expect ')' after for clauses.");
        emit_loop(loop_start);
        loop_start = increment_start;
        patch_jump(body_jump);
    }
    statement();
    emit_loop(loop_start);
    if (exit_jump != -1) {
        patch_jump(exit_jump);
        emit_byte(OP_POP);
    }
    end_scope();
}

static void if_statement(void) {
    consume(TOKEN_LEFT_PAREN, "Expect '(' after 'if'.");
    expression();
    consume(TOKEN_RIGHT_PAREN, "Expect ')' after condition.");
    int then_jump = emit_jump(OP_JUMP_IF_FALSE);
    emit_byte(OP_POP);
    statement();
    int else_jump = emit_jump(OP_JUMP);
    patch_jump(then_jump);
    emit_byte(OP_POP);
    if (match(TOKEN_ELSE)) statement();
    patch_jump(else_jump);
}

static void print_statement(void) {
    expression();
    consume(TOKEN_SEMICOLON, "Expect ';' after value.");
    emit_byte(OP_PRINT);
}

static void return_statement(void) {
    if (current->type == TYPE_SCRIPT) error("Can't return from top-level code.");
    if (match(TOKEN_SEMICOLON)) {
        emit_return();
        return;
    }
    if (current->type == TYPE_INITIALIZER) error("Can't return a value from an initializer.");
    expression();
    consume(TOKEN_SEMICOLON, "Expect ';' after return value.");
    emit_byte(OP_RETURN);
}

static void while_statement(void) {
    int loop_start = chunk()->count;
    consume(TOKEN_LEFT_PAREN, "Expect '(' after 'while'.");
    expression();
    consume(TOKEN_RIGHT_PAREN, "Expect ')' after condition.");
    int exit_jump = emit_jump(OP_JUMP_IF_FALSE);
    emit_byte(OP_POP);
    statement();
    emit_loop(loop_start);
    patch_jump(exit_jump);
    emit_byte(OP_POP);
}

/* After an error, skip to a statement boundary so one mistake gives one
 * message. */
static void synchronize(void) {
    parser.panic_mode = false;
    while (parser.current.type != TOKEN_EOF) {
        if (parser.previous.type == TOKEN_SEMICOLON) return;
        switch (parser.current.type) {
        case TOKEN_CLASS: case TOKEN_FUN: case TOKEN_VAR: case TOKEN_FOR:
        case TOKEN_IF: case TOKEN_WHILE: case TOKEN_PRINT: case TOKEN_RETURN:
            return;
        default: advance();
        }
    }
}

static void declaration(void) {
    if (match(TOKEN_CLASS))
        class_declaration();
    else if (match(TOKEN_FUN))
        fun_declaration();
    else if (match(TOKEN_VAR))
        var_declaration();
    else
        statement();
    if (parser.panic_mode) synchronize();
}

static void statement(void) {
    if (match(TOKEN_PRINT)) {
        print_statement();
    } else if (match(TOKEN_FOR)) {
        for_statement();
    } else if (match(TOKEN_IF)) {
        if_statement();
    } else if (match(TOKEN_RETURN)) {
        return_statement();
    } else if (match(TOKEN_WHILE)) {
        while_statement();
    } else if (match(TOKEN_LEFT_BRACE)) {
        begin_scope();
        block();
        end_scope();
    } else {
        expression_statement();
    }
}

ObjFunction *compile(const char *source) {
    scanner_init(source);
    Compiler c;
    current = NULL;
    current_class = NULL;
    init_compiler(&c, TYPE_SCRIPT);
    parser.had_error = parser.panic_mode = false;
    advance();
    while (!match(TOKEN_EOF)) declaration();
    ObjFunction *f = end_compiler();
    return parser.had_error ? NULL : f;
}
