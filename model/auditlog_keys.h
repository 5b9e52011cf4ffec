/* Key layouts of the log's Berkeley DB records, shared by the append path
 * and `salog verify` (internal to model/). */
#ifndef SALOG_AUDITLOG_KEYS_H
#define SALOG_AUDITLOG_KEYS_H

#include <stdint.h>
#include <string.h>

#include "model/ids.h"

#define AL_NODE_KEY_LEN (ID_LEN + 8 + 1)

/* node(level, index) is keyed by the last leaf it covers, then its level:
 * config id + be64(((index + 1) << level) - 1) + u8 level. Nodes are
 * completed in exactly that order as leaves are appended, so every insert
 * goes to the right edge of the btree and pages fill up (level-major keys
 * split pages half-empty: 350 MB of nodes for 1M events, measured). */
static inline void al_node_key(uint8_t key[AL_NODE_KEY_LEN], const char *config_id, unsigned level,
                               uint64_t index)
{
    uint64_t last = ((index + 1) << level) - 1;
    memcpy(key, config_id, ID_LEN);
    for (int i = 0; i < 8; i++)
        key[ID_LEN + i] = (uint8_t)(last >> (56 - 8 * i));
    key[ID_LEN + 8] = (uint8_t)level;
}

#endif
