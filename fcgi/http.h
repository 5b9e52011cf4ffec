/* What the front knows about one HTTP request and its reply, independent of
 * libfcgi so that routing, auth and envelopes can be unit-tested. */
#ifndef SALOG_HTTP_H
#define SALOG_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "codec/codec.h"

typedef struct http_request {
    const char *method;        /* "GET", "POST", … (borrowed) */
    const char *path;          /* REQUEST_URI path with query and prefix removed (owned by caller) */
    const char *content_type;  /* may be NULL */
    const char *accept;        /* may be NULL */
    const char *authorization; /* may be NULL */
    const char *host;          /* HTTP_HOST, may be NULL */
    bool https;
    const char *prefix;        /* SALOG_PREFIX, "" when none */
    bool has_content_length;
    size_t content_length;     /* declared length */
    const char *body;          /* body bytes (NULL when not read) */
    size_t body_len;           /* bytes actually read: less than content_length if the peer stopped */
    bool body_unreadable;      /* no memory to read it into */
} http_request;

typedef struct http_reply {
    int http_status;
    const char *content_type;  /* static string */
    char request_id[40];       /* for the x-request-id header, "" when none */
    char extra_headers[512];   /* "Name: value\r\n"…, may be empty */
    sbuf body;
    FILE *file;                /* owned: when set, its bytes (file_size of them) are the body */
    long long file_size;
} http_reply;

void http_reply_init(http_reply *r);
void http_reply_free(http_reply *r);

/* True when the media type (parameters ignored, case-insensitive) names
 * MessagePack: application/msgpack, application/x-msgpack,
 * application/vnd.msgpack. For Accept, any listed type counts. */
bool http_is_msgpack_type(const char *header);

/* Extracts the path of a REQUEST_URI (up to '?' or '#') and removes
 * `prefix` if it starts the path on a segment boundary. Writes into out
 * (size n); returns 0, or -1 when the path does not carry the prefix or
 * does not fit. */
int http_route_path(const char *request_uri, const char *prefix, char *out, size_t n);

/* Absolute base URL of this service for links it hands out (API.md I.1):
 * scheme from HTTPS, host from HTTP_HOST (characters outside a host name
 * are refused: "localhost" is used instead), then the prefix. */
void http_base_url(const http_request *req, char *out, size_t n);

#endif
