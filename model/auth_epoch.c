/* The auth epoch (auth_epoch.h), the one record of auth_epoch.db. */
#include "model/auth_epoch.h"

#include <errno.h>
#include <string.h>

#include "model/ids.h"
#include "model/json_cache.h"
#include "model/store_internal.h"

/* The epoch is what tags the token and config caches' entries. */
_Static_assert(AUTH_EPOCH_LEN == JSON_CACHE_TAG_LEN, "the auth epoch is the json_cache tag");

#define AUTH_EPOCH_KEY "epoch"

salog_status auth_epoch_read(store *s, auth_epoch *out, salog_err *err)
{
    size_t len = 0;
    memset(out, 0, sizeof *out);
    int ret = store_get_into(s->auth_epoch, NULL, AUTH_EPOCH_KEY, strlen(AUTH_EPOCH_KEY), out->bytes,
                             AUTH_EPOCH_LEN, &len, 0);
    if (ret == DB_NOTFOUND) {
        out->usable = true; /* no token or config has changed since the epoch existed */
        return SALOG_OK;
    }
    if ((ret == 0 && len != AUTH_EPOCH_LEN) || ret == DB_BUFFER_SMALL) {
        memset(out, 0, sizeof *out); /* damaged: unusable, see auth_epoch.h */
        return SALOG_OK;
    }
    if (ret != 0)
        return store_db_error(s, ret, "reading the auth epoch", err);
    out->usable = true;
    return SALOG_OK;
}

int auth_epoch_bump(store *s, DB_TXN *txn)
{
    unsigned char fresh[AUTH_EPOCH_LEN];
    if (id_random_bytes(fresh, sizeof fresh) != 0)
        return EAGAIN;
    return store_put(s->auth_epoch, txn, AUTH_EPOCH_KEY, strlen(AUTH_EPOCH_KEY), fresh, sizeof fresh, 0);
}
