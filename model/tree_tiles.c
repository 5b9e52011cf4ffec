/* Merkle nodes stored in tiles (tree_tiles.h). */
#include "model/tree_tiles.h"
#include "model/be64.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model/store_internal.h"
#include "model/tile_cache.h"
#include "model/tree_queues.h"


void tile_locate(unsigned level, uint64_t index, tile_place *out)
{
    unsigned local_level = level % TILE_HEIGHT;
    unsigned per_tile = TILE_HEIGHT - local_level; /* log2 of this level's nodes per tile */
    uint64_t local_index = index & (((uint64_t)1 << per_tile) - 1);
    /* Post-order: before node (r, j) come every node completed by the base
     * nodes 0..L-1 (2L - popcount(L) of them for L < 32), then its r
     * descendants ending at L, where L is the last base node it covers. */
    unsigned last = (unsigned)(((local_index + 1) << local_level) - 1);
    out->stratum = level / TILE_HEIGHT;
    out->tile = index >> per_tile;
    out->position = 2 * last - (unsigned)__builtin_popcount(last) + local_level;
}

/* The last leaf a tile covers (saturating: tiles of stratum 12 never fill). */
static uint64_t tile_last_leaf(unsigned stratum, uint64_t tile)
{
    unsigned shift = TILE_HEIGHT * (stratum + 1);
    if (shift >= 64 || tile >= ((uint64_t)1 << (64 - shift)))
        return UINT64_MAX;
    return ((tile + 1) << shift) - 1;
}

void tile_key(uint8_t key[TILE_KEY_LEN], const char *config_id, unsigned stratum, uint64_t tile)
{
    uint64_t last = tile_last_leaf(stratum, tile);
    memcpy(key, config_id, ID_LEN);
    for (int i = 0; i < 8; i++)
        key[ID_LEN + i] = (uint8_t)(last >> (56 - 8 * i));
    key[ID_LEN + 8] = (uint8_t)stratum;
}

static void tile_edge_key(uint8_t key[TILE_EDGE_KEY_LEN], const char *config_id, unsigned stratum)
{
    memcpy(key, config_id, ID_LEN);
    key[ID_LEN] = (uint8_t)stratum;
}

void tile_reader_init(tile_reader *r, DB *bottom, DB *full, DB *edges, DB_TXN *txn, const char *config_id,
                      struct tile_cache *cache, uint64_t size_hint)
{
    r->size_hint = size_hint;
    r->bottom = bottom;
    r->full = full;
    r->edges = edges;
    r->txn = txn;
    r->config_id = config_id;
    r->cache = txn ? NULL : cache;
    for (size_t s = 0; s < TILE_STRATA; s++) {
        r->strata[s].loaded = false;
        r->strata[s].dirty = false;
    }
}

/* A tile record into buf (at most cap bytes): a longer one is EINVAL.
 * Inside the append transaction the tile is about to be written: take the
 * write lock now, not a read lock to upgrade later (two appenders whose
 * edges share a page would deadlock). */
static int tile_get(tile_reader *r, DB *db, const void *key, size_t key_len, void *buf, size_t cap,
                    size_t *len)
{
    int ret = store_get_into(db, r->txn, key, key_len, buf, cap, len, r->txn ? DB_RMW : 0);
    return ret == DB_BUFFER_SMALL ? EINVAL : ret;
}

/* Whether complete tile `tile` of `stratum` belongs in the bottom queue
 * (beyond its numbers, in tiles.db). */
static bool tile_in_queue(unsigned stratum, uint64_t tile)
{
    return stratum == 0 && tile < TREE_QUEUE_MAX_RECNO;
}

/* The full tile, or DB_NOTFOUND. */
static int tile_fetch_full(tile_reader *r, unsigned stratum, uint64_t tile, tile_buf *b)
{
    uint8_t key[TILE_KEY_LEN];
    size_t len = 0;
    int ret = DB_NOTFOUND;
    if (tile_in_queue(stratum, tile)) {
        if (!r->bottom)
            return EINVAL; /* tile_reader_init's contract */
        db_recno_t recno = (db_recno_t)(tile + 1);
        ret = tile_get(r, r->bottom, &recno, sizeof recno, b->hashes, TILE_MAX_BYTES, &len);
        if (ret == DB_KEYEMPTY)
            ret = DB_NOTFOUND;
    }
    if (ret == DB_NOTFOUND) {
        /* Beyond the queue's numbers, or a store made before it. */
        tile_key(key, r->config_id, stratum, tile);
        ret = tile_get(r, r->full, key, sizeof key, b->hashes, TILE_MAX_BYTES, &len);
    }
    if (ret == 0 && len != TILE_MAX_BYTES)
        ret = EINVAL;
    if (ret == 0)
        b->count = TILE_MAX_NODES;
    return ret;
}

/* Reads the edge record of `stratum` into edge: *present, and when present
 * *tile and *count. 0, EINVAL (malformed) or a DB error. */
static int tile_get_edge(tile_reader *r, unsigned stratum, uint8_t edge[8 + TILE_MAX_BYTES], bool *present,
                         uint64_t *tile, size_t *count)
{
    uint8_t key[TILE_EDGE_KEY_LEN];
    size_t len = 0;
    *present = false;
    tile_edge_key(key, r->config_id, stratum);
    int ret = tile_get(r, r->edges, key, sizeof key, edge, 8 + TILE_MAX_BYTES, &len);
    if (ret == DB_NOTFOUND)
        return 0;
    if (ret != 0)
        return ret;
    if (len < 8 || (len - 8) % MERKLE_HASH_LEN != 0 || len - 8 >= TILE_MAX_BYTES)
        return EINVAL;
    *present = true;
    *tile = be64_get(edge);
    *count = (len - 8) / MERKLE_HASH_LEN;
    return 0;
}

/* The growing tile of `stratum` if it is `tile`. *found: 1 = it is (b
 * filled), 0 = no hashes of `tile` yet, -1 = `tile` is complete by now. */
static int tile_fetch_edge(tile_reader *r, unsigned stratum, uint64_t tile, tile_buf *b, int *found)
{
    uint8_t edge[8 + TILE_MAX_BYTES];
    uint64_t edge_tile = 0;
    size_t count = 0;
    bool present = false;
    int ret = tile_get_edge(r, stratum, edge, &present, &edge_tile, &count);
    *found = 0;
    if (ret != 0 || !present)
        return ret;
    if (edge_tile == tile) {
        b->count = count;
        memcpy(b->hashes, edge + 8, count * MERKLE_HASH_LEN);
        *found = 1;
    } else if (edge_tile > tile) {
        *found = -1;
    }
    return 0;
}

/* Reads tile `tile` of `stratum` into b: the full tile, else the growing
 * one (a tile not begun has no hashes). Which is tried first follows the
 * size hint; both are tried, so a tile that completes meanwhile is found. */
static int tile_fetch(tile_reader *r, unsigned stratum, uint64_t tile, tile_buf *b)
{
    int found = 0, ret;
    bool growing = r->size_hint > 0 && tile_last_leaf(stratum, tile) >= r->size_hint;
    b->loaded = false;
    b->dirty = false;
    if (growing) {
        if ((ret = tile_fetch_edge(r, stratum, tile, b, &found)) != 0)
            return ret;
        if (found == 0)
            b->count = 0;
        if (found >= 0)
            goto loaded;
    }
    ret = tile_fetch_full(r, stratum, tile, b);
    if (ret == 0)
        goto loaded;
    if (ret != DB_NOTFOUND)
        return ret;
    if (growing)
        return EINVAL; /* said complete, but not stored */
    if ((ret = tile_fetch_edge(r, stratum, tile, b, &found)) != 0)
        return ret;
    if (found == 0)
        b->count = 0;
    if (found < 0) {
        /* Completed between the two reads (outside a transaction). */
        ret = tile_fetch_full(r, stratum, tile, b);
        if (ret != 0)
            return ret == DB_NOTFOUND ? EINVAL : ret;
    }
loaded:
    b->loaded = true;
    b->tile = tile;
    if (r->cache && stratum >= 1)
        tile_cache_put(r->cache, r->config_id, stratum, tile, b->count, b->hashes);
    return 0;
}

/* Writes a changed tile: a full one goes for good to the bottom queue or
 * the tiles database (and the stratum's edge moves on to the next tile),
 * a growing one replaces its stratum's edge. */
static int tile_put(tile_reader *r, unsigned stratum, tile_buf *b)
{
    uint8_t key[TILE_KEY_LEN], edge_key[TILE_EDGE_KEY_LEN], edge[8 + TILE_MAX_BYTES];
    int ret;
    tile_edge_key(edge_key, r->config_id, stratum);
    if (b->count == TILE_MAX_NODES) {
        if (tile_in_queue(stratum, b->tile)) {
            if (!r->bottom)
                return EINVAL;
            db_recno_t recno = (db_recno_t)(b->tile + 1);
            ret = store_put(r->bottom, r->txn, &recno, sizeof recno, b->hashes, TILE_MAX_BYTES, DB_NOOVERWRITE);
        } else {
            tile_key(key, r->config_id, stratum, b->tile);
            ret = store_put(r->full, r->txn, key, sizeof key, b->hashes, TILE_MAX_BYTES, DB_NOOVERWRITE);
        }
        if (ret == DB_KEYEXIST)
            ret = EINVAL; /* the head and the stored tiles disagree */
        if (ret == 0) {
            /* The stratum's growing tile is now the next one, empty. */
            be64_put(edge, b->tile + 1);
            ret = store_put(r->edges, r->txn, edge_key, sizeof edge_key, edge, 8, 0);
        }
    } else {
        be64_put(edge, b->tile);
        memcpy(edge + 8, b->hashes, b->count * MERKLE_HASH_LEN);
        ret = store_put(r->edges, r->txn, edge_key, sizeof edge_key, edge, 8 + b->count * MERKLE_HASH_LEN, 0);
    }
    if (ret == 0)
        b->dirty = false;
    return ret;
}

/* Makes r->strata[stratum] hold `tile`, writing out the tile it replaces
 * when that one changed. */
static int tile_load(tile_reader *r, unsigned stratum, uint64_t tile)
{
    tile_buf *b = &r->strata[stratum];
    if (b->loaded && b->tile == tile)
        return 0;
    if (b->loaded && b->dirty) {
        int ret = tile_put(r, stratum, b);
        if (ret != 0)
            return ret;
    }
    return tile_fetch(r, stratum, tile, b);
}

int tile_reader_node(tile_reader *r, unsigned level, uint64_t index, uint8_t out[MERKLE_HASH_LEN])
{
    tile_place p;
    if (level >= MERKLE_MAX_LEVELS)
        return EINVAL;
    tile_locate(level, index, &p);
    tile_buf *b = &r->strata[p.stratum];
    bool held = b->loaded && b->tile == p.tile;
    if (!held || p.position >= b->count) {
        size_t cached = 0;
        /* Inside a transaction the held tile is the truth (it may hold
         * this transaction's own nodes). Outside, a held copy may predate
         * the node (an older cached copy, or appends since): read again. */
        if (held && r->txn)
            return EINVAL;
        if (!held && r->cache && p.stratum >= 1 &&
            (cached = tile_cache_get(r->cache, r->config_id, p.stratum, p.tile, p.position, b->hashes)) > 0) {
            b->loaded = true;
            b->dirty = false; /* no cache inside a transaction: never dirty here */
            b->tile = p.tile;
            b->count = cached;
        } else {
            if (held)
                b->loaded = false; /* outside a transaction: never dirty */
            int ret = tile_load(r, p.stratum, p.tile);
            if (ret != 0)
                return ret;
            if (p.position >= b->count)
                return EINVAL;
        }
    }
    memcpy(out, b->hashes + (size_t)p.position * MERKLE_HASH_LEN, MERKLE_HASH_LEN);
    return 0;
}

int tile_reader_merkle(void *ctx, unsigned level, uint64_t index, uint8_t out[MERKLE_HASH_LEN])
{
    return tile_reader_node(ctx, level, index, out);
}

int tile_reader_add(tile_reader *r, unsigned level, uint64_t index, const uint8_t hash[MERKLE_HASH_LEN])
{
    tile_place p;
    if (level >= MERKLE_MAX_LEVELS || !r->txn)
        return EINVAL;
    tile_locate(level, index, &p);
    int ret = tile_load(r, p.stratum, p.tile);
    if (ret != 0)
        return ret;
    tile_buf *b = &r->strata[p.stratum];
    if (p.position != b->count)
        return EINVAL;
    memcpy(b->hashes + (size_t)p.position * MERKLE_HASH_LEN, hash, MERKLE_HASH_LEN);
    b->count++;
    b->dirty = true;
    return 0;
}

int tile_reader_flush(tile_reader *r)
{
    for (unsigned s = 0; s < TILE_STRATA; s++) {
        tile_buf *b = &r->strata[s];
        if (b->loaded && b->dirty) {
            int ret = tile_put(r, s, b);
            if (ret != 0)
                return ret;
        }
    }
    return 0;
}

bool tile_expected_edge(uint64_t n, unsigned stratum, uint64_t *tile, size_t *count)
{
    unsigned shift = TILE_HEIGHT * stratum;
    uint64_t base = shift >= 64 ? 0 : n >> shift; /* nodes of the stratum's lowest level */
    if (base == 0)
        return false;
    unsigned held = (unsigned)(base % TILE_BASE_NODES);
    *tile = base / TILE_BASE_NODES;
    /* Nodes completed by `held` base nodes, as in tile_locate. */
    *count = 2 * held - (unsigned)__builtin_popcount(held);
    return true;
}

int tile_reader_edge(tile_reader *r, unsigned stratum, bool *present, uint64_t *tile, size_t *count)
{
    uint8_t edge[8 + TILE_MAX_BYTES];
    return tile_get_edge(r, stratum, edge, present, tile, count);
}

/* tile_reader_full_beyond in a btree: complete tiles are keyed by their
 * last leaf, so any key of this tree at or after be64(n) is one. */
static int tile_full_beyond_btree(tile_reader *r, uint64_t n, bool *found, unsigned *stratum, uint64_t *last_leaf)
{
    uint8_t key[TILE_KEY_LEN];
    DBC *cur = NULL;
    DBT k, v;
    memcpy(key, r->config_id, ID_LEN);
    be64_put(key + ID_LEN, n);
    key[ID_LEN + 8] = 0;
    int ret = r->full->cursor(r->full, r->txn, &cur, 0);
    if (ret != 0)
        return ret;
    memset(&k, 0, sizeof k);
    memset(&v, 0, sizeof v);
    k.data = key;
    k.size = TILE_KEY_LEN;
    k.ulen = TILE_KEY_LEN;
    k.flags = DB_DBT_USERMEM;
    v.flags = DB_DBT_PARTIAL | DB_DBT_USERMEM; /* the key is enough */
    ret = cur->get(cur, &k, &v, DB_SET_RANGE);
    if (ret == 0 && k.size == TILE_KEY_LEN && memcmp(key, r->config_id, ID_LEN) == 0) {
        *found = true;
        *last_leaf = be64_get(key + ID_LEN);
        *stratum = key[ID_LEN + 8];
    } else if (ret == DB_NOTFOUND || ret == DB_BUFFER_SMALL || ret == 0) {
        ret = 0; /* nothing after it, or another tree's (longer keys are not tiles) */
    }
    int cret = cur->close(cur);
    return ret != 0 ? ret : cret;
}

/* The same in a hash database, which has no key order: every key is read,
 * and the tile ending first is reported. */
static int tile_full_beyond_scan(tile_reader *r, uint64_t n, bool *found, unsigned *stratum, uint64_t *last_leaf)
{
    DBC *cur = NULL;
    DBT k, v;
    int ret = r->full->cursor(r->full, r->txn, &cur, 0);
    if (ret != 0)
        return ret;
    memset(&k, 0, sizeof k);
    memset(&v, 0, sizeof v);
    k.flags = DB_DBT_REALLOC;
    v.flags = DB_DBT_PARTIAL | DB_DBT_USERMEM; /* the key is enough */
    while ((ret = cur->get(cur, &k, &v, DB_NEXT)) == 0) {
        const uint8_t *key = k.data;
        if (k.size != TILE_KEY_LEN || memcmp(key, r->config_id, ID_LEN) != 0)
            continue; /* another tree's */
        uint64_t last = be64_get(key + ID_LEN);
        unsigned st = key[ID_LEN + 8];
        if (last >= n && (!*found || last < *last_leaf || (last == *last_leaf && st < *stratum))) {
            *found = true;
            *last_leaf = last;
            *stratum = st;
        }
    }
    if (ret == DB_NOTFOUND)
        ret = 0;
    free(k.data);
    int cret = cur->close(cur);
    return ret != 0 ? ret : cret;
}

/* The same in the bottom queue, whose records are in number order: walked
 * back from the last while tiles end at or after leaf n (one read when
 * none does), the last one seen ends first. */
static int tile_full_beyond_queue(tile_reader *r, uint64_t n, bool *found, unsigned *stratum, uint64_t *last_leaf)
{
    DBC *cur = NULL;
    DBT k, v;
    db_recno_t recno = 0;
    int ret = r->bottom->cursor(r->bottom, r->txn, &cur, 0);
    if (ret != 0)
        return ret;
    memset(&k, 0, sizeof k);
    memset(&v, 0, sizeof v);
    k.data = &recno;
    k.ulen = sizeof recno;
    k.flags = DB_DBT_USERMEM;
    v.flags = DB_DBT_PARTIAL | DB_DBT_USERMEM; /* the number is enough */
    bool seen = false;
    uint64_t first_last = 0;
    for (u_int32_t dir = DB_LAST; (ret = cur->get(cur, &k, &v, dir)) == 0; dir = DB_PREV) {
        uint64_t last = tile_last_leaf(0, (uint64_t)recno - 1);
        if (last < n)
            break;
        seen = true;
        first_last = last;
    }
    if (seen && (!*found || first_last < *last_leaf || (first_last == *last_leaf && *stratum > 0))) {
        *found = true;
        *last_leaf = first_last;
        *stratum = 0;
    }
    if (ret == DB_NOTFOUND)
        ret = 0;
    int cret = cur->close(cur);
    return ret != 0 ? ret : cret;
}

int tile_reader_full_beyond(tile_reader *r, uint64_t n, bool *found, unsigned *stratum, uint64_t *last_leaf)
{
    DBTYPE type = DB_UNKNOWN;
    *found = false;
    int ret = r->full->get_type(r->full, &type);
    if (ret != 0)
        return ret;
    ret = type == DB_BTREE ? tile_full_beyond_btree(r, n, found, stratum, last_leaf)
                           : tile_full_beyond_scan(r, n, found, stratum, last_leaf);
    if (ret == 0)
        ret = r->bottom ? tile_full_beyond_queue(r, n, found, stratum, last_leaf) : EINVAL;
    return ret;
}
