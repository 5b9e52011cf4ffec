/* Validation of events against a config's AuditSchema (API.md II §3.1-3.3,
 * I.1, I.2): types (string, text, string-unindexed, integer, boolean,
 * datetime), sizes counted in code points, `required`, unknown fields, no
 * null and no float anywhere, and `save_malformed`:
 *   reject     -> errors (SALOG_E_VALIDATION), one item per problem, source
 *                 "<base>/<field>" (base is "/event" or "/events/3/event");
 *   all        -> accepted; *malformed gets [{"error","field","value"?}…]
 *                 for envelope.err (the event is stored as sent);
 *   unredacted -> as `all`, and the values of fields flagged `redact` are
 *                 dropped from the stored event (they are never kept
 *                 unredacted in a malformed event).
 * Null and float values are always rejected, whatever save_malformed says:
 * they have no canonical form (II §3.4). */
#ifndef SALOG_EVENT_SCHEMA_H
#define SALOG_EVENT_SCHEMA_H

#include "codec/error.h"
#include "codec/value.h"

/* `schema` is the config's AuditSchema object; `event` the request's event
 * value (any type: a non-object is InvalidObject at base). On SALOG_OK,
 * *stored_event is the event to store (a copy; caller frees) and
 * *malformed is NULL or a new array for envelope.err (caller frees). */
salog_status event_validate(const sv_value *schema, const sv_value *event, const char *base,
                            sv_value **stored_event, sv_value **malformed, salog_err *err);

/* Token field restrictions {field: [allowed strings]} (API.md I.2): every
 * restricted field must be present with an allowed value, else
 * SALOG_E_FORBIDDEN_FIELD code "ForbiddenFieldValue" at "<base>/<field>". */
salog_status event_check_restrictions(const sv_value *restrictions, const sv_value *event,
                                      const char *base, salog_err *err);

#endif
