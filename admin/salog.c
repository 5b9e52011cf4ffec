/* bin/salog: the admin command (API.md I.8). Every subcommand takes
 * --data DIR (default $SALOG_DATA, else ./var), prints what it did, exits 0
 * on success and 1 with a one-line reason on failure. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <grp.h>
#include <openssl/crypto.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec/codec.h"
#include "codec/timefmt.h"
#include "model/auditlog.h"
#include "model/config_schema.h"
#include "model/configs.h"
#include "model/search_index.h"
#include "model/server_key.h"
#include "model/tokens.h"

static int fail(const char *fmt, const char *arg)
{
    fprintf(stderr, "salog: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    return 1;
}

static int fail_err(const char *what, const salog_err *err)
{
    fprintf(stderr, "salog: %s: %s\n", what, err->count ? err->items[0].detail : salog_status_summary(err->status));
    return 1;
}

/* Running as root, become the data directory's owner before touching the
 * environment, so that no file is left that the workers cannot open (I.9). */
static int become_owner(const char *data_dir)
{
    struct stat sb;
    if (geteuid() != 0 || stat(data_dir, &sb) != 0 || sb.st_uid == 0)
        return 0;
    struct passwd *pw = getpwuid(sb.st_uid);
    gid_t gid = pw ? pw->pw_gid : sb.st_gid;
    if ((pw && initgroups(pw->pw_name, gid) != 0) || setgid(gid) != 0 || setuid(sb.st_uid) != 0)
        return fail("cannot switch to the owner of %s", data_dir);
    return 0;
}

static int open_store(const char *data_dir, bool create, store **s)
{
    salog_err err;
    salog_err_init(&err);
    if (!create && !store_is_initialised(data_dir))
        return fail("%s is not initialised: run 'salog init' first", data_dir);
    if (store_open(s, data_dir, create, &err) != SALOG_OK)
        return fail_err("cannot open the data directory", &err);
    return 0;
}

static int cmd_init(const char *data_dir)
{
    salog_err err;
    salog_err_init(&err);
    store *s = NULL;
    sv_value *config = NULL, *stored = NULL;
    token_info info = {0};
    char secret[TOKEN_SECRET_LEN + 1] = "";
    int rc = 1;

    if (store_is_initialised(data_dir))
        return fail("%s is already initialised; nothing was changed", data_dir);
    if (mkdir(data_dir, 0770) != 0 && errno != EEXIST)
        return fail("cannot create the data directory %s", data_dir);
    if (become_owner(data_dir) != 0)
        return 1;
    if (open_store(data_dir, true, &s) != 0)
        return 1;
    if (server_key_create(data_dir, &err) != SALOG_OK) {
        fail_err("server key", &err);
        goto out;
    }
    printf("created the server's Ed25519 key in %s/server_key.pem\n", data_dir);
    config = config_default("default");
    if (!config || configs_create(s, config, &stored, &err) != SALOG_OK) {
        fail_err("default config", &err);
        goto out;
    }
    printf("created config default: %s\n", sv_object_get_str(stored, "id"));
    token_spec spec = {.name = "admin", .scopes = TOKEN_SCOPE_LOG | TOKEN_SCOPE_SEARCH | TOKEN_SCOPE_ADMIN};
    if (tokens_create(s, &spec, secret, &info, &err) != SALOG_OK) {
        fail_err("admin token", &err);
        goto out;
    }
    if (store_mark_initialised(s, &err) != SALOG_OK) {
        fail_err("marking the data directory initialised", &err);
        goto out;
    }
    printf("initialised %s\n", data_dir);
    printf("admin token id: %s (scopes log,search,admin; shown once, keep it safe):\n", info.id);
    printf("%s\n", secret);
    rc = 0;
out:
    OPENSSL_cleanse(secret, sizeof secret);
    token_info_clear(&info);
    sv_free(config);
    sv_free(stored);
    store_close(s);
    return rc;
}

static unsigned parse_scopes(const char *list)
{
    unsigned scopes = 0;
    char *copy = strdup(list), *save = NULL;
    if (!copy)
        return 0;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (strcmp(t, "log") == 0)
            scopes |= TOKEN_SCOPE_LOG;
        else if (strcmp(t, "search") == 0)
            scopes |= TOKEN_SCOPE_SEARCH;
        else if (strcmp(t, "admin") == 0)
            scopes |= TOKEN_SCOPE_ADMIN;
        else {
            scopes = 0;
            break;
        }
    }
    free(copy);
    return scopes;
}

/* --restrict FIELD=V1,V2 → restrictions[FIELD] = ["V1","V2"]. */
static int add_restriction(sv_value *restrictions, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1])
        return -1;
    sv_value *values = sv_array();
    char *copy = strdup(eq + 1), *save = NULL;
    if (!values || !copy)
        goto fail;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
        if (sv_array_push(values, sv_string(t)) != 0) {
            values = NULL;
            goto fail;
        }
    free(copy);
    return sv_object_set_len(restrictions, arg, (size_t)(eq - arg), values);
fail:
    free(copy);
    sv_free(values);
    return -1;
}

static int cmd_token_create(const char *data_dir, int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"scope", required_argument, NULL, 's'},
        {"restrict", required_argument, NULL, 'r'}, {"expires", required_argument, NULL, 'e'},
        {"name", required_argument, NULL, 'n'}, {NULL, 0, NULL, 0}};
    const char *configs[64];
    size_t config_count = 0;
    token_spec spec = {0};
    sv_value *restrictions = sv_object();
    store *s = NULL;
    token_info info = {0};
    char secret[TOKEN_SECRET_LEN + 1] = "";
    salog_err err;
    salog_err_init(&err);
    int rc = 1, c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            if (config_count == 64 || !id_is_valid("pci_", optarg)) {
                fail("--config %s is not a config id (pci_…)", optarg);
                goto out;
            }
            configs[config_count++] = optarg;
            break;
        case 's':
            if (!(spec.scopes = parse_scopes(optarg))) {
                fail("--scope %s: use a comma list of log, search, admin", optarg);
                goto out;
            }
            break;
        case 'r':
            if (!restrictions || add_restriction(restrictions, optarg) != 0) {
                fail("--restrict %s: use FIELD=VALUE1,VALUE2", optarg);
                goto out;
            }
            break;
        case 'e': {
            int64_t d;
            if (duration_parse(optarg, &d) != 0 || d <= 0) {
                fail("--expires %s: use a duration such as 30d, 12h, 3s", optarg);
                goto out;
            }
            spec.expires_at_us = time_now_us() + d;
            break;
        }
        case 'n':
            spec.name = optarg;
            break;
        default:
            fail("%s", "usage: salog token create --scope log,search,admin [--config pci_…]… "
                       "[--restrict FIELD=V1,V2]… [--expires 30d] [--name TEXT]");
            goto out;
        }
    }
    if (optind < argc) {
        fail("unexpected argument %s", argv[optind]);
        goto out;
    }
    if (!spec.scopes) {
        fail("%s", "--scope is required (log, search, admin)");
        goto out;
    }
    if (open_store(data_dir, false, &s) != 0)
        goto out;
    for (size_t i = 0; i < config_count; i++) {
        bool exists = false;
        if (configs_exists(s, configs[i], &exists, &err) != SALOG_OK) {
            fail_err("reading the configs", &err);
            goto out;
        }
        if (!exists) {
            fail("--config %s: no such config", configs[i]);
            goto out;
        }
    }
    spec.config_ids = configs;
    spec.config_count = config_count;
    spec.restrictions = restrictions && restrictions->u.obj.count ? restrictions : NULL;
    if (tokens_create(s, &spec, secret, &info, &err) != SALOG_OK) {
        fail_err("token create", &err);
        goto out;
    }
    printf("id: %s\n%s\n", info.id, secret);
    rc = 0;
out:
    OPENSSL_cleanse(secret, sizeof secret);
    token_info_clear(&info);
    sv_free(restrictions);
    store_close(s);
    return rc;
}

static void print_field(const char *s)
{
    /* Tab-separated output: no tabs or newlines inside a field. */
    if (!s || !*s) {
        fputs("-", stdout);
        return;
    }
    for (const char *p = s; *p; p++)
        putchar(*p == '\t' || *p == '\n' || *p == '\r' ? ' ' : *p);
}

static int cmd_token_list(const char *data_dir)
{
    store *s = NULL;
    token_info *list = NULL;
    size_t count = 0;
    salog_err err;
    salog_err_init(&err);
    if (open_store(data_dir, false, &s) != 0)
        return 1;
    if (tokens_list(s, &list, &count, &err) != SALOG_OK) {
        store_close(s);
        return fail_err("token list", &err);
    }
    int64_t now = time_now_us();
    for (size_t i = 0; i < count; i++) {
        token_info *t = &list[i];
        sbuf b = {0};
        printf("%s\t", t->id);
        print_field(t->name);
        putchar('\t');
        sbuf_printf(&b, "%s%s%s", t->scopes & TOKEN_SCOPE_LOG ? "log," : "",
                    t->scopes & TOKEN_SCOPE_SEARCH ? "search," : "", t->scopes & TOKEN_SCOPE_ADMIN ? "admin," : "");
        if (b.len)
            b.data[--b.len] = '\0';
        print_field(b.len ? b.data : NULL);
        putchar('\t');
        b.len = 0;
        for (size_t j = 0; j < t->config_count; j++)
            sbuf_printf(&b, "%s%s", j ? "," : "", t->config_ids[j]);
        print_field(b.len ? sbuf_cstr(&b) : NULL);
        putchar('\t');
        b.len = 0;
        for (size_t j = 0; t->restrictions && j < t->restrictions->u.obj.count; j++) {
            const sv_member *m = &t->restrictions->u.obj.members[j];
            sbuf_printf(&b, "%s%s=", j ? ";" : "", m->key);
            for (size_t k = 0; m->value->type == SV_ARRAY && k < m->value->u.arr.count; k++) {
                const sv_value *v = m->value->u.arr.items[k];
                sbuf_printf(&b, "%s%s", k ? "," : "", v->type == SV_STRING ? v->u.s.ptr : "?");
            }
        }
        print_field(b.len ? sbuf_cstr(&b) : NULL);
        putchar('\t');
        char when[TIME_RFC3339_LEN + 1] = "";
        if (t->expires_at_us)
            time_format_us(t->expires_at_us, when);
        print_field(when);
        printf("\t%s\n", t->revoked ? "revoked" : t->expires_at_us && t->expires_at_us <= now ? "expired" : "active");
        sbuf_free(&b);
        token_info_clear(t);
    }
    free(list);
    store_close(s);
    return 0;
}

static int cmd_token_revoke(const char *data_dir, const char *id)
{
    store *s = NULL;
    salog_err err;
    salog_err_init(&err);
    if (open_store(data_dir, false, &s) != 0)
        return 1;
    salog_status st = tokens_revoke(s, id, &err);
    store_close(s);
    if (st != SALOG_OK)
        return fail_err("token revoke", &err);
    printf("revoked %s\n", id);
    return 0;
}

static int cmd_recover(const char *data_dir)
{
    store *s = NULL;
    /* Opening runs Berkeley DB recovery (DB_RECOVER) when a process died. */
    if (open_store(data_dir, false, &s) != 0)
        return 1;
    store_checkpoint(s);
    store_close(s);
    printf("recovered and checkpointed %s\n", data_dir);
    return 0;
}

/* The configs a publish/verify acts on: --config ID (repeatable) or all. */
static int pick_configs(store *s, int argc, char **argv, char ***ids, size_t *count)
{
    salog_err err;
    salog_err_init(&err);
    *ids = NULL;
    *count = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") != 0 || i + 1 >= argc)
            return fail("unexpected argument %s (use --config pci_…)", argv[i]);
        const char *id = argv[++i];
        bool exists = false;
        if (id_is_valid("pci_", id) && configs_exists(s, id, &exists, &err) != SALOG_OK)
            return fail_err("reading the configs", &err);
        if (!exists)
            return fail("--config %s: no such config", id);
        char **grown = realloc(*ids, (*count + 1) * sizeof *grown);
        if (!grown || !(grown[*count] = strdup(id))) {
            if (grown)
                *ids = grown;
            return fail("%s", "out of memory");
        }
        *ids = grown;
        (*count)++;
    }
    if (*count == 0 && configs_all_ids(s, ids, count, &err) != SALOG_OK)
        return fail_err("listing configs", &err);
    return 0;
}

static void free_ids(char **ids, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(ids[i]);
    free(ids);
}

/* Opens the store, picks the configs (--config … or all) and runs `action`
 * on each; exit status 1 when any action failed. */
static int for_each_config(const char *data_dir, int argc, char **argv, int (*action)(store *, const char *))
{
    store *s = NULL;
    char **ids = NULL;
    size_t count = 0;
    int rc = 1;
    if (open_store(data_dir, false, &s) != 0)
        return 1;
    if (pick_configs(s, argc, argv, &ids, &count) == 0) {
        rc = 0;
        for (size_t i = 0; i < count; i++)
            rc |= action(s, ids[i]);
    }
    free_ids(ids, count);
    store_close(s);
    return rc;
}

static int publish_one(store *s, const char *id)
{
    salog_err err;
    salog_err_init(&err);
    uint64_t size = 0;
    if (auditlog_publish(s, id, &size, &err) != SALOG_OK)
        return fail_err(id, &err);
    if (size)
        printf("%s: sealed checkpoint of size %" PRIu64 "\n", id, size);
    else
        printf("%s: nothing new to seal\n", id);
    return 0;
}

static int verify_one(store *s, const char *id)
{
    salog_err err;
    salog_err_init(&err);
    uint64_t problems = 0, size = 0;
    if (auditlog_verify(s, id, stdout, &problems, &err) != SALOG_OK)
        return fail_err(id, &err);
    auditlog_size(s, id, &size, &err);
    if (problems) {
        printf("%s: %" PRIu64 " problem(s) in %" PRIu64 " events\n", id, problems, size);
        return 1;
    }
    printf("%s: ok, %" PRIu64 " events, every leaf, root and checkpoint verified\n", id, size);
    return 0;
}

static int cmd_backup(const char *data_dir, const char *dest)
{
    store *s = NULL;
    salog_err err;
    salog_err_init(&err);
    if (open_store(data_dir, false, &s) != 0)
        return 1;
    salog_status st = store_backup(s, dest, &err);
    store_close(s);
    if (st != SALOG_OK)
        return fail_err("backup", &err);
    printf("backed up %s to %s (open it with salog --data %s verify)\n", data_dir, dest, dest);
    return 0;
}

/* One line per config: id, name, events, latest checkpoint size, events
 * the search index covers; then tokens. */
static int stats_one(store *s, const char *id)
{
    salog_err err;
    salog_err_init(&err);
    sv_value *config = NULL, *checkpoint = NULL;
    uint64_t size = 0;
    if (configs_get(s, id, &config, &err) != SALOG_OK || auditlog_size(s, id, &size, &err) != SALOG_OK) {
        sv_free(config);
        return fail_err(id, &err);
    }
    int64_t published = 0;
    if (auditlog_latest_checkpoint(s, id, &checkpoint, &err) == SALOG_OK) {
        sv_value *v = sv_object_get(checkpoint, "size");
        published = v && v->type == SV_INT ? v->u.i : 0;
    }
    uint64_t indexed = 0;
    if (search_index_head(s, id, &indexed) != 0)
        indexed = 0;
    const char *name = sv_object_get_str(config, "name");
    printf("config %s\t%s\tevents %" PRIu64 "\tpublished %lld\tindexed %" PRIu64 "\n", id, name ? name : "-", size,
           (long long)published, indexed);
    sv_free(config);
    sv_free(checkpoint);
    return 0;
}

static int cmd_stats(const char *data_dir)
{
    char *no_args[] = {"stats", NULL};
    int rc = for_each_config(data_dir, 1, no_args, stats_one);
    store *s = NULL;
    token_info *list = NULL;
    size_t count = 0, active = 0;
    salog_err err;
    salog_err_init(&err);
    if (open_store(data_dir, false, &s) != 0)
        return 1;
    if (tokens_list(s, &list, &count, &err) != SALOG_OK) {
        store_close(s);
        return fail_err("token list", &err);
    }
    int64_t now = time_now_us();
    for (size_t i = 0; i < count; i++) {
        active += !list[i].revoked && (!list[i].expires_at_us || list[i].expires_at_us > now);
        token_info_clear(&list[i]);
    }
    free(list);
    store_close(s);
    printf("tokens %zu (active %zu)\n", count, active);
    return rc;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: salog [--data DIR] COMMAND\n"
            "  init                                   create the data directory, key, default config, admin token\n"
            "  token create --scope log,search,admin [--config pci_…]… [--restrict F=V1,V2]… [--expires 30d] [--name T]\n"
            "  token list                             one tab-separated line per token\n"
            "  token revoke pti_…\n"
            "  publish [--config pci_…]…              seal a signed checkpoint now\n"
            "  verify [--config pci_…]…               recompute every leaf, root and checkpoint; exit 1 on tampering\n"
            "  recover                                run Berkeley DB recovery and checkpoint\n"
            "  backup DEST                            hot backup of the environment into DEST\n"
            "  stats                                  events and checkpoints per config, tokens\n"
            "DIR defaults to $SALOG_DATA, else ./var\n");
}

int main(int argc, char **argv)
{
    const char *data_dir = getenv("SALOG_DATA");
    if (!data_dir || !*data_dir)
        data_dir = "./var";
    umask(007);
    int i = 1;
    /* --data may come before or after the command word. */
    char *args[256];
    int n = 0;
    for (; i < argc && n < 255; i++) {
        if (strcmp(argv[i], "--data") == 0 && i + 1 < argc)
            data_dir = argv[++i];
        else if (strncmp(argv[i], "--data=", 7) == 0)
            data_dir = argv[i] + 7;
        else
            args[n++] = argv[i];
    }
    args[n] = NULL;
    if (n == 0) {
        usage();
        return 1;
    }
    const char *cmd = args[0];
    if (strcmp(cmd, "init") == 0 && n == 1)
        return cmd_init(data_dir);
    if (strcmp(cmd, "token") == 0 && n >= 2) {
        if (become_owner(data_dir) != 0)
            return 1;
        if (strcmp(args[1], "create") == 0)
            return cmd_token_create(data_dir, n - 1, args + 1);
        if (strcmp(args[1], "list") == 0 && n == 2)
            return cmd_token_list(data_dir);
        if (strcmp(args[1], "revoke") == 0 && n == 3)
            return cmd_token_revoke(data_dir, args[2]);
    }
    if (strcmp(cmd, "publish") == 0)
        return become_owner(data_dir) ? 1 : for_each_config(data_dir, n, args, publish_one);
    if (strcmp(cmd, "verify") == 0)
        return become_owner(data_dir) ? 1 : for_each_config(data_dir, n, args, verify_one);
    if (strcmp(cmd, "backup") == 0 && n == 2)
        return become_owner(data_dir) ? 1 : cmd_backup(data_dir, args[1]);
    if (strcmp(cmd, "stats") == 0 && n == 1)
        return become_owner(data_dir) ? 1 : cmd_stats(data_dir);
    if (strcmp(cmd, "recover") == 0 && n == 1)
        return become_owner(data_dir) ? 1 : cmd_recover(data_dir);
    usage();
    return 1;
}
