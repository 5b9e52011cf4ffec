/* Tile layout of the stored Merkle tree (model/tree_tiles.h). */
#include <criterion/criterion.h>
#include <stdbool.h>
#include <string.h>

#include "model/tree_tiles.h"

/* Every node of one tile gets its own position in 0..61, and positions
 * follow the order in which appends complete the nodes (last base node
 * covered, then level): an append only ever adds at a tile's end. */
Test(tree_tiles, positions_are_post_order)
{
    bool seen[TILE_MAX_NODES] = {false};
    unsigned next = 0;
    for (unsigned last = 0; last < TILE_BASE_NODES; last++) {
        for (unsigned r = 0; r < TILE_HEIGHT; r++) {
            if (((last + 1) & ((1u << r) - 1)) != 0)
                break; /* base node `last` completes levels 0..r-1 only */
            uint64_t j = ((uint64_t)(last + 1) >> r) - 1;
            for (unsigned stratum = 0; stratum < 3; stratum++) {
                tile_place p;
                uint64_t tile = 7;
                tile_locate(stratum * TILE_HEIGHT + r, (tile << (TILE_HEIGHT - r)) + j, &p);
                cr_assert_eq(p.stratum, stratum);
                cr_assert_eq(p.tile, tile);
                cr_assert_eq(p.position, next, "level %u index %llu: %u, want %u", r, (unsigned long long)j,
                             p.position, next);
            }
            cr_assert(!seen[next]);
            seen[next] = true;
            next++;
        }
    }
    cr_assert_eq(next, TILE_MAX_NODES);
}

/* Level 5 starts stratum 1: its nodes are the base of that stratum's tiles,
 * stored once, there. */
Test(tree_tiles, strata_boundaries)
{
    tile_place p;
    tile_locate(4, 1, &p); /* events 16..31: the top of tile 0, stratum 0 */
    cr_assert_eq(p.stratum, 0);
    cr_assert_eq(p.tile, 0);
    cr_assert_eq(p.position, TILE_MAX_NODES - 1);
    tile_locate(4, 2, &p); /* events 32..47: tile 1 */
    cr_assert_eq(p.tile, 1);
    tile_locate(5, 0, &p); /* events 0..31 */
    cr_assert_eq(p.stratum, 1);
    cr_assert_eq(p.tile, 0);
    cr_assert_eq(p.position, 0);
    tile_locate(5, 33, &p); /* the second base node of stratum 1's tile 1 */
    cr_assert_eq(p.tile, 1);
    cr_assert_eq(p.position, 1);
    tile_locate(63, 0, &p);
    cr_assert_eq(p.stratum, 12);
    cr_assert(p.stratum < TILE_STRATA);
}

/* Full tiles are keyed in the order they complete (last leaf covered, then
 * stratum): in a store whose tiles.db is a btree (made before it became a
 * hash database) each is inserted at the right edge, and salog verify finds
 * a tile beyond the tree's size by one range search. */
Test(tree_tiles, keys_follow_completion_order)
{
    const char id[ID_LEN + 1] = "pci_0123456789abcdef0123456789abcdef";
    uint8_t a[TILE_KEY_LEN], b[TILE_KEY_LEN], c[TILE_KEY_LEN], d[TILE_KEY_LEN];
    tile_key(a, id, 0, 30); /* leaves ..991 */
    tile_key(b, id, 0, 31); /* leaves ..1023 */
    tile_key(c, id, 1, 0);  /* leaves ..1023, completed by the same append, after b */
    tile_key(d, id, 0, 32); /* leaves ..1055 */
    cr_assert(memcmp(a, b, TILE_KEY_LEN) < 0);
    cr_assert(memcmp(b, c, TILE_KEY_LEN) < 0);
    cr_assert(memcmp(c, d, TILE_KEY_LEN) < 0);
    cr_assert_eq(memcmp(a, id, ID_LEN), 0);
    /* Stratum 12 tiles never fill (2^65 leaves): their key saturates. */
    tile_key(a, id, 12, 0);
    for (size_t i = ID_LEN; i < ID_LEN + 8; i++)
        cr_assert_eq(a[i], 0xff);
}
