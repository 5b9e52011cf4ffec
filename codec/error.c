#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct status_row {
    int http;
    const char *name;
    const char *summary;
};

/* The single table mapping salog statuses to the wire (API.md II §1.4). */
static const struct status_row status_table[SALOG_STATUS_COUNT] = {
    [SALOG_OK]                    = {200, "Success", "Success"},
    [SALOG_E_VALIDATION]          = {400, "ValidationError", "There was an error validating the request"},
    [SALOG_E_TOO_BIG]             = {413, "ValidationError", "The request body is too big"},
    [SALOG_E_LENGTH_REQUIRED]     = {411, "ValidationError", "Content-Length is required"},
    [SALOG_E_UNAUTHORIZED]        = {401, "Unauthorized", "Not authorized to access this resource"},
    [SALOG_E_FORBIDDEN]           = {403, "Unauthorized", "Not authorized to access this resource"},
    [SALOG_E_FORBIDDEN_FIELD]     = {403, "ForbiddenFieldValue", "A field value is not allowed for this token"},
    [SALOG_E_NOT_FOUND]           = {404, "NotFound", "Not found"},
    [SALOG_E_MISSING_CONFIG_ID]   = {400, "MissingConfigID", "The token can use several configs: give config_id"},
    [SALOG_E_MISSING_CONFIG_SCOPE]= {400, "MissingConfigIDScope", "The token has no audit config"},
    [SALOG_E_INVALID_SCHEMA]      = {400, "InvalidSchema", "The config's schema does not suit this endpoint"},
    [SALOG_E_BAD_OFFSET]          = {400, "BadOffset", "Offset out of range"},
    [SALOG_E_TREE_NOT_FOUND]      = {200, "TreeNotFound", "Tree not found"},
    [SALOG_E_NO_FORWARDER]        = {400, "NoForwarderConfigured", "The config has no forwarder"},
    [SALOG_E_FORWARDING]          = {400, "ForwardingError", "Forwarding failed"},
    [SALOG_E_INTERNAL]            = {500, "InternalError", "Internal Error."},
    [SALOG_E_UNAVAILABLE]         = {503, "ServiceNotAvailable", "Service temporarily unavailable"},
    [SALOG_E_RUNRECOVERY]         = {500, "InternalError", "Internal Error."},
};

static const struct status_row *row(salog_status st)
{
    if ((int)st < 0 || st >= SALOG_STATUS_COUNT)
        st = SALOG_E_INTERNAL;
    return &status_table[st];
}

int salog_status_http(salog_status st) { return row(st)->http; }
const char *salog_status_name(salog_status st) { return row(st)->name; }
const char *salog_status_summary(salog_status st) { return row(st)->summary; }

const char *salog_status_reason(int http)
{
    switch (http) {
    case 200: return "OK";
    case 202: return "Accepted";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default:  return "Unknown";
    }
}

void salog_err_init(salog_err *e)
{
    memset(e, 0, sizeof *e);
}

salog_status salog_err_set(salog_err *e, salog_status st, const char *code,
                           const char *source, const char *fmt, ...)
{
    if (e->status == SALOG_OK)
        e->status = st;
    if (e->count < SALOG_ERR_MAX_ITEMS) {
        salog_err_item *it = &e->items[e->count++];
        snprintf(it->code, sizeof it->code, "%s", code ? code : salog_status_name(st));
        snprintf(it->source, sizeof it->source, "%s", source && *source ? source : "/");
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(it->detail, sizeof it->detail, fmt, ap);
        va_end(ap);
    }
    return st;
}
