/*
 * bench_admit.c — `make bench-admit` (issue 13, docs/bench.md "Admission,
 * session 6" and "Admission, session 7"): what admitting one event costs a
 * node, per path, next to the raw libsodium verify of its one trace in the
 * same run.
 *
 * In process, through the node's own functions (no sockets, no consensus
 * machine): one chain app of the demo chain (4 validators, N funded
 * accounts, this process's validator 0) and N pre-signed demo transfers,
 * each account's first one.
 *   verify   jk_crypto_ed25519_verify of each event's trace: the floor.
 *   rpc      the testnet workload's JSON-RPC batches (64 submit_event
 *            requests each, the same text jk_wl_sign writes) through
 *            jk_rpc_parse + jk_rpc_answer, whose provider does what the
 *            node's submit does (jk_node_rpc_submit_event: encode, hand to
 *            add_event, read the verdict) into app 0.
 *   gossip   the same events' gossip encodings into a second app (the
 *            node's loop turn: jk_node_chain_app_prepare over the turn's
 *            events, then add_event for each) in turns of 64.
 *   echo     each event twice more into that app (the copies relayed by
 *            the two other peers): the repeat path.
 *   wire     the same gossip frames (the consensus EVENT message, as the
 *            node relays it) from one jk_net to another over QUIC on
 *            loopback, 64 per loop turn: one send and one receive each
 *            (a node of 4 does ~0.75 of each per event).
 *   cons     what the consensus machine does around add_event for each
 *            EVENT message (jk_cons_ingest's ~9 KB message, decoded — only
 *            the fields of its kind zeroed — then encoded again for the
 *            relay, as jk_cons_send_msg does).
 *   rpcnode  the rpc phase's batches through a jk_node's own provider
 *            (src/node/node_rpc.c: the batch hint's encodes and hashes,
 *            the turn's prepare, each submit through the consensus
 *            machine's on_event, the verdict) into a third app: the RPC
 *            node's path as the testnet drives it (session 16), outside
 *            HTTP.
 * Each phase is timed (thread CPU time) and, under callgrind, dumped on its
 * own (CALLGRIND_DUMP_STATS_AT "phase-NAME"): `make bench-admit-callgrind`
 * prints instructions per event per phase. Not covered: HTTP (MHD).
 *
 * Usage: bench_admit [N]   (N ≤ 65536, default 2048)
 */
#include "jark/bytes.h"
#include "jark/chain.h"
#include "jark/consensus.h"
#include "jark/crypto.h"
#include "jark/devnet.h"
#include "jark/net.h"
#include "jark/node.h"
#include "jark/rpc.h"
#include "jark/sdk.h"
#include "jark/spec.h"

#include <limits.h>
#include <sodium.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <valgrind/callgrind.h>

#define BA_VALIDATORS 4u
#define BA_BATCH 64u
#define BA_TEXT 768u /* one request's text (jk_wl_sign's JK_WL_EVENT_TEXT bound) */

static double ba_cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void ba_hex(const uint8_t *b, size_t n, char *out)
{
    jk_rpc_hex_encode(b, n, out);
}

/* The provider's submit: what src/node/node_rpc.c's submit does before the
 * consensus machine (encode, add_event, the verdict, the answer's hash). */
static jk_err ba_submit(void *ctx, const jk_rpc_event *ev, jk_rpc_submit_result *out,
                        jk_diag *diag)
{
    jk_node_chain_app *a = ctx;
    memset(out, 0, sizeof *out);
    jk_chain_event ce = {.endpoint = ev->endpoint, .blob = ev->blob, .blob_len = ev->blob_len};
    uint8_t *bytes = NULL;
    size_t len = 0;
    jk_err err = jk_node_event_encode(&ce, ev->traces, ev->trace_count, &bytes, &len);
    if (err != JK_OK)
        return jk_diag_set(diag, err, "encode");
    jk_hash id;
    jk_chain_event_hash(&ce, &id);
    (void)jk_node_chain_app_add_event(a, bytes, len);
    jk_crypto_blake2b256(bytes, len, &out->event_hash);
    free(bytes);
    jk_node_event_verdict v;
    if (!jk_node_chain_app_verdict(a, &id, &v))
        return jk_diag_set(diag, JK_ERR_RPC_UNAVAILABLE, "no verdict");
    out->admitted = v.kind == JK_NODE_VERDICT_ADMITTED;
    if (!out->admitted)
        snprintf(out->reason, sizeof out->reason, "%s", v.reason);
    return JK_OK;
}

typedef struct ba_phase {
    const char *name;
    double cpu_s;
    size_t events;
} ba_phase;

static void ba_begin(void)
{
    CALLGRIND_ZERO_STATS;
}

static void ba_end(ba_phase *p, double t0)
{
    p->cpu_s = ba_cpu_s() - t0;
    char tag[64];
    snprintf(tag, sizeof tag, "phase-%s", p->name);
    CALLGRIND_DUMP_STATS_AT(tag);
}

static uint64_t ba_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* A QUIC transport on 127.0.0.1 (ephemeral port) with key seed s. */
static jk_net *ba_net(uint8_t s, uint8_t pk[JK_NET_KEY_SIZE])
{
    uint8_t seed[32], sk[JK_NET_SECRET_SIZE];
    memset(seed, s, sizeof seed);
    static const uint8_t genesis[32] = {0x11};
    if (jk_crypto_ed25519_keypair_from_seed(seed, pk, sk) != JK_OK)
        return NULL;
    jk_net_config cfg = {.listen_host = "127.0.0.1", .secret_key = sk, .genesis_hash = genesis,
                         .transport = JK_NET_QUIC};
    jk_net_limits_default(&cfg.limits);
    jk_net *net = NULL;
    jk_diag diag = {{0}};
    if (jk_net_create(&cfg, &net, &diag) != JK_OK)
        fprintf(stderr, "bench_admit: net: %s\n", diag.msg);
    return net;
}

/* Step both; count b's frames of kind EVENTS and each side's peers up. */
static void ba_net_turn(jk_net *a, jk_net *b, int wait, size_t *frames, int *ups)
{
    jk_net_event ev;
    (void)jk_net_step(a, ba_ms(), 0);
    while (jk_net_next_event(a, &ev))
        ups[0] += ev.type == JK_NET_EV_PEER_UP;
    (void)jk_net_step(b, ba_ms(), wait);
    while (jk_net_next_event(b, &ev)) {
        ups[1] += ev.type == JK_NET_EV_PEER_UP;
        *frames += ev.type == JK_NET_EV_FRAME && ev.kind == JK_NET_EVENTS;
    }
}

/* The JSON-RPC batch of requests b..b+BA_BATCH-1 into body; its length. */
static size_t ba_body(char *body, const char *text, const size_t *text_len, uint32_t b)
{
    size_t len = 0;
    body[len++] = '[';
    for (uint32_t k = b; k < b + BA_BATCH; k++) {
        if (k > b)
            body[len++] = ',';
        memcpy(body + len, text + (size_t)k * BA_TEXT, text_len[k]);
        len += text_len[k];
    }
    body[len++] = ']';
    return len;
}

/* The n requests as JSON-RPC batches of BA_BATCH through jk_rpc_parse and
 * jk_rpc_answer to prov; *admitted counts the admitted answers. */
static bool ba_rpc_batches(const jk_rpc_provider *prov, char *body, const char *text,
                           const size_t *text_len, uint32_t n, size_t *admitted)
{
    for (uint32_t b = 0; b < n; b += BA_BATCH) {
        size_t len = ba_body(body, text, text_len, b);
        jk_rpc_parsed req;
        char *ans = NULL;
        size_t ans_len = 0;
        if (jk_rpc_parse((const uint8_t *)body, len, &req) != JK_OK ||
            jk_rpc_answer(prov, &req, &ans, &ans_len) != JK_OK)
            return false;
        for (const char *p = ans; p && (p = strstr(p, "\"admitted\":true")); p++)
            (*admitted)++;
        free(ans);
        jk_rpc_parsed_free(&req);
    }
    return true;
}

/* A jk_node around app (validator 2 of the bench's four) on a free
 * loopback port, its timeouts long: no height starts during the phase. */
static jk_node *ba_node(jk_node_chain_app *app, const uint8_t *sk, const jk_chain_genesis *g)
{
    static jk_cons_valset vs;
    if (!app)
        return NULL;
    jk_node_chain_app_valset(app, &vs);
    jk_node_config cfg = {
        .net = {.listen_host = "127.0.0.1", .listen_port = jk_net_loopback_free_port(SOCK_DGRAM)},
        .secret_key = sk,
        .genesis = g->genesis_hash,
        .valset = &vs,
        .self = 2,
        .timeouts = {.propose_ms = 600000, .propose_delta_ms = 1000, .prevote_ms = 600000,
                     .prevote_delta_ms = 1000, .precommit_ms = 600000, .precommit_delta_ms = 1000,
                     .tick_ms = 600000},
        .archive = jk_node_chain_app_archive(app),
        .height = 1,
        .chain = app,
    };
    jk_net_limits_default(&cfg.net.limits);
    jk_node_chain_app_bind(app, &cfg.app);
    jk_node *nd = NULL;
    jk_diag diag = {{0}};
    if (jk_node_new(&cfg, &nd, &diag) != JK_OK)
        fprintf(stderr, "bench_admit: node: %s\n", diag.msg);
    return nd;
}

static void ba_rm(const char *dir)
{
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_admit: could not remove %s\n", dir);
}

int main(int argc, char **argv)
{
    uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 2048u;
    if (n < BA_BATCH || n > JK_DEVNET_DEMO_MAX_ACCOUNTS || n % BA_BATCH) {
        fprintf(stderr, "usage: bench_admit [N]  (N a multiple of %u, %u..%u)\n", BA_BATCH,
                BA_BATCH, JK_DEVNET_DEMO_MAX_ACCOUNTS);
        return 2;
    }
    if (jk_crypto_init() != JK_OK)
        return 1;
    jk_diag diag = {{0}};
    const char *sdk = jk_sdk_dir();
    char spec_path[PATH_MAX + 64];
    snprintf(spec_path, sizeof spec_path, "%.*s/../examples/demo/devnet-spec.json", PATH_MAX,
             sdk ? sdk : ".");
    jk_devnet_demo *demo = NULL;
    jk_spec_file spec;
    if (jk_devnet_demo_new_accounts(1, n, &demo) != JK_OK ||
        jk_spec_file_load(spec_path, NULL, &spec, &diag) != JK_OK) {
        fprintf(stderr, "bench_admit: setup: %s\n", diag.msg);
        return 1;
    }
    uint8_t pks[BA_VALIDATORS][32], sks[BA_VALIDATORS][64];
    for (uint32_t i = 0; i < BA_VALIDATORS; i++) {
        uint8_t seed[32] = {'a', 'd', 'm', 'i', 't', (uint8_t)i};
        crypto_sign_seed_keypair(pks[i], sks[i], seed);
    }
    spec.spec.validators = (const uint8_t(*)[32])pks;
    spec.spec.validator_count = BA_VALIDATORS;
    jk_devnet_demo_state(demo, &spec.spec);
    jk_chain_genesis g;
    if (jk_chain_genesis_build(&spec.spec, &g, &diag) != JK_OK) {
        fprintf(stderr, "bench_admit: genesis: %s\n", diag.msg);
        return 1;
    }
    spec.spec.validators = NULL;
    jk_spec_file_free(&spec);
    char dir[] = "/tmp/jark-bench-admit-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    jk_node_chain_app *rpc_app = NULL, *gossip_app = NULL, *node_app = NULL;
    char d0[PATH_MAX], d1[PATH_MAX], d2[PATH_MAX];
    snprintf(d0, sizeof d0, "%s/rpc", dir);
    snprintf(d1, sizeof d1, "%s/gossip", dir);
    snprintf(d2, sizeof d2, "%s/node", dir);
    if (jk_node_chain_app_open(d0, sks[0], &g, &rpc_app, &diag) != JK_OK ||
        jk_node_chain_app_open(d1, sks[1], &g, &gossip_app, &diag) != JK_OK ||
        jk_node_chain_app_open(d2, sks[2], &g, &node_app, &diag) != JK_OK) {
        fprintf(stderr, "bench_admit: open: %s\n", diag.msg);
        ba_rm(dir);
        return 1;
    }

    /* N signed transfers: their traces, gossip encodings and request texts */
    jk_chain_trace *tr = malloc(n * sizeof *tr);
    uint8_t (*blobs)[JK_DEVNET_TRANSFER_LEN] = malloc(n * sizeof *blobs);
    uint8_t **enc = calloc(n, sizeof *enc);
    size_t *enc_len = calloc(n, sizeof *enc_len);
    char *text = malloc((size_t)n * BA_TEXT);
    size_t *text_len = calloc(n, sizeof *text_len);
    if (!tr || !blobs || !enc || !enc_len || !text || !text_len)
        return 1;
    for (uint32_t i = 0; i < n; i++) {
        jk_devnet_demo_transfer(demo, &g.genesis_hash, i, blobs[i], &tr[i]);
        jk_chain_event ev = {JK_CHAIN_ENDPOINT_TRANSACT, blobs[i], sizeof blobs[i]};
        if (jk_node_event_encode(&ev, &tr[i], 1, &enc[i], &enc_len[i]) != JK_OK)
            return 1;
        char bh[2 * JK_DEVNET_TRANSFER_LEN + 1], kh[65], mh[65], sg[129];
        ba_hex(blobs[i], sizeof blobs[i], bh);
        ba_hex(tr[i].key, 32, kh);
        ba_hex(tr[i].msg_hash.bytes, 32, mh);
        ba_hex(tr[i].sig, 64, sg);
        int k = snprintf(text + (size_t)i * BA_TEXT, BA_TEXT,
                         "{\"jsonrpc\":\"2.0\",\"id\":%u,\"method\":\"submit_event\","
                         "\"params\":[\"transact\",\"%s\",[[\"%s\",\"%s\",\"%s\"]]]}",
                         i, bh, kh, mh, sg);
        text_len[i] = k > 0 && (unsigned)k < BA_TEXT ? (size_t)k : 0;
    }
    char *body = malloc(BA_BATCH * (BA_TEXT + 1) + 2);
    if (!body)
        return 1;

    ba_phase ph[7] = {{"verify", 0, n}, {"rpc", 0, n}, {"gossip", 0, n}, {"echo", 0, 2 * (size_t)n},
                      {"wire", 0, n}, {"cons", 0, n}, {"rpcnode", 0, n}};
    size_t ok_verify = 0, ok_rpc = 0, ok_gossip = 0, echo_refused = 0;

    ba_begin();
    double t0 = ba_cpu_s();
    for (uint32_t i = 0; i < n; i++)
        ok_verify += jk_crypto_ed25519_verify(tr[i].key, tr[i].msg_hash.bytes, 32, tr[i].sig) ==
                     JK_OK;
    ba_end(&ph[0], t0);

    jk_rpc_provider prov = {.ctx = rpc_app, .submit_event = ba_submit};
    ba_begin();
    t0 = ba_cpu_s();
    if (!ba_rpc_batches(&prov, body, text, text_len, n, &ok_rpc))
        return 1;
    ba_end(&ph[1], t0);

    ba_begin();
    t0 = ba_cpu_s();
    for (uint32_t b = 0; b < n; b += BA_BATCH) {
        (void)jk_node_chain_app_prepare(gossip_app, (const uint8_t *const *)enc + b, enc_len + b,
                                        BA_BATCH, NULL);
        for (uint32_t k = b; k < b + BA_BATCH; k++)
            ok_gossip += jk_node_chain_app_add_event(gossip_app, enc[k], enc_len[k]);
        jk_node_chain_app_prepare_end(gossip_app);
    }
    ba_end(&ph[2], t0);

    ba_begin();
    t0 = ba_cpu_s();
    for (int copy = 0; copy < 2; copy++)
        for (uint32_t b = 0; b < n; b += BA_BATCH) {
            (void)jk_node_chain_app_prepare(gossip_app, (const uint8_t *const *)enc + b,
                                            enc_len + b, BA_BATCH, NULL);
            for (uint32_t k = b; k < b + BA_BATCH; k++)
                echo_refused += !jk_node_chain_app_add_event(gossip_app, enc[k], enc_len[k]);
            jk_node_chain_app_prepare_end(gossip_app);
        }
    ba_end(&ph[3], t0);

    /* wire: two transports connected first (not timed) */
    uint8_t pka[JK_NET_KEY_SIZE], pkb[JK_NET_KEY_SIZE];
    jk_net *na = ba_net(0xa1, pka), *nb = ba_net(0xb2, pkb);
    size_t wired = 0;
    if (na && nb) {
        jk_net_peer_config pa = {.host = "127.0.0.1", .port = jk_net_listen_port(nb)};
        jk_net_peer_config pb = {.host = "127.0.0.1", .port = jk_net_listen_port(na)};
        memcpy(pa.key, pkb, sizeof pa.key);
        memcpy(pb.key, pka, sizeof pb.key);
        uint32_t to_b = 0, to_a = 0;
        int ups[2] = {0, 0};
        if (jk_net_add_peer(na, &pa, &to_b) == JK_OK && jk_net_add_peer(nb, &pb, &to_a) == JK_OK)
            for (int r = 0; r < 5000 && (ups[0] < 1 || ups[1] < 1); r++)
                ba_net_turn(na, nb, 2, &wired, ups);
        uint8_t *frame = malloc(5 + JK_CONS_MAX_EVENT);
        wired = 0;
        ba_begin();
        t0 = ba_cpu_s();
        for (uint32_t b = 0; frame && ups[0] && ups[1] && b < n; b += BA_BATCH) {
            for (uint32_t k = b; k < b + BA_BATCH; k++) {
                frame[0] = JK_CONS_MSG_EVENT;
                jk_put_u32le(frame + 1, (uint32_t)enc_len[k]);
                memcpy(frame + 5, enc[k], enc_len[k]);
                (void)jk_net_send(na, to_b, JK_NET_EVENTS, frame, 5 + enc_len[k]);
            }
            for (int r = 0; r < 100000 && wired < b + BA_BATCH; r++)
                ba_net_turn(na, nb, 1, &wired, ups);
        }
        ba_end(&ph[4], t0);
        free(frame);
    }
    jk_net_destroy(na);
    jk_net_destroy(nb);

    /* cons: the machine's decode of each EVENT message and its re-encode */
    size_t consed = 0;
    uint8_t *msgbuf = malloc(5 + JK_CONS_MAX_EVENT);
    ba_begin();
    t0 = ba_cpu_s();
    for (uint32_t k = 0; msgbuf && k < n; k++) {
        msgbuf[0] = JK_CONS_MSG_EVENT;
        jk_put_u32le(msgbuf + 1, (uint32_t)enc_len[k]);
        memcpy(msgbuf + 5, enc[k], enc_len[k]);
        jk_cons_msg *msg = malloc(sizeof *msg);
        uint8_t *out = NULL;
        size_t out_len = 0;
        if (msg && jk_cons_msg_decode(msgbuf, 5 + enc_len[k], msg, NULL) == JK_OK &&
            jk_cons_msg_encode(msg, &out, &out_len) == JK_OK)
            consed += out_len == 5 + enc_len[k];
        free(out);
        free(msg);
    }
    ba_end(&ph[5], t0);
    free(msgbuf);

    /* rpcnode: validator 2's node (no peers connected: the machine's relay
     * queues nothing) and its provider */
    size_t ok_node = 0;
    jk_node *node = ba_node(node_app, sks[2], &g);
    jk_rpc_provider nprov;
    if (node)
        jk_node_rpc_provider(node, &nprov);
    ba_begin();
    t0 = ba_cpu_s();
    if (node && !ba_rpc_batches(&nprov, body, text, text_len, n, &ok_node))
        return 1;
    ba_end(&ph[6], t0);
    jk_node_free(node);

    double v_us = ph[0].cpu_s * 1e6 / (double)n;
    for (int i = 0; i < 7; i++) {
        double us = ph[i].cpu_s * 1e6 / (double)ph[i].events;
        printf("BENCH admit_%s events=%zu us_per_event=%.1f ratio_to_verify=%.2f\n", ph[i].name,
               ph[i].events, us, us / v_us);
    }
    printf("BENCH admit_check verified=%zu rpc_admitted=%zu gossip_admitted=%zu echo_refused=%zu "
           "wired=%zu consed=%zu pool=%zu/%zu rpcnode_admitted=%zu\n",
           ok_verify, ok_rpc, ok_gossip, echo_refused, wired, consed, jk_node_chain_app_pending_count(rpc_app),
           jk_node_chain_app_pending_count(gossip_app), ok_node);
    int rc = ok_verify == n && ok_rpc == n && ok_gossip == n && echo_refused == 2 * (size_t)n &&
             wired == n && consed == n && ok_node == n ? 0 : 1;
    if (rc)
        fprintf(stderr, "bench_admit: not every event was admitted once (%s)\n", diag.msg);
    jk_node_chain_app_close(rpc_app);
    jk_node_chain_app_close(gossip_app);
    jk_node_chain_app_close(node_app);
    ba_rm(dir);
    for (uint32_t i = 0; i < n; i++)
        free(enc[i]);
    free(enc);
    free(enc_len);
    free(text);
    free(text_len);
    free(tr);
    free(blobs);
    free(body);
    jk_cap_release(g.chain);
    jk_devnet_demo_free(demo);
    return rc;
}
