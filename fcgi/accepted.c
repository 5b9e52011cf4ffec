/* The 202 result of API.md II §1.5, shared by /v2/log_async, /v1/export and
 * the poll of a job still running: {ttl_mins, retry_counter, location}. */
#include <stdio.h>

#include "fcgi/request_ctx.h"

salog_status accepted_result(request_ctx *rc, const char *request_id, sv_value **result)
{
    char base[512], location[700];
    http_base_url(rc->req, base, sizeof base);
    snprintf(location, sizeof location, "%s/request/%s", base, request_id);
    sv_value *res = sv_object();
    if (!res || sv_object_set_int(res, "ttl_mins", ASYNC_TTL_MINS) || sv_object_set_int(res, "retry_counter", 0) ||
        sv_object_set_str(res, "location", location)) {
        sv_free(res);
        return salog_err_set(&rc->err, SALOG_E_INTERNAL, "InternalError", "/", "out of memory");
    }
    rc->success_http = 202;
    rc->success_status = "Accepted";
    snprintf(rc->summary, sizeof rc->summary, "Accepted");
    *result = res;
    return SALOG_OK;
}
