/* The auth epoch: a random value in auth_epoch.db that every write of a
 * token or a config replaces, inside the writer's transaction
 * (auth_epoch_bump, store_internal.h: tokens.c and configs.c call it in
 * each of their write transactions).
 *
 * Every request reads its token and, to log, its config; reading them took
 * four Berkeley DB operations (two gets for the token, a key scan and a get
 * for the config), a twelfth of the worker's time on /v1/log. A request now
 * reads the epoch once, and a process keeps the token and config records it
 * read, tagged with the epoch it had read before them. While the epoch is
 * still the same, no change to tokens or configs has committed since, in
 * any process, so a kept record is the stored one: it includes every change
 * committed before the epoch was read. A revocation or a config change is
 * therefore seen by the very next request of every process (API.md I.2), as
 * before. Random rather than a counter, so that a store restored from a
 * backup never shows an epoch that a running process has already seen for
 * other contents.
 *
 * Functions return SALOG_OK or fill err (storage errors). */
#ifndef SALOG_AUTH_EPOCH_H
#define SALOG_AUTH_EPOCH_H

#include <stdbool.h>

#include "codec/error.h"
#include "model/store.h"

#define AUTH_EPOCH_LEN 16

typedef struct auth_epoch {
    unsigned char bytes[AUTH_EPOCH_LEN]; /* all zero until the first change */
    /* False when the stored record is damaged (not AUTH_EPOCH_LEN bytes):
     * the reads given this epoch then read the store as without one, and
     * the next token or config write replaces the record. */
    bool usable;
} auth_epoch;

salog_status auth_epoch_read(store *s, auth_epoch *out, salog_err *err);

/* The tag that cached reads under `e` use: its bytes, or NULL (read the
 * store, keep nothing) for no epoch or an unusable one. */
static inline const unsigned char *auth_epoch_tag(const auth_epoch *e)
{
    return e && e->usable ? e->bytes : NULL;
}

#endif
