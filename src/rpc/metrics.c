/*
 * metrics.c — a small Prometheus metrics registry: counters, gauges and
 * histograms with fixed buckets, rendered in the text exposition format
 * 0.0.4 (# HELP, # TYPE, samples; histograms as cumulative _bucket{le=...},
 * _sum and _count).
 *
 * Invariants: metrics render in registration order (a linked list, never a
 * hash table), floats in their shortest round-trip decimal form, so that
 * the same history renders the same bytes. One mutex guards the registry:
 * updates come from the node's threads, rendering from the RPC server's.
 */
#include "internal.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum jk_metric_type {
    JK_METRIC_COUNTER,
    JK_METRIC_GAUGE,
    JK_METRIC_HISTOGRAM,
} jk_metric_type;

struct jk_rpc_metric {
    jk_rpc_metrics *reg;
    jk_rpc_metric *next;            /* registration order */
    jk_metric_type type;
    char *name, *help;
    uint64_t count;                 /* counter value; histogram observations */
    double value;                   /* gauge value; histogram sum */
    size_t bound_count;
    double bounds[JK_RPC_MAX_BUCKETS];
    uint64_t buckets[JK_RPC_MAX_BUCKETS];   /* per bucket (not cumulative) */
};

struct jk_rpc_metrics {
    pthread_mutex_t lock;
    jk_rpc_metric *first, *last;
};

jk_err jk_rpc_metrics_new(jk_rpc_metrics **out)
{
    jk_rpc_metrics *m = calloc(1, sizeof *m);
    if (!m)
        return JK_ERR_NOMEM;
    if (pthread_mutex_init(&m->lock, NULL) != 0) {
        free(m);
        return JK_ERR_NOMEM;
    }
    *out = m;
    return JK_OK;
}

void jk_rpc_metrics_free(jk_rpc_metrics *m)
{
    if (!m)
        return;
    for (jk_rpc_metric *x = m->first, *next; x; x = next) {
        next = x->next;
        free(x->name);
        free(x->help);
        free(x);
    }
    pthread_mutex_destroy(&m->lock);
    free(m);
}

static bool jk_metric_name_ok(const char *name)
{
    if (!name || !name[0])
        return false;
    for (size_t i = 0; name[i]; i++) {
        char c = name[i];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
        if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
            return false;
    }
    return true;
}

static jk_err jk_metric_register(jk_rpc_metrics *m, jk_metric_type type, const char *name, const char *help,
                                 const double *bounds, size_t bound_count, jk_rpc_metric **out)
{
    if (!jk_metric_name_ok(name) || (help && strchr(help, '\n')))
        return JK_ERR_INVALID_ARG;
    if (type == JK_METRIC_HISTOGRAM) {
        if (bound_count == 0 || bound_count > JK_RPC_MAX_BUCKETS)
            return JK_ERR_INVALID_ARG;
        for (size_t i = 0; i < bound_count; i++)
            if (!isfinite(bounds[i]) || (i && !(bounds[i] > bounds[i - 1])))
                return JK_ERR_INVALID_ARG;
    }
    jk_rpc_metric *x = calloc(1, sizeof *x);
    if (!x)
        return JK_ERR_NOMEM;
    x->name = strdup(name);
    x->help = strdup(help ? help : "");
    if (!x->name || !x->help) {
        free(x->name);
        free(x->help);
        free(x);
        return JK_ERR_NOMEM;
    }
    x->reg = m;
    x->type = type;
    x->bound_count = bound_count;
    if (bound_count)
        memcpy(x->bounds, bounds, bound_count * sizeof *bounds);
    pthread_mutex_lock(&m->lock);
    for (jk_rpc_metric *y = m->first; y; y = y->next) {
        if (!strcmp(y->name, name)) {
            pthread_mutex_unlock(&m->lock);
            free(x->name);
            free(x->help);
            free(x);
            return JK_ERR_INVALID_ARG;
        }
    }
    if (m->last)
        m->last->next = x;
    else
        m->first = x;
    m->last = x;
    pthread_mutex_unlock(&m->lock);
    *out = x;
    return JK_OK;
}

jk_err jk_rpc_metrics_counter(jk_rpc_metrics *m, const char *name, const char *help, jk_rpc_metric **out)
{
    return jk_metric_register(m, JK_METRIC_COUNTER, name, help, NULL, 0, out);
}

jk_err jk_rpc_metrics_gauge(jk_rpc_metrics *m, const char *name, const char *help, jk_rpc_metric **out)
{
    return jk_metric_register(m, JK_METRIC_GAUGE, name, help, NULL, 0, out);
}

jk_err jk_rpc_metrics_histogram(jk_rpc_metrics *m, const char *name, const char *help, const double *bounds,
                                size_t bound_count, jk_rpc_metric **out)
{
    return jk_metric_register(m, JK_METRIC_HISTOGRAM, name, help, bounds, bound_count, out);
}

void jk_rpc_metric_add(jk_rpc_metric *c, uint64_t n)
{
    if (!c || c->type != JK_METRIC_COUNTER)
        return;
    pthread_mutex_lock(&c->reg->lock);
    c->count += n;
    pthread_mutex_unlock(&c->reg->lock);
}

void jk_rpc_metric_set(jk_rpc_metric *g, double v)
{
    if (!g || g->type != JK_METRIC_GAUGE)
        return;
    pthread_mutex_lock(&g->reg->lock);
    g->value = v;
    pthread_mutex_unlock(&g->reg->lock);
}

void jk_rpc_metric_observe(jk_rpc_metric *h, double v)
{
    if (!h || h->type != JK_METRIC_HISTOGRAM)
        return;
    pthread_mutex_lock(&h->reg->lock);
    size_t i = 0;
    while (i < h->bound_count && !(v <= h->bounds[i]))   /* le: upper bounds are inclusive */
        i++;
    if (i < h->bound_count)
        h->buckets[i]++;
    h->count++;
    h->value += v;
    pthread_mutex_unlock(&h->reg->lock);
}

double jk_rpc_metric_value(jk_rpc_metric *x)
{
    if (!x)
        return 0;
    pthread_mutex_lock(&x->reg->lock);
    double v = x->type == JK_METRIC_GAUGE ? x->value : (double)x->count;
    pthread_mutex_unlock(&x->reg->lock);
    return v;
}

/* ---- rendering ---- */

typedef struct jk_text {
    char *buf;
    size_t len, cap;
    bool nomem;
} jk_text;

static void jk_text_add(jk_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void jk_text_add(jk_text *t, const char *fmt, ...)
{
    if (t->nomem)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->nomem = true;
            return;
        }
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = t->cap * 2 + (size_t)n + 1;
        char *grown = realloc(t->buf, cap);
        if (!grown) {
            t->nomem = true;
            return;
        }
        t->buf = grown;
        t->cap = cap;
    }
}

/* A float as Prometheus reads it: an integral value as an integer, any
 * other as the shortest %g form that reads back to the same double (so 0.1
 * is "0.1", not 0.10000000000000001); "+Inf", "-Inf", "NaN". */
static void jk_float_text(double v, char out[32])
{
    if (isnan(v)) {
        strcpy(out, "NaN");
        return;
    }
    if (isinf(v)) {
        strcpy(out, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    if (v == floor(v) && fabs(v) < 9007199254740992.0) {   /* integral: no exponent (40, not 4e+01) */
        snprintf(out, 32, "%.0f", v);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, 32, "%.*g", prec, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

/* HELP text escapes backslash and newline (format 0.0.4). */
static void jk_help_text(jk_text *t, const char *help)
{
    for (const char *p = help; *p; p++) {
        if (*p == '\\')
            jk_text_add(t, "\\\\");
        else
            jk_text_add(t, "%c", *p);
    }
}

static const char *const jk_metric_type_name[] = {"counter", "gauge", "histogram"};

jk_err jk_rpc_metrics_render(jk_rpc_metrics *m, char **out, size_t *out_len)
{
    jk_text t = {malloc(1024), 0, 1024, false};
    if (!t.buf)
        return JK_ERR_NOMEM;
    t.buf[0] = '\0';
    char num[32];
    pthread_mutex_lock(&m->lock);
    for (jk_rpc_metric *x = m->first; x; x = x->next) {
        if (x->help[0]) {
            jk_text_add(&t, "# HELP %s ", x->name);
            jk_help_text(&t, x->help);
            jk_text_add(&t, "\n");
        }
        jk_text_add(&t, "# TYPE %s %s\n", x->name, jk_metric_type_name[x->type]);
        switch (x->type) {
        case JK_METRIC_COUNTER:
            jk_text_add(&t, "%s %llu\n", x->name, (unsigned long long)x->count);
            break;
        case JK_METRIC_GAUGE:
            jk_float_text(x->value, num);
            jk_text_add(&t, "%s %s\n", x->name, num);
            break;
        case JK_METRIC_HISTOGRAM: {
            uint64_t cumulative = 0;
            for (size_t i = 0; i < x->bound_count; i++) {
                cumulative += x->buckets[i];
                jk_float_text(x->bounds[i], num);
                jk_text_add(&t, "%s_bucket{le=\"%s\"} %llu\n", x->name, num, (unsigned long long)cumulative);
            }
            jk_text_add(&t, "%s_bucket{le=\"+Inf\"} %llu\n", x->name, (unsigned long long)x->count);
            jk_float_text(x->value, num);
            jk_text_add(&t, "%s_sum %s\n%s_count %llu\n", x->name, num, x->name, (unsigned long long)x->count);
            break;
        }
        }
    }
    pthread_mutex_unlock(&m->lock);
    if (t.nomem) {
        free(t.buf);
        return JK_ERR_NOMEM;
    }
    *out = t.buf;
    *out_len = t.len;
    return JK_OK;
}

/* ---- the node's metrics ---- */

jk_err jk_rpc_node_metrics_register(jk_rpc_metrics *m, jk_rpc_node_metrics *out)
{
    /* Seconds: verify is per event (tens of microseconds), apply per block,
     * finality from submission to commit (seconds on a healthy network). */
    static const double rounds[] = {1, 2, 3, 4, 6, 8, 16};
    static const double verify[] = {0.00001, 0.00003, 0.0001, 0.0003, 0.001, 0.003, 0.01, 0.1};
    static const double apply[] = {0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1, 3};
    static const double finality[] = {0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30};
    jk_rpc_node_metrics n;
    jk_err err;
    memset(&n, 0, sizeof n);
    if ((err = jk_rpc_metrics_gauge(m, "jark_height", "Committed height", &n.height)) ||
        (err = jk_rpc_metrics_gauge(m, "jark_round", "Consensus round at the height being decided", &n.round)) ||
        (err = jk_rpc_metrics_histogram(m, "jark_rounds_per_height", "Rounds it took to commit each height", rounds,
                                        sizeof rounds / sizeof rounds[0], &n.rounds_per_height)) ||
        (err = jk_rpc_metrics_gauge(m, "jark_peers", "Connected peers", &n.peers)) ||
        (err = jk_rpc_metrics_gauge(m, "jark_pool_size", "Events waiting in the pool", &n.pool_size)) ||
        (err = jk_rpc_metrics_counter(m, "jark_events_admitted_total", "Events admitted by verify",
                                      &n.events_admitted)) ||
        (err = jk_rpc_metrics_counter(m, "jark_events_refused_total", "Events refused by verify or the pool",
                                      &n.events_refused)) ||
        (err = jk_rpc_metrics_histogram(m, "jark_verify_seconds", "Time to verify one event", verify,
                                        sizeof verify / sizeof verify[0], &n.verify_seconds)) ||
        (err = jk_rpc_metrics_histogram(m, "jark_apply_seconds", "Time to apply one block", apply,
                                        sizeof apply / sizeof apply[0], &n.apply_seconds)) ||
        (err = jk_rpc_metrics_histogram(m, "jark_finality_seconds", "Time from an event's submission to its commit",
                                        finality, sizeof finality / sizeof finality[0], &n.finality_seconds)) ||
        (err = jk_rpc_metrics_counter(m, "jark_ed25519_verifies_total",
                                      "Ed25519 signature verifications this process made (events, votes, blocks)",
                                      &n.ed25519_verifies)))
        return err;
    *out = n;
    return JK_OK;
}
