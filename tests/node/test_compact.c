/*
 * test_compact.c — compact proposals (src/node/compact*.c, docs/network.md
 * "Compact proposals"): a demo block's proposal encoded against the
 * proposer's pool and rebuilt byte for byte from another validator's; events
 * missing, asked for and filled; a reference that resolves to another event
 * or trace refused by the body hash; the strict decoder; and the node at
 * the frame boundary (an in-process node over the fx chain app): a compact
 * proposal reaches the machine, a Byzantine one is refused and counted.
 */
#include "chain_app_fx.h"

#include "../../src/devnet/internal.h"
#include "../../src/net/internal.h"
#include "../../src/node/chain_app_internal.h"
#include "../../src/node/node_internal.h"

#include <stdio.h>
#include <sys/socket.h>

int jk_fuzz_node_compact(const uint8_t *data, size_t size);

/* App i's pool as references (ids hashed here from the public pending
 * list); each entry's bytes borrowed from the app. */
static jk_node_pool_ref *pool_of(fx *f, uint32_t i, size_t *n)
{
    *n = jk_node_chain_app_pending_count(f->apps[i]);
    jk_node_pool_ref *p = calloc(*n + 1, sizeof *p);
    for (size_t k = 0; p && k < *n; k++) {
        size_t len;
        const uint8_t *b = jk_node_chain_app_pending(f->apps[i], k, &len);
        jk_chain_event ev;
        jk_chain_trace *t = NULL;
        size_t nt;
        JK_CHECK(jk_node_event_decode(b, len, &ev, &t, &nt, NULL) == JK_OK);
        free(t);
        jk_chain_event_hash(&ev, &p[k].id);
        p[k].bytes = b;
        p[k].len = len;
    }
    return p;
}

/* The signed PROPOSAL message of height h, round 0 from its proposer's app
 * (events gossiped to every app before). */
static uint8_t *proposal_of(fx *f, uint64_t h, size_t *len)
{
    uint32_t p = jk_chain_proposer_index(V, h, 0);
    uint8_t *value = NULL;
    size_t vlen = 0;
    if (f->cb[p].get_value(f->apps[p], h, 0, &value, &vlen) != JK_OK)
        return NULL;
    jk_hash id;
    f->cb[p].hash(f->apps[p], value, vlen, &id);
    jk_cons_msg *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->kind = JK_CONS_MSG_PROPOSAL;
    m->proposal = (jk_cons_proposal){.height = h, .round = 0, .valid_round = JK_CONS_NIL_ROUND,
                                     .proposer = p, .value = value, .value_len = vlen};
    jk_cons_proposal_sign(&m->proposal, &f->genesis.genesis_hash, &id, f->keys[p].sk);
    uint8_t *out = NULL;
    if (jk_cons_msg_encode(m, &out, len) != JK_OK)
        out = NULL;
    free(m);
    free(value);
    return out;
}

/* Where trace entry k of a compact proposal starts (walking its layout). */
static size_t trace_entry(const uint8_t *b, size_t k)
{
    size_t at = 2 + 8 + 4 + 4 + 4 + 64 + JK_CHAIN_HEADER_SIZE;
    at += 4 + jk_get_u32le(b + at);
    size_t n = jk_get_u32le(b + at);
    at += 4;
    for (size_t i = 0; i < n; i++)
        at += b[at] == 0 ? 1 + JK_NODE_COMPACT_PREFIX : 5 + jk_get_u32le(b + at + 1);
    at += 4;
    for (size_t i = 0; i < k; i++)
        at += b[at] == 0 ? 6 : 1 + JK_CHAIN_TRACE_SIZE;
    return at;
}

typedef struct cfx {
    fx f;
    uint8_t *full, *compact;
    size_t full_len, compact_len, nev;
    size_t *at;
    jk_node_pool_ref *ppool; /* the proposer's */
    size_t nppool;
} cfx;

/* Block 1 of `transfers` demo transfers gossiped to every app, proposed by
 * validator 1 and encoded against its pool. */
static bool cfx_make(cfx *c, uint32_t transfers)
{
    memset(c, 0, sizeof *c);
    if (!fx_make(&c->f))
        return false;
    fx_gossip(&c->f, 1, transfers);
    c->full = proposal_of(&c->f, 1, &c->full_len);
    if (!c->full)
        return false;
    c->ppool = pool_of(&c->f, jk_chain_proposer_index(V, 1, 0), &c->nppool);
    return jk_node_compact_encode(c->full, c->full_len, c->ppool, c->nppool, &c->compact,
                                  &c->compact_len, &c->at, &c->nev) == JK_OK;
}

static void cfx_free(cfx *c)
{
    free(c->full);
    free(c->compact);
    free(c->at);
    free(c->ppool);
    fx_free(&c->f);
}

JK_TEST(test_compact_rebuilds_the_full_proposal_from_the_pool)
{
    static cfx c;
    JK_REQUIRE(cfx_make(&c, 40));
    JK_CHECK_EQ(c.nev, 40);
    for (size_t i = 0; i < c.nev; i++)
        JK_CHECK(c.at[i] != SIZE_MAX); /* every event by reference */
    /* 40 events of ~250 bytes against ~15 bytes each */
    JK_CHECK(c.compact_len * 5 < c.full_len);
    jk_node_compact *d = NULL;
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_node_compact_decode(c.compact, c.compact_len, &d, &diag) == JK_OK);
    uint64_t h;
    uint32_t r, p;
    size_t events;
    jk_node_compact_info(d, &h, &r, &p, &events);
    JK_CHECK(h == 1 && r == 0 && p == 1 && events == 40);
    /* validator 3's pool holds the same events: the same bytes come back */
    size_t nq;
    jk_node_pool_ref *q = pool_of(&c.f, 3, &nq);
    jk_node_compact_state state;
    uint8_t *full;
    size_t full_len, nmissing;
    uint32_t *missing;
    JK_REQUIRE(jk_node_compact_rebuild(d, q, nq, &state, &full, &full_len, &missing, &nmissing,
                                       &diag) == JK_OK);
    JK_CHECK_EQ(state, JK_NODE_COMPACT_DONE);
    JK_CHECK(full_len == c.full_len && memcmp(full, c.full, full_len) == 0);
    free(full);
    free(q);
    /* an empty pool: every event missing, in order */
    JK_REQUIRE(jk_node_compact_rebuild(d, NULL, 0, &state, &full, &full_len, &missing, &nmissing,
                                       &diag) == JK_OK);
    JK_CHECK_EQ(state, JK_NODE_COMPACT_MISSING);
    JK_CHECK_EQ(nmissing, 40);
    JK_CHECK(full == NULL && missing && missing[39] == 39);
    free(missing);
    jk_node_compact_free(d);
    cfx_free(&c);
}

JK_TEST(test_compact_missing_events_asked_for_and_filled)
{
    static cfx c;
    JK_REQUIRE(cfx_make(&c, 30));
    size_t nq;
    jk_node_pool_ref *q = pool_of(&c.f, 2, &nq);
    JK_REQUIRE(nq == 30);
    /* validator 2 lacks the block's events 4 and 17 */
    jk_node_pool_ref *lack = calloc(nq, sizeof *lack);
    size_t nl = 0;
    for (size_t k = 0; k < nq; k++)
        if (memcmp(q[k].id.bytes, c.ppool[c.at[4]].id.bytes, 32) != 0 &&
            memcmp(q[k].id.bytes, c.ppool[c.at[17]].id.bytes, 32) != 0)
            lack[nl++] = q[k];
    JK_REQUIRE(nl == 28);
    jk_node_compact *d = NULL;
    JK_REQUIRE(jk_node_compact_decode(c.compact, c.compact_len, &d, NULL) == JK_OK);
    jk_node_compact_state state;
    uint8_t *full;
    size_t full_len, nmissing;
    uint32_t *missing;
    jk_diag why = {{0}};
    JK_REQUIRE(jk_node_compact_rebuild(d, lack, nl, &state, &full, &full_len, &missing, &nmissing,
                                       &why) == JK_OK);
    JK_CHECK_EQ(state, JK_NODE_COMPACT_MISSING);
    JK_REQUIRE(nmissing == 2);
    JK_CHECK(missing[0] == 4 && missing[1] == 17);
    /* the WANT the receiver sends, and the sender's FILL from its pool */
    uint8_t *want;
    size_t want_len;
    JK_REQUIRE(jk_node_want_encode(1, 0, missing, nmissing, &want, &want_len) == JK_OK);
    jk_node_want w;
    JK_REQUIRE(jk_node_want_decode(want, want_len, &w, NULL) == JK_OK);
    JK_CHECK(w.height == 1 && w.round == 0 && w.count == 2);
    uint32_t idx[2];
    const uint8_t *evs[2];
    size_t lens[2];
    for (size_t i = 0; i < 2; i++) {
        idx[i] = jk_get_u32le(w.idx + 4 * i);
        evs[i] = c.ppool[c.at[idx[i]]].bytes;
        lens[i] = c.ppool[c.at[idx[i]]].len;
    }
    uint8_t *fill;
    size_t fill_len, taken;
    JK_REQUIRE(jk_node_fill_encode(1, 0, idx, evs, lens, 2, &fill, &fill_len) == JK_OK);
    /* a fill for another round is well-formed, and not taken */
    uint8_t *other;
    size_t other_len;
    JK_REQUIRE(jk_node_fill_encode(1, 1, idx, evs, lens, 2, &other, &other_len) == JK_OK);
    JK_CHECK(jk_node_compact_fill(d, other, other_len, &taken, NULL) == JK_OK && taken == 0);
    JK_CHECK(jk_node_compact_fill(d, fill, fill_len, &taken, NULL) == JK_OK && taken == 2);
    free(missing);
    JK_REQUIRE(jk_node_compact_rebuild(d, lack, nl, &state, &full, &full_len, &missing, &nmissing,
                                       &why) == JK_OK);
    JK_CHECK_EQ(state, JK_NODE_COMPACT_DONE);
    JK_CHECK(full_len == c.full_len && memcmp(full, c.full, full_len) == 0);
    free(full);
    /* a truncated fill, and one whose event is not a gossip encoding:
     * refused with a reason, nothing taken */
    for (size_t cut = 0; cut < fill_len; cut += 7) {
        why.msg[0] = 0;
        JK_CHECK_EQ(jk_node_compact_fill(d, fill, cut, &taken, &why), JK_ERR_NODE_COMPACT);
        JK_CHECK(why.msg[0] != 0 && taken == 0);
    }
    fill[18 + 8 + 4] ^= 0xFF; /* the first event's blob length */
    JK_CHECK_EQ(jk_node_compact_fill(d, fill, fill_len, &taken, &why), JK_ERR_NODE_COMPACT);
    free(fill);
    free(other);
    free(want);
    free(lack);
    free(q);
    jk_node_compact_free(d);
    cfx_free(&c);
}

JK_TEST(test_compact_wrong_reference_refused_by_the_body_hash)
{
    static cfx c;
    JK_REQUIRE(cfx_make(&c, 12));
    size_t nq;
    jk_node_pool_ref *q = pool_of(&c.f, 0, &nq);
    JK_REQUIRE(nq == 12);
    jk_node_compact *d = NULL;
    JK_REQUIRE(jk_node_compact_decode(c.compact, c.compact_len, &d, NULL) == JK_OK);
    jk_node_compact_state state;
    uint8_t *full;
    size_t full_len, nmissing;
    uint32_t *missing;
    jk_diag why = {{0}};
    /* a pool whose first entry claims block event 5's id prefix but holds
     * event 6's bytes (a prefix shared by two events): found first */
    jk_node_pool_ref *bad = calloc(nq + 1, sizeof *bad);
    bad[0] = c.ppool[c.at[6]];
    memcpy(bad[0].id.bytes, c.ppool[c.at[5]].id.bytes, JK_NODE_COMPACT_PREFIX);
    memcpy(bad + 1, q, nq * sizeof *q);
    JK_REQUIRE(jk_node_compact_rebuild(d, bad, nq + 1, &state, &full, &full_len, &missing,
                                       &nmissing, &why) == JK_OK);
    JK_CHECK_EQ(state, JK_NODE_COMPACT_MISMATCH);
    JK_CHECK(full == NULL && strstr(why.msg, "body_hash") != NULL);
    /* the same event with other traces (its trace's signature changed):
     * the trace reference resolves to the wrong trace */
    size_t len = c.ppool[c.at[5]].len;
    uint8_t *other = malloc(len);
    memcpy(other, c.ppool[c.at[5]].bytes, len);
    other[len - 1] ^= 1;
    bad[0] = (jk_node_pool_ref){c.ppool[c.at[5]].id, other, len};
    JK_REQUIRE(jk_node_compact_rebuild(d, bad, nq + 1, &state, &full, &full_len, &missing,
                                       &nmissing, &why) == JK_OK);
    JK_CHECK_EQ(state, JK_NODE_COMPACT_MISMATCH);
    /* the honest pool behind it still rebuilds */
    JK_REQUIRE(jk_node_compact_rebuild(d, q, nq, &state, &full, &full_len, &missing, &nmissing,
                                       &why) == JK_OK);
    JK_CHECK_EQ(state, JK_NODE_COMPACT_DONE);
    free(full);
    /* a sender lying in a trace reference (event 0's trace, said of trace 3) */
    jk_node_compact_free(d);
    uint8_t *lie = malloc(c.compact_len);
    memcpy(lie, c.compact, c.compact_len);
    size_t t3 = trace_entry(lie, 3);
    JK_REQUIRE(lie[t3] == 0 && jk_get_u32le(lie + t3 + 1) == 3);
    jk_put_u32le(lie + t3 + 1, 0);
    JK_REQUIRE(jk_node_compact_decode(lie, c.compact_len, &d, &why) == JK_OK);
    JK_REQUIRE(jk_node_compact_rebuild(d, q, nq, &state, &full, &full_len, &missing, &nmissing,
                                       &why) == JK_OK);
    JK_CHECK_EQ(state, JK_NODE_COMPACT_MISMATCH);
    jk_node_compact_free(d);
    free(lie);
    free(other);
    free(bad);
    free(q);
    cfx_free(&c);
}

JK_TEST(test_compact_decoder_refuses_malformed_input)
{
    static cfx c;
    JK_REQUIRE(cfx_make(&c, 6));
    jk_node_compact *d = NULL;
    jk_diag why = {{0}};
    /* every truncation */
    for (size_t cut = 0; cut < c.compact_len; cut++) {
        why.msg[0] = 0;
        JK_CHECK_EQ(jk_node_compact_decode(c.compact, cut, &d, &why), JK_ERR_NODE_COMPACT);
        JK_CHECK(d == NULL && why.msg[0] != 0);
    }
    uint8_t *b = malloc(c.compact_len + 1);
    /* a byte after the end */
    memcpy(b, c.compact, c.compact_len);
    b[c.compact_len] = 0;
    JK_CHECK_EQ(jk_node_compact_decode(b, c.compact_len + 1, &d, &why), JK_ERR_NODE_COMPACT);
    /* another version */
    b[1] = 2;
    JK_CHECK_EQ(jk_node_compact_decode(b, c.compact_len, &d, &why), JK_ERR_NODE_COMPACT);
    JK_CHECK(strstr(why.msg, "version") != NULL);
    b[1] = 1;
    /* an event count of 2^32 - 1: refused before anything is allocated */
    size_t count_at = 2 + 8 + 4 + 4 + 4 + 64 + JK_CHAIN_HEADER_SIZE;
    count_at += 4 + jk_get_u32le(b + count_at);
    JK_REQUIRE(jk_get_u32le(b + count_at) == 6);
    jk_put_u32le(b + count_at, 0xFFFFFFFFu);
    JK_CHECK_EQ(jk_node_compact_decode(b, c.compact_len, &d, &why), JK_ERR_NODE_COMPACT);
    JK_CHECK(strstr(why.msg, "event count") != NULL);
    jk_put_u32le(b + count_at, 6);
    /* an event tag that is neither */
    b[count_at + 4] = 7;
    JK_CHECK_EQ(jk_node_compact_decode(b, c.compact_len, &d, &why), JK_ERR_NODE_COMPACT);
    b[count_at + 4] = 0;
    /* a valid round not below its round */
    jk_put_u32le(b + 14, 0);
    JK_CHECK_EQ(jk_node_compact_decode(b, c.compact_len, &d, &why), JK_ERR_NODE_COMPACT);
    jk_put_u32le(b + 14, JK_CONS_NIL_ROUND);
    JK_CHECK(jk_node_compact_decode(b, c.compact_len, &d, &why) == JK_OK);
    jk_node_compact_free(d);
    /* a WANT: truncated, indices not ascending, a count over its length */
    uint32_t idx[3] = {1, 5, 9};
    uint8_t *want;
    size_t want_len;
    JK_REQUIRE(jk_node_want_encode(1, 0, idx, 3, &want, &want_len) == JK_OK);
    jk_node_want w;
    for (size_t cut = 0; cut < want_len; cut++)
        JK_CHECK_EQ(jk_node_want_decode(want, cut, &w, &why), JK_ERR_NODE_COMPACT);
    jk_put_u32le(want + 18 + 4, 0);
    JK_CHECK_EQ(jk_node_want_decode(want, want_len, &w, &why), JK_ERR_NODE_COMPACT);
    jk_put_u32le(want + 14, 1u << 30);
    JK_CHECK_EQ(jk_node_want_decode(want, want_len, &w, &why), JK_ERR_NODE_COMPACT);
    free(want);
    /* the fuzz target's corpus (tests/fuzz/corpus/node_compact) */
    static const char *const names[] = {"compact-6", "compact-huge-count", "compact-cut",
                                        "want-3", "fill-1", "compact-literal"};
    static uint8_t buf[1 << 14];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, "tests/fuzz/corpus/node_compact/%s", names[i]);
        FILE *fp = fopen(path, "rb");
        JK_REQUIRE(fp != NULL);
        size_t n = fread(buf, 1, sizeof buf, fp);
        fclose(fp);
        JK_CHECK_EQ(jk_fuzz_node_compact(buf, n), 0);
    }
    free(b);
    cfx_free(&c);
}

/* ---- the node at the frame boundary ---------------------------------------- */

static jk_node *wrap_node(fx *f, uint32_t i)
{
    static jk_cons_valset vs;
    jk_node_chain_app_valset(f->apps[0], &vs);
    jk_node_config cfg = {
        .net = {.listen_host = "127.0.0.1", .listen_port = jk_net_loopback_free_port(SOCK_DGRAM)},
        .secret_key = f->keys[i].sk,
        .genesis = f->genesis.genesis_hash,
        .valset = &vs,
        .self = i,
        .timeouts = {.propose_ms = 60000, .propose_delta_ms = 1000, .prevote_ms = 60000,
                     .prevote_delta_ms = 1000, .precommit_ms = 60000, .precommit_delta_ms = 1000,
                     .tick_ms = 60000},
        .archive = jk_node_chain_app_archive(f->apps[i]),
        .height = 1,
        .chain = f->apps[i],
    };
    jk_net_limits_default(&cfg.net.limits);
    jk_node_chain_app_bind(f->apps[i], &cfg.app);
    jk_node *n = NULL;
    jk_diag diag = {{0}};
    if (jk_node_new(&cfg, &n, &diag) != JK_OK) {
        fprintf(stderr, "node %u: %s\n", i, diag.msg);
        return NULL;
    }
    return n;
}

/* Hand node n a consensus frame from transport peer `peer` and run a pass. */
static void deliver(jk_node *n, uint32_t peer, const uint8_t *b, size_t len)
{
    jk_net_emit(n->net, JK_NET_EV_FRAME, peer, JK_NET_REASON_NONE, JK_NET_CONSENSUS, b, len);
    jk_diag diag = {{0}};
    JK_CHECK(jk_node_drain_net(n, 1000, &diag) == JK_OK);
}

/* Validator 0's node (an in-process jk_node over app 0, no peer connected)
 * takes validator 1's compact proposal of height 1: rebuilt from its pool
 * and checked by the chain app as the full form would be. Missing events:
 * held and asked for, then filled. A trace reference that resolves to
 * another trace (a Byzantine sender, or a pool with other traces): refused
 * without dropping the peer, the full form asked for, and the full form
 * taken. A huge count or a truncated compact frame: the peer dropped and
 * counted, as any bad frame. */
JK_TEST(test_node_compact_proposal_at_the_frame_boundary)
{
    static cfx c;
    JK_REQUIRE(cfx_make(&c, 20));
    jk_node *n = wrap_node(&c.f, 0);
    JK_REQUIRE(n);
    jk_net_peer_config pc = {.host = NULL};
    memcpy(pc.key, c.f.pks[1], 32);
    uint32_t peer;
    JK_REQUIRE(jk_net_add_peer(n->net, &pc, &peer) == JK_OK);
    uint64_t checked0 = fx_stats(&c.f, 0).checked;
    deliver(n, peer, c.compact, c.compact_len);
    jk_node_cn_stats st;
    jk_node_compact_stats_get(n, &st);
    JK_CHECK(st.received == 1 && st.rebuilt == 1 && st.wants_sent == 0);
    JK_CHECK_EQ(fx_stats(&c.f, 0).checked, checked0 + 1); /* valid() ran on the block */
    jk_node_info info;
    jk_node_info_get(n, &info);
    JK_CHECK_EQ(info.bad_peers, 0);
    jk_node_free(n);

    /* validator 3's node, its pool without block events 2 and 9 */
    jk_node_chain_app *a3 = c.f.apps[3];
    size_t kept = 0;
    for (size_t k = 0; k < a3->npending; k++) {
        bool drop = memcmp(a3->pending[k].id.bytes, c.ppool[c.at[2]].id.bytes, 32) == 0 ||
                    memcmp(a3->pending[k].id.bytes, c.ppool[c.at[9]].id.bytes, 32) == 0;
        if (drop)
            free(a3->pending[k].bytes);
        else
            a3->pending[kept++] = a3->pending[k];
    }
    JK_REQUIRE(kept == 18);
    a3->npending = kept;
    n = wrap_node(&c.f, 3);
    JK_REQUIRE(n);
    JK_REQUIRE(jk_net_add_peer(n->net, &pc, &peer) == JK_OK);
    checked0 = fx_stats(&c.f, 3).checked;
    deliver(n, peer, c.compact, c.compact_len);
    jk_node_compact_stats_get(n, &st);
    JK_CHECK(st.received == 1 && st.rebuilt == 0 && st.wants_sent == 1 && st.wants_full == 0);
    JK_CHECK(jk_node_compact_pending(n));
    JK_CHECK_EQ(fx_stats(&c.f, 3).checked, checked0);
    uint32_t idx[2] = {2, 9};
    const uint8_t *evs[2] = {c.ppool[c.at[2]].bytes, c.ppool[c.at[9]].bytes};
    size_t lens[2] = {c.ppool[c.at[2]].len, c.ppool[c.at[9]].len};
    uint8_t *fill;
    size_t fill_len;
    JK_REQUIRE(jk_node_fill_encode(1, 0, idx, evs, lens, 2, &fill, &fill_len) == JK_OK);
    deliver(n, peer, fill, fill_len);
    free(fill);
    jk_node_compact_stats_get(n, &st);
    JK_CHECK(st.fills_received == 1 && st.rebuilt == 1);
    JK_CHECK(!jk_node_compact_pending(n));
    JK_CHECK_EQ(fx_stats(&c.f, 3).checked, checked0 + 1);
    jk_node_free(n);

    /* validator 2's node: a trace reference bent to another event's trace */
    uint8_t *lie = malloc(c.compact_len);
    memcpy(lie, c.compact, c.compact_len);
    size_t t3 = trace_entry(lie, 3);
    JK_REQUIRE(lie[t3] == 0 && jk_get_u32le(lie + t3 + 1) == 3);
    jk_put_u32le(lie + t3 + 1, 4);
    n = wrap_node(&c.f, 2);
    JK_REQUIRE(n);
    JK_REQUIRE(jk_net_add_peer(n->net, &pc, &peer) == JK_OK);
    checked0 = fx_stats(&c.f, 2).checked;
    deliver(n, peer, lie, c.compact_len);
    jk_node_compact_stats_get(n, &st);
    JK_CHECK(st.mismatches == 1 && st.rebuilt == 0 && st.wants_full == 1);
    JK_CHECK_EQ(fx_stats(&c.f, 2).checked, checked0); /* never delivered */
    jk_node_info_get(n, &info);
    JK_CHECK_EQ(info.bad_peers, 0);
    /* the full form, asked for, goes to the machine as before */
    deliver(n, peer, c.full, c.full_len);
    JK_CHECK_EQ(fx_stats(&c.f, 2).checked, checked0 + 1);
    JK_CHECK(!jk_node_compact_pending(n));
    /* a huge event count, a truncated frame, a WANT cut short: dropped */
    size_t count_at = 2 + 8 + 4 + 4 + 4 + 64 + JK_CHAIN_HEADER_SIZE;
    count_at += 4 + jk_get_u32le(lie + count_at);
    jk_put_u32le(lie + count_at, 0x7FFFFFFFu);
    deliver(n, peer, lie, c.compact_len);
    deliver(n, peer, c.compact, c.compact_len / 2);
    uint8_t want_cut[9] = {JK_NODE_MSG_WANT, 1};
    deliver(n, peer, want_cut, sizeof want_cut);
    jk_node_info_get(n, &info);
    JK_CHECK_EQ(info.bad_peers, 3);
    jk_node_compact_stats_get(n, &st);
    JK_CHECK_EQ(st.received, 1);
    free(lie);
    jk_node_free(n);
    cfx_free(&c);
}

/* A held proposal asks for its missing events once the transport has no
 * gossiped event left to hand out, or after JK_CN_ASK_PASSES passes of
 * admissions when a backlog is queued ahead (here 400 events of later
 * blocks from another validator, taken a slice of JK_NODE_SLICE a pass). */
JK_TEST(test_node_compact_asks_behind_a_backlog_after_three_passes)
{
    static cfx c;
    JK_REQUIRE(cfx_make(&c, 20));
    jk_node_chain_app *a3 = c.f.apps[3];
    size_t kept = 0;
    for (size_t k = 0; k < a3->npending; k++) {
        if (memcmp(a3->pending[k].id.bytes, c.ppool[c.at[5]].id.bytes, 32) == 0)
            free(a3->pending[k].bytes);
        else
            a3->pending[kept++] = a3->pending[k];
    }
    JK_REQUIRE(kept == 19);
    a3->npending = kept;
    jk_node *n = wrap_node(&c.f, 3);
    JK_REQUIRE(n);
    jk_net_peer_config pc = {.host = NULL};
    memcpy(pc.key, c.f.pks[1], 32);
    uint32_t peer, other;
    JK_REQUIRE(jk_net_add_peer(n->net, &pc, &peer) == JK_OK);
    memcpy(pc.key, c.f.pks[2], 32);
    JK_REQUIRE(jk_net_add_peer(n->net, &pc, &other) == JK_OK);
    enum { EVENTS = 400 };
    static uint8_t msg[1024];
    size_t queued = 0;
    for (uint64_t h = 2; queued < EVENTS; h++) {
        jk_devnet_demo_block(&c.f.demo, &c.f.genesis.genesis_hash, h, 60, &c.f.gossip);
        for (size_t e = 0; e < c.f.gossip.n && queued < EVENTS; e++) {
            uint8_t *bytes = NULL;
            size_t len = 0;
            JK_REQUIRE(jk_node_event_encode(&c.f.gossip.events[e], c.f.gossip.trace_ptrs[e],
                                            c.f.gossip.counts[e], &bytes, &len) == JK_OK);
            JK_REQUIRE(len + 5 <= sizeof msg);
            msg[0] = JK_CONS_MSG_EVENT;
            jk_put_u32le(msg + 1, (uint32_t)len);
            memcpy(msg + 5, bytes, len);
            free(bytes);
            jk_net_emit(n->net, JK_NET_EV_FRAME, other, JK_NET_REASON_NONE, JK_NET_EVENTS, msg,
                        len + 5);
            queued++;
        }
    }
    jk_node_cn_stats st;
    jk_diag diag = {{0}};
    deliver(n, peer, c.compact, c.compact_len); /* pass 1 */
    for (uint32_t pass = 1; pass < JK_CN_ASK_PASSES; pass++) {
        jk_node_compact_stats_get(n, &st);
        JK_CHECK(st.received == 1 && st.wants_sent == 0 && jk_net_queued(n->net) > 0);
        JK_REQUIRE(jk_node_drain_net(n, 1000, &diag) == JK_OK);
    }
    jk_node_compact_stats_get(n, &st);
    JK_CHECK(st.wants_sent == 1 && st.rebuilt == 0 && jk_net_queued(n->net) > 0);
    jk_node_free(n);
    cfx_free(&c);
}

/* The proposer's side: the machine's PROPOSAL leaves compact (the encode
 * made once, from the node's pool), and a validator's WANT is answered with
 * the events it names, or with the full form when it asks for it; a WANT
 * for a proposal not kept, or from a peer that is no validator, is not. */
JK_TEST(test_node_compact_proposer_answers_wants)
{
    static cfx c;
    JK_REQUIRE(cfx_make(&c, 10));
    jk_node *n = wrap_node(&c.f, 1);
    JK_REQUIRE(n);
    const uint8_t *out;
    size_t out_len;
    JK_REQUIRE(jk_node_compact_outgoing(n, c.full, c.full_len, &out, &out_len));
    JK_CHECK(out_len == c.compact_len && memcmp(out, c.compact, out_len) == 0);
    const uint8_t *again;
    JK_CHECK(jk_node_compact_outgoing(n, c.full, c.full_len, &again, &out_len) && again == out);
    jk_net_peer_config pc = {.host = NULL};
    memcpy(pc.key, c.f.pks[0], 32);
    uint32_t peer;
    JK_REQUIRE(jk_net_add_peer(n->net, &pc, &peer) == JK_OK);
    uint32_t idx[2] = {3, 8};
    uint8_t *want;
    size_t want_len;
    JK_REQUIRE(jk_node_want_encode(1, 0, idx, 2, &want, &want_len) == JK_OK);
    deliver(n, peer, want, want_len);
    free(want);
    jk_node_cn_stats st;
    jk_node_compact_stats_get(n, &st);
    JK_CHECK(st.fills_sent == 1 && st.full_sent == 0);
    JK_REQUIRE(jk_node_want_encode(1, 0, NULL, 0, &want, &want_len) == JK_OK);
    deliver(n, peer, want, want_len);
    free(want);
    /* a proposal this node never sent: no answer */
    JK_REQUIRE(jk_node_want_encode(7, 0, idx, 2, &want, &want_len) == JK_OK);
    deliver(n, peer, want, want_len);
    free(want);
    jk_node_compact_stats_get(n, &st);
    JK_CHECK(st.fills_sent == 1 && st.full_sent == 1);
    /* a peer that is no validator is not answered (it takes no proposal) */
    jk_net_peer_config other = {.host = NULL};
    memset(other.key, 0x77, 32);
    uint32_t stranger;
    JK_REQUIRE(jk_net_add_peer(n->net, &other, &stranger) == JK_OK);
    JK_REQUIRE(jk_node_want_encode(1, 0, NULL, 0, &want, &want_len) == JK_OK);
    deliver(n, stranger, want, want_len);
    free(want);
    jk_node_compact_stats_get(n, &st);
    JK_CHECK(st.fills_sent == 1 && st.full_sent == 1);
    jk_node_free(n);
    cfx_free(&c);
}
