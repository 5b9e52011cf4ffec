/* Fuzz target: a search query through query_parse, then query_bind against
 * a fixed schema (standard fields, an integer and a datetime field) and
 * query_matches against a few fixed envelopes. Broken invariants abort:
 * a parse error without a BadFormat item, an error detail that is not
 * valid UTF-8 for a valid UTF-8 query (details are echoed in replies), or
 * a match-all query that rejects an envelope. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec/codec.h"
#include "model/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_query_schema[] =
    "{\"fields\":["
    "{\"id\":\"message\",\"type\":\"string\",\"required\":true},"
    "{\"id\":\"actor\",\"type\":\"string\"},{\"id\":\"action\",\"type\":\"string\"},"
    "{\"id\":\"status\",\"type\":\"string\"},{\"id\":\"target\",\"type\":\"string\"},"
    "{\"id\":\"source\",\"type\":\"string\"},{\"id\":\"tenant_id\",\"type\":\"string\"},"
    "{\"id\":\"old\",\"type\":\"string\"},{\"id\":\"new\",\"type\":\"string\"},"
    "{\"id\":\"timestamp\",\"type\":\"datetime\"},"
    "{\"id\":\"count\",\"type\":\"integer\"},{\"id\":\"when\",\"type\":\"datetime\"},"
    "{\"id\":\"flag\",\"type\":\"boolean\"},{\"id\":\"notes\",\"type\":\"text\"}]}";

static const char *const fuzz_query_envelopes[] = {
    "{\"event\":{\"message\":\"User Alice logged in\",\"actor\":\"alice\",\"status\":\"ok\","
    "\"count\":5,\"when\":\"2024-03-01T10:00:00Z\",\"flag\":true,"
    "\"timestamp\":\"2024-03-01T09:59:59.123Z\"},\"received_at\":\"2024-03-01T10:00:00.500000Z\"}",
    "{\"event\":{\"message\":\"b\\u00e9b \\u65e5\\u672c \\\"q\\\" (x:y)\",\"count\":-9223372036854775808,"
    "\"when\":\"1999-12-31T23:59:59+05:30\",\"flag\":false,\"notes\":\"AND OR -a\"},"
    "\"received_at\":\"2000-01-01T00:00:00.000000Z\"}",
    "{\"event\":{\"message\":\"\",\"count\":\"x\",\"when\":\"nope\",\"actor\":7},\"received_at\":\"garbage\"}",
    "{\"event\":{\"message\":\"m\"}}",
};

#define FUZZ_QUERY_NENV (sizeof fuzz_query_envelopes / sizeof fuzz_query_envelopes[0])

static sv_value *fuzz_query_json(const char *text)
{
    sv_value *v = NULL;
    salog_err err;
    salog_err_init(&err);
    if (codec_json_decode(&v, text, strlen(text), CODEC_DEFAULT_MAX_DEPTH, &err) != SALOG_OK)
        abort(); /* fixed, known-good JSON */
    return v;
}

/* Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
static int fuzz_query_utf8_ok(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n;
        unsigned min, cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1, min = 0x80, cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2, min = 0x800, cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3, min = 0x10000, cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + n >= len)
            return 0;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += n + 1;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    query_node *q = NULL;
    sv_value *schema = NULL;
    salog_err err;
    salog_err_init(&err);
    salog_status st = query_parse((const char *)data, size, &q, &err);
    if (st != SALOG_OK) {
        if (q || err.count == 0 || strcmp(err.items[0].code, "BadFormat") != 0)
            abort();
        if (fuzz_query_utf8_ok(data, size) &&
            !fuzz_query_utf8_ok((const unsigned char *)err.items[0].detail,
                                strlen(err.items[0].detail)))
            abort();
        return 0;
    }
    if (!q)
        abort();
    schema = fuzz_query_json(fuzz_query_schema);
    if (query_bind(q, schema, &err) == SALOG_OK) {
        bool all = query_is_match_all(q);
        for (size_t i = 0; i < FUZZ_QUERY_NENV; i++) {
            sv_value *env = fuzz_query_json(fuzz_query_envelopes[i]);
            if (!query_matches(q, env, schema) && all)
                abort();
            sv_free(env);
        }
    } else if (err.count == 0 || strcmp(err.items[0].source, "/query") != 0) {
        abort();
    }
    sv_free(schema);
    query_free(q);
    return 0;
}
