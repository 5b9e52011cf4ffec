/* Background duty leases (API.md I.4): one record per duty naming the
 * holding process and its expiry; read and renewed in one transaction so
 * two workers never both believe they hold a duty. */
#include "model/auditlog.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "model/store_internal.h"

typedef struct lease_ctx {
    const char *duty;
    int64_t now_us, ttl_us;
    bool held;
} lease_ctx;

/* A holder that no longer exists (not merely another uid's process). */
static bool lease_holder_dead(int64_t pid)
{
    if (pid <= 0 || pid > INT32_MAX)
        return true;
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

static int lease_txn(store *s, DB_TXN *txn, void *vctx)
{
    lease_ctx *c = vctx;
    sv_value *rec = NULL;
    int64_t me = (int64_t)getpid();
    c->held = false;
    int ret = store_get_json(s->leases, txn, c->duty, &rec, DB_RMW);
    bool take = false;
    if (ret == DB_NOTFOUND || ret == EINVAL) {
        take = true; /* absent, or an unreadable record: overwrite it */
    } else if (ret != 0) {
        return ret;
    } else {
        const sv_value *pid = sv_object_get(rec, "pid"), *exp = sv_object_get(rec, "expires_at_us");
        if (!sv_is(pid, SV_INT) || !sv_is(exp, SV_INT) || exp->u.i <= c->now_us || pid->u.i == me ||
            lease_holder_dead(pid->u.i))
            take = true;
    }
    sv_free(rec);
    rec = NULL;
    if (!take)
        return 0;
    rec = sv_object();
    if (!rec || sv_object_set_int(rec, "pid", me) != 0 ||
        sv_object_set_int(rec, "expires_at_us", c->now_us + c->ttl_us) != 0) {
        sv_free(rec);
        return ENOMEM;
    }
    ret = store_put_json(s->leases, txn, c->duty, rec, 0);
    sv_free(rec);
    if (ret == 0)
        c->held = true;
    return ret;
}

bool lease_acquire(store *s, const char *duty, int64_t now_us, int64_t ttl_us)
{
    lease_ctx c = {.duty = duty, .now_us = now_us, .ttl_us = ttl_us};
    if (!s || !duty || ttl_us <= 0)
        return false;
    /* A lease lost in a crash is harmless (it is taken over when it
     * expires), so it need not cost a synchronous flush every tick. */
    int ret = store_txn_run_flags(s, lease_txn, &c, DB_TXN_NOSYNC);
    if (ret != 0) {
        salog_err err;
        salog_err_init(&err);
        (void)store_db_error(s, ret, "acquiring a lease", &err);
        return false;
    }
    return c.held;
}
