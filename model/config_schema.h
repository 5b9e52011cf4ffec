/* Validation of config objects (API.md II §6.1, §6.2, I.6, I.7a): every
 * field's type, size and enum, durations, field ids, duplicate ids, unknown
 * properties, and the rule that a schema's fields cannot change after
 * creation except description / required / ui_default_visible (and order).
 * Each problem becomes an error item with the precise JSON pointer of the
 * request member at fault (e.g. "/schema/fields/2/id"). All problems found
 * are reported (up to SALOG_ERR_MAX_ITEMS), not just the first.
 *
 * The normalized result is a new object (caller-owned) with defaults filled
 * in (hot_storage "14d", query_result_retention "2d",
 * cold_query_result_retention "2d", vault_sign false, schema.save_malformed
 * "reject", ...) and without id/created_at/updated_at. */
#ifndef SALOG_CONFIG_SCHEMA_H
#define SALOG_CONFIG_SCHEMA_H

#include "codec/error.h"
#include "codec/value.h"

/* Body of /v1beta/config/create (`config_id` tolerated and ignored; `id`
 * forbidden). */
salog_status config_validate_create(const sv_value *req, sv_value **out, salog_err *err);

/* Body of /v1beta/config/update against the stored config: id, name,
 * updated_at, version required; every changeable field replaced by the
 * request's values (absent optional fields fall back to defaults); a
 * forwarding secret absent from the request keeps the stored one. *out
 * carries id and created_at of `stored`. */
salog_status config_validate_update(const sv_value *stored, const sv_value *req, sv_value **out,
                                    salog_err *err);

/* Validates a partition_overrides object {partition value: {warm_storage,
 * cold_storage}} at JSON pointer `base` ("/overrides"). */
salog_status config_validate_partition_overrides(const sv_value *overrides, const char *base,
                                                 salog_err *err);

/* The standard schema (II §3.1) as an AuditSchema object, caller-owned. */
sv_value *config_standard_schema(void);

/* A new config object named `name` with the standard schema and defaults
 * (for `salog init`). */
sv_value *config_default(const char *name);

/* Appends RFC 6901 escaping of `token` ("~"->"~0", "/"->"~1") to the
 * pointer `base` into out (size n). */
void json_pointer_join(char *out, size_t n, const char *base, const char *token);

#endif
