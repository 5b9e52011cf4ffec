/* salog error type: one enum, one table (error.c) mapping each status to
 * its HTTP code, envelope `status` string and summary.
 *
 * Every function that can fail returns a salog_status and fills a
 * caller-owned `salog_err`. Items carry the `code`, `detail` and `source`
 * (a JSON pointer into the request body, "/" for the whole request) that
 * end up in `result.errors[]`. */
#ifndef SALOG_ERROR_H
#define SALOG_ERROR_H

#include <stddef.h>

typedef enum salog_status {
    SALOG_OK = 0,
    SALOG_E_VALIDATION,        /* 400 ValidationError */
    SALOG_E_TOO_BIG,           /* 413 ValidationError (code IsTooBig) */
    SALOG_E_LENGTH_REQUIRED,   /* 411 ValidationError (code FieldRequired) */
    SALOG_E_UNAUTHORIZED,      /* 401 Unauthorized */
    SALOG_E_FORBIDDEN,         /* 403 Unauthorized (MissingScope, ConfigNotExist) */
    SALOG_E_FORBIDDEN_FIELD,   /* 403 ForbiddenFieldValue */
    SALOG_E_NOT_FOUND,         /* 404 NotFound */
    SALOG_E_MISSING_CONFIG_ID, /* 400 MissingConfigID */
    SALOG_E_MISSING_CONFIG_SCOPE, /* 400 MissingConfigIDScope */
    SALOG_E_INVALID_SCHEMA,    /* 400 InvalidSchema */
    SALOG_E_BAD_OFFSET,        /* 400 BadOffset */
    SALOG_E_TREE_NOT_FOUND,    /* 200 TreeNotFound */
    SALOG_E_NO_FORWARDER,      /* 400 NoForwarderConfigured */
    SALOG_E_FORWARDING,        /* 400 ForwardingError */
    SALOG_E_INTERNAL,          /* 500 InternalError */
    SALOG_E_UNAVAILABLE,       /* 503 ServiceNotAvailable */
    SALOG_E_RUNRECOVERY,       /* 500 InternalError; the worker must exit after replying */
    SALOG_STATUS_COUNT
} salog_status;

#define SALOG_ERR_MAX_ITEMS 16

typedef struct salog_err_item {
    char code[48];
    char source[256];
    char detail[512];
} salog_err_item;

typedef struct salog_err {
    salog_status status;     /* SALOG_OK until the first salog_err_set */
    size_t count;            /* items filled; more than MAX are dropped */
    salog_err_item items[SALOG_ERR_MAX_ITEMS];
} salog_err;

/* Table lookups; never NULL. */
int salog_status_http(salog_status st);
const char *salog_status_name(salog_status st);     /* envelope `status` */
const char *salog_status_summary(salog_status st);  /* default summary */
const char *salog_status_reason(int http);          /* "Bad Request" … */

void salog_err_init(salog_err *e);

/* Sets e->status (the first status set wins) and appends one item; returns
 * `st` so callers can write `return salog_err_set(...)`. `source` may be
 * NULL for "/". detail is printf-formatted and truncated to fit. */
salog_status salog_err_set(salog_err *e, salog_status st, const char *code,
                           const char *source, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
