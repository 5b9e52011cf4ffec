/* Unit tests for codec/timefmt.c: RFC 3339 formatting and lenient parsing,
 * durations (II §5.2), relative times. */
#include <criterion/criterion.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "codec/timefmt.h"

#define US INT64_C(1000000)
#define DAY (INT64_C(86400) * US)

/* Reference: libc timegm on a broken-down UTC time. */
static int64_t ref_us(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    return (int64_t)timegm(&tm) * US;
}

static int64_t parse_ok(const char *s)
{
    int64_t v = INT64_MIN;
    cr_assert_eq(time_parse_rfc3339(s, &v), 0, "expected '%s' to parse", s);
    return v;
}

static void parse_bad(const char *s)
{
    int64_t v = 42;
    cr_expect_eq(time_parse_rfc3339(s, &v), -1, "expected '%s' to be rejected", s);
    cr_expect_eq(v, 42, "rejected parse of '%s' must not write the output", s);
}

Test(timefmt, now_is_plausible)
{
    int64_t a = time_now_us();
    int64_t b = time_now_us();
    cr_expect_geq(a, ref_us(2020, 1, 1, 0, 0, 0));
    cr_expect_geq(b, a);
}

Test(timefmt, format_epoch_and_known_values)
{
    char buf[TIME_RFC3339_LEN + 1];
    time_format_us(0, buf);
    cr_expect_str_eq(buf, "1970-01-01T00:00:00.000000Z");
    cr_expect_eq(strlen(buf), TIME_RFC3339_LEN);
    time_format_us(ref_us(2025, 1, 2, 10, 0, 4), buf);
    cr_expect_str_eq(buf, "2025-01-02T10:00:04.000000Z");
    time_format_us(ref_us(2025, 1, 2, 10, 0, 3) + 123456, buf);
    cr_expect_str_eq(buf, "2025-01-02T10:00:03.123456Z");
    time_format_us(ref_us(2024, 2, 29, 23, 59, 59) + 999999, buf);
    cr_expect_str_eq(buf, "2024-02-29T23:59:59.999999Z");
    time_format_us(ref_us(2000, 12, 31, 0, 0, 0) + 1, buf);
    cr_expect_str_eq(buf, "2000-12-31T00:00:00.000001Z");
}

Test(timefmt, format_before_epoch)
{
    char buf[TIME_RFC3339_LEN + 1];
    time_format_us(-1, buf);
    cr_expect_str_eq(buf, "1969-12-31T23:59:59.999999Z");
    time_format_us(-DAY, buf);
    cr_expect_str_eq(buf, "1969-12-31T00:00:00.000000Z");
}

Test(timefmt, format_clamps_to_four_digit_years)
{
    char buf[TIME_RFC3339_LEN + 1];
    time_format_us(INT64_MAX, buf);
    cr_expect_str_eq(buf, "9999-12-31T23:59:59.999999Z");
    time_format_us(INT64_MIN, buf);
    cr_expect_str_eq(buf, "0000-01-01T00:00:00.000000Z");
}

Test(timefmt, format_matches_timegm_every_day_for_decades)
{
    /* Every day from 1970 to 2100 at a varying time of day. */
    char buf[TIME_RFC3339_LEN + 1], want[64];
    for (int64_t day = 0; day < 47482; day++) {
        int64_t us = day * DAY + (day * 7919 % 86400) * US + day % 1000000;
        time_t secs = (time_t)(us / US);
        struct tm tm;
        gmtime_r(&secs, &tm);
        snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(us % US));
        time_format_us(us, buf);
        cr_assert_str_eq(buf, want, "day %lld", (long long)day);
        cr_assert_eq(parse_ok(buf), us, "round trip of %s", buf);
    }
}

Test(timefmt, round_trip_many_values)
{
    char buf[TIME_RFC3339_LEN + 1];
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        /* 0 .. ~year 9000 */
        int64_t us = (int64_t)(x % (uint64_t)(ref_us(9000, 1, 1, 0, 0, 0)));
        time_format_us(us, buf);
        cr_assert_eq(parse_ok(buf), us, "round trip of %s", buf);
    }
}

Test(timefmt, parse_basic_and_lenient_digits)
{
    int64_t want = ref_us(2025, 1, 2, 10, 0, 4);
    cr_expect_eq(parse_ok("2025-01-02T10:00:04Z"), want);
    cr_expect_eq(parse_ok("2025-01-02T10:00:04"), want); /* no zone = UTC */
    cr_expect_eq(parse_ok("2025-1-2T10:0:4Z"), want);    /* 1-digit parts */
    cr_expect_eq(parse_ok("2025-01-02t10:00:04z"), want); /* lower case */
    cr_expect_eq(parse_ok("1970-01-01T00:00:00Z"), 0);
}

Test(timefmt, parse_fraction_digits)
{
    int64_t base = ref_us(2025, 1, 2, 10, 0, 3);
    cr_expect_eq(parse_ok("2025-01-02T10:00:03Z"), base);
    cr_expect_eq(parse_ok("2025-01-02T10:00:03.1Z"), base + 100000);
    cr_expect_eq(parse_ok("2025-01-02T10:00:03.123Z"), base + 123000);
    cr_expect_eq(parse_ok("2025-01-02T10:00:03.123456Z"), base + 123456);
    cr_expect_eq(parse_ok("2025-01-02T10:00:03.123456789Z"), base + 123456); /* ns truncated */
    cr_expect_eq(parse_ok("2025-01-02T10:00:03.000000001Z"), base);
    cr_expect_eq(parse_ok("2025-01-02T10:00:03.999999999Z"), base + 999999);
    parse_bad("2025-01-02T10:00:03.1234567890Z"); /* 10 digits */
    parse_bad("2025-01-02T10:00:03.Z");
    parse_bad("2025-01-02T10:00:03.");
}

Test(timefmt, parse_zones)
{
    int64_t want = ref_us(2025, 1, 2, 10, 0, 0);
    cr_expect_eq(parse_ok("2025-01-02T12:00:00+02:00"), want);
    cr_expect_eq(parse_ok("2025-01-02T12:00:00+0200"), want);
    cr_expect_eq(parse_ok("2025-01-02T12:00:00+02"), want);
    cr_expect_eq(parse_ok("2025-01-02T12:00:00+2"), want);
    cr_expect_eq(parse_ok("2025-01-02T12:00:00+2:00"), want);
    cr_expect_eq(parse_ok("2025-01-02T04:30:00-05:30"), want);
    cr_expect_eq(parse_ok("2025-01-02T04:30:00-0530"), want);
    cr_expect_eq(parse_ok("2025-01-02T10:00:00+00:00"), want);
    cr_expect_eq(parse_ok("2025-01-02T10:00:00-00:00"), want);
    /* Zone crossing a day and a year boundary. */
    cr_expect_eq(parse_ok("2025-01-01T01:00:00.5+03:00"), ref_us(2024, 12, 31, 22, 0, 0) + 500000);
    cr_expect_eq(parse_ok("2024-12-31T23:00:00-02:00"), ref_us(2025, 1, 1, 1, 0, 0));
    parse_bad("2025-01-02T12:00:00+24:00");
    parse_bad("2025-01-02T12:00:00+02:60");
    parse_bad("2025-01-02T12:00:00+023");
    parse_bad("2025-01-02T12:00:00+02:0");
    parse_bad("2025-01-02T12:00:00+02:");
    parse_bad("2025-01-02T12:00:00+");
    parse_bad("2025-01-02T12:00:00ZZ");
    parse_bad("2025-01-02T12:00:00Z+01:00");
    parse_bad("2025-01-02T12:00:00 Z");
    parse_bad("2025-01-02T12:00:00UTC");
}

Test(timefmt, parse_leap_years)
{
    cr_expect_eq(parse_ok("2024-02-29T00:00:00Z"), ref_us(2024, 2, 29, 0, 0, 0));
    cr_expect_eq(parse_ok("2000-02-29T00:00:00Z"), ref_us(2000, 2, 29, 0, 0, 0));
    cr_expect_eq(parse_ok("2400-02-29T00:00:00Z"), ref_us(2400, 2, 29, 0, 0, 0));
    parse_bad("2023-02-29T00:00:00Z");
    parse_bad("1900-02-29T00:00:00Z");
    parse_bad("2100-02-29T00:00:00Z");
    parse_bad("2024-02-30T00:00:00Z");
    cr_expect_eq(parse_ok("2024-03-01T00:00:00Z") - parse_ok("2024-02-28T00:00:00Z"), 2 * DAY);
    cr_expect_eq(parse_ok("2023-03-01T00:00:00Z") - parse_ok("2023-02-28T00:00:00Z"), DAY);
}

Test(timefmt, parse_range_checks)
{
    static const char *const bad[] = {
        "2025-00-10T00:00:00Z", "2025-13-10T00:00:00Z", "2025-01-00T00:00:00Z", "2025-01-32T00:00:00Z",
        "2025-04-31T00:00:00Z", "2025-06-31T00:00:00Z", "2025-09-31T00:00:00Z", "2025-11-31T00:00:00Z",
        "2025-01-01T24:00:00Z", "2025-01-01T23:60:00Z", "2025-01-01T23:59:60Z", "2025-01-01T23:59:99Z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        parse_bad(bad[i]);
    cr_expect_eq(parse_ok("2025-12-31T23:59:59Z"), ref_us(2025, 12, 31, 23, 59, 59));
    cr_expect_eq(parse_ok("2025-04-30T00:00:00Z"), ref_us(2025, 4, 30, 0, 0, 0));
}

Test(timefmt, parse_malformed)
{
    static const char *const bad[] = {
        "", "2025", "2025-01-02", "2025-01-02T", "2025-01-02T10:00", "2025-01-02 10:00:00Z",
        "25-01-02T10:00:00Z", "02025-01-02T10:00:00Z", "2025-001-02T10:00:00Z", "2025-01-002T10:00:00Z",
        "2025-01-02T100:00:00Z", "2025-01-02T10:000:00Z", "2025-01-02T10:00:000Z", "2025/01/02T10:00:00Z",
        "2025-01-02T10:00:00Zjunk", " 2025-01-02T10:00:00Z", "2025-01-02T10:00:00Z ", "2025-01-02T10:00:00,5Z",
        "x2025-01-02T10:00:00Z", "2025-01-02T10:00:0xZ", "-2025-01-02T10:00:00Z", "7d",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        parse_bad(bad[i]);
    int64_t v;
    cr_expect_eq(time_parse_rfc3339(NULL, &v), -1);
}

static int64_t dur_ok(const char *s)
{
    int64_t v = -1;
    cr_assert_eq(duration_parse(s, &v), 0, "expected duration '%s' to parse", s);
    return v;
}

Test(timefmt, duration_every_unit_spelling)
{
    static const struct { const char *unit; int64_t us; } units[] = {
        {"d", DAY}, {"da", DAY}, {"day", DAY}, {"days", DAY},
        {"h", 3600 * US}, {"hour", 3600 * US}, {"hr", 3600 * US}, {"hrs", 3600 * US}, {"hours", 3600 * US},
        {"mi", 60 * US}, {"min", 60 * US}, {"mins", 60 * US}, {"minute", 60 * US}, {"minutes", 60 * US},
        {"mo", 30 * DAY}, {"mon", 30 * DAY}, {"month", 30 * DAY}, {"months", 30 * DAY},
        {"s", US}, {"sec", US}, {"secs", US}, {"second", US}, {"seconds", US},
        {"w", 7 * DAY}, {"week", 7 * DAY}, {"weeks", 7 * DAY},
        {"y", 365 * DAY}, {"year", 365 * DAY}, {"years", 365 * DAY},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        char buf[32];
        snprintf(buf, sizeof buf, "1%s", units[i].unit);
        cr_expect_eq(dur_ok(buf), units[i].us, "%s", buf);
        snprintf(buf, sizeof buf, "7%s", units[i].unit);
        cr_expect_eq(dur_ok(buf), 7 * units[i].us, "%s", buf);
        snprintf(buf, sizeof buf, "0%s", units[i].unit);
        cr_expect_eq(dur_ok(buf), 0, "%s", buf);
        snprintf(buf, sizeof buf, "%s", units[i].unit); /* no number */
        int64_t v;
        cr_expect_eq(duration_parse(buf, &v), -1, "%s", buf);
    }
}

Test(timefmt, duration_examples)
{
    cr_expect_eq(dur_ok("7d"), 7 * DAY);
    cr_expect_eq(dur_ok("1day"), DAY);
    cr_expect_eq(dur_ok("120min"), 2 * 3600 * US);
    cr_expect_eq(dur_ok("2months"), 60 * DAY);
    cr_expect_eq(dur_ok("0d"), 0);
    cr_expect_eq(dur_ok("14d"), 14 * DAY);
    cr_expect_eq(dur_ok("007d"), 7 * DAY);
    cr_expect_eq(dur_ok("10years"), 3650 * DAY);
}

Test(timefmt, duration_malformed_and_overflow)
{
    static const char *const bad[] = {
        "", "d", "7", "-1d", "+1d", "1.5d", " 7d", "7d ", "7 d", "7D", "7Days", "7dd", "7ms", "7m",
        "7yr", "7wk", "1d2h", "7min s", "P7D", "99999999999999999999d", "106751992d", "9223372036854775808s",
        "9223372036854775807s", "18446744073709551617d",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t v = 42;
        cr_expect_eq(duration_parse(bad[i], &v), -1, "expected duration '%s' to be rejected", bad[i]);
        cr_expect_eq(v, 42);
    }
    int64_t v;
    cr_expect_eq(duration_parse(NULL, &v), -1);
    /* The largest whole number of days that fits. */
    cr_expect_eq(dur_ok("106751991d"), 106751991 * DAY);
    cr_expect_eq(dur_ok("9223372036854s"), INT64_C(9223372036854) * US);
}

Test(timefmt, datetime_rel)
{
    int64_t now = ref_us(2025, 1, 10, 12, 0, 0) + 777;
    int64_t v;
    cr_expect_eq(time_parse_datetime_rel("7d", now, &v), 0);
    cr_expect_eq(v, now - 7 * DAY);
    cr_expect_eq(time_parse_datetime_rel("0d", now, &v), 0);
    cr_expect_eq(v, now);
    cr_expect_eq(time_parse_datetime_rel("120min", now, &v), 0);
    cr_expect_eq(v, now - 2 * 3600 * US);
    cr_expect_eq(time_parse_datetime_rel("2025-01-02T10:00:00Z", now, &v), 0);
    cr_expect_eq(v, ref_us(2025, 1, 2, 10, 0, 0));
    cr_expect_eq(time_parse_datetime_rel("2025-01-02T10:00:00.123+01:00", now, &v), 0);
    cr_expect_eq(v, ref_us(2025, 1, 2, 9, 0, 0) + 123000);
    v = 42;
    cr_expect_eq(time_parse_datetime_rel("yesterday", now, &v), -1);
    cr_expect_eq(time_parse_datetime_rel("", now, &v), -1);
    cr_expect_eq(time_parse_datetime_rel("7x", now, &v), -1);
    cr_expect_eq(v, 42);
    /* now - duration below INT64_MIN */
    cr_expect_eq(time_parse_datetime_rel("106751991d", INT64_MIN + 5, &v), -1);
}
