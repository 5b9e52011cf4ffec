#include "timefmt.h"

#include <string.h>
#include <time.h>

#define US_PER_SEC INT64_C(1000000)
#define SEC_PER_DAY INT64_C(86400)
#define US_PER_DAY (SEC_PER_DAY * US_PER_SEC)

int64_t time_now_us(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * US_PER_SEC + ts.tv_nsec / 1000;
}

static bool is_leap_year(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int64_t y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && is_leap_year(y))
        return 29;
    return days[m - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date. Years are counted
 * from March so that the leap day falls at the end of the counted year,
 * and grouped into 400-year eras of 146097 days. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    if (m <= 2)
        y -= 1;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t year_of_era = y - era * 400;                          /* 0..399 */
    int64_t month_from_march = (m + 9) % 12;                      /* Mar=0 .. Feb=11 */
    int64_t day_of_year = (153 * month_from_march + 2) / 5 + d - 1; /* 0..365 */
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    /* 719468 = days from 0000-03-01 to 1970-01-01. */
    return era * 146097 + day_of_era - 719468;
}

/* Inverse of days_from_civil. */
static void civil_from_days(int64_t days, int64_t *y, int *m, int *d)
{
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t day_of_era = days - era * 146097;                     /* 0..146096 */
    int64_t year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    int64_t mp = (5 * day_of_year + 2) / 153;                     /* Mar=0 */
    *d = (int)(day_of_year - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = year_of_era + era * 400 + (*m <= 2 ? 1 : 0);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

/* Writes v (0 <= v < 10^n) as exactly n decimal digits. */
static char *put_digits(char *p, int64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + n;
}

void time_format_us(int64_t us, char out[TIME_RFC3339_LEN + 1])
{
    /* Keep the output exactly TIME_RFC3339_LEN characters: clamp to the
     * four-digit years. */
    const int64_t min_us = days_from_civil(0, 1, 1) * US_PER_DAY;
    const int64_t max_us = (days_from_civil(9999, 12, 31) + 1) * US_PER_DAY - 1;
    if (us < min_us)
        us = min_us;
    if (us > max_us)
        us = max_us;

    int64_t days = floor_div(us, US_PER_DAY);
    int64_t rem = us - days * US_PER_DAY; /* 0 .. US_PER_DAY-1 */
    int64_t y;
    int m, d;
    civil_from_days(days, &y, &m, &d);
    int64_t secs = rem / US_PER_SEC;
    char *p = out;
    p = put_digits(p, y, 4);
    *p++ = '-';
    p = put_digits(p, m, 2);
    *p++ = '-';
    p = put_digits(p, d, 2);
    *p++ = 'T';
    p = put_digits(p, secs / 3600, 2);
    *p++ = ':';
    p = put_digits(p, secs / 60 % 60, 2);
    *p++ = ':';
    p = put_digits(p, secs % 60, 2);
    *p++ = '.';
    p = put_digits(p, rem % US_PER_SEC, 6);
    *p++ = 'Z';
    *p = '\0';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Reads min..max decimal digits at *p (greedy). */
static bool read_digits(const char **p, int min, int max, int *out)
{
    int n = 0, v = 0;
    const char *s = *p;
    while (n < max && is_digit(s[n])) {
        v = v * 10 + (s[n] - '0');
        n++;
    }
    if (n < min)
        return false;
    *p = s + n;
    *out = v;
    return true;
}

static int count_digits(const char *s)
{
    int n = 0;
    while (is_digit(s[n]))
        n++;
    return n;
}

/* Parses the zone suffix ("", Z, ±H, ±HH, ±HHMM, ±H:MM, ±HH:MM) into an
 * offset east of UTC in seconds. */
static int parse_zone(const char *p, int64_t *offset_sec)
{
    *offset_sec = 0;
    if (*p == '\0')
        return 0;
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
        return 0;
    if (*p != '+' && *p != '-')
        return -1;
    int sign = *p == '-' ? -1 : 1;
    p++;
    int hh = 0, mm = 0;
    int nd = count_digits(p);
    if (p[nd] == ':') {
        if (!read_digits(&p, 1, 2, &hh) || *p != ':')
            return -1;
        p++;
        if (count_digits(p) != 2 || !read_digits(&p, 2, 2, &mm))
            return -1;
    } else if (nd == 1 || nd == 2) {
        read_digits(&p, nd, nd, &hh);
    } else if (nd == 4) {
        read_digits(&p, 2, 2, &hh);
        read_digits(&p, 2, 2, &mm);
    } else {
        return -1;
    }
    if (*p != '\0' || hh > 23 || mm > 59)
        return -1;
    *offset_sec = sign * ((int64_t)hh * 3600 + mm * 60);
    return 0;
}

int time_parse_rfc3339(const char *s, int64_t *out_us)
{
    if (!s)
        return -1;
    const char *p = s;
    int year, mon, day, hh, mi, ss;
    if (count_digits(p) != 4 || !read_digits(&p, 4, 4, &year) || *p++ != '-')
        return -1;
    if (!read_digits(&p, 1, 2, &mon) || *p++ != '-')
        return -1;
    if (!read_digits(&p, 1, 2, &day) || (*p != 'T' && *p != 't'))
        return -1;
    p++;
    if (!read_digits(&p, 1, 2, &hh) || *p++ != ':')
        return -1;
    if (!read_digits(&p, 1, 2, &mi) || *p++ != ':')
        return -1;
    if (!read_digits(&p, 1, 2, &ss))
        return -1;
    int64_t frac_us = 0;
    if (*p == '.') {
        p++;
        int nd = count_digits(p);
        if (nd < 1 || nd > 9)
            return -1;
        /* Keep microseconds; finer digits are truncated. */
        int64_t scale = 100000;
        for (int i = 0; i < nd; i++) {
            if (i < 6) {
                frac_us += (p[i] - '0') * scale;
                scale /= 10;
            }
        }
        p += nd;
    }
    if (mon < 1 || mon > 12 || day < 1 || day > days_in_month(year, mon))
        return -1;
    if (hh > 23 || mi > 59 || ss > 59)
        return -1;
    int64_t offset_sec;
    if (parse_zone(p, &offset_sec) != 0)
        return -1;
    int64_t secs = days_from_civil(year, mon, day) * SEC_PER_DAY + (int64_t)hh * 3600 +
                   (int64_t)mi * 60 + ss - offset_sec;
    *out_us = secs * US_PER_SEC + frac_us;
    return 0;
}

struct duration_unit {
    const char *name;
    int64_t seconds;
};

static const struct duration_unit duration_units[] = {
    {"d", SEC_PER_DAY},        {"da", SEC_PER_DAY},         {"day", SEC_PER_DAY},
    {"days", SEC_PER_DAY},     {"h", 3600},                 {"hour", 3600},
    {"hr", 3600},              {"hrs", 3600},               {"hours", 3600},
    {"mi", 60},                {"min", 60},                 {"mins", 60},
    {"minute", 60},            {"minutes", 60},             {"mo", 30 * SEC_PER_DAY},
    {"mon", 30 * SEC_PER_DAY}, {"month", 30 * SEC_PER_DAY}, {"months", 30 * SEC_PER_DAY},
    {"s", 1},                  {"sec", 1},                  {"secs", 1},
    {"second", 1},             {"seconds", 1},              {"w", 7 * SEC_PER_DAY},
    {"week", 7 * SEC_PER_DAY}, {"weeks", 7 * SEC_PER_DAY},  {"y", 365 * SEC_PER_DAY},
    {"year", 365 * SEC_PER_DAY}, {"years", 365 * SEC_PER_DAY},
};

int duration_parse(const char *s, int64_t *out_us)
{
    if (!s || !is_digit(*s))
        return -1;
    int64_t n = 0;
    const char *p = s;
    while (is_digit(*p)) {
        int dgt = *p - '0';
        if (n > (INT64_MAX - dgt) / 10)
            return -1;
        n = n * 10 + dgt;
        p++;
    }
    for (size_t i = 0; i < sizeof duration_units / sizeof duration_units[0]; i++) {
        if (strcmp(p, duration_units[i].name) != 0)
            continue;
        int64_t unit_us = duration_units[i].seconds * US_PER_SEC;
        if (n > INT64_MAX / unit_us)
            return -1;
        *out_us = n * unit_us;
        return 0;
    }
    return -1;
}

int time_parse_datetime_rel(const char *s, int64_t now_us, int64_t *out_us)
{
    int64_t v;
    if (time_parse_rfc3339(s, &v) == 0) {
        *out_us = v;
        return 0;
    }
    if (duration_parse(s, &v) != 0)
        return -1;
    if (now_us < INT64_MIN + v)
        return -1;
    *out_us = now_us - v;
    return 0;
}
