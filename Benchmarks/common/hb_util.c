/* hookbench: time, statistics (the spread of a ratio), the machine, output. */
#include "hb_driver.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- small utilities ------------------------------------------------------ */

uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * SEC + (uint64_t)ts.tv_nsec;
}

void sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / SEC), (long)(ns % SEC)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of the finite values; NAN when there are none. */
double median(const double *v, int n)
{
    double tmp[MAX_REPS * 2];
    int m = 0;
    for (int i = 0; i < n && m < (int)(sizeof tmp / sizeof tmp[0]); i++)
        if (isfinite(v[i])) tmp[m++] = v[i];
    if (m == 0) return NAN;
    qsort(tmp, (size_t)m, sizeof tmp[0], cmp_double);
    return m % 2 ? tmp[m / 2] : (tmp[m / 2 - 1] + tmp[m / 2]) / 2;
}

/* The per-round ratios a[r] / b[r] of one row: their median, the 95%
 * distribution-free confidence interval of that median (order statistics
 * k and n+1-k, k the largest with P(Binomial(n, 1/2) < k) <= 2.5%; min and
 * max when n is too small for one, under 6 rounds), and min and max. */
spread_t ratio_spread(const double *a, const double *b, int n)
{
    double r[MAX_REPS];
    int m = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(a[i]) && isfinite(b[i]) && b[i] > 0) r[m++] = a[i] / b[i];
    spread_t s = {NAN, NAN, NAN, NAN, NAN, m};
    if (m == 0) return s;
    qsort(r, (size_t)m, sizeof r[0], cmp_double);
    s.med = m % 2 ? r[m / 2] : (r[m / 2 - 1] + r[m / 2]) / 2;
    s.min = r[0], s.max = r[m - 1];
    double p = pow(0.5, m), cdf = 0; /* P(B = 0), then P(B < k) */
    int k = 0;
    for (int j = 0; j < m && cdf + p <= 0.025; j++) {
        cdf += p;
        k = j + 1;
        p = p * (m - j) / (j + 1);
    }
    s.lo = r[k > 0 ? k - 1 : 0], s.hi = r[k > 0 ? m - k : m - 1];
    return s;
}

/* Median over rounds of a[r] / b[r]: the ratio of two figures taken in the
 * same round, so that a slow round (frequency, a neighbour) cancels out. */
double ratio_median(const double *a, const double *b, int n) { return ratio_spread(a, b, n).med; }

/* MET when the whole interval is within the limit, MISSED when it is all
 * beyond, UNSURE when it straddles the limit. */
int verdict(spread_t s, double limit)
{
    if (!isfinite(s.med)) return V_MISSED;
    return s.hi <= limit ? V_MET : s.lo > limit ? V_MISSED : V_UNSURE;
}
/* Several conditions: the worst of their verdicts. */
int verdict_and(int a, int b)
{
    if (a == V_MISSED || b == V_MISSED) return V_MISSED;
    return a == V_UNSURE || b == V_UNSURE ? V_UNSURE : V_MET;
}

long rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, resident = 0;
    if (!f) return -1;
    if (fscanf(f, "%ld %ld", &size, &resident) != 2) resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

/* The machine a run was measured on: the CPU model and the 1-minute load
 * average when the run began (the report prints both beside its figures). */
char cpu_model[128] = "unknown";
double load_at_start = -1;

void read_machine(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) || !colon) continue;
        snprintf(cpu_model, sizeof cpu_model, "%s", colon + 2);
        cpu_model[strcspn(cpu_model, "\n\"\\")] = 0;
        break;
    }
    if (f) fclose(f);
    f = fopen("/proc/loadavg", "r");
    if (f && fscanf(f, "%lf", &load_at_start) != 1) load_at_start = -1;
    if (f) fclose(f);
}

void die(const char *what, int rc)
{
    fprintf(stderr, "hookbench: %s: %s (%d)\n", what, lp_strerror(rc), rc);
    exit(2);
}

void sb_printf(sbuf_t *s, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = s->cap - s->len;
        int n = vsnprintf(s->p ? s->p + s->len : NULL, s->p ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) return;
        if (s->p && (size_t)n < room) {
            s->len += (size_t)n;
            return;
        }
        s->cap = (s->cap + (size_t)n + 1) * 2;
        s->p = realloc(s->p, s->cap);
        if (!s->p) abort();
    }
}

/* A JSON number: null for NaN/inf. */
void sb_num(sbuf_t *s, double v)
{
    if (isfinite(v)) sb_printf(s, "%.6g", v);
    else sb_printf(s, "null");
}

void sb_array(sbuf_t *s, const double *v, int n)
{
    sb_printf(s, "[");
    for (int i = 0; i < n; i++) {
        if (i) sb_printf(s, ",");
        sb_num(s, v[i]);
    }
    sb_printf(s, "]");
}

/* ---- figures kept for the targets, the JSON and the TSV ---------------------- */

sbuf_t js_hooks, js_cyg, js_funcs, js_scaling, js_latency, js_memory, js_targets, tsv;
int n_targets, n_met, n_unsure;

/* met: a V_* verdict. */
void target(const char *id, int met, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    const char *status = met == V_MET ? "MET" : met == V_MISSED ? "MISSED" : met == V_UNSURE ? "UNSURE" : "N/A";
    printf("%-6s [%s] %s %s\n", status, opt.variant, id, text);
    if (js_targets.len) sb_printf(&js_targets, ",\n    ");
    sb_printf(&js_targets, "{\"id\": \"%s\", \"status\": \"%s\", \"text\": \"%s\"}", id, status, text);
    if (met != V_NA) {
        n_targets++;
        n_met += met == V_MET;
        n_unsure += met == V_UNSURE;
    }
}

/* "1.23x [1.10-1.40]": a median of per-round ratios and its 95% interval. */
const char *fmt_spread(char *buf, size_t size, spread_t s)
{
    snprintf(buf, size, "%.2fx [%.2f-%.2f]", s.med, s.lo, s.hi);
    return buf;
}

void sb_spread(sbuf_t *sb, const char *name, spread_t s)
{
    sb_printf(sb, ", \"%s\": ", name);
    sb_num(sb, s.med);
    sb_printf(sb, ", \"%s_ci95\": [", name);
    sb_num(sb, s.lo);
    sb_printf(sb, ",");
    sb_num(sb, s.hi);
    sb_printf(sb, "], \"%s_range\": [", name);
    sb_num(sb, s.min);
    sb_printf(sb, ",");
    sb_num(sb, s.max);
    sb_printf(sb, "]");
}
