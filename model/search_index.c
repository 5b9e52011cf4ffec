/* Search indexes: maintenance behind the append (search_index_catch_up)
 * and the lookups the executor uses (search_index.h). Layout in search.h.
 *
 * Suffixes start at every UTF-8 character boundary of a value (a match of
 * a valid UTF-8 term inside valid UTF-8 text always starts on one), are cut
 * to 64 bytes, and suffixes shorter than 2 bytes are not stored (lookups
 * need terms of at least 2 bytes). Integers and booleans are indexed as
 * their decimal / true|false text under their field only; strings also
 * under "*" (bare terms only look at strings).
 *
 * The indexes live in an environment of their own (store_internal.h), so
 * their log never rides on an appender's flush, and its transactions commit
 * with DB_TXN_NOSYNC: the index is derived from the events and can be
 * rebuilt, so it need not reach the disk at commit. Before an index batch
 * commits, the events' log is made durable up to the indexed events
 * (flushed only if it is not yet), so the index head never gets ahead of
 * the durable events. After a crash recovery leaves the index
 * consistent with a head that may be a little older, and the events after
 * it are indexed again (a block that exists is rewritten in place:
 * DB_OVERWRITE_DUP; one that differs, because the batch took more or fewer
 * events this time, is added beside it, and lookups drop the repeats; the
 * same suffix twice in one value is written once). */
#include "model/search_index.h"
#include "model/be64.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec/codec.h"
#include "codec/timefmt.h"
#include "model/auditlog.h"
#include "model/configs.h"
#include "model/store_internal.h"

/* At most this many events per indexing batch (they share blocks)... */
#define SI_BATCH_EVENTS 200
_Static_assert(SI_BATCH_EVENTS <= SEARCH_INDEX_BLOCK_SPAN, "a batch's block must fit its span");
/* ...and a batch stops taking events once it has this many (key, event)
 * postings (a bound on its memory: some 200 bytes each when every key is
 * new, 16 when the key is already there)... */
#define SI_BATCH_ENTRIES 30000
/* ...and its writes are split into transactions of at most this many puts,
 * so a transaction holds a bounded number of page locks (the env allows
 * 20000 for everyone). */
#define SI_TXN_PUTS 3000
/* The largest block: be64 first, then gaps < SPAN of at most 2 bytes. */
#define SI_BLOCK_MAX (8 + 2 * SEARCH_INDEX_BLOCK_SPAN)
#define SI_READ_RETRIES 8
#define SI_KEY_BUF 512
#define SI_TIME_KEY_LEN (ID_LEN + 16)

static bool si_retryable(int ret)
{
    return ret == DB_LOCK_DEADLOCK || ret == DB_LOCK_NOTGRANTED;
}

static void si_backoff(int attempt)
{
    usleep(1000u << (attempt < 6 ? attempt : 6));
}

int search_index_head(store *s, const char *config_id, uint64_t *head)
{
    int ret = 0;
    *head = 0;
    for (int attempt = 0; attempt <= SI_READ_RETRIES; attempt++) {
        uint8_t v[8];
        DBT k, d;
        memset(&k, 0, sizeof k);
        memset(&d, 0, sizeof d);
        k.data = (void *)config_id;
        k.size = ID_LEN;
        d.data = v;
        d.ulen = sizeof v;
        d.flags = DB_DBT_USERMEM;
        ret = s->search_heads->get(s->search_heads, NULL, &k, &d, 0);
        if (ret == 0 && d.size == 8)
            *head = be64_get(v);
        if (ret == DB_NOTFOUND || (ret == 0 && d.size != 8))
            ret = 0;
        if (!si_retryable(ret))
            break;
        si_backoff(attempt);
    }
    return ret;
}

int search_index_time_lower(store *s, const char *config_id, int64_t t, uint64_t head, uint64_t *index)
{
    int ret = 0;
    *index = head;
    if (t < 0)
        t = 0;
    for (int attempt = 0; attempt <= SI_READ_RETRIES; attempt++) {
        uint8_t kb[SI_KEY_BUF], db[8];
        DBC *cur = NULL;
        DBT k, d;
        memset(&k, 0, sizeof k);
        memset(&d, 0, sizeof d);
        memcpy(kb, config_id, ID_LEN);
        be64_put(kb + ID_LEN, (uint64_t)t);
        k.data = kb;
        k.size = ID_LEN + 8;
        k.ulen = sizeof kb;
        k.flags = DB_DBT_USERMEM;
        d.data = db;
        d.ulen = sizeof db;
        d.flags = DB_DBT_USERMEM;
        ret = s->search_time->cursor(s->search_time, NULL, &cur, 0);
        if (ret != 0)
            return ret;
        ret = cur->get(cur, &k, &d, DB_SET_RANGE);
        if (ret == 0) {
            if (k.size == SI_TIME_KEY_LEN && memcmp(kb, config_id, ID_LEN) == 0) {
                uint64_t i = be64_get(kb + ID_LEN + 8);
                *index = i < head ? i : head;
            }
        } else if (ret == DB_NOTFOUND) {
            ret = 0;
        }
        int cret = cur->close(cur);
        if (ret == 0)
            ret = cret;
        if (!si_retryable(ret))
            break;
        si_backoff(attempt);
    }
    return ret;
}

/* ---- lookups ---- */

typedef struct si_list {
    uint64_t *v;
    size_t n, cap;
} si_list;

static int si_list_push(si_list *l, uint64_t x)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        uint64_t *g = realloc(l->v, cap * sizeof *g);
        if (!g)
            return ENOMEM;
        l->v = g;
        l->cap = cap;
    }
    l->v[l->n++] = x;
    return 0;
}

static int si_u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Collects the indexes in [lo, hi) from the blocks of the exact key
 * kb[0..klen) (the cursor's key buffer is reused). Counts every index
 * decoded in *visits, those below lo too (a block may start up to SPAN - 1
 * before lo). A block that is too long, goes backwards or spans more than
 * SPAN is damage: EINVAL, never a shorter answer. */
static int si_collect_blocks(DBC *cur, uint8_t *kb, size_t klen, uint64_t lo, uint64_t hi, si_list *out,
                             size_t *visits, size_t max_visits, bool *too_many)
{
    uint8_t dbuf[SI_BLOCK_MAX];
    DBT k, d;
    memset(&k, 0, sizeof k);
    memset(&d, 0, sizeof d);
    k.data = kb;
    k.size = (u_int32_t)klen;
    k.ulen = SI_KEY_BUF;
    k.flags = DB_DBT_USERMEM;
    /* The first block that can hold lo starts at most SPAN - 1 before it. */
    be64_put(dbuf, lo >= SEARCH_INDEX_BLOCK_SPAN ? lo - (SEARCH_INDEX_BLOCK_SPAN - 1) : 0);
    d.data = dbuf;
    d.size = 8;
    d.ulen = sizeof dbuf;
    d.flags = DB_DBT_USERMEM;
    int ret = cur->get(cur, &k, &d, DB_GET_BOTH_RANGE);
    while (ret == 0) {
        if (d.size < 8)
            return EINVAL;
        uint64_t first = be64_get(dbuf), idx = first;
        if (idx >= hi)
            break;
        for (size_t p = 8;;) {
            if (idx >= hi)
                break;
            if (++*visits > max_visits) {
                *too_many = true;
                return 0;
            }
            if (idx >= lo) {
                ret = si_list_push(out, idx);
                if (ret != 0)
                    return ret;
            }
            if (p == d.size)
                break;
            /* The next gap: ULEB128, at least 1, less than the span. */
            uint64_t gap = dbuf[p] & 0x7F;
            if (dbuf[p++] & 0x80) {
                if (p == d.size || (dbuf[p] & 0x80))
                    return EINVAL;
                gap |= (uint64_t)dbuf[p++] << 7;
            }
            if (gap == 0 || gap >= SEARCH_INDEX_BLOCK_SPAN - (idx - first))
                return EINVAL;
            idx += gap;
        }
        ret = cur->get(cur, &k, &d, DB_NEXT_DUP);
    }
    if (ret == DB_BUFFER_SMALL)
        return EINVAL;
    return ret == DB_NOTFOUND ? 0 : ret;
}

/* One attempt of search_index_lookup (a lost deadlock starts it over). */
static int si_lookup_once(store *s, const uint8_t *prefix, size_t plen, size_t fixed_len, bool exact,
                          uint64_t lo, uint64_t hi, size_t max_visits, si_list *out, bool *too_many)
{
    uint8_t kb[SI_KEY_BUF], dbuf[SI_BLOCK_MAX];
    DBC *cur = NULL;
    size_t visits = 0;
    int ret = s->search_suffix->cursor(s->search_suffix, NULL, &cur, 0);
    if (ret != 0)
        return ret;
    DBT k, d;
    memset(&k, 0, sizeof k);
    memset(&d, 0, sizeof d);
    memcpy(kb, prefix, plen);
    k.data = kb;
    k.size = (u_int32_t)plen;
    k.ulen = sizeof kb;
    k.flags = DB_DBT_USERMEM;
    d.data = dbuf;
    d.ulen = sizeof dbuf;
    d.flags = DB_DBT_USERMEM;
    ret = cur->get(cur, &k, &d, DB_SET_RANGE);
    while (ret == 0 && !*too_many) {
        if (k.size < plen || memcmp(kb, prefix, plen) != 0 || (exact && k.size != plen))
            break;
        size_t klen = k.size;
        ret = si_collect_blocks(cur, kb, klen, lo, hi, out, &visits, max_visits, too_many);
        if (ret != 0 || *too_many || exact)
            break;
        if (++visits > max_visits) {
            *too_many = true;
            break;
        }
        /* The next distinct key is the first one >= this key + 0x00. */
        if (klen + 1 > sizeof kb) {
            ret = EINVAL;
            break;
        }
        kb[klen] = 0;
        memset(&k, 0, sizeof k);
        k.data = kb;
        k.size = (u_int32_t)(klen + 1);
        k.ulen = sizeof kb;
        k.flags = DB_DBT_USERMEM;
        ret = cur->get(cur, &k, &d, DB_SET_RANGE);
    }
    if (ret == DB_NOTFOUND)
        ret = 0;
    else if (ret == DB_BUFFER_SMALL)
        ret = EINVAL; /* a key or block longer than any written: damage */
    int cret = cur->close(cur);
    if (ret == 0)
        ret = cret;
    if (ret != 0 || *too_many)
        return ret;
    /* The field's long list: id + field + 0x00. */
    ret = s->search_long->cursor(s->search_long, NULL, &cur, 0);
    if (ret != 0)
        return ret;
    memcpy(kb, prefix, fixed_len);
    ret = si_collect_blocks(cur, kb, fixed_len, lo, hi, out, &visits, max_visits, too_many);
    cret = cur->close(cur);
    if (ret == 0)
        ret = cret;
    return ret;
}

int search_index_lookup(store *s, const char *config_id, const char *field, const char *value,
                        size_t len, bool exact, uint64_t lo, uint64_t hi, size_t max_visits, uint64_t **out,
                        size_t *count, bool *too_many)
{
    uint8_t prefix[SI_KEY_BUF];
    si_list l = {0};
    int ret = 0;
    *out = NULL;
    *count = 0;
    *too_many = false;
    size_t flen = strlen(field);
    if (flen > SEARCH_INDEX_FIELD_MAX || len < SEARCH_INDEX_TERM_MIN) {
        *too_many = true; /* not indexed: scan */
        return 0;
    }
    if (lo >= hi)
        return 0;
    size_t vlen = len < SEARCH_INDEX_SUFFIX_MAX ? len : SEARCH_INDEX_SUFFIX_MAX;
    memcpy(prefix, config_id, ID_LEN);
    memcpy(prefix + ID_LEN, field, flen);
    prefix[ID_LEN + flen] = 0;
    size_t fixed_len = ID_LEN + flen + 1;
    memcpy(prefix + fixed_len, value, vlen);
    for (int attempt = 0; attempt <= SI_READ_RETRIES; attempt++) {
        l.n = 0;
        *too_many = false;
        ret = si_lookup_once(s, prefix, fixed_len + vlen, fixed_len, exact, lo, hi, max_visits, &l, too_many);
        if (!si_retryable(ret))
            break;
        si_backoff(attempt);
    }
    if (ret != 0 || *too_many) {
        free(l.v);
        return ret;
    }
    if (l.n > 1) {
        qsort(l.v, l.n, sizeof *l.v, si_u64_cmp);
        size_t w = 1;
        for (size_t i = 1; i < l.n; i++)
            if (l.v[i] != l.v[w - 1])
                l.v[w++] = l.v[i];
        l.n = w;
    }
    *out = l.v;
    *count = l.n;
    return 0;
}

/* ---- maintenance ---- */

enum { SI_SUFFIX = 0, SI_LONG = 1 };

/* A batch gathers, per key, the events that have it (in index order, as
 * they are read): one group per key, found through a hash table, and one
 * posting per (key, event). Each group becomes one block. */
typedef struct si_group {
    size_t off, len;     /* key bytes in the arena, after the config id (the
                          * same for the whole batch, so left out) */
    int db;              /* SI_SUFFIX / SI_LONG */
    size_t first, last;  /* its postings, linked through si_posting.next */
} si_group;

typedef struct si_posting {
    uint64_t index;
    size_t next;         /* the key's next posting; SIZE_MAX: none */
} si_posting;

typedef struct si_batch {
    const char *id;
    sbuf arena;
    si_group *g;
    size_t ng, gcap;
    si_posting *p;
    size_t np, pcap;
    uint32_t *slots;     /* open addressing: group number + 1; 0 = empty */
    size_t nslots;       /* a power of two, at least twice ng */
    uint8_t (*times)[SI_TIME_KEY_LEN]; /* one time-index key per event */
    size_t events;
    int oom;
} si_batch;

static uint64_t si_key_hash(int db, const uint8_t *key, size_t len)
{
    uint64_t h = 1469598103934665603u ^ (uint64_t)db; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ key[i]) * 1099511628211u;
    return h;
}

/* Doubles the slot table (or makes the first one); 0 or -1 when out of memory. */
static int si_slots_grow(si_batch *b)
{
    size_t n = b->nslots ? b->nslots * 2 : 1024;
    uint32_t *t = calloc(n, sizeof *t);
    if (!t)
        return -1;
    for (size_t gi = 0; gi < b->ng; gi++) {
        const si_group *g = &b->g[gi];
        size_t i = (size_t)si_key_hash(g->db, (const uint8_t *)b->arena.data + g->off, g->len) & (n - 1);
        while (t[i])
            i = (i + 1) & (n - 1);
        t[i] = (uint32_t)(gi + 1);
    }
    free(b->slots);
    b->slots = t;
    b->nslots = n;
    return 0;
}

/* Doubles an array of `size`-byte items (or makes one of 1024): the new
 * array, with *cap updated, or NULL (the old one stays valid). */
static void *si_grow(void *v, size_t *cap, size_t size)
{
    size_t n = *cap ? *cap * 2 : 1024;
    void *g = realloc(v, n * size);
    if (g)
        *cap = n;
    return g;
}

/* Adds event `index` to the group of key field + 0x00 + text. */
static void si_batch_add(si_batch *b, int db, const char *field, size_t flen, const char *text, size_t tlen,
                         uint64_t index)
{
    uint8_t key[SEARCH_INDEX_FIELD_MAX + 1 + SEARCH_INDEX_SUFFIX_MAX];
    if (b->oom)
        return;
    if (flen + 1 + tlen > sizeof key) {
        b->oom = 1; /* cannot happen: callers bound both */
        return;
    }
    memcpy(key, field, flen);
    key[flen] = 0;
    if (tlen)
        memcpy(key + flen + 1, text, tlen);
    size_t klen = flen + 1 + tlen;
    if (2 * (b->ng + 1) > b->nslots && si_slots_grow(b) != 0) {
        b->oom = 1;
        return;
    }
    if (b->np == b->pcap) {
        si_posting *p = si_grow(b->p, &b->pcap, sizeof *b->p);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
    }
    size_t i = (size_t)si_key_hash(db, key, klen) & (b->nslots - 1);
    si_group *g = NULL;
    for (; b->slots[i]; i = (i + 1) & (b->nslots - 1)) {
        si_group *c = &b->g[b->slots[i] - 1];
        if (c->db == db && c->len == klen && memcmp(b->arena.data + c->off, key, klen) == 0) {
            g = c;
            break;
        }
    }
    if (g) {
        if (b->p[g->last].index == index)
            return; /* the same suffix twice in one event */
        b->p[g->last].next = b->np;
        g->last = b->np;
    } else {
        if (b->ng == b->gcap) {
            si_group *g2 = si_grow(b->g, &b->gcap, sizeof *b->g);
            if (!g2) {
                b->oom = 1;
                return;
            }
            b->g = g2;
        }
        size_t off = b->arena.len;
        if (sbuf_append(&b->arena, key, klen) != 0) {
            b->oom = 1;
            return;
        }
        b->g[b->ng] = (si_group){.off = off, .len = klen, .db = db, .first = b->np, .last = b->np};
        b->slots[i] = (uint32_t)(++b->ng);
    }
    b->p[b->np++] = (si_posting){.index = index, .next = SIZE_MAX};
}

/* Entries of one value of member `field` (a string when any_too). */
static void si_index_text(si_batch *b, const char *field, size_t flen, const char *text, size_t tlen,
                          bool any_too, uint64_t index)
{
    static const char any[] = SEARCH_INDEX_ANY_FIELD;
    if (tlen > SEARCH_INDEX_VALUE_MAX) {
        si_batch_add(b, SI_LONG, field, flen, NULL, 0, index);
        if (any_too)
            si_batch_add(b, SI_LONG, any, sizeof any - 1, NULL, 0, index);
        return;
    }
    for (size_t p = 0; p + SEARCH_INDEX_TERM_MIN <= tlen; p++) {
        if (((unsigned char)text[p] & 0xC0) == 0x80)
            continue; /* inside a character */
        size_t n = tlen - p < SEARCH_INDEX_SUFFIX_MAX ? tlen - p : SEARCH_INDEX_SUFFIX_MAX;
        si_batch_add(b, SI_SUFFIX, field, flen, text + p, n, index);
        if (any_too)
            si_batch_add(b, SI_SUFFIX, any, sizeof any - 1, text + p, n, index);
    }
}

static void si_index_event(si_batch *b, const sv_value *event, uint64_t index)
{
    if (!sv_is(event, SV_OBJECT))
        return;
    for (size_t i = 0; i < event->u.obj.count; i++) {
        const sv_member *m = &event->u.obj.members[i];
        char num[24];
        if (m->key_len > SEARCH_INDEX_FIELD_MAX || memchr(m->key, 0, m->key_len))
            continue;
        const sv_value *v = m->value;
        switch (v->type) {
        case SV_STRING:
            si_index_text(b, m->key, m->key_len, v->u.s.ptr, v->u.s.len, true, index);
            break;
        case SV_INT: {
            int w = snprintf(num, sizeof num, "%" PRId64, v->u.i);
            if (w > 0)
                si_index_text(b, m->key, m->key_len, num, (size_t)w, false, index);
            break;
        }
        case SV_BOOL:
            si_index_text(b, m->key, m->key_len, v->u.b ? "true" : "false", v->u.b ? 4 : 5, false, index);
            break;
        default:
            break;
        }
    }
}

/* Key order (Berkeley DB's: bytes, then length), so the puts of a batch
 * touch neighbouring pages one after another. */
static int si_group_cmp(const void *a, const void *b, void *arg)
{
    const si_group *x = a, *y = b;
    const char *base = arg;
    if (x->db != y->db)
        return x->db < y->db ? -1 : 1;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(base + x->off, base + y->off, n);
    if (c != 0)
        return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

/* Encodes a group's postings (ascending, distinct, all within one batch)
 * as a block (search.h) in out[SI_BLOCK_MAX]; returns its length. */
static size_t si_block_encode(const si_batch *b, const si_group *g, uint8_t *out)
{
    uint64_t prev = b->p[g->first].index;
    size_t len = 8;
    be64_put(out, prev);
    for (size_t i = b->p[g->first].next; i != SIZE_MAX; i = b->p[i].next) {
        uint64_t gap = b->p[i].index - prev;
        if (gap >= 0x80) {
            out[len++] = (uint8_t)(gap | 0x80);
            gap >>= 7;
        }
        out[len++] = (uint8_t)gap;
        prev = b->p[i].index;
    }
    return len;
}

typedef struct si_write_ctx {
    si_batch *b;
    size_t from, to;      /* groups written by this transaction */
    bool last;            /* also writes the time keys and the head */
    uint64_t old_head, new_head;
    bool raced;           /* the head moved under us (another indexer) */
} si_write_ctx;

static int si_write_txn(store *s, DB_TXN *txn, void *vctx)
{
    si_write_ctx *c = vctx;
    si_batch *b = c->b;
    uint8_t idx[8];
    int ret = 0;
    c->raced = false;
    if (c->last) {
        uint8_t hv[8];
        DBT k, d;
        memset(&k, 0, sizeof k);
        memset(&d, 0, sizeof d);
        k.data = (void *)b->id;
        k.size = ID_LEN;
        d.data = hv;
        d.ulen = sizeof hv;
        d.flags = DB_DBT_USERMEM;
        ret = s->search_heads->get(s->search_heads, txn, &k, &d, DB_RMW);
        uint64_t head = ret == 0 && d.size == 8 ? be64_get(hv) : 0;
        if (ret != 0 && ret != DB_NOTFOUND)
            return ret;
        if (head != c->old_head) {
            c->raced = true;
            return STORE_TXN_ROLLBACK;
        }
    }
    for (size_t i = c->from; i < c->to; i++) {
        const si_group *g = &b->g[i];
        uint8_t key[SI_KEY_BUF], block[SI_BLOCK_MAX];
        if (ID_LEN + g->len > sizeof key)
            return EINVAL; /* cannot happen: field and suffix are bounded */
        memcpy(key, b->id, ID_LEN);
        memcpy(key + ID_LEN, b->arena.data + g->off, g->len);
        size_t len = si_block_encode(b, g, block);
        DB *db = g->db == SI_SUFFIX ? s->search_suffix : s->search_long;
        /* DB_OVERWRITE_DUP: a block written before a crash is rewritten,
         * not refused (a refusal would also be reported on stderr by BDB). */
        ret = store_put(db, txn, key, ID_LEN + g->len, block, len, DB_OVERWRITE_DUP);
        if (ret == DB_KEYEXIST)
            ret = 0;
        if (ret != 0)
            return ret;
    }
    if (!c->last)
        return 0;
    for (size_t i = 0; i < b->events; i++) {
        ret = store_put(s->search_time, txn, b->times[i], SI_TIME_KEY_LEN, "", 0, 0);
        if (ret != 0)
            return ret;
    }
    be64_put(idx, c->new_head);
    return store_put(s->search_heads, txn, b->id, ID_LEN, idx, sizeof idx, 0);
}

/* Raw stored envelope of one event, outside any transaction (events never
 * change once written). */
static int si_load_envelope(store *s, const char *id, uint64_t index, sv_value **env)
{
    uint8_t key[ID_LEN + 8];
    void *buf = NULL;
    size_t len = 0;
    int ret = 0;
    *env = NULL;
    memcpy(key, id, ID_LEN);
    be64_put(key + ID_LEN, index);
    for (int attempt = 0; attempt <= SI_READ_RETRIES; attempt++) {
        ret = store_get_alloc(s->events, NULL, key, sizeof key, &buf, &len, 0);
        if (!si_retryable(ret))
            break;
        si_backoff(attempt);
    }
    if (ret != 0)
        return ret;
    salog_err derr;
    salog_err_init(&derr);
    if (codec_json_decode(env, buf, len, STORE_JSON_MAX_DEPTH, &derr) != SALOG_OK || !*env)
        ret = EINVAL;
    free(buf);
    return ret;
}

static void si_batch_reset(si_batch *b)
{
    b->arena.len = 0;
    b->arena.oom = 0;
    b->ng = 0;
    b->np = 0;
    if (b->slots)
        memset(b->slots, 0, b->nslots * sizeof *b->slots);
    b->events = 0;
    b->oom = 0;
}

static void si_batch_free(si_batch *b)
{
    sbuf_free(&b->arena);
    free(b->g);
    free(b->p);
    free(b->slots);
    free(b->times);
}

/* The events' log: *end = where the next record will go, *synced (when
 * not NULL) = how far it is known to be on disk. */
static int si_log_position(store *s, DB_LSN *end, DB_LSN *synced)
{
    DB_LOG_STAT *ls = NULL;
    int ret = s->env->log_stat(s->env, &ls, 0);
    if (ret != 0)
        return ret;
    end->file = ls->st_cur_file;
    end->offset = ls->st_cur_offset;
    if (synced) {
        synced->file = ls->st_disk_file;
        synced->offset = ls->st_disk_offset;
    }
    free(ls);
    return 0;
}

/* Makes every log record before `end` durable. The appenders flush right
 * after their commits, so by the time a batch is built this is nearly
 * always so already; otherwise flush (the whole log: DB_ENV->log_flush
 * takes only the LSN of a record, and `end` is none). Flushing every time
 * would make the indexer a second flusher beside the appenders' group
 * commit (measured: /v1/log at 16 connections 0.733 of its no-index
 * figure, against 0.855). */
static int si_events_durable(store *s, const DB_LSN *end)
{
    DB_LSN now_end, synced;
    int ret = si_log_position(s, &now_end, &synced);
    if (ret != 0)
        return ret;
    if (log_compare(&synced, end) >= 0)
        return 0;
    return s->env->log_flush(s->env, NULL);
}

/* Indexes up to `budget` events of one config; *done gets how many. */
static salog_status si_catch_up_config(store *s, const char *id, size_t budget, size_t *done, salog_err *err)
{
    salog_status st = SALOG_OK;
    si_batch b = {.id = id};
    uint64_t head = 0, size = 0;
    int64_t last_at = 0;
    *done = 0;
    b.times = malloc(SI_BATCH_EVENTS * sizeof *b.times);
    if (!b.times) {
        st = salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "out of memory");
        goto out;
    }
    int ret = search_index_head(s, id, &head);
    if (ret != 0) {
        st = store_db_error(s, ret, "reading the search index head", err);
        goto out;
    }
    st = auditlog_size(s, id, &size, err);
    if (st != SALOG_OK)
        goto out;
    /* Every commit of an event below `size` lies before the log's end as it
     * is now (si_events_durable makes the log durable up to there). */
    DB_LSN events_end;
    ret = si_log_position(s, &events_end, NULL);
    if (ret != 0) {
        st = store_db_error(s, ret, "reading the log's end", err);
        goto out;
    }
    while (head < size && *done < budget) {
        si_batch_reset(&b);
        uint64_t next = head;
        while (next < size && b.events < SI_BATCH_EVENTS && *done + b.events < budget &&
               (b.events == 0 || b.np < SI_BATCH_ENTRIES)) {
            sv_value *env = NULL;
            ret = si_load_envelope(s, id, next, &env);
            /* A damaged event must not stop the index for good (searches
             * report it when they load it): index nothing for it, and give
             * it the previous event's time so the time index stays ordered. */
            if (ret != 0 && ret != EINVAL && ret != DB_NOTFOUND) {
                st = store_db_error(s, ret, "reading an event to index", err);
                goto out;
            }
            int64_t at = 0;
            const char *rt = sv_object_get_str(env, "received_at");
            if (!rt || time_parse_rfc3339(rt, &at) != 0 || at < last_at)
                at = last_at;
            last_at = at;
            si_index_event(&b, sv_object_get(env, "event"), next);
            sv_free(env);
            memcpy(b.times[b.events], id, ID_LEN);
            be64_put(b.times[b.events] + ID_LEN, (uint64_t)at);
            be64_put(b.times[b.events] + ID_LEN + 8, next);
            b.events++;
            next++;
        }
        if (b.oom || b.arena.oom) {
            st = salog_err_set(err, SALOG_E_INTERNAL, "InternalError", "/", "out of memory");
            goto out;
        }
        /* The events just read may be committed but not yet flushed (an
         * append flushes after its commit). The index's own log may reach
         * the disk on its own schedule, so the events must be durable first:
         * an index that survives a crash never covers an event that did not
         * (it would be replaced by another, never indexed). */
        ret = si_events_durable(s, &events_end);
        if (ret != 0) {
            st = store_db_error(s, ret, "flushing the log before indexing", err);
            goto out;
        }
        /* Sorted puts touch neighbouring pages one after another. */
        qsort_r(b.g, b.ng, sizeof *b.g, si_group_cmp, b.arena.data);
        si_write_ctx c = {.b = &b, .old_head = head, .new_head = next};
        do {
            c.from = c.to;
            c.to = b.ng - c.from > SI_TXN_PUTS ? c.from + SI_TXN_PUTS : b.ng;
            c.last = c.to == b.ng;
            ret = store_index_txn_run_flags(s, si_write_txn, &c, DB_TXN_NOSYNC);
            if (ret == STORE_TXN_ROLLBACK && c.raced)
                goto out; /* another indexer is on this config: leave it */
            if (ret != 0) {
                st = store_db_error(s, ret, "writing the search index", err);
                goto out;
            }
        } while (!c.last);
        *done += b.events;
        head = next;
    }
out:
    si_batch_free(&b);
    return st;
}

salog_status search_index_catch_up(store *s, size_t max_events, size_t *indexed, salog_err *err)
{
    char **ids = NULL;
    size_t count = 0, total = 0;
    *indexed = 0;
    salog_status st = configs_all_ids(s, &ids, &count, err);
    if (st != SALOG_OK)
        return st;
    for (size_t i = 0; i < count && total < max_events; i++) {
        size_t done = 0;
        if (strlen(ids[i]) != ID_LEN)
            continue;
        st = si_catch_up_config(s, ids[i], max_events - total, &done, err);
        total += done;
        if (st != SALOG_OK)
            break;
    }
    for (size_t i = 0; i < count; i++)
        free(ids[i]);
    free(ids);
    *indexed = total;
    return st;
}
