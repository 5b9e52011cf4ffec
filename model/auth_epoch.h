/* The auth epoch: a random value in meta.db that every write of a token or
 * a config replaces, inside the writer's transaction.
 *
 * Every request reads its token and, to log, its config; reading them took
 * four Berkeley DB operations (two gets for the token, a key scan and a get
 * for the config), a twelfth of the worker's time on /v1/log. A request now
 * reads the epoch once, and a process keeps the token and config records it
 * read, tagged with the epoch it read before them: while the epoch is still
 * the same, no change to tokens or configs has committed since, in any
 * process, so the kept record is the stored one. A revocation or a config
 * change is therefore seen by the very next request of every process (API.md
 * I.2), as before. Random rather than a counter, so that a store restored
 * from a backup never shows an epoch that a running process has already
 * seen for other contents.
 *
 * Functions return SALOG_OK or fill err (storage errors). */
#ifndef SALOG_AUTH_EPOCH_H
#define SALOG_AUTH_EPOCH_H

#include "codec/error.h"
#include "model/store.h"

#define AUTH_EPOCH_LEN 16

typedef struct auth_epoch {
    unsigned char bytes[AUTH_EPOCH_LEN]; /* all zero until the first change */
} auth_epoch;

salog_status auth_epoch_read(store *s, auth_epoch *out, salog_err *err);

#endif
