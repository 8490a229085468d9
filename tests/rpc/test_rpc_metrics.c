/*
 * test_rpc_metrics.c — the metrics registry: the exposition text byte for
 * byte (format 0.0.4), registration refusals, determinism, the node's
 * standard metrics.
 */
#include "../test.h"

#include "jark/rpc.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>

static char *render(jk_rpc_metrics *m)
{
    char *text = NULL;
    size_t len;
    if (jk_rpc_metrics_render(m, &text, &len) != JK_OK)
        return NULL;
    if (strlen(text) != len) {
        free(text);
        return NULL;
    }
    return text;
}

JK_TEST(test_rpc_metrics_text)
{
    jk_rpc_metrics *m;
    JK_REQUIRE(jk_rpc_metrics_new(&m) == JK_OK);
    jk_rpc_metric *c, *g, *h;
    static const double bounds[] = {0.1, 0.5, 2};
    JK_REQUIRE(jk_rpc_metrics_counter(m, "t_total", "A counter \\ with a backslash", &c) == JK_OK);
    JK_REQUIRE(jk_rpc_metrics_gauge(m, "t_gauge", NULL, &g) == JK_OK);
    JK_REQUIRE(jk_rpc_metrics_histogram(m, "t_seconds", "Latency", bounds, 3, &h) == JK_OK);
    jk_rpc_metric_add(c, 3);
    jk_rpc_metric_add(c, 4);
    jk_rpc_metric_set(g, -2.5);
    jk_rpc_metric_observe(h, 0.1);    /* le is inclusive: in the 0.1 bucket */
    jk_rpc_metric_observe(h, 0.3);
    jk_rpc_metric_observe(h, 7);      /* only +Inf */
    /* wrong-type calls are ignored */
    jk_rpc_metric_set(c, 100);
    jk_rpc_metric_observe(g, 1);
    jk_rpc_metric_add(h, 1);
    char *text = render(m);
    JK_REQUIRE(text);
    static const char expect[] =
        "# HELP t_total A counter \\\\ with a backslash\n"
        "# TYPE t_total counter\n"
        "t_total 7\n"
        "# TYPE t_gauge gauge\n"
        "t_gauge -2.5\n"
        "# HELP t_seconds Latency\n"
        "# TYPE t_seconds histogram\n"
        "t_seconds_bucket{le=\"0.1\"} 1\n"
        "t_seconds_bucket{le=\"0.5\"} 2\n"
        "t_seconds_bucket{le=\"2\"} 2\n"
        "t_seconds_bucket{le=\"+Inf\"} 3\n"
        "t_seconds_sum 7.4\n"
        "t_seconds_count 3\n";
    if (strcmp(text, expect))
        jk_test_fail(__FILE__, __LINE__, "rendered:\n%s\nexpected:\n%s", text, expect);
    free(text);
    JK_CHECK(jk_rpc_metric_value(c) == 7);
    JK_CHECK(jk_rpc_metric_value(g) == -2.5);
    JK_CHECK(jk_rpc_metric_value(h) == 3);
    jk_rpc_metrics_free(m);
}

JK_TEST(test_rpc_metrics_refusals)
{
    jk_rpc_metrics *m;
    JK_REQUIRE(jk_rpc_metrics_new(&m) == JK_OK);
    jk_rpc_metric *x = NULL;
    JK_CHECK_EQ(jk_rpc_metrics_counter(m, "", NULL, &x), JK_ERR_INVALID_ARG);
    JK_CHECK_EQ(jk_rpc_metrics_counter(m, "9lives", NULL, &x), JK_ERR_INVALID_ARG);
    JK_CHECK_EQ(jk_rpc_metrics_counter(m, "a-b", NULL, &x), JK_ERR_INVALID_ARG);
    JK_CHECK_EQ(jk_rpc_metrics_counter(m, "ok", "two\nlines", &x), JK_ERR_INVALID_ARG);
    JK_CHECK_EQ(jk_rpc_metrics_counter(m, "ns:ok_1", NULL, &x), JK_OK);
    JK_CHECK_EQ(jk_rpc_metrics_gauge(m, "ns:ok_1", NULL, &x), JK_ERR_INVALID_ARG);   /* duplicate */
    static const double unsorted[] = {1, 1}, inf[] = {1, INFINITY};
    double many[JK_RPC_MAX_BUCKETS + 1];
    for (size_t i = 0; i <= JK_RPC_MAX_BUCKETS; i++)
        many[i] = (double)i;
    JK_CHECK_EQ(jk_rpc_metrics_histogram(m, "h", NULL, unsorted, 2, &x), JK_ERR_INVALID_ARG);
    JK_CHECK_EQ(jk_rpc_metrics_histogram(m, "h", NULL, inf, 2, &x), JK_ERR_INVALID_ARG);
    JK_CHECK_EQ(jk_rpc_metrics_histogram(m, "h", NULL, many, 0, &x), JK_ERR_INVALID_ARG);
    JK_CHECK_EQ(jk_rpc_metrics_histogram(m, "h", NULL, many, JK_RPC_MAX_BUCKETS + 1, &x), JK_ERR_INVALID_ARG);
    JK_CHECK_EQ(jk_rpc_metrics_histogram(m, "h", NULL, many, JK_RPC_MAX_BUCKETS, &x), JK_OK);
    /* refused registrations left nothing behind: two metrics render */
    char *text = render(m);
    JK_REQUIRE(text);
    JK_CHECK(!strcmp(text, "# TYPE ns:ok_1 counter\nns:ok_1 0\n# TYPE h histogram\n"
                           "h_bucket{le=\"0\"} 0\nh_bucket{le=\"1\"} 0\nh_bucket{le=\"2\"} 0\nh_bucket{le=\"3\"} 0\n"
                           "h_bucket{le=\"4\"} 0\nh_bucket{le=\"5\"} 0\nh_bucket{le=\"6\"} 0\nh_bucket{le=\"7\"} 0\n"
                           "h_bucket{le=\"8\"} 0\nh_bucket{le=\"9\"} 0\nh_bucket{le=\"10\"} 0\nh_bucket{le=\"11\"} 0\n"
                           "h_bucket{le=\"12\"} 0\nh_bucket{le=\"13\"} 0\nh_bucket{le=\"14\"} 0\nh_bucket{le=\"15\"} 0\n"
                           "h_bucket{le=\"16\"} 0\nh_bucket{le=\"17\"} 0\nh_bucket{le=\"18\"} 0\nh_bucket{le=\"19\"} 0\n"
                           "h_bucket{le=\"20\"} 0\nh_bucket{le=\"21\"} 0\nh_bucket{le=\"22\"} 0\nh_bucket{le=\"23\"} 0\n"
                           "h_bucket{le=\"24\"} 0\nh_bucket{le=\"25\"} 0\nh_bucket{le=\"26\"} 0\nh_bucket{le=\"27\"} 0\n"
                           "h_bucket{le=\"28\"} 0\nh_bucket{le=\"29\"} 0\nh_bucket{le=\"30\"} 0\nh_bucket{le=\"31\"} 0\n"
                           "h_bucket{le=\"+Inf\"} 0\nh_sum 0\nh_count 0\n"));
    free(text);
    jk_rpc_metrics_free(m);
}

/* The same history renders the same bytes; the node's metrics render in
 * registration order with their documented names. */
JK_TEST(test_rpc_metrics_node_deterministic)
{
    char *texts[2] = {NULL, NULL};
    for (int round = 0; round < 2; round++) {
        jk_rpc_metrics *m;
        JK_REQUIRE(jk_rpc_metrics_new(&m) == JK_OK);
        jk_rpc_node_metrics n;
        JK_REQUIRE(jk_rpc_node_metrics_register(m, &n) == JK_OK);
        jk_rpc_node_metrics again;
        JK_CHECK_EQ(jk_rpc_node_metrics_register(m, &again), JK_ERR_INVALID_ARG);
        jk_rpc_metric_set(n.height, 12);
        jk_rpc_metric_set(n.round, 1);
        jk_rpc_metric_observe(n.rounds_per_height, 1);
        jk_rpc_metric_observe(n.rounds_per_height, 3);
        jk_rpc_metric_set(n.peers, 3);
        jk_rpc_metric_set(n.pool_size, 40);
        jk_rpc_metric_add(n.events_admitted, 100);
        jk_rpc_metric_add(n.events_refused, 2);
        jk_rpc_metric_observe(n.verify_seconds, 0.00005);
        jk_rpc_metric_observe(n.apply_seconds, 0.02);
        jk_rpc_metric_observe(n.finality_seconds, 0.7);
        jk_rpc_metric_add(n.ed25519_verifies, 1033);
        texts[round] = render(m);
        jk_rpc_metrics_free(m);
    }
    JK_REQUIRE(texts[0] && texts[1]);
    JK_CHECK(!strcmp(texts[0], texts[1]));
    static const char *in_order[] = {
        "\njark_height 12\n", "\njark_round 1\n", "\njark_rounds_per_height_bucket{le=\"1\"} 1\n",
        "\njark_rounds_per_height_bucket{le=\"3\"} 2\n", "\njark_peers 3\n", "\njark_pool_size 40\n",
        "\njark_events_admitted_total 100\n", "\njark_events_refused_total 2\n",
        "\njark_verify_seconds_bucket{le=\"0.0001\"} 1\n", "\njark_apply_seconds_bucket{le=\"0.03\"} 1\n",
        "\njark_finality_seconds_bucket{le=\"1\"} 1\n", "\njark_finality_seconds_sum 0.7\n",
        "\n# TYPE jark_ed25519_verifies_total counter\njark_ed25519_verifies_total 1033\n"};
    const char *at = texts[0];
    for (size_t i = 0; i < sizeof in_order / sizeof in_order[0]; i++) {
        const char *found = strstr(at, in_order[i]);
        if (!found)
            jk_test_fail(__FILE__, __LINE__, "missing or out of order: %s", in_order[i]);
        else
            at = found;
    }
    free(texts[0]);
    free(texts[1]);
}

/* Updates from several threads at once lose nothing (one registry mutex),
 * and a render in the middle of them is safe (ASan runs this too). */
typedef struct metrics_worker {
    jk_rpc_metric *counter, *hist;
} metrics_worker;

static void *metrics_work(void *arg)
{
    metrics_worker *w = arg;
    for (int i = 0; i < 10000; i++) {
        jk_rpc_metric_add(w->counter, 1);
        jk_rpc_metric_observe(w->hist, 0.5);
    }
    return NULL;
}

JK_TEST(test_rpc_metrics_threads)
{
    jk_rpc_metrics *m;
    JK_REQUIRE(jk_rpc_metrics_new(&m) == JK_OK);
    static const double bounds[] = {1};
    metrics_worker w;
    JK_REQUIRE(jk_rpc_metrics_counter(m, "c_total", NULL, &w.counter) == JK_OK);
    JK_REQUIRE(jk_rpc_metrics_histogram(m, "h", NULL, bounds, 1, &w.hist) == JK_OK);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        JK_REQUIRE(pthread_create(&th[i], NULL, metrics_work, &w) == 0);
    char *mid = render(m);   /* concurrent with the workers: must not tear or crash */
    JK_CHECK(mid != NULL);
    free(mid);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    char *text = render(m);
    JK_REQUIRE(text);
    JK_CHECK(!strcmp(text, "# TYPE c_total counter\nc_total 40000\n# TYPE h histogram\nh_bucket{le=\"1\"} 40000\n"
                           "h_bucket{le=\"+Inf\"} 40000\nh_sum 20000\nh_count 40000\n"));
    free(text);
    jk_rpc_metrics_free(m);
}
