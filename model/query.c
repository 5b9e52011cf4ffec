/* The search query language: a lexer whose token names and positions are
 * the PLY ones the React viewer reads back from syntax errors, a
 * recursive-descent parser, binding against the config's AuditSchema, and
 * evaluation against stored envelopes. See query.h for the contract.
 *
 * Decisions taken here (API.md II §5.1 leaves them open):
 *  - Tokens are separated by whitespace or by ( ) " : = < >; a '-' is the
 *    exclusion operator only where a unary may start (start of query,
 *    after whitespace, '(', '-', AND or OR; never right after : = < >) and
 *    when a non-space follows it. Elsewhere it is part of a word, so
 *    `a-b`, `n:-5` and `n<-5` hold values, and a lone `-` is a term.
 *  - Positions in error details count code points, as PLY does over a
 *    Python str; the value echoed is the token's source text.
 *  - Whitespace between a field, its operator and its value is allowed
 *    (PLY skips it); the value may be the word AND or OR.
 *  - A bare "" matches every event, like field:"" (everything contains "").
 *  - AND/OR chains are left-deep; every walk loops along the left spine
 *    and recurses only into right children and parentheses, so a 32 KiB
 *    query of terms does not recurse thousands of frames deep. */
#include "query.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/timefmt.h"

#define QUERY_MAX_LEN 32768
#define QUERY_MAX_DEPTH 64
#define QUERY_SHOW_MAX 200 /* bytes of client text an error detail echoes */
#define QUERY_SOURCE "/query"
#define QUERY_CODE "BadFormat"

typedef enum qtok_type {
    QT_LPAREN,
    QT_RPAREN,
    QT_MINUS,
    QT_AND,
    QT_OR,
    QT_WORD,
    QT_QUOTED,
    QT_COLON,
    QT_EQ,
    QT_LT,
    QT_GT,
    QT_BAD_QUOTED, /* unterminated; an error once the parser reaches it */
    QT_EOF
} qtok_type;

/* PLY token names, indexed by qtok_type. */
static const char *const qtok_names[] = {
    "OPAREN", "CPAREN", "MINUS", "AND", "OR", "WORD", "QUOTED",
    "COLON",  "EQ",     "LT",    "GT",  "QUOTED", "EOF",
};

typedef struct qtok {
    qtok_type type;
    size_t start, end; /* byte range in the query text */
} qtok;

typedef struct qparser {
    const char *text;
    size_t len;
    qtok *toks;
    size_t ntoks, pos; /* toks[ntoks - 1] is QT_EOF */
    salog_err *err;
} qparser;

typedef enum qfield_type {
    QF_NONE,     /* not in the schema */
    QF_STRING,   /* string, text, string-unindexed */
    QF_INTEGER,
    QF_BOOLEAN,
    QF_DATETIME,
    QF_RECEIVED, /* the envelope's received_at */
    QF_OTHER     /* a type this module does not know */
} qfield_type;

static bool q_is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool q_is_special(unsigned char c)
{
    return c == '(' || c == ')' || c == '"' || c == ':' || c == '=' || c == '<' || c == '>';
}

static bool q_is_field_name(const char *s, size_t len)
{
    if (len == 0 || s[0] < 'a' || s[0] > 'z')
        return false;
    for (size_t i = 1; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

/* Code points before byte `end` (continuation bytes are not counted). */
static size_t q_codepoints(const char *s, size_t end)
{
    size_t n = 0;
    for (size_t i = 0; i < end; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            n++;
    return n;
}

/* How many bytes of s (len) to echo: at most QUERY_SHOW_MAX, never ending
 * inside a UTF-8 sequence, so details stay valid UTF-8. */
static int q_show_len(const char *s, size_t len)
{
    if (len <= QUERY_SHOW_MAX)
        return (int)len;
    size_t n = QUERY_SHOW_MAX;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return (int)n;
}

static salog_status q_oom(salog_err *err)
{
    return salog_err_set(err, SALOG_E_INTERNAL, "InternalError", QUERY_SOURCE,
                         "out of memory while parsing the query");
}

/* Splits the text into tokens; never fails on content (an unterminated
 * quote becomes QT_BAD_QUOTED so that an earlier syntax error wins, as in
 * PLY's lazy lexer). */
static salog_status q_lex(qparser *p)
{
    p->toks = calloc(p->len + 1, sizeof *p->toks);
    if (!p->toks)
        return q_oom(p->err);
    size_t n = 0, i = 0;
    bool after_space = true; /* the start of the query counts as a boundary */
    while (i < p->len) {
        unsigned char c = (unsigned char)p->text[i];
        if (q_is_space(c)) {
            after_space = true;
            i++;
            continue;
        }
        qtok t = {.start = i};
        qtok_type prev = n ? p->toks[n - 1].type : QT_EOF;
        bool unary_ok = (after_space || prev == QT_EOF || prev == QT_LPAREN ||
                         prev == QT_MINUS || prev == QT_AND || prev == QT_OR) &&
                        prev != QT_COLON && prev != QT_EQ && prev != QT_LT && prev != QT_GT;
        switch (c) {
        case '(': t.type = QT_LPAREN; i++; break;
        case ')': t.type = QT_RPAREN; i++; break;
        case ':': t.type = QT_COLON; i++; break;
        case '=': t.type = QT_EQ; i++; break;
        case '<': t.type = QT_LT; i++; break;
        case '>': t.type = QT_GT; i++; break;
        case '"': {
            size_t j = i + 1;
            while (j < p->len && p->text[j] != '"')
                j += (p->text[j] == '\\' && j + 1 < p->len) ? 2 : 1;
            if (j >= p->len) {
                t.type = QT_BAD_QUOTED;
                i = p->len;
            } else {
                t.type = QT_QUOTED;
                i = j + 1;
            }
            break;
        }
        default:
            if (c == '-' && unary_ok && i + 1 < p->len &&
                !q_is_space((unsigned char)p->text[i + 1])) {
                t.type = QT_MINUS;
                i++;
                break;
            }
            t.type = QT_WORD;
            while (i < p->len && !q_is_space((unsigned char)p->text[i]) &&
                   !q_is_special((unsigned char)p->text[i]))
                i++;
            if (i - t.start == 3 && memcmp(p->text + t.start, "AND", 3) == 0)
                t.type = QT_AND;
            else if (i - t.start == 2 && memcmp(p->text + t.start, "OR", 2) == 0)
                t.type = QT_OR;
            break;
        }
        t.end = i;
        p->toks[n++] = t;
        after_space = false;
    }
    p->toks[n].type = QT_EOF;
    p->toks[n].start = p->toks[n].end = p->len;
    p->ntoks = n + 1;
    return SALOG_OK;
}

static const qtok *q_peek(const qparser *p)
{
    return &p->toks[p->pos];
}

static qtok_type q_peek_type(const qparser *p, size_t ahead)
{
    size_t at = p->pos + ahead;
    return at < p->ntoks ? p->toks[at].type : QT_EOF;
}

static salog_status q_syntax_error(qparser *p, const qtok *t)
{
    if (t->type == QT_EOF)
        return salog_err_set(p->err, SALOG_E_VALIDATION, QUERY_CODE, QUERY_SOURCE,
                             "syntax error at EOF");
    const char *s = p->text + t->start;
    int show = q_show_len(s, t->end - t->start);
    return salog_err_set(p->err, SALOG_E_VALIDATION, QUERY_CODE, QUERY_SOURCE,
                         "syntax error at %.*s: LexToken(%s,'%.*s',1,%zu)", show, s,
                         qtok_names[t->type], show, s, q_codepoints(p->text, t->start));
}

static query_node *q_node_new(query_kind kind)
{
    query_node *q = calloc(1, sizeof *q);
    if (q)
        q->kind = kind;
    return q;
}

/* A node joining left and right (AND/OR); frees both on failure. */
static salog_status q_join(qparser *p, query_kind kind, query_node **left, query_node *right)
{
    query_node *j = q_node_new(kind);
    if (!j) {
        query_free(right);
        return q_oom(p->err);
    }
    j->left = *left;
    j->right = right;
    *left = j;
    return SALOG_OK;
}

/* Copies a WORD or decodes a QUOTED token (\" and \\; any other backslash
 * stays as written) into a new NUL-terminated buffer. */
static char *q_token_text(const qparser *p, const qtok *t, size_t *out_len)
{
    const char *s = p->text + t->start;
    size_t len = t->end - t->start;
    if (t->type == QT_QUOTED) {
        s++;
        len -= 2;
    }
    char *buf = malloc(len + 1);
    if (!buf)
        return NULL;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (t->type == QT_QUOTED && s[i] == '\\' && i + 1 < len &&
            (s[i + 1] == '"' || s[i + 1] == '\\'))
            i++;
        buf[n++] = s[i];
    }
    buf[n] = '\0';
    *out_len = n;
    return buf;
}

static salog_status q_parse_or(qparser *p, unsigned depth, query_node **out);

/* FIELD op value, with p->pos on FIELD. */
static salog_status q_parse_field(qparser *p, query_node **out)
{
    const qtok *field = q_peek(p);
    if (!q_is_field_name(p->text + field->start, field->end - field->start))
        return q_syntax_error(p, field);
    qtok_type op = q_peek_type(p, 1);
    p->pos += 2;
    const qtok *v = q_peek(p);
    if (v->type != QT_WORD && v->type != QT_QUOTED && v->type != QT_AND && v->type != QT_OR)
        return q_syntax_error(p, v);
    p->pos++;
    if (op == QT_COLON && v->type == QT_QUOTED && v->end - v->start == 2) {
        *out = q_node_new(QUERY_ALL); /* field:"" */
        return *out ? SALOG_OK : q_oom(p->err);
    }
    query_kind kind = op == QT_COLON ? QUERY_CONTAINS
                      : op == QT_EQ  ? QUERY_EQUALS
                      : op == QT_LT  ? QUERY_LESS
                                     : QUERY_GREATER;
    query_node *q = q_node_new(kind);
    if (!q)
        return q_oom(p->err);
    q->field = strndup(p->text + field->start, field->end - field->start);
    q->value = q_token_text(p, v, &q->value_len);
    if (!q->field || !q->value) {
        query_free(q);
        return q_oom(p->err);
    }
    *out = q;
    return SALOG_OK;
}

static salog_status q_parse_primary(qparser *p, unsigned depth, query_node **out)
{
    const qtok *t = q_peek(p);
    switch (t->type) {
    case QT_LPAREN: {
        if (depth >= QUERY_MAX_DEPTH)
            return q_syntax_error(p, t);
        p->pos++;
        query_node *inner = NULL;
        salog_status st = q_parse_or(p, depth + 1, &inner);
        if (st != SALOG_OK)
            return st;
        if (q_peek(p)->type != QT_RPAREN) {
            query_free(inner);
            return q_syntax_error(p, q_peek(p));
        }
        p->pos++;
        *out = inner;
        return SALOG_OK;
    }
    case QT_WORD:
    case QT_QUOTED: {
        qtok_type next = q_peek_type(p, 1);
        if (t->type == QT_WORD &&
            (next == QT_COLON || next == QT_EQ || next == QT_LT || next == QT_GT))
            return q_parse_field(p, out);
        p->pos++; /* a bare value is a term */
        if (t->type == QT_QUOTED && t->end - t->start == 2) {
            *out = q_node_new(QUERY_ALL); /* bare "" */
            return *out ? SALOG_OK : q_oom(p->err);
        }
        query_node *q = q_node_new(QUERY_TERM);
        if (!q)
            return q_oom(p->err);
        q->value = q_token_text(p, t, &q->value_len);
        if (!q->value) {
            query_free(q);
            return q_oom(p->err);
        }
        *out = q;
        return SALOG_OK;
    }
    default:
        return q_syntax_error(p, t);
    }
}

static salog_status q_parse_unary(qparser *p, unsigned depth, query_node **out)
{
    const qtok *t = q_peek(p);
    if (t->type != QT_MINUS)
        return q_parse_primary(p, depth, out);
    if (depth >= QUERY_MAX_DEPTH)
        return q_syntax_error(p, t);
    p->pos++;
    query_node *inner = NULL;
    salog_status st = q_parse_unary(p, depth + 1, &inner);
    if (st != SALOG_OK)
        return st;
    query_node *q = q_node_new(QUERY_NOT);
    if (!q) {
        query_free(inner);
        return q_oom(p->err);
    }
    q->left = inner;
    *out = q;
    return SALOG_OK;
}

static bool q_starts_unary(qtok_type t)
{
    return t == QT_WORD || t == QT_QUOTED || t == QT_LPAREN || t == QT_MINUS ||
           t == QT_BAD_QUOTED;
}

/* unary (["AND"] unary)* */
static salog_status q_parse_and(qparser *p, unsigned depth, query_node **out)
{
    query_node *left = NULL;
    salog_status st = q_parse_unary(p, depth, &left);
    while (st == SALOG_OK) {
        qtok_type t = q_peek_type(p, 0);
        if (t == QT_AND)
            p->pos++;
        else if (!q_starts_unary(t))
            break;
        query_node *right = NULL;
        st = q_parse_unary(p, depth, &right);
        if (st == SALOG_OK)
            st = q_join(p, QUERY_AND, &left, right);
    }
    if (st != SALOG_OK) {
        query_free(left);
        return st;
    }
    *out = left;
    return SALOG_OK;
}

/* and_expr ("OR" and_expr)* */
static salog_status q_parse_or(qparser *p, unsigned depth, query_node **out)
{
    query_node *left = NULL;
    salog_status st = q_parse_and(p, depth, &left);
    while (st == SALOG_OK && q_peek_type(p, 0) == QT_OR) {
        p->pos++;
        query_node *right = NULL;
        st = q_parse_and(p, depth, &right);
        if (st == SALOG_OK)
            st = q_join(p, QUERY_OR, &left, right);
    }
    if (st != SALOG_OK) {
        query_free(left);
        return st;
    }
    *out = left;
    return SALOG_OK;
}

salog_status query_parse(const char *text, size_t len, query_node **out, salog_err *err)
{
    salog_status st = SALOG_OK;
    query_node *q = NULL;
    qparser p = {.text = text ? text : "", .len = text ? len : 0, .err = err};
    *out = NULL;
    if (p.len > QUERY_MAX_LEN) {
        st = salog_err_set(err, SALOG_E_VALIDATION, QUERY_CODE, QUERY_SOURCE,
                           "query is too long");
        goto out;
    }
    st = q_lex(&p);
    if (st != SALOG_OK)
        goto out;
    if (p.ntoks == 1) { /* empty or whitespace only */
        q = q_node_new(QUERY_ALL);
        if (!q)
            st = q_oom(err);
        goto out;
    }
    st = q_parse_or(&p, 0, &q);
    if (st == SALOG_OK && q_peek(&p)->type != QT_EOF)
        st = q_syntax_error(&p, q_peek(&p));
out:
    free(p.toks);
    if (st != SALOG_OK) {
        query_free(q);
        return st;
    }
    *out = q;
    return SALOG_OK;
}

void query_free(query_node *q)
{
    while (q) {
        query_free(q->right);
        query_node *next = q->left;
        free(q->field);
        free(q->value);
        free(q);
        q = next;
    }
}

/* ---- schema ---- */

static const sv_value *q_schema_field(const sv_value *schema, const char *id)
{
    const sv_value *fields = sv_object_get(schema, "fields");
    if (!sv_is(fields, SV_ARRAY))
        return NULL;
    for (size_t i = 0; i < fields->u.arr.count; i++) {
        const char *fid = sv_object_get_str(fields->u.arr.items[i], "id");
        if (fid && strcmp(fid, id) == 0)
            return fields->u.arr.items[i];
    }
    return NULL;
}

static qfield_type q_type_from_name(const char *type)
{
    if (!type)
        return QF_OTHER;
    if (!strcmp(type, "string") || !strcmp(type, "text") || !strcmp(type, "string-unindexed"))
        return QF_STRING;
    if (!strcmp(type, "integer"))
        return QF_INTEGER;
    if (!strcmp(type, "boolean"))
        return QF_BOOLEAN;
    if (!strcmp(type, "datetime"))
        return QF_DATETIME;
    return QF_OTHER;
}

static qfield_type q_field_type(const sv_value *schema, const char *id, const char **type_name)
{
    *type_name = "datetime";
    if (strcmp(id, "received_at") == 0)
        return QF_RECEIVED;
    const sv_value *f = q_schema_field(schema, id);
    if (!f)
        return QF_NONE;
    *type_name = sv_object_get_str(f, "type");
    qfield_type t = q_type_from_name(*type_name);
    if (!*type_name)
        *type_name = "unknown";
    return t;
}

/* Strict decimal int64 with an optional leading '-'. 0 / -1. */
static int q_parse_int64(const char *s, size_t len, int64_t *out)
{
    size_t i = 0;
    bool neg = len > 0 && s[0] == '-';
    if (neg)
        i = 1;
    if (i == len)
        return -1;
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, acc = 0;
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        uint64_t d = (uint64_t)(s[i] - '0');
        if (acc > (limit - d) / 10)
            return -1;
        acc = acc * 10 + d;
    }
    if (!neg)
        *out = (int64_t)acc;
    else if (acc == (uint64_t)INT64_MAX + 1)
        *out = INT64_MIN;
    else
        *out = -(int64_t)acc;
    return 0;
}

static salog_status q_bind_leaf(query_node *q, const sv_value *schema, salog_err *err)
{
    const char *type_name = NULL;
    qfield_type t = q_field_type(schema, q->field, &type_name);
    if (t == QF_NONE)
        return salog_err_set(err, SALOG_E_VALIDATION, QUERY_CODE, QUERY_SOURCE,
                             "unknown field '%s' in query", q->field);
    if (q->kind != QUERY_LESS && q->kind != QUERY_GREATER)
        return SALOG_OK;
    char op = q->kind == QUERY_LESS ? '<' : '>';
    int show = q_show_len(q->value, q->value_len);
    if (t == QF_INTEGER) {
        if (q_parse_int64(q->value, q->value_len, &q->number) != 0)
            return salog_err_set(err, SALOG_E_VALIDATION, QUERY_CODE, QUERY_SOURCE,
                                 "'%.*s' is not an integer (field '%s')", show, q->value,
                                 q->field);
        q->number_is_time = false;
        return SALOG_OK;
    }
    if (t == QF_DATETIME || t == QF_RECEIVED) {
        if (strlen(q->value) != q->value_len ||
            time_parse_rfc3339(q->value, &q->number) != 0)
            return salog_err_set(err, SALOG_E_VALIDATION, QUERY_CODE, QUERY_SOURCE,
                                 "'%.*s' is not a datetime (field '%s')", show, q->value,
                                 q->field);
        q->number_is_time = true;
        return SALOG_OK;
    }
    return salog_err_set(err, SALOG_E_VALIDATION, QUERY_CODE, QUERY_SOURCE,
                         "field '%s' of type %.32s cannot be compared with '%c'", q->field,
                         type_name, op);
}

/* Walks the tree left to right (so the first error named is the leftmost)
 * with an explicit stack: AND/OR chains may be thousands of nodes deep. */
salog_status query_bind(query_node *q, const sv_value *schema, salog_err *err)
{
    salog_status st = SALOG_OK;
    size_t n = 0, cap = 0;
    query_node **stack = NULL;
    if (!q)
        return SALOG_OK;
    stack = malloc(sizeof *stack * 16);
    if (!stack)
        return q_oom(err);
    cap = 16;
    stack[n++] = q;
    while (n > 0) {
        query_node *cur = stack[--n];
        if (!cur)
            continue;
        if (cur->kind == QUERY_CONTAINS || cur->kind == QUERY_EQUALS ||
            cur->kind == QUERY_LESS || cur->kind == QUERY_GREATER) {
            if (!cur->field)
                continue;
            st = q_bind_leaf(cur, schema, err);
            if (st != SALOG_OK)
                goto out;
            continue;
        }
        if (n + 2 > cap) {
            query_node **grown = realloc(stack, sizeof *stack * cap * 2);
            if (!grown) {
                st = q_oom(err);
                goto out;
            }
            stack = grown;
            cap *= 2;
        }
        stack[n++] = cur->right; /* NULL for NOT: skipped */
        stack[n++] = cur->left;
    }
out:
    free(stack);
    return st;
}

/* ---- evaluation ---- */

static bool q_text_matches(const query_node *q, const char *s, size_t len)
{
    if (q->kind == QUERY_EQUALS)
        return len == q->value_len && memcmp(s, q->value, len) == 0;
    return q->value_len == 0 || memmem(s, len, q->value, q->value_len) != NULL;
}

static const sv_value *q_leaf_value(const query_node *q, const sv_value *envelope)
{
    if (strcmp(q->field, "received_at") == 0)
        return sv_object_get(envelope, "received_at");
    return sv_object_get(sv_object_get(envelope, "event"), q->field);
}

static bool q_match_compare(const query_node *q, const sv_value *v)
{
    int64_t have;
    if (q->number_is_time) {
        if (!sv_is(v, SV_STRING) || strlen(v->u.s.ptr) != v->u.s.len ||
            time_parse_rfc3339(v->u.s.ptr, &have) != 0)
            return false;
    } else {
        if (!sv_is(v, SV_INT))
            return false;
        have = v->u.i;
    }
    return q->kind == QUERY_LESS ? have < q->number : have > q->number;
}

static bool q_match_text(const query_node *q, const sv_value *v)
{
    char num[24];
    switch (v ? v->type : SV_NULL) {
    case SV_STRING:
        return q_text_matches(q, v->u.s.ptr, v->u.s.len);
    case SV_INT: {
        int w = snprintf(num, sizeof num, "%" PRId64, v->u.i);
        return w > 0 && q_text_matches(q, num, (size_t)w);
    }
    case SV_BOOL:
        return v->u.b ? q_text_matches(q, "true", 4) : q_text_matches(q, "false", 5);
    default:
        return false;
    }
}

/* Bare term: a string-typed schema field of the event contains it. Without
 * a fields list, every string member of the event is searched. */
static bool q_match_term(const query_node *q, const sv_value *envelope, const sv_value *schema)
{
    const sv_value *event = sv_object_get(envelope, "event");
    if (!sv_is(event, SV_OBJECT))
        return false;
    const sv_value *fields = sv_object_get(schema, "fields");
    for (size_t i = 0; i < event->u.obj.count; i++) {
        const sv_member *m = &event->u.obj.members[i];
        if (!sv_is(m->value, SV_STRING))
            continue;
        if (sv_is(fields, SV_ARRAY)) {
            const sv_value *f = q_schema_field(schema, m->key);
            if (!f || q_type_from_name(sv_object_get_str(f, "type")) != QF_STRING)
                continue;
        }
        if (q_text_matches(q, m->value->u.s.ptr, m->value->u.s.len))
            return true;
    }
    return false;
}

bool query_matches(const query_node *q, const sv_value *envelope, const sv_value *schema)
{
    for (;;) {
        if (!q)
            return true;
        switch (q->kind) {
        case QUERY_ALL:
            return true;
        case QUERY_TERM:
            return q->value && q_match_term(q, envelope, schema);
        case QUERY_CONTAINS:
        case QUERY_EQUALS:
            return q->field && q->value && q_match_text(q, q_leaf_value(q, envelope));
        case QUERY_LESS:
        case QUERY_GREATER:
            return q->field && q_match_compare(q, q_leaf_value(q, envelope));
        case QUERY_NOT:
            return !query_matches(q->left, envelope, schema);
        case QUERY_AND:
            if (!query_matches(q->right, envelope, schema))
                return false;
            q = q->left;
            continue;
        case QUERY_OR:
            if (query_matches(q->right, envelope, schema))
                return true;
            q = q->left;
            continue;
        default:
            return false;
        }
    }
}

bool query_is_match_all(const query_node *q)
{
    for (;;) {
        if (!q)
            return true;
        switch (q->kind) {
        case QUERY_ALL:
            return true;
        case QUERY_AND:
            if (!query_is_match_all(q->right))
                return false;
            q = q->left;
            continue;
        case QUERY_OR:
            if (query_is_match_all(q->right))
                return true;
            q = q->left;
            continue;
        default:
            return false;
        }
    }
}
