/* test_poll_network.c — issue 13, dispatch events on a network of several
 * validators (docs/node.md, "Dispatch events on a network"): the poll chain
 * (examples/poll) on four validators, each a chain app (src/node/chain_app.c)
 * with its own store, driven through the jk_cons_app callbacks as the
 * consensus machine drives them. Votes (dispatch events) reach NON-proposer
 * nodes after the proposer of the height produced; the next proposer's
 * process consumes them, every node drops exactly those, and every node's
 * poll tallies and state roots agree. With -DPOLL_VIA_CERTIFY, the batch
 * tally queues at proposer A is fed to certify by the next proposer B.
 *
 * Before the fix a node kept a dispatch event only for the height it
 * arrived in and the queue only at the proposer that made it: the votes
 * were dropped unprocessed (tallies 0) and the batch lost. A node restarted
 * from its store takes the queue back from its head record, also one that
 * no block carries (a queue carried over a block whose process did not
 * run). */
#include "../test.h"
#include "../progs.h"
#include "example_chain.h"
#include "poll_blobs.h"

#include "jark/consensus.h"
#include "jark/node.h"
#include "jark/sdk.h"
#include "jark/spec.h"

#include <limits.h>
#include <stdlib.h>

#define V 4

typedef struct net {
    jk_chain_genesis g;
    jk_ex_key keys[V];
    uint8_t pks[V][32];
    char dir[256];
    jk_node_chain_app *apps[V];
    jk_cons_app cb[V];
} net;

static bool net_open(net *n, const jk_sdk_options *build)
{
    memset(n, 0, sizeof *n);
    jk_spec_file f;
    jk_diag diag = {{0}};
    if (jk_spec_file_load("examples/poll/poll-spec.json", build, &f, &diag) != JK_OK) {
        printf("poll spec: %s\n", diag.msg);
        return false;
    }
    for (uint32_t i = 0; i < V; i++) {
        n->keys[i] = jk_ex_key_of((uint8_t)(0x90 + i));
        memcpy(n->pks[i], n->keys[i].pk, 32);
    }
    jk_chain_spec spec = f.spec;
    spec.validators = (const uint8_t(*)[32])n->pks;
    spec.validator_count = V;
    jk_err e = jk_chain_genesis_build(&spec, &n->g, &diag);
    jk_spec_file_free(&f);
    if (e != JK_OK) {
        printf("poll genesis: %s\n", diag.msg);
        return false;
    }
    jk_test_tmpdir("poll-net", n->dir, sizeof n->dir);
    for (uint32_t i = 0; i < V; i++) {
        char d[PATH_MAX];
        snprintf(d, sizeof d, "%s/v%u", n->dir, i);
        if (jk_node_chain_app_open(d, n->keys[i].sk, &n->g, &n->apps[i], &diag) != JK_OK) {
            printf("app %u: %s\n", i, diag.msg);
            return false;
        }
        jk_node_chain_app_bind(n->apps[i], &n->cb[i]);
    }
    return true;
}

static void net_close(net *n)
{
    for (uint32_t i = 0; i < V; i++)
        jk_node_chain_app_close(n->apps[i]);
    jk_test_rm_tree(n->dir);
    jk_cap_release(n->g.chain);
}

/* The event (endpoint, blob signed by signer) to app i's add_event. */
static bool give(net *n, uint32_t i, jk_chain_endpoint ep, const uint8_t *blob, size_t len, const jk_ex_key *signer)
{
    jk_chain_trace t;
    jk_chain_trace_sign(signer->sk, &n->g.genesis_hash, blob, len, &t);
    jk_chain_event ev = {ep, blob, len};
    uint8_t *bytes;
    size_t blen;
    if (jk_node_event_encode(&ev, &t, 1, &bytes, &blen) != JK_OK)
        return false;
    bool ok = n->cb[i].add_event(n->apps[i], bytes, blen);
    free(bytes);
    return ok;
}

/* A certificate of validators 0..2 for the value id at (height, round). */
static void cert_of(const net *n, uint64_t height, uint32_t round, const jk_hash *id, jk_cons_cert *c)
{
    memset(c, 0, sizeof *c);
    c->height = height;
    c->round = round;
    c->value = *id;
    for (uint32_t i = 0; i < 3; i++) {
        jk_cons_vote v = {.type = JK_CONS_MSG_PRECOMMIT, .height = height, .round = round, .has_value = true,
                          .value = *id, .validator = i};
        jk_cons_vote_sign(&v, &n->g.genesis_hash, n->keys[i].sk);
        c->sigs[i].validator = i;
        memcpy(c->sigs[i].sig, v.sig, 64);
    }
    c->count = 3;
}

/* Height h, round 0, in two steps as the machine runs it: the proposer
 * produces (propose), then — after whatever the test delivers meanwhile —
 * every other node checks the value and everyone commits it (decide). */
typedef struct proposal {
    uint8_t *value;
    size_t len;
    uint64_t height;
} proposal;

static bool propose(net *n, uint64_t h, proposal *p)
{
    uint32_t who = jk_chain_proposer_index(V, h, 0);
    p->height = h;
    return n->cb[who].get_value(n->apps[who], h, 0, &p->value, &p->len) == JK_OK;
}

static bool decide(net *n, proposal *p)
{
    jk_hash id;
    n->cb[0].hash(n->apps[0], p->value, p->len, &id);
    bool ok = true;
    for (uint32_t i = 0; i < V; i++)
        if (!n->cb[i].valid(n->apps[i], p->height, p->value, p->len)) {
            jk_node_chain_app_stats st;
            jk_node_chain_app_stats_get(n->apps[i], &st);
            printf("height %llu: node %u refuses the value: %s\n", (unsigned long long)p->height, i, st.last_error);
            ok = false;
        }
    jk_cons_cert c;
    cert_of(n, p->height, 0, &id, &c);
    for (uint32_t i = 0; i < V && ok; i++)
        ok = n->cb[i].commit(n->apps[i], p->height, p->value, p->len, &c) == JK_OK;
    free(p->value);
    p->value = NULL;
    return ok;
}

static bool height(net *n, uint64_t h)
{
    proposal p;
    return propose(n, h, &p) && decide(n, &p);
}

static jk_cap chain_of(net *n, uint32_t i)
{
    return jk_node_chain_app_validator(n->apps[i])->ck->chain;
}

/* Every node: poll id's tallies, and the same state root. */
static void check_everywhere(net *n, uint64_t id, uint64_t yes, uint64_t no, int line)
{
    for (uint32_t i = 0; i < V; i++) {
        uint64_t d = 0, y = 0, nn = 0;
        if (!poll_record(chain_of(n, i), id, &d, &y, &nn) || y != yes || nn != no)
            jk_test_fail(__FILE__, line, "node %u: poll %llu has yes %llu no %llu, want %llu %llu", i,
                         (unsigned long long)id, (unsigned long long)y, (unsigned long long)nn,
                         (unsigned long long)yes, (unsigned long long)no);
        if (!jk_cap_equal(chain_of(n, i), chain_of(n, 0)))
            jk_test_fail(__FILE__, line, "node %u: another state root than node 0", i);
    }
}

static uint64_t consumed_at(net *n, uint32_t i)
{
    jk_node_chain_app_stats st;
    jk_node_chain_app_stats_get(n->apps[i], &st);
    return st.dispatch_consumed;
}

JK_TEST(test_poll_network_votes_after_the_proposer_produced)
{
    net n;
    JK_REQUIRE(net_open(&n, NULL));
    const jk_ex_key alice = jk_ex_key_of(1), bob = jk_ex_key_of(2), carol = jk_ex_key_of(3);
    const jk_chain_endpoint T = JK_CHAIN_ENDPOINT_TRANSACT, D0 = jk_chain_endpoint_dispatch(0);
    uint8_t b[64];
    /* height 1 (proposer 1): alice opens poll 7 for 20 blocks */
    JK_REQUIRE(give(&n, 1, T, b, open_blob(b, 7, &alice, 20), &alice));
    JK_REQUIRE(height(&n, 1));
    check_everywhere(&n, 7, 0, 0, __LINE__);
    /* height 2: its proposer (2) has produced when the votes arrive, at the
     * other nodes, which relay them to everyone (the proposer too) */
    proposal p;
    JK_REQUIRE(propose(&n, 2, &p));
    const uint32_t first[3] = {0, 3, 1};
    const jk_ex_key *voter[3] = {&alice, &bob, &carol};
    const uint8_t choice[3] = {1, 2, 1};
    for (int v = 0; v < 3; v++) {
        JK_REQUIRE(give(&n, first[v], D0, b, vote_blob(b, 7, voter[v], choice[v]), voter[v]));
        for (uint32_t i = 0; i < V; i++)
            if (i != first[v])
                JK_CHECK(give(&n, i, D0, b, vote_blob(b, 7, voter[v], choice[v]), voter[v]));
    }
    JK_REQUIRE(decide(&n, &p));
    check_everywhere(&n, 7, 0, 0, __LINE__); /* not in block 2: it was made before */
    for (uint32_t i = 0; i < V; i++)
        JK_CHECK_EQ(jk_node_chain_app_pending_count(n.apps[i]), 3); /* kept past the commit */
    /* height 3 (proposer 3): its process consumes the three votes; tally's
     * record is in the block; every node drops exactly those */
    JK_REQUIRE(height(&n, 3));
    check_everywhere(&n, 7, 2, 1, __LINE__);
    for (uint32_t i = 0; i < V; i++) {
        JK_CHECK_EQ(jk_node_chain_app_pending_count(n.apps[i]), 0);
        JK_CHECK_EQ(consumed_at(&n, i), 3);
    }
    /* A vote that reaches one non-proposer only (node 0, after proposer 1
     * of height 5 produced) waits there until node 0 proposes (height 8);
     * the others admit it from that block's dispatch part. */
    JK_REQUIRE(give(&n, 0, T, b, open_blob(b, 8, &bob, 20), &bob));
    JK_REQUIRE(height(&n, 4)); /* proposer 0: poll 8 opens */
    JK_REQUIRE(propose(&n, 5, &p));
    JK_REQUIRE(give(&n, 0, D0, b, vote_blob(b, 8, &carol, 2), &carol));
    JK_REQUIRE(decide(&n, &p));
    JK_REQUIRE(height(&n, 6));
    JK_REQUIRE(height(&n, 7));
    check_everywhere(&n, 8, 0, 0, __LINE__);
    JK_CHECK_EQ(jk_node_chain_app_pending_count(n.apps[0]), 1);
    JK_REQUIRE(height(&n, 8)); /* proposer 0 */
    check_everywhere(&n, 8, 0, 1, __LINE__);
    JK_CHECK_EQ(jk_node_chain_app_pending_count(n.apps[0]), 0);
    /* exactly once: later heights do not count it again */
    JK_REQUIRE(height(&n, 9));
    JK_REQUIRE(height(&n, 10));
    check_everywhere(&n, 7, 2, 1, __LINE__);
    check_everywhere(&n, 8, 0, 1, __LINE__);
    net_close(&n);
}

/* The poll chain built with -DPOLL_VIA_CERTIFY on four nodes: poll 7
 * opened at height 1, then three votes given to the proposer of height 2
 * only (node 2, before it produces): its tally batches them into the
 * queue. */
static bool net_open_votes_at_2(net *n)
{
    const char *defines[] = {"POLL_VIA_CERTIFY"};
    jk_sdk_options build = {0};
    build.opt = "-O2";
    build.defines = defines;
    build.define_count = 1;
    const jk_ex_key alice = jk_ex_key_of(1), bob = jk_ex_key_of(2), carol = jk_ex_key_of(3);
    const jk_chain_endpoint T = JK_CHAIN_ENDPOINT_TRANSACT, D0 = jk_chain_endpoint_dispatch(0);
    uint8_t b[64];
    return net_open(n, &build) && give(n, 1, T, b, open_blob(b, 7, &alice, 20), &alice) && height(n, 1) &&
           give(n, 2, D0, b, vote_blob(b, 7, &alice, 1), &alice) &&
           give(n, 2, D0, b, vote_blob(b, 7, &bob, 2), &bob) &&
           give(n, 2, D0, b, vote_blob(b, 7, &carol, 1), &carol);
}

JK_TEST(test_poll_network_queue_moves_to_the_next_proposer)
{
    net n;
    JK_REQUIRE(net_open_votes_at_2(&n));
    JK_REQUIRE(height(&n, 2)); /* tally batches them: the batch is queued */
    check_everywhere(&n, 7, 0, 0, __LINE__);
    for (uint32_t i = 0; i < V; i++) /* every node holds the queue, not only A */
        JK_CHECK_EQ(jk_node_chain_app_validator(n.apps[i])->ck->queued_count, 1);
    /* B restarts from a store of an earlier jark (its head record without
     * the queue, slot 3): the head block's dispatch part gives the queue
     * back */
    jk_node_chain_app_close(n.apps[3]);
    n.apps[3] = NULL;
    char d[PATH_MAX];
    snprintf(d, sizeof d, "%s/v3", n.dir);
    jk_diag diag = {{0}};
    jk_node_store st;
    JK_REQUIRE(jk_node_store_open(d, (size_t)1 << 32, &st, &diag) == JK_OK);
    jk_hash head;
    jk_cap record = jk_cap_null(), old = jk_cap_null();
    JK_REQUIRE(jk_cap_store_head(st.store, "head", &head, NULL) == JK_OK);
    JK_REQUIRE(jk_cap_store_load(st.store, &head, &record, NULL) == JK_OK);
    JK_CHECK(!jk_cap_is_null(jk_node_store_queue_get(record)));
    JK_REQUIRE(jk_cap_cnode_set(record, 3, jk_cap_null(), &old) == JK_OK);
    JK_REQUIRE(jk_cap_store_commit(st.store, "head", old, NULL, NULL) == JK_OK);
    jk_cap_release(record);
    jk_cap_release(old);
    jk_node_store_close(&st);
    JK_REQUIRE(jk_node_chain_app_open(d, n.keys[3].sk, &n.g, &n.apps[3], &diag) == JK_OK);
    jk_node_chain_app_bind(n.apps[3], &n.cb[3]);
    JK_CHECK(!jk_node_chain_app_validator(n.apps[3])->queue_restored);
    JK_CHECK_EQ(jk_node_chain_app_validator(n.apps[3])->ck->queued_count, 1);
    /* proposer B = 3 of height 3 feeds it to certify: the record */
    JK_REQUIRE(height(&n, 3));
    check_everywhere(&n, 7, 2, 1, __LINE__);
    for (uint32_t i = 0; i < V; i++)
        JK_CHECK_EQ(jk_node_chain_app_validator(n.apps[i])->ck->queued_count, 0);
    JK_REQUIRE(height(&n, 4));
    check_everywhere(&n, 7, 2, 1, __LINE__);
    net_close(&n);
}

/* A queue carried over a block whose process did not run is in no block:
 * a node restarted from its store takes it back from its head record
 * (src/node/store.c), so its next proposal consumes it and the others
 * accept it. Before the record, the restarted node took the queue from the
 * head block's dispatch part — empty here — and its proposal, which does
 * not consume the queue every other node holds, was refused. */
JK_TEST(test_poll_network_restart_restores_a_carried_queue)
{
    net n;
    JK_REQUIRE(net_open_votes_at_2(&n));
    proposal p;
    JK_REQUIRE(propose(&n, 2, &p)); /* tally batches them: the batch is queued */
    jk_hash id2;
    n.cb[0].hash(n.apps[0], p.value, p.len, &id2);
    JK_REQUIRE(decide(&n, &p));
    /* height 3 by its proposer (3) without process (as produce does when
     * process's output does not fit): the part consumes nothing, and the
     * queue is carried over the block */
    const jk_node_validator *v3 = jk_node_chain_app_validator(n.apps[3]);
    jk_chain_kernel *side;
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_chain_kernel_new(&n.g, v3->ck->chain, &side, &diag) == JK_OK);
    jk_chain_set_own_key(side, n.keys[3].sk);
    jk_chain_pooled *q;
    size_t qn;
    JK_REQUIRE(jk_chain_queue_get(v3->ck, &q, &qn) == JK_OK && qn == 1);
    JK_REQUIRE(jk_chain_set_queue(side, q, qn) == JK_OK);
    jk_chain_pooled_list_free(q, qn);
    jk_cons_cert c2;
    cert_of(&n, 2, 0, &id2, &c2);
    jk_hash last_commit;
    jk_cons_cert_hash(&c2, &last_commit);
    jk_chain_block blk;
    JK_REQUIRE(jk_chain_setup_cycle(side, &diag) == JK_OK);
    JK_REQUIRE(jk_chain_apply_block_produce(side, &v3->head_hash, 3, 0, &last_commit, &blk, &diag) == JK_OK);
    JK_CHECK(!blk.dispatch.ran);
    uint8_t *bytes;
    size_t blen;
    JK_REQUIRE(jk_chain_block_encode(&blk, &bytes, &blen) == JK_OK);
    p.height = 3;
    JK_REQUIRE(jk_node_value_encode(bytes, blen, &c2, &p.value, &p.len) == JK_OK);
    free(bytes);
    jk_chain_block_free(&blk);
    jk_chain_kernel_free(side);
    JK_REQUIRE(decide(&n, &p));
    for (uint32_t i = 0; i < V; i++)
        JK_CHECK_EQ(jk_node_chain_app_validator(n.apps[i])->ck->queued_count, 1);
    check_everywhere(&n, 7, 0, 0, __LINE__);
    /* the proposer of height 4 (node 0) restarts from its store */
    jk_node_chain_app_close(n.apps[0]);
    n.apps[0] = NULL;
    char d[PATH_MAX];
    snprintf(d, sizeof d, "%s/v0", n.dir);
    JK_REQUIRE(jk_node_chain_app_open(d, n.keys[0].sk, &n.g, &n.apps[0], &diag) == JK_OK);
    jk_node_chain_app_bind(n.apps[0], &n.cb[0]);
    JK_CHECK(jk_node_chain_app_validator(n.apps[0])->queue_restored);
    JK_CHECK_EQ(jk_node_chain_app_validator(n.apps[0])->ck->queued_count, 1);
    /* its proposal consumes the queue: every node accepts it, certify
     * records the batch */
    JK_REQUIRE(height(&n, 4));
    check_everywhere(&n, 7, 2, 1, __LINE__);
    for (uint32_t i = 0; i < V; i++)
        JK_CHECK_EQ(jk_node_chain_app_validator(n.apps[i])->ck->queued_count, 0);
    /* and again after a restart with an empty queue: nothing to restore
     * but an empty record */
    jk_node_chain_app_close(n.apps[1]);
    n.apps[1] = NULL;
    snprintf(d, sizeof d, "%s/v1", n.dir);
    JK_REQUIRE(jk_node_chain_app_open(d, n.keys[1].sk, &n.g, &n.apps[1], &diag) == JK_OK);
    jk_node_chain_app_bind(n.apps[1], &n.cb[1]);
    JK_CHECK(jk_node_chain_app_validator(n.apps[1])->queue_restored);
    JK_CHECK_EQ(jk_node_chain_app_validator(n.apps[1])->ck->queued_count, 0);
    JK_REQUIRE(height(&n, 5)); /* proposer 1 */
    check_everywhere(&n, 7, 2, 1, __LINE__);
    net_close(&n);
}

/* Bounds: a dispatch event no block can consume (its poll closed before
 * the node holding it proposed) waits JK_NODE_DISPATCH_MAX_AGE heights,
 * then goes; before the fix every dispatch event went at the next commit,
 * and with the fix but no age bound it would wait forever. */
JK_TEST(test_poll_network_unconsumable_vote_expires)
{
    net n;
    JK_REQUIRE(net_open(&n, NULL));
    const jk_ex_key alice = jk_ex_key_of(1), bob = jk_ex_key_of(2);
    uint8_t b[64];
    JK_REQUIRE(give(&n, 1, JK_CHAIN_ENDPOINT_TRANSACT, b, open_blob(b, 9, &alice, 2), &alice)); /* deadline 3 */
    JK_REQUIRE(height(&n, 1));
    JK_REQUIRE(height(&n, 2));
    /* admitted on head 2 at node 0 only; node 0 proposes height 4, when the
     * poll is closed: its verify refuses it there, nothing consumes it */
    JK_REQUIRE(give(&n, 0, jk_chain_endpoint_dispatch(0), b, vote_blob(b, 9, &bob, 1), &bob));
    for (uint64_t h = 3; h < 2 + JK_NODE_DISPATCH_MAX_AGE; h++) {
        JK_REQUIRE(height(&n, h));
        JK_CHECK_EQ(jk_node_chain_app_pending_count(n.apps[0]), 1);
    }
    JK_REQUIRE(height(&n, 2 + JK_NODE_DISPATCH_MAX_AGE));
    JK_CHECK_EQ(jk_node_chain_app_pending_count(n.apps[0]), 0);
    jk_node_chain_app_stats st;
    jk_node_chain_app_stats_get(n.apps[0], &st);
    JK_CHECK_EQ(st.dispatch_expired, 1);
    JK_CHECK_EQ(st.dispatch_consumed, 0);
    check_everywhere(&n, 9, 0, 0, __LINE__);
    net_close(&n);
}
