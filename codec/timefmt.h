/* Time formats: RFC 3339 with exactly six fraction digits and Z for every
 * time salog writes; lenient RFC 3339 (0-9 fraction digits, any zone) and
 * the relative durations of API.md II §5.2 for what clients send.
 * Times are int64 microseconds since the Unix epoch (UTC). */
#ifndef SALOG_TIMEFMT_H
#define SALOG_TIMEFMT_H

#include <stdbool.h>
#include <stdint.h>

#define TIME_RFC3339_LEN 27 /* "YYYY-MM-DDTHH:MM:SS.ffffffZ" */

int64_t time_now_us(void);
/* out must hold TIME_RFC3339_LEN + 1 bytes. */
void time_format_us(int64_t us, char out[TIME_RFC3339_LEN + 1]);
/* Absolute time: YYYY-M-DTH:M:S(.f{1,9})?(Z|[+-]HH(:?MM)?)? (no zone = UTC).
 * 0 on success, -1 if malformed or out of range. */
int time_parse_rfc3339(const char *s, int64_t *out_us);
/* Duration per II §5.2 ("7d", "1day", "120min", "2months", "0d").
 * Months are 30 days, years 365 days. 0 / -1. */
int duration_parse(const char *s, int64_t *out_us);
/* Either form: absolute, or now minus a duration (for start/end). */
int time_parse_datetime_rel(const char *s, int64_t now_us, int64_t *out_us);

#endif
