/* query_parse / query_bind / query_matches: API.md II §5.1 and I.7, the
 * grammar and semantics written in model/query.h. */
#include <criterion/criterion.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"
#include "model/query.h"

/* ---- helpers ---- */

typedef struct qt_buf {
    char s[8192];
    size_t n;
} qt_buf;

static void qt_put(qt_buf *b, const char *s, size_t len)
{
    cr_assert(b->n + len < sizeof b->s, "rendering too long");
    memcpy(b->s + b->n, s, len);
    b->n += len;
    b->s[b->n] = '\0';
}

static void qt_puts(qt_buf *b, const char *s)
{
    qt_put(b, s, strlen(s));
}

/* Renders a tree: * for ALL, [v] for a term, f:[v] f=[v] f<[v] f>[v],
 * (L AND R), (L OR R), -X. */
static void qt_render(qt_buf *b, const query_node *q)
{
    cr_assert_not_null(q);
    switch (q->kind) {
    case QUERY_ALL:
        cr_assert_null(q->field);
        cr_assert_null(q->value);
        qt_puts(b, "*");
        return;
    case QUERY_TERM:
        cr_assert_null(q->field);
        qt_puts(b, "[");
        qt_put(b, q->value, q->value_len);
        qt_puts(b, "]");
        return;
    case QUERY_CONTAINS:
    case QUERY_EQUALS:
    case QUERY_LESS:
    case QUERY_GREATER:
        qt_puts(b, q->field);
        qt_puts(b, q->kind == QUERY_CONTAINS ? ":[" : q->kind == QUERY_EQUALS ? "=[" :
                   q->kind == QUERY_LESS     ? "<["
                                             : ">[");
        qt_put(b, q->value, q->value_len);
        qt_puts(b, "]");
        return;
    case QUERY_NOT:
        cr_assert_null(q->right);
        qt_puts(b, "-");
        qt_render(b, q->left);
        return;
    case QUERY_AND:
    case QUERY_OR:
        qt_puts(b, "(");
        qt_render(b, q->left);
        qt_puts(b, q->kind == QUERY_AND ? " AND " : " OR ");
        qt_render(b, q->right);
        qt_puts(b, ")");
        return;
    }
    cr_assert_fail("bad kind %d", (int)q->kind);
}

static void qt_expect_tree_len(const char *text, size_t len, const char *want)
{
    salog_err err;
    salog_err_init(&err);
    query_node *q = NULL;
    salog_status st = query_parse(text, len, &q, &err);
    cr_assert_eq(st, SALOG_OK, "query %s: %s", text, err.count ? err.items[0].detail : "?");
    qt_buf b = {{0}, 0};
    qt_render(&b, q);
    cr_assert_str_eq(b.s, want, "query %s", text);
    query_free(q);
}

static void qt_expect_tree(const char *text, const char *want)
{
    qt_expect_tree_len(text, strlen(text), want);
}

static void qt_expect_syntax_len(const char *text, size_t len, const char *detail)
{
    salog_err err;
    salog_err_init(&err);
    query_node *q = (query_node *)0x1;
    salog_status st = query_parse(text, len, &q, &err);
    cr_assert_eq(st, SALOG_E_VALIDATION, "query %s parsed", text);
    cr_assert_null(q);
    cr_assert_eq(err.status, SALOG_E_VALIDATION);
    cr_assert_eq(err.count, 1);
    cr_assert_str_eq(err.items[0].code, "BadFormat");
    cr_assert_str_eq(err.items[0].source, "/query");
    cr_assert_str_eq(err.items[0].detail, detail, "query %s", text);
}

static void qt_expect_syntax(const char *text, const char *detail)
{
    qt_expect_syntax_len(text, strlen(text), detail);
}

static sv_value *qt_json(const char *text)
{
    salog_err err;
    salog_err_init(&err);
    sv_value *v = NULL;
    salog_status st = codec_json_decode(&v, text, strlen(text), CODEC_DEFAULT_MAX_DEPTH, &err);
    cr_assert_eq(st, SALOG_OK, "test JSON does not decode: %s", text);
    return v;
}

/* Standard fields plus typed custom ones. */
static sv_value *qt_schema(void)
{
    return qt_json(
        "{\"fields\":["
        "{\"id\":\"message\",\"type\":\"string\",\"size\":32766,\"required\":true},"
        "{\"id\":\"actor\",\"type\":\"string\"},{\"id\":\"action\",\"type\":\"string\"},"
        "{\"id\":\"status\",\"type\":\"string\"},{\"id\":\"target\",\"type\":\"string\"},"
        "{\"id\":\"source\",\"type\":\"string\"},{\"id\":\"tenant_id\",\"type\":\"string\"},"
        "{\"id\":\"old\",\"type\":\"string\"},{\"id\":\"new\",\"type\":\"string\"},"
        "{\"id\":\"timestamp\",\"type\":\"datetime\"},"
        "{\"id\":\"count\",\"type\":\"integer\"},{\"id\":\"flag\",\"type\":\"boolean\"},"
        "{\"id\":\"when\",\"type\":\"datetime\"},{\"id\":\"notes\",\"type\":\"text\"},"
        "{\"id\":\"blob\",\"type\":\"string-unindexed\"}"
        "],\"tamper_proofing\":true}");
}

#define QT_NENV 3
static const char *const qt_envelopes[QT_NENV] = {
    "{\"event\":{\"message\":\"User Alice logged in\",\"actor\":\"alice\",\"action\":\"login\","
    "\"status\":\"success\",\"count\":5,\"flag\":true,\"when\":\"2024-03-01T10:00:00Z\","
    "\"timestamp\":\"2024-03-01T09:59:59.123Z\",\"blob\":\"{\\\"k\\\":\\\"v\\\"}\"},"
    "\"received_at\":\"2024-03-01T10:00:00.500000Z\"}",
    "{\"event\":{\"message\":\"Bob \\u65e5\\u672c\\u8a9e failed (again)\",\"actor\":\"bob\","
    "\"status\":\"failure\",\"count\":-7,\"flag\":false,\"when\":\"2023-12-31T23:59:59+02:00\","
    "\"notes\":\"the quick brown fox\",\"old\":\"say \\\"hi\\\" \\\\ end\"},"
    "\"received_at\":\"2023-12-31T23:00:00.000000Z\",\"signature\":\"sig\"}",
    "{\"event\":{\"message\":\"plain\",\"count\":\"x\",\"when\":\"garbage\",\"flag\":\"true\"},"
    "\"received_at\":\"2024-06-01T00:00:00.000000Z\"}",
};

/* Bitmask of the sample envelopes the query matches (bit i = envelope i). */
static unsigned qt_match_mask(const char *text)
{
    salog_err err;
    salog_err_init(&err);
    query_node *q = NULL;
    sv_value *schema = qt_schema();
    cr_assert_eq(query_parse(text, strlen(text), &q, &err), SALOG_OK, "query %s: %s", text,
                 err.count ? err.items[0].detail : "?");
    cr_assert_eq(query_bind(q, schema, &err), SALOG_OK, "bind %s: %s", text,
                 err.count ? err.items[0].detail : "?");
    unsigned mask = 0;
    for (int i = 0; i < QT_NENV; i++) {
        sv_value *env = qt_json(qt_envelopes[i]);
        if (query_matches(q, env, schema))
            mask |= 1u << i;
        sv_free(env);
    }
    query_free(q);
    sv_free(schema);
    return mask;
}

#define QT_MATCHES(text, want)                                                                  \
    do {                                                                                        \
        unsigned got_ = qt_match_mask(text);                                                    \
        cr_assert_eq(got_, (unsigned)(want), "query %s matched mask %u, want %u", text, got_,  \
                     (unsigned)(want));                                                         \
    } while (0)

static void qt_expect_bind_error(const char *text, const char *detail)
{
    salog_err err;
    salog_err_init(&err);
    query_node *q = NULL;
    sv_value *schema = qt_schema();
    cr_assert_eq(query_parse(text, strlen(text), &q, &err), SALOG_OK, "query %s", text);
    cr_assert_eq(query_bind(q, schema, &err), SALOG_E_VALIDATION, "bind %s succeeded", text);
    cr_assert_eq(err.count, 1);
    cr_assert_str_eq(err.items[0].code, "BadFormat");
    cr_assert_str_eq(err.items[0].source, "/query");
    cr_assert_str_eq(err.items[0].detail, detail, "query %s", text);
    query_free(q);
    sv_free(schema);
}

static query_node *qt_parse_bind(const char *text)
{
    salog_err err;
    salog_err_init(&err);
    query_node *q = NULL;
    sv_value *schema = qt_schema();
    cr_assert_eq(query_parse(text, strlen(text), &q, &err), SALOG_OK, "query %s", text);
    cr_assert_eq(query_bind(q, schema, &err), SALOG_OK, "bind %s: %s", text,
                 err.count ? err.items[0].detail : "?");
    sv_free(schema);
    return q;
}

static char *qt_repeat(const char *head, const char *unit, size_t times, const char *tail)
{
    size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
    char *s = malloc(hl + ul * times + tl + 1);
    cr_assert_not_null(s);
    memcpy(s, head, hl);
    for (size_t i = 0; i < times; i++)
        memcpy(s + hl + i * ul, unit, ul);
    memcpy(s + hl + ul * times, tail, tl + 1);
    return s;
}

/* ---- parsing ---- */

Test(query_parse, empty_and_whitespace_match_all)
{
    qt_expect_tree("", "*");
    qt_expect_tree("   \t\n ", "*");
    qt_expect_tree_len(NULL, 0, "*");
}

Test(query_parse, terms_and_field_operators)
{
    qt_expect_tree("alice", "[alice]");
    qt_expect_tree("actor:alice", "actor:[alice]");
    qt_expect_tree("actor=alice", "actor=[alice]");
    qt_expect_tree("count<10", "count<[10]");
    qt_expect_tree("count>10", "count>[10]");
    qt_expect_tree("tenant_id:t1", "tenant_id:[t1]");
    qt_expect_tree("f2_x9:v", "f2_x9:[v]");
    /* PLY skips whitespace between tokens */
    qt_expect_tree("actor : alice", "actor:[alice]");
    qt_expect_tree("count <\t10", "count<[10]");
}

Test(query_parse, implicit_and_explicit_and)
{
    qt_expect_tree("a b c", "(([a] AND [b]) AND [c])");
    qt_expect_tree("a AND b", "([a] AND [b])");
    qt_expect_tree("a AND b c", "(([a] AND [b]) AND [c])");
    qt_expect_tree("a\tb\nc", "(([a] AND [b]) AND [c])");
    qt_expect_tree("actor:a status:b", "(actor:[a] AND status:[b])");
    qt_expect_tree("a(b)", "([a] AND [b])");
    qt_expect_tree("\"a\"\"b\"", "([a] AND [b])");
}

Test(query_parse, precedence)
{
    qt_expect_tree("a OR b c", "([a] OR ([b] AND [c]))");
    qt_expect_tree("a b OR c", "(([a] AND [b]) OR [c])");
    qt_expect_tree("-a b", "(-[a] AND [b])");
    qt_expect_tree("a AND -(b OR c)", "([a] AND -([b] OR [c]))");
    qt_expect_tree("a OR b AND c OR d", "(([a] OR ([b] AND [c])) OR [d])");
    qt_expect_tree("(a OR b) c", "(([a] OR [b]) AND [c])");
    qt_expect_tree("a OR b OR c", "(([a] OR [b]) OR [c])");
    qt_expect_tree("-a OR -b", "(-[a] OR -[b])");
    qt_expect_tree("-actor:x", "-actor:[x]");
    qt_expect_tree("--a", "--[a]");
    qt_expect_tree("(-a)", "-[a]");
    qt_expect_tree("-\"x y\"", "-[x y]");
    qt_expect_tree("((a))", "[a]");
    qt_expect_tree("(a:1 OR b:2) AND c:3", "((a:[1] OR b:[2]) AND c:[3])");
}

Test(query_parse, minus_inside_words_and_values)
{
    qt_expect_tree("a-b", "[a-b]");
    qt_expect_tree("a - b", "(([a] AND [-]) AND [b])");
    qt_expect_tree("-", "[-]");
    qt_expect_tree("a -", "([a] AND [-])");
    qt_expect_tree("count:-5", "count:[-5]");
    qt_expect_tree("count=-5", "count=[-5]");
    qt_expect_tree("count<-5", "count<[-5]");
    qt_expect_tree("count>-5", "count>[-5]");
    qt_expect_tree("count > -5", "count>[-5]");
    qt_expect_tree("(a)-b", "([a] AND [-b])");
    qt_expect_tree("x -y-z", "([x] AND -[y-z])");
}

Test(query_parse, quoted_phrases_and_escapes)
{
    qt_expect_tree("\"hello world\"", "[hello world]");
    qt_expect_tree("message:\"two words\"", "message:[two words]");
    qt_expect_tree("\"say \\\"hi\\\" \\\\ end\"", "[say \"hi\" \\ end]");
    qt_expect_tree("\"a\\nb\"", "[a\\nb]"); /* other escapes stay as written */
    qt_expect_tree("\"(a:b) = <c>\"", "[(a:b) = <c>]");
    qt_expect_tree("\"AND\" \"OR\"", "([AND] AND [OR])");
    qt_expect_tree("a=\"\"", "a=[]");
}

Test(query_parse, lowercase_and_or_are_terms)
{
    qt_expect_tree("a and b", "(([a] AND [and]) AND [b])");
    qt_expect_tree("a or b", "(([a] AND [or]) AND [b])");
    qt_expect_tree("And Or", "([And] AND [Or])");
    qt_expect_tree("ANDY ORE", "([ANDY] AND [ORE])");
    /* after an operator, AND / OR are values */
    qt_expect_tree("action:AND", "action:[AND]");
    qt_expect_tree("action=OR", "action=[OR]");
}

Test(query_parse, empty_quoted_value_matches_all)
{
    qt_expect_tree("message:\"\"", "*");
    qt_expect_tree("\"\"", "*");
    qt_expect_tree("message:\"\" foo", "(* AND [foo])");
}

Test(query_parse, unicode)
{
    qt_expect_tree("message:h\xc3\xa9llo", "message:[h\xc3\xa9llo]");
    qt_expect_tree("\"\xe6\x97\xa5\xe6\x9c\xac \xe8\xaa\x9e\"", "[\xe6\x97\xa5\xe6\x9c\xac \xe8\xaa\x9e]");
    qt_expect_tree("\xf0\x9f\x94\x92 x", "([\xf0\x9f\x94\x92] AND [x])");
}

Test(query_parse, nul_byte_in_value)
{
    const char text[] = "a\0b";
    salog_err err;
    salog_err_init(&err);
    query_node *q = NULL;
    cr_assert_eq(query_parse(text, 3, &q, &err), SALOG_OK);
    cr_assert_eq(q->kind, QUERY_TERM);
    cr_assert_eq(q->value_len, 3);
    cr_assert_eq(memcmp(q->value, "a\0b", 3), 0);
    query_free(q);
}

Test(query_parse, depth_64_is_allowed)
{
    char *s = qt_repeat("", "(", 64, "a");
    char *full = qt_repeat(s, ")", 64, "");
    qt_expect_tree(full, "[a]");
    free(s);
    free(full);
    char *neg = qt_repeat("", "-", 64, "a");
    salog_err err;
    salog_err_init(&err);
    query_node *q = NULL;
    cr_assert_eq(query_parse(neg, strlen(neg), &q, &err), SALOG_OK);
    query_free(q);
    free(neg);
}

Test(query_parse, long_flat_queries_are_fine)
{
    /* 16384 terms: a left-deep AND chain, walked without deep recursion */
    char *s = qt_repeat("", "a ", 16384, "");
    cr_assert_eq(strlen(s), 32768);
    salog_err err;
    salog_err_init(&err);
    query_node *q = NULL;
    cr_assert_eq(query_parse(s, strlen(s), &q, &err), SALOG_OK);
    sv_value *schema = qt_schema();
    cr_assert_eq(query_bind(q, schema, &err), SALOG_OK);
    sv_value *env = qt_json("{\"event\":{\"message\":\"a\"},\"received_at\":\"x\"}");
    cr_assert(query_matches(q, env, schema));
    cr_assert_not(query_is_match_all(q));
    sv_free(env);
    sv_free(schema);
    query_free(q);
    free(s);
}

Test(query_parse, match_all_helper)
{
    struct {
        const char *text;
        bool all;
    } cases[] = {
        {"", true},           {"message:\"\"", true},  {"a", false},
        {"a:\"\" b:\"\"", true}, {"a OR b:\"\"", true}, {"a b:\"\"", false},
        {"-a:\"\"", false},   {"(\"\")", true},
    };
    cr_assert(query_is_match_all(NULL));
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        salog_err err;
        salog_err_init(&err);
        query_node *q = NULL;
        cr_assert_eq(query_parse(cases[i].text, strlen(cases[i].text), &q, &err), SALOG_OK);
        cr_assert_eq(query_is_match_all(q), cases[i].all, "query %s", cases[i].text);
        query_free(q);
    }
}

/* ---- syntax errors ---- */

Test(query_syntax, unbalanced_parens)
{
    qt_expect_syntax("(a", "syntax error at EOF");
    qt_expect_syntax("((a)", "syntax error at EOF");
    qt_expect_syntax("a)", "syntax error at ): LexToken(CPAREN,')',1,1)");
    qt_expect_syntax("message:x )", "syntax error at ): LexToken(CPAREN,')',1,10)");
    qt_expect_syntax("()", "syntax error at ): LexToken(CPAREN,')',1,1)");
    qt_expect_syntax(")", "syntax error at ): LexToken(CPAREN,')',1,0)");
}

Test(query_syntax, operators_in_the_wrong_place)
{
    qt_expect_syntax("a AND", "syntax error at EOF");
    qt_expect_syntax("a OR", "syntax error at EOF");
    qt_expect_syntax("OR a", "syntax error at OR: LexToken(OR,'OR',1,0)");
    qt_expect_syntax("AND a", "syntax error at AND: LexToken(AND,'AND',1,0)");
    qt_expect_syntax("a AND OR b", "syntax error at OR: LexToken(OR,'OR',1,6)");
    qt_expect_syntax("a OR OR b", "syntax error at OR: LexToken(OR,'OR',1,5)");
    qt_expect_syntax("(OR)", "syntax error at OR: LexToken(OR,'OR',1,1)");
}

Test(query_syntax, fields_and_values)
{
    qt_expect_syntax("a:", "syntax error at EOF");
    qt_expect_syntax("a: ", "syntax error at EOF");
    qt_expect_syntax(":b", "syntax error at :: LexToken(COLON,':',1,0)");
    qt_expect_syntax("=b", "syntax error at =: LexToken(EQ,'=',1,0)");
    qt_expect_syntax("<b", "syntax error at <: LexToken(LT,'<',1,0)");
    qt_expect_syntax("x >", "syntax error at EOF");
    qt_expect_syntax("a:b:c", "syntax error at :: LexToken(COLON,':',1,3)");
    qt_expect_syntax("a::b", "syntax error at :: LexToken(COLON,':',1,2)");
    qt_expect_syntax("a:(b)", "syntax error at (: LexToken(OPAREN,'(',1,2)");
    qt_expect_tree("a:-", "a:[-]"); /* '-' after ':' is a value */
    qt_expect_syntax("Foo:bar", "syntax error at Foo: LexToken(WORD,'Foo',1,0)");
    qt_expect_syntax("x fOO=1", "syntax error at fOO: LexToken(WORD,'fOO',1,2)");
    qt_expect_syntax("1a:b", "syntax error at 1a: LexToken(WORD,'1a',1,0)");
    qt_expect_syntax("a.b:c", "syntax error at a.b: LexToken(WORD,'a.b',1,0)");
    qt_expect_syntax("\"q\":b", "syntax error at :: LexToken(COLON,':',1,3)");
    qt_expect_syntax("a -)", "syntax error at ): LexToken(CPAREN,')',1,3)");
}

Test(query_syntax, unterminated_quote)
{
    qt_expect_syntax("\"unterminated", "syntax error at \"unterminated: "
                                        "LexToken(QUOTED,'\"unterminated',1,0)");
    qt_expect_syntax("a \"b\\\"", "syntax error at \"b\\\": LexToken(QUOTED,'\"b\\\"',1,2)");
    qt_expect_syntax("message:\"x", "syntax error at \"x: LexToken(QUOTED,'\"x',1,8)");
    /* an earlier error is reported first, as PLY lexes lazily */
    qt_expect_syntax(") \"x", "syntax error at ): LexToken(CPAREN,')',1,0)");
}

Test(query_syntax, positions_count_code_points)
{
    /* "héllo" is 7 code points, 8 bytes */
    qt_expect_syntax("\"h\xc3\xa9llo\" )", "syntax error at ): LexToken(CPAREN,')',1,8)");
    qt_expect_syntax("\xe6\x97\xa5 OR", "syntax error at EOF");
    qt_expect_syntax("\xe6\x97\xa5\xe6\x9c\xac:x", "syntax error at \xe6\x97\xa5\xe6\x9c\xac: "
                                                "LexToken(WORD,'\xe6\x97\xa5\xe6\x9c\xac',1,0)");
    qt_expect_syntax("\xe6\x97\xa5 a:b )", "syntax error at ): LexToken(CPAREN,')',1,6)");
}

Test(query_syntax, depth_65)
{
    char *s = qt_repeat("", "(", 65, "a");
    char *full = qt_repeat(s, ")", 65, "");
    qt_expect_syntax(full, "syntax error at (: LexToken(OPAREN,'(',1,64)");
    free(s);
    free(full);
    char *neg = qt_repeat("", "-", 65, "a");
    qt_expect_syntax(neg, "syntax error at -: LexToken(MINUS,'-',1,64)");
    free(neg);
    char *mixed = qt_repeat("", "-(", 33, "a");
    qt_expect_syntax(mixed, "syntax error at -: LexToken(MINUS,'-',1,64)");
    free(mixed);
}

Test(query_syntax, too_long)
{
    char *s = qt_repeat("", "a", 32769, "");
    qt_expect_syntax(s, "query is too long");
    s[32768] = '\0';
    salog_err err;
    salog_err_init(&err);
    query_node *q = NULL;
    cr_assert_eq(query_parse(s, 32768, &q, &err), SALOG_OK);
    cr_assert_eq(q->kind, QUERY_TERM);
    cr_assert_eq(q->value_len, 32768);
    query_free(q);
    free(s);
}

/* ---- binding ---- */

Test(query_bind, unknown_fields)
{
    qt_expect_bind_error("nope:x", "unknown field 'nope' in query");
    qt_expect_bind_error("a OR (b -bogus=1)", "unknown field 'bogus' in query");
    qt_expect_bind_error("x:1 y:2", "unknown field 'x' in query"); /* leftmost first */
    qt_expect_bind_error("message:a OR z>1", "unknown field 'z' in query");
}

Test(query_bind, comparisons_need_integer_or_datetime)
{
    qt_expect_bind_error("message<5", "field 'message' of type string cannot be compared with '<'");
    qt_expect_bind_error("flag>0", "field 'flag' of type boolean cannot be compared with '>'");
    qt_expect_bind_error("notes>a", "field 'notes' of type text cannot be compared with '>'");
    qt_expect_bind_error("count<abc", "'abc' is not an integer (field 'count')");
    qt_expect_bind_error("count<1.5", "'1.5' is not an integer (field 'count')");
    qt_expect_bind_error("count<+1", "'+1' is not an integer (field 'count')");
    qt_expect_bind_error("count<-", "'-' is not an integer (field 'count')");
    qt_expect_bind_error("count>\"\"", "'' is not an integer (field 'count')");
    qt_expect_bind_error("count>9223372036854775808",
                         "'9223372036854775808' is not an integer (field 'count')");
    qt_expect_bind_error("count>-9223372036854775809",
                         "'-9223372036854775809' is not an integer (field 'count')");
    qt_expect_bind_error("when>yesterday", "'yesterday' is not a datetime (field 'when')");
    qt_expect_bind_error("received_at<7d", "'7d' is not a datetime (field 'received_at')");
    qt_expect_bind_error("timestamp>\"2024-13-01T00:00:00Z\"",
                         "'2024-13-01T00:00:00Z' is not a datetime (field 'timestamp')");
}

Test(query_bind, fills_numbers)
{
    query_node *q = qt_parse_bind("count<-5");
    cr_assert_eq(q->number, -5);
    cr_assert_not(q->number_is_time);
    query_free(q);
    q = qt_parse_bind("count>9223372036854775807");
    cr_assert_eq(q->number, INT64_MAX);
    query_free(q);
    q = qt_parse_bind("count>-9223372036854775808");
    cr_assert_eq(q->number, INT64_MIN);
    query_free(q);
    q = qt_parse_bind("when>\"2024-01-01T00:00:00Z\"");
    cr_assert(q->number_is_time);
    cr_assert_eq(q->number, INT64_C(1704067200000000));
    query_free(q);
    q = qt_parse_bind("received_at<\"2024-01-01T01:00:00.25+01:00\"");
    cr_assert(q->number_is_time);
    cr_assert_eq(q->number, INT64_C(1704067200250000));
    query_free(q);
    /* received_at also takes : and = as text; other fields any operator */
    query_free(qt_parse_bind("received_at:2024 received_at=x count:5 flag=true when:2024"));
    query_free(qt_parse_bind("blob:x notes:y timestamp:2024 -tenant_id:t"));
}

/* ---- evaluation (envelopes 0: alice, 1: bob, 2: malformed) ---- */

Test(query_match, terms_are_case_sensitive_substrings)
{
    QT_MATCHES("alice", 1);
    QT_MATCHES("Alice", 1);
    QT_MATCHES("ALICE", 0);
    QT_MATCHES("logged", 1);
    QT_MATCHES("in", 7);        /* logged in, failed (again), plain */
    QT_MATCHES("quick", 2);     /* text field */
    QT_MATCHES("\"k\\\":\"", 1); /* string-unindexed field blob holds {"k":"v"} */
    QT_MATCHES("\"2024-03-01\"", 0); /* datetime fields are not searched by terms */
    QT_MATCHES("5", 0);         /* nor integers */
    QT_MATCHES("true", 0);      /* nor booleans (the malformed "true" string of #2 is not in a string field) */
    QT_MATCHES("\"failed (again)\"", 2);
    QT_MATCHES("\"say \\\"hi\\\" \\\\ end\"", 2);
}

Test(query_match, contains_and_equals)
{
    QT_MATCHES("actor:ali", 1);
    QT_MATCHES("actor=ali", 0);
    QT_MATCHES("actor=alice", 1);
    QT_MATCHES("actor:Alice", 0);
    QT_MATCHES("actor:b", 2);
    QT_MATCHES("message:e", 3);
    QT_MATCHES("message=plain", 4);
    QT_MATCHES("target:x", 0);   /* missing everywhere */
    QT_MATCHES("-target:x", 7);
    QT_MATCHES("message:\"\"", 7);
    QT_MATCHES("target:\"\"", 7);
    QT_MATCHES("target=\"\"", 0);
    QT_MATCHES("when:2024", 1 | 0);
    QT_MATCHES("when=garbage", 4);
    QT_MATCHES("timestamp:\"09:59:59.123\"", 1);
}

Test(query_match, integers_and_booleans_as_text)
{
    QT_MATCHES("count:5", 1);
    QT_MATCHES("count=5", 1);
    QT_MATCHES("count=-7", 2);
    QT_MATCHES("count:-", 2);
    QT_MATCHES("count:7", 2);
    QT_MATCHES("count=7", 0);
    QT_MATCHES("count:x", 4); /* a malformed stored string still matches as text */
    QT_MATCHES("flag=true", 1 | 4);
    QT_MATCHES("flag:fal", 2);
    QT_MATCHES("flag=false", 2);
}

Test(query_match, integer_comparisons)
{
    QT_MATCHES("count>0", 1);
    QT_MATCHES("count>5", 0);
    QT_MATCHES("count>4", 1);
    QT_MATCHES("count<5", 2);
    QT_MATCHES("count<-5", 2);
    QT_MATCHES("count<-7", 0);
    QT_MATCHES("count>-8", 3);
    QT_MATCHES("-count>0", 6); /* the malformed one has no integer count */
    QT_MATCHES("count>-9223372036854775808", 3);
    QT_MATCHES("count<9223372036854775807", 3);
}

Test(query_match, datetime_comparisons)
{
    QT_MATCHES("when>\"2024-01-01T00:00:00Z\"", 1);
    QT_MATCHES("when<\"2024-01-01T00:00:00Z\"", 2); /* 23:59:59+02:00 is 21:59:59Z */
    QT_MATCHES("when<\"2023-12-31T22:00:00Z\"", 2);
    QT_MATCHES("when>\"2023-12-31T21:59:59Z\"", 1);
    QT_MATCHES("when<\"2023-12-31T21:59:59Z\"", 0);
    QT_MATCHES("when>\"2024-03-01T10:00:00Z\"", 0);  /* strict */
    QT_MATCHES("when>\"2024-03-01T09:59:59.999999Z\"", 1);
    QT_MATCHES("timestamp>\"2024-03-01T09:59:59.122Z\"", 1);
    QT_MATCHES("timestamp<\"2024-03-01T09:59:59.123Z\"", 0);
    QT_MATCHES("-when<\"2100-01-01T00:00:00Z\"", 4); /* garbage never compares */
}

Test(query_match, received_at)
{
    QT_MATCHES("received_at>\"2024-01-01T00:00:00Z\"", 1 | 4);
    QT_MATCHES("received_at<\"2024-01-01T00:00:00Z\"", 2);
    QT_MATCHES("received_at>\"2024-03-01T10:00:00.5Z\"", 4);
    QT_MATCHES("received_at>\"2024-03-01T10:00:00.499999Z\" received_at<\"2024-03-01T10:00:00.500001Z\"", 1);
    QT_MATCHES("received_at:\"2024-03\"", 1);
    QT_MATCHES("received_at=\"2023-12-31T23:00:00.000000Z\"", 2);
}

Test(query_match, boolean_structure)
{
    QT_MATCHES("status:success OR status:failure", 3);
    QT_MATCHES("-status:success", 6);
    QT_MATCHES("alice OR bob", 3);
    QT_MATCHES("alice bob", 0);
    QT_MATCHES("alice AND -bob", 1);
    QT_MATCHES("plain OR actor:bob count>0", 4 | 0);
    QT_MATCHES("(plain OR actor:bob) -count>0", 6);
    QT_MATCHES("message:\"\" -alice", 6);
    QT_MATCHES("--alice", 1);
    QT_MATCHES("a AND -(b OR c)", 4); /* #0 has c (success), #1 b (bob) */
}

Test(query_match, unicode_values)
{
    QT_MATCHES("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", 2);
    QT_MATCHES("message:\"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e failed\"", 2);
    QT_MATCHES("message:\xe6\x9c\xac", 2);
    QT_MATCHES("message:\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9f", 0);
}

Test(query_match, odd_envelopes)
{
    sv_value *schema = qt_schema();
    query_node *q = qt_parse_bind("alice OR actor:x OR count>1 OR received_at<\"2024-01-01T00:00:00Z\"");
    const char *envs[] = {"{}", "{\"event\":5}", "{\"event\":{},\"received_at\":5}",
                          "{\"event\":{\"actor\":null,\"count\":1.5}}"};
    for (size_t i = 0; i < sizeof envs / sizeof envs[0]; i++) {
        sv_value *env = NULL;
        salog_err err;
        salog_err_init(&err);
        cr_assert_eq(codec_json_decode(&env, envs[i], strlen(envs[i]), 16, &err), SALOG_OK);
        cr_assert_not(query_matches(q, env, schema), "envelope %s", envs[i]);
        sv_free(env);
    }
    /* a term without a schema searches every string member */
    sv_value *env = qt_json("{\"event\":{\"anything\":\"alice\"}}");
    query_node *t = qt_parse_bind("alice");
    cr_assert(query_matches(t, env, NULL));
    cr_assert_not(query_matches(t, env, schema)); /* not a schema field */
    query_free(t);
    sv_free(env);
    query_free(q);
    sv_free(schema);
}
