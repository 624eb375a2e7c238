/*
 * scanner.c -- the lexer: a cursor over the source and a keyword matcher.
 */
#include <stdbool.h>
#include <string.h>

#include "scanner.h"

static struct {
    const char *start;   /* of the token being scanned */
    const char *current; /* next character */
    int line;
} sc;

void scanner_init(const char *source) {
    sc.start = sc.current = source;
    sc.line = 1;
}

static bool at_end(void) { return *sc.current == '\0'; }
static char advance(void) { return *sc.current++; }
static char peek(void) { return *sc.current; }
static char peek_next(void) { return at_end() ? '\0' : sc.current[1]; }
static bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool is_digit(char c) { return c >= '0' && c <= '9'; }

static bool match(char expected) {
    if (at_end() || *sc.current != expected) return false;
    sc.current++;
    return true;
}

static Token make(TokenType type) {
    return (Token){type, sc.start, (int)(sc.current - sc.start), sc.line};
}

static Token error_token(const char *msg) {
    return (Token){TOKEN_ERROR, msg, (int)strlen(msg), sc.line};
}

static void skip_space(void) {
    for (;;) {
        switch (peek()) {
        case ' ': case '\r': case '\t': advance(); break;
        case '\n': sc.line++; advance(); break;
        case '/':
            if (peek_next() != '/') return;
            while (peek() != '\n' && !at_end()) advance();
            break;
        default: return;
        }
    }
}

/* Keywords by their first letters; anything else is an identifier. */
static TokenType identifier_type(void) {
    static const struct { const char *word; TokenType type; } keywords[] = {
        {"and", TOKEN_AND},     {"class", TOKEN_CLASS}, {"else", TOKEN_ELSE},
        {"false", TOKEN_FALSE}, {"for", TOKEN_FOR},     {"fun", TOKEN_FUN},
        {"if", TOKEN_IF},       {"nil", TOKEN_NIL},     {"or", TOKEN_OR},
        {"print", TOKEN_PRINT}, {"return", TOKEN_RETURN}, {"super", TOKEN_SUPER},
        {"this", TOKEN_THIS},   {"true", TOKEN_TRUE},   {"var", TOKEN_VAR},
        {"while", TOKEN_WHILE},
    };
    size_t len = (size_t)(sc.current - sc.start);
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
        if (strlen(keywords[i].word) == len && memcmp(keywords[i].word, sc.start, len) == 0)
            return keywords[i].type;
    return TOKEN_IDENTIFIER;
}

static Token identifier(void) {
    while (is_alpha(peek()) || is_digit(peek())) advance();
    return make(identifier_type());
}

static Token number(void) {
    while (is_digit(peek())) advance();
    if (peek() == '.' && is_digit(peek_next())) {
        advance();
        while (is_digit(peek())) advance();
    }
    return make(TOKEN_NUMBER);
}

static Token string(void) {
    while (peek() != '"' && !at_end()) {
        if (peek() == '\n') sc.line++;
        advance();
    }
    if (at_end()) return error_token("Unterminated string.");
    advance();
    return make(TOKEN_STRING);
}

Token scan_token(void) {
    skip_space();
    sc.start = sc.current;
    if (at_end()) return make(TOKEN_EOF);
    char c = advance();
    if (is_alpha(c)) return identifier();
    if (is_digit(c)) return number();
    switch (c) {
    case '(': return make(TOKEN_LEFT_PAREN);
    case ')': return make(TOKEN_RIGHT_PAREN);
    case '{': return make(TOKEN_LEFT_BRACE);
    case '}': return make(TOKEN_RIGHT_BRACE);
    case ';': return make(TOKEN_SEMICOLON);
    case ',': return make(TOKEN_COMMA);
    case '.': return make(TOKEN_DOT);
    case '-': return make(TOKEN_MINUS);
    case '+': return make(TOKEN_PLUS);
    case '/': return make(TOKEN_SLASH);
    case '*': return make(TOKEN_STAR);
    case '!': return make(match('=') ? TOKEN_BANG_EQUAL : TOKEN_BANG);
    case '=': return make(match('=') ? TOKEN_EQUAL_EQUAL : TOKEN_EQUAL);
    case '<': return make(match('=') ? TOKEN_LESS_EQUAL : TOKEN_LESS);
    case '>': return make(match('=') ? TOKEN_GREATER_EQUAL : TOKEN_GREATER);
    case '"': return string();
    }
    return error_token("Unexpected character.");
}
