/* How the Merkle nodes of a tree are stored: in tiles (internal to model/).
 *
 * The perfect aligned nodes of merkle.h are grouped by level into strata of
 * TILE_HEIGHT levels: stratum s holds levels 5s .. 5s+4. A tile of stratum s
 * covers 32 consecutive nodes of level 5s and every node above them inside
 * the stratum: up to 32 + 16 + 8 + 4 + 2 = 62 hashes. A tile's hashes are in
 * post-order (the order in which appends complete them), so an append only
 * ever adds hashes at a tile's end, and a full tile never changes again.
 *
 * Three databases hold them:
 *   tiles-<id> record t + 1 -> complete bottom tile t (stratum 0), 62
 *              hashes, written once (a queue per config, tree_queues.h)
 *   tiles      id + be64 last leaf covered + u8 stratum -> 62 hashes
 *              (complete tiles of the upper strata, written once)
 *   tile_edges id + u8 stratum -> be64 tile index + its hashes so far
 *              (the one growing tile of each stratum)
 * Growing tiles live apart so their rewrites do not disturb the pages of
 * the full ones.
 *
 * A proof reads one bottom tile at a random place, cold at a million
 * events; the upper strata come from the cache. In a btree that read was a
 * descent whose binary searches each touched a cold key (half of a
 * membership proof at 1M), in a hash database one bucket page and a search
 * in it, in the queue one page found by arithmetic. In
 * tests/bench/tree_bench.c, membership at 1M against 1k: 2.06-2.24x with a
 * 16 KB-page btree, 1.5-1.8x with a 64 KB-page hash. tiles is a hash
 * database with 64 KB pages. Stores made before keep their bottom tiles in
 * tiles.db (a btree in older ones, found by its type at open), read when
 * the queue lacks a tile; new ones go to the queue, up to tile
 * TREE_QUEUE_MAX_RECNO - 1 (beyond, to tiles.db).
 *
 * Why: a proof or root walks one path of ~log2(n) nodes; with a record per
 * node that is one btree descent per node, each dearer as the tree grows
 * (measured: 2.7 us per read at 1M events against 1.2 us at 1k). With tiles
 * a walk reads one record per stratum, and the full tiles of the upper
 * strata, shared by every walk, come from a per-process cache
 * (tile_cache.h) instead of Berkeley DB.
 *
 * A tile_reader serves node reads for one operation, keeping the last tile
 * it read of each stratum. Inside an append transaction it also collects
 * new nodes (tile_reader_add) and writes each changed tile once
 * (tile_reader_flush). Errors: 0, EINVAL (a node that should be stored is
 * missing, or a tile is damaged), or a Berkeley DB error. */
#ifndef SALOG_TREE_TILES_H
#define SALOG_TREE_TILES_H

#include <db.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/ids.h"
#include "model/merkle.h"

#define TILE_HEIGHT 5
#define TILE_BASE_NODES (1u << TILE_HEIGHT)             /* 32 */
#define TILE_MAX_NODES (2 * TILE_BASE_NODES - 2)          /* 62 */
#define TILE_MAX_BYTES (TILE_MAX_NODES * MERKLE_HASH_LEN) /* 1984 */
#define TILE_STRATA ((MERKLE_MAX_LEVELS + TILE_HEIGHT - 1) / TILE_HEIGHT)
#define TILE_KEY_LEN (ID_LEN + 8 + 1)
#define TILE_EDGE_KEY_LEN (ID_LEN + 1)
/* Berkeley DB page sizes of new tiles (the upper strata's complete tiles)
 * and tile_edges databases. A tile (1984 bytes) stays far below either's
 * overflow threshold. For a million events tiles.db takes 5 MB, and the
 * bottom-tile queue (TREE_QUEUE_PAGESIZE) 64 MB (measured). */
#define TILE_DB_PAGESIZE 65536
#define TILE_EDGE_DB_PAGESIZE 16384

struct tile_cache;

/* Where node (level, index) lives. */
typedef struct tile_place {
    unsigned stratum;
    uint64_t tile;     /* tile index within the stratum */
    unsigned position; /* hash position inside the tile, < TILE_MAX_NODES */
} tile_place;

void tile_locate(unsigned level, uint64_t index, tile_place *out);

/* Key of a full tile in the tiles database (also the cache's key). */
void tile_key(uint8_t key[TILE_KEY_LEN], const char *config_id, unsigned stratum, uint64_t tile);

/* One tile in memory. */
typedef struct tile_buf {
    bool loaded; /* holds tile `tile` of its stratum */
    bool dirty;  /* changed since it was read: tile_reader_flush writes it */
    uint64_t tile;
    size_t count; /* hashes held */
    uint8_t hashes[TILE_MAX_BYTES];
} tile_buf;

typedef struct tile_reader {
    DB *bottom;               /* tiles-<id> */
    DB *full;                 /* tiles */
    DB *edges;                /* tile_edges */
    DB_TXN *txn;              /* NULL: reads outside any transaction */
    const char *config_id;    /* borrowed */
    struct tile_cache *cache; /* NULL: none. Only used when txn is NULL */
    uint64_t size_hint;       /* a size the tree had (0: unknown), see below */
    tile_buf strata[TILE_STRATA];
} tile_reader;

/* Sets up r (cheaply: the tile buffers are not cleared). bottom is the
 * config's bottom-tile queue (tree_queue_open, made when missing: another
 * process may complete a tile into it at any time). cache may be NULL;
 * it is ignored inside a transaction, whose reads may not be committed.
 * size_hint (0 = unknown) is a size the tree had, best the current one: a
 * tile not complete at that size is looked for among the growing ones
 * first. It is only a hint: tiles completed since are still found. */
void tile_reader_init(tile_reader *r, DB *bottom, DB *full, DB *edges, DB_TXN *txn, const char *config_id,
                      struct tile_cache *cache, uint64_t size_hint);

/* Stored node (level, index) into out: 0, EINVAL or a DB error. */
int tile_reader_node(tile_reader *r, unsigned level, uint64_t index, uint8_t out[MERKLE_HASH_LEN]);

/* merkle_node_reader over a tile_reader (ctx = the reader). */
int tile_reader_merkle(void *ctx, unsigned level, uint64_t index, uint8_t out[MERKLE_HASH_LEN]);

/* Appends node (level, index) to its tile (inside a transaction). Nodes
 * must come in completion order, so each lands at its tile's end; any
 * other position is EINVAL (the stored tree and the head disagree). */
int tile_reader_add(tile_reader *r, unsigned level, uint64_t index, const uint8_t hash[MERKLE_HASH_LEN]);

/* Writes every changed tile. 0, EINVAL (a complete tile is stored
 * already: the head and the tiles disagree) or a DB error. */
int tile_reader_flush(tile_reader *r);

/* The shape a tree of n leaves leaves in storage, for `salog verify`. */

/* The growing tile of `stratum` for n leaves: true with *tile and *count
 * (hashes it holds), or false when the stratum has no node yet. */
bool tile_expected_edge(uint64_t n, unsigned stratum, uint64_t *tile, size_t *count);

/* The stored growing tile of `stratum` (outside any transaction):
 * *present, and when present *tile and *count. 0, EINVAL (malformed
 * record) or a DB error. */
int tile_reader_edge(tile_reader *r, unsigned stratum, bool *present, uint64_t *tile, size_t *count);

/* Whether a complete tile covering a leaf at or after `n` is stored (it
 * cannot be, for a tree of n leaves): 0 with *found (and then *stratum and
 * *last_leaf of the one ending first), or a DB error. In a hash tiles.db
 * this reads the key of every full tile of every tree, and the bottom
 * queue's records: one per 32 events, against salog verify's reading of
 * every event of the tree it checks. */
int tile_reader_full_beyond(tile_reader *r, uint64_t n, bool *found, unsigned *stratum, uint64_t *last_leaf);

#endif
