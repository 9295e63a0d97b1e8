/*
 * The torture's output: the per-model table, the progress bar, the JSON
 * and the closing lines of a threaded run (see torture.h).
 */
#include "torture.h"

#include <inttypes.h>

static uint64_t percentile(uint64_t *v, size_t n, double q)
{
    if (!n)
        return 0;
    for (size_t i = 1; i < n; i++) /* insertion sort: a few thousand values at most per model */
        for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
            uint64_t tmp = v[j];
            v[j] = v[j - 1];
            v[j - 1] = tmp;
        }
    size_t k = (size_t)(q * (double)(n - 1) + 0.5);
    return v[k];
}

static void print_table(FILE *out)
{
    fprintf(out, "\n%-22s %6s %6s %6s %9s %9s %6s %6s %7s %5s %5s %5s %5s %6s %6s\n", "model", "trans", "rev", "force",
            "median_ms", "p99_ms", "stalls", "named", "hcalls", "I0", "I1", "I2", "I3", "poison", "counts");
    for (size_t i = 0; i < G.nstats; i++) {
        struct model_stats *m = &G.stats[i];
        fprintf(out, "%-22s %6" PRIu64 " %6" PRIu64 " %6" PRIu64 " %9.3f %9.3f %6" PRIu64 " %6" PRIu64 " %7" PRIu64
                     " %5" PRIu64 " %5" PRIu64 " %5" PRIu64 " %5" PRIu64 " %6" PRIu64 " %6" PRIu64 "\n",
                m->name, m->transitions, m->reversed, m->forced, percentile(m->lat, m->nlat, 0.5) / 1e6,
                percentile(m->lat, m->nlat, 0.99) / 1e6, m->stalls, m->expected_stalls, m->handler_calls, m->i0,
                m->i1, m->i2, m->i3, m->poison, m->counts);
    }
    for (size_t i = 0; i < G.nstats; i++)
        if (G.stats[i].model_reversed)
            fprintf(out, "%s: %" PRIu64 " of its reversals made by the model's own policy\n", G.stats[i].name,
                    G.stats[i].model_reversed);
}

/* A progress bar with an ETA on stderr (a terminal, unless --no-progress),
 * redrawn at most ten times a second. Wall-clock time (start from wall_ns),
 * also under --sim, whose now_ns() is virtual. */
void show_progress(double frac, uint64_t start, const char *what)
{
    static uint64_t last;
    uint64_t now = wall_ns();
    if (now - last < 100000000u && frac < 1)
        return;
    last = now;
    frac = frac > 1 ? 1 : frac;
    double eta = frac > 0 ? (double)(now - start) / 1e9 * (1 - frac) / frac : 0;
    fprintf(stderr, "\r\033[K[%-30.*s] %3.0f%% %s, ETA %.0f s", (int)(frac * 30), "##############################",
            frac * 100, what, eta);
}

/* Before a line on stdout, which may be the same terminal. */
void clear_progress(void) { fputs("\r\033[K", stderr); }

static void write_json(FILE *out, double elapsed)
{
    lp_transition_status_t st;
    lp_transition_status(&st);
    fprintf(out, "{\n  \"seed\": %" PRIu64 ", \"threads\": %u, \"duration_s\": %.1f, \"inject_bug\": %d,\n", G.seed,
            G.threads, elapsed, G.inject);
    fprintf(out, "  \"passed\": %" PRIu64 ", \"failed\": %" PRIu64 ", \"unexplained_hangs\": %" PRIu64
                 ", \"lost_records\": %" PRIu64 ",\n",
            G.passed, G.failed, G.unexplained, G.lost_records);
    fprintf(out, "  \"engine\": {\"exited_inside\": %" PRIu64 ", \"unbalanced_exits\": %" PRIu64
                 ", \"nudges_sent\": %" PRIu64 ", \"hold_attempts\": %" PRIu64 ", \"hold_timeouts\": %" PRIu64 "},\n",
            st.exited_inside, st.unbalanced_exits, st.nudges_sent, st.hold_attempts, st.hold_timeouts);
    fprintf(out, "  \"models\": [\n");
    for (size_t i = 0; i < G.nstats; i++) {
        struct model_stats *m = &G.stats[i];
        fprintf(out, "    {\"name\": \"%s\", \"model\": %u, \"transitions\": %" PRIu64 ", \"reversed\": %" PRIu64
                     ", \"forced\": %" PRIu64 ", \"median_ns\": %" PRIu64 ", \"p99_ns\": %" PRIu64
                     ", \"stalls\": %" PRIu64 ", \"named_stalls\": %" PRIu64 ", \"handler_calls\": %" PRIu64
                     ", \"violations\": {\"I0\": %" PRIu64
                     ", \"I1\": %" PRIu64 ", \"I2\": %" PRIu64 ", \"I3\": %" PRIu64 ", \"poison\": %" PRIu64
                     ", \"counts\": %" PRIu64 "}}%s\n",
                m->name, m->model, m->transitions, m->reversed, m->forced, percentile(m->lat, m->nlat, 0.5),
                percentile(m->lat, m->nlat, 0.99), m->stalls, m->expected_stalls, m->handler_calls, m->i0, m->i1,
                m->i2, m->i3, m->poison, m->counts, i + 1 < G.nstats ? "," : "");
    }
    fprintf(out, "  ]\n}\n");
    if (out != stdout)
        fclose(out);
}

/* The end of a threaded run: the table, the totals, the JSON, the tally.
 * Returns the process exit status. */
int print_summary(double elapsed)
{
    print_table(G.text);
    uint64_t v = 0;
    for (size_t i = 0; i < G.nstats; i++)
        v += G.stats[i].i0 + G.stats[i].i1 + G.stats[i].i2 + G.stats[i].i3 + G.stats[i].poison + G.stats[i].counts;
    lp_transition_status_t st;
    lp_transition_status(&st);
    fprintf(G.text, "\nviolations: %" PRIu64 ", unexplained hangs: %" PRIu64 ", records lost to full rings: %" PRIu64
           ", threads that exited inside a kernel section: %" PRIu64 ", nudges: %" PRIu64 "\n",
           v, G.unexplained, G.lost_records, st.exited_inside, st.nudges_sent);
    fprintf(G.text, "seed %" PRIu64 " (--seed %" PRIu64 " repeats this run's choices)\n", G.seed, G.seed);
    if (G.json_out)
        write_json(G.json_out, elapsed);
    fprintf(G.text, "%" PRIu64 " passed, %" PRIu64 " failed\n", G.passed, G.failed);
    return G.failed || v || G.unexplained ? 1 : 0;
}
