/* The search query language (API.md II §5.1, I.7), parsed into a tree and
 * evaluated against events.
 *
 * Grammar (precedence: `-` tightest, then AND — written or implied by a
 * space — then OR; AND/OR are keywords only in upper case):
 *   query   := or_expr | ""            (empty = every event)
 *   or_expr := and_expr ("OR" and_expr)*
 *   and_expr:= unary (["AND"] unary)*
 *   unary   := "-" unary | primary
 *   primary := "(" or_expr ")" | FIELD ":" value | FIELD "=" value
 *            | FIELD "<" value | FIELD ">" value | value
 *   value   := WORD | QUOTED           (QUOTED: "…" with \" and \\ escapes)
 * A value holding a space, ':', '=', '<', '>', '(' or ')' must be quoted.
 * FIELD is [a-z][0-9a-z_]* (schema field ids; also received_at for < >).
 *
 * Semantics: `field:value` = the field's text contains value (case-
 * sensitive); `field=value` = equals; bare `value` = some string field
 * contains it; `field:""` matches every event; `<`/`>` compare integer
 * fields numerically and datetime fields (and received_at) as times
 * (negative integers allowed). Integers and booleans match `:`/`=` on their
 * decimal / true|false text. */
#ifndef SALOG_QUERY_H
#define SALOG_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "codec/error.h"
#include "codec/value.h"

typedef enum query_kind {
    QUERY_ALL,        /* empty query, or field:"" */
    QUERY_TERM,       /* bare value: any string field contains it */
    QUERY_CONTAINS,   /* field:value */
    QUERY_EQUALS,     /* field=value */
    QUERY_LESS,       /* field<value */
    QUERY_GREATER,    /* field>value */
    QUERY_AND,
    QUERY_OR,
    QUERY_NOT
} query_kind;

typedef struct query_node {
    query_kind kind;
    char *field;                /* owned; NULL for ALL/TERM/AND/OR/NOT */
    char *value;                /* owned UTF-8; NULL for ALL/AND/OR/NOT */
    size_t value_len;
    int64_t number;             /* LESS/GREATER: parsed integer or time (µs), see number_is_time */
    bool number_is_time;
    struct query_node *left;    /* AND/OR/NOT */
    struct query_node *right;   /* AND/OR */
} query_node;

/* Parses `text`. Syntax errors -> SALOG_E_VALIDATION, code "BadFormat",
 * source "/query", detail in the PLY style the React viewer reads, e.g.
 * "syntax error at ): LexToken(CPAREN,')',1,6)" (line always 1, 0-based
 * position in code points), or "syntax error at EOF". Longer than 32768
 * bytes -> "query is too long". *out is caller-owned: query_free. Nesting
 * (parentheses and `-`) deeper than 64 is a syntax error. */
salog_status query_parse(const char *text, size_t len, query_node **out, salog_err *err);
void query_free(query_node *q);

/* Checks fields against the config's AuditSchema: an unknown field ->
 * ValidationError code "BadFormat" at "/query" naming it; `<`/`>` on a field
 * that is not integer or datetime (or received_at), or whose value does not
 * parse as that type -> the same. Fills number/number_is_time. */
salog_status query_bind(query_node *q, const sv_value *schema, salog_err *err);

/* True when the stored envelope's event (and its received_at, for
 * received_at comparisons) satisfies the bound query. */
bool query_matches(const query_node *q, const sv_value *envelope, const sv_value *schema);

/* True when q matches every event whatever it holds: NULL, QUERY_ALL, an
 * AND of such queries, or an OR with such a side (lets the index layer
 * skip filtering). */
bool query_is_match_all(const query_node *q);

#endif
