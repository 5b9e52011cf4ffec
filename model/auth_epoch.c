/* The auth epoch (auth_epoch.h), kept under one key of meta.db. */
#include "model/auth_epoch.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "model/json_cache.h"
#include "model/store_internal.h"

/* The epoch is what tags the token and config caches' entries. */
_Static_assert(AUTH_EPOCH_LEN == JSON_CACHE_TAG_LEN, "the auth epoch is the json_cache tag");

#define AUTH_EPOCH_KEY "auth_epoch"

salog_status auth_epoch_read(store *s, auth_epoch *out, salog_err *err)
{
    size_t len = 0;
    memset(out, 0, sizeof *out);
    int ret = store_get_into(s->meta, NULL, AUTH_EPOCH_KEY, strlen(AUTH_EPOCH_KEY), out->bytes,
                             AUTH_EPOCH_LEN, &len, 0);
    if (ret == DB_NOTFOUND)
        return SALOG_OK; /* no token or config has changed since the epoch existed */
    if (ret == 0 && len != AUTH_EPOCH_LEN)
        ret = EINVAL;
    if (ret != 0) {
        memset(out, 0, sizeof *out);
        return store_db_error(s, ret, "reading the auth epoch", err);
    }
    return SALOG_OK;
}

int auth_epoch_bump(store *s, DB_TXN *txn)
{
    unsigned char fresh[AUTH_EPOCH_LEN];
    if (getrandom(fresh, sizeof fresh, 0) != (ssize_t)sizeof fresh)
        return EIO;
    return store_put(s->meta, txn, AUTH_EPOCH_KEY, strlen(AUTH_EPOCH_KEY), fresh, sizeof fresh, 0);
}
