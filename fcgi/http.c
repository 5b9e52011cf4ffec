#include "fcgi/http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void http_reply_init(http_reply *r)
{
    memset(r, 0, sizeof *r);
    r->http_status = 500;
    r->content_type = "application/json";
}

void http_reply_free(http_reply *r)
{
    sbuf_free(&r->body);
    if (r->file)
        fclose(r->file);
    r->file = NULL;
}

static bool media_is_msgpack(const char *p, size_t n)
{
    static const char *const names[] = {"application/msgpack", "application/x-msgpack", "application/vnd.msgpack"};
    while (n && (*p == ' ' || *p == '\t')) {
        p++;
        n--;
    }
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i]) == n && strncasecmp(p, names[i], n) == 0)
            return true;
    return false;
}

bool http_is_msgpack_type(const char *header)
{
    if (!header)
        return false;
    /* A list of media ranges separated by ','; each may carry ";params". */
    const char *p = header;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *semi = memchr(p, ';', len);
        size_t type_len = semi ? (size_t)(semi - p) : len;
        if (media_is_msgpack(p, type_len))
            return true;
        if (!end)
            break;
        p = end + 1;
    }
    return false;
}

int http_route_path(const char *request_uri, const char *prefix, char *out, size_t n)
{
    if (!request_uri || n == 0)
        return -1;
    size_t len = strcspn(request_uri, "?#");
    const char *path = request_uri;
    size_t plen = prefix ? strlen(prefix) : 0;
    while (plen && prefix[plen - 1] == '/')
        plen--;
    if (plen) {
        if (len < plen || strncmp(path, prefix, plen) != 0)
            return -1;
        if (len > plen && path[plen] != '/')
            return -1;
        path += plen;
        len -= plen;
    }
    if (len == 0) {
        path = "/";
        len = 1;
    }
    if (len + 1 > n)
        return -1;
    memcpy(out, path, len);
    out[len] = '\0';
    return 0;
}

static bool host_is_plain(const char *h)
{
    if (!h || !*h || strlen(h) > 255)
        return false;
    for (const char *p = h; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                  c == '-' || c == ':' || c == '[' || c == ']' || c == '_';
        if (!ok)
            return false;
    }
    return true;
}

void http_base_url(const http_request *req, char *out, size_t n)
{
    const char *host = host_is_plain(req->host) ? req->host : "localhost";
    const char *prefix = req->prefix ? req->prefix : "";
    size_t plen = strlen(prefix);
    while (plen && prefix[plen - 1] == '/')
        plen--;
    snprintf(out, n, "%s://%s%.*s", req->https ? "https" : "http", host, (int)plen, prefix);
}
