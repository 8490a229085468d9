/*
 * consensus.c — the devnet on real consensus (jark/devnet.h,
 * jk_devnet_consensus_run; docs/node.md "The devnet"): V Tendermint machines
 * (jark/consensus.h), each over its chain-backed application
 * (jk_node_chain_app: the validator's Kernel, store and archive), on a
 * deterministic simulated network.
 *
 * The network is the consensus simulator's (src/consensus/sim.c) on the real
 * chain: a heap of timed items ordered by (simulated ms, sequence number);
 * every SEND is delayed uniformly in [delay_min, delay_max] (so messages
 * reorder), and while the faults last it may be lost or duplicated, and
 * crosses the partition only after it heals. Crashed validators lose their
 * machine, Kernel, pool and pending timers, and restart from their stores
 * (head, archive, signed-vote records). Byzantine validators run an honest
 * machine whose outputs the network corrupts: votes re-signed for another
 * value to half the peers, proposals of blocks with a broken header, random
 * bytes. Everything is a function of the seed: splitmix64 draws in event
 * order, arrays scanned by index; wall time is only printed.
 *
 * Checks after every step: an honest validator's committed blocks are the
 * first honest ones at their heights, each with a certificate that proves it
 * final, and its chain state is its head block's state root (so equal
 * heights have equal roots); no honest validator signs two different votes
 * or proposals for one (height, round, step). Liveness: every honest
 * validator reaches the target within the simulated-time bound.
 */
#include "internal.h"

#include "jark/bytes.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

enum { JK_CS_DELIVER, JK_CS_TIMER, JK_CS_CRASH, JK_CS_RESTART };

typedef struct jk_cs_item {
    uint64_t time, seq;
    uint8_t kind;
    uint32_t node, from, inc;
    jk_cons_timer timer;
    uint8_t *bytes;
    size_t len;
} jk_cs_item;

/* What an honest validator signed (height, round, type) → value. */
typedef struct jk_cs_signed {
    uint64_t height;
    uint32_t round;
    uint8_t type;
    bool has_value;
    jk_hash value;
} jk_cs_signed;

typedef struct jk_cs jk_cs;

typedef struct jk_cs_event {
    uint8_t *bytes;
    size_t len;
} jk_cs_event;

typedef struct jk_cs_node {
    jk_cs *s;
    size_t fed;                  /* workload events handed to its pool */
    uint32_t index;
    bool byzantine;
    char dir[PATH_MAX];
    jk_node_chain_app *app;      /* NULL while crashed */
    jk_cons_machine *m;
    uint32_t inc;                /* incarnation: timers of an earlier one die */
    uint64_t checked;            /* heights the checker has seen committed */
    jk_cs_signed *sigs;
    size_t nsigs, capsigs;
    uint64_t bad;                /* Byzantine proposals corrupted */
} jk_cs_node;

struct jk_cs {
    const jk_devnet_options *o;
    jk_devnet_faults f;
    jk_devnet_cons_result *r;
    uint32_t v;
    jk_keypair keys[JK_DEVNET_MAX_VALIDATORS];
    jk_chain_genesis genesis;
    jk_cons_valset vs;
    jk_cons_timeouts timeouts;
    jk_cs_node nodes[JK_DEVNET_MAX_VALIDATORS];
    jk_cs_item *heap;
    size_t nheap, capheap;
    uint64_t seq, now, rng;
    uint64_t fault_end, part_start, part_end;
    uint8_t side[JK_DEVNET_MAX_VALIDATORS];
    /* the first honest commit per height (index h-1): block id, round */
    jk_hash *dec;
    uint32_t *dec_round;
    uint64_t ndec, capdec;
    uint64_t target;
    /* the workload: every event generated, in order */
    jk_cs_event *wl;
    size_t nwl, capwl, delivered;
    size_t *wl_end;              /* wl_end[h]: events of heights 1..h */
    uint64_t generated;
    jk_demo demo;
    jk_gossip gossip;
    const jk_spec_events *events;
    size_t next_event;
    jk_devnet_workload workload;
    double t_last;
    bool stop;
};

static double jk_cs_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

__attribute__((format(printf, 3, 4)))
static void jk_cs_violation(jk_cs *s, bool safety, const char *fmt, ...)
{
    if (safety)
        s->r->safety_ok = false;
    else
        s->r->liveness_ok = false;
    s->stop = true;
    if (s->r->violation[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->r->violation, sizeof s->r->violation, fmt, ap);
    va_end(ap);
}

static uint64_t jk_cs_below(jk_cs *s, uint64_t n)
{
    return n ? jk_devnet_next(&s->rng) % n : 0;
}

static bool jk_cs_chance(jk_cs *s, uint32_t permille)
{
    return jk_cs_below(s, 1000) < permille;
}

static bool jk_cs_less(const jk_cs_item *a, const jk_cs_item *b)
{
    return a->time != b->time ? a->time < b->time : a->seq < b->seq;
}

static jk_cs_item *jk_cs_push(jk_cs *s, uint64_t time, uint8_t kind, uint32_t node)
{
    if (s->nheap == s->capheap) {
        size_t cap = s->capheap ? 2 * s->capheap : 256;
        jk_cs_item *h = realloc(s->heap, cap * sizeof *h);
        if (!h)
            return NULL;
        s->heap = h;
        s->capheap = cap;
    }
    jk_cs_item it;
    memset(&it, 0, sizeof it);
    it.time = time;
    it.seq = s->seq++;
    it.kind = kind;
    it.node = node;
    size_t i = s->nheap++;
    while (i > 0 && jk_cs_less(&it, &s->heap[(i - 1) / 2])) {
        s->heap[i] = s->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->heap[i] = it;
    return &s->heap[i];
}

static jk_cs_item jk_cs_pop(jk_cs *s)
{
    jk_cs_item top = s->heap[0], last = s->heap[--s->nheap];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= s->nheap)
            break;
        if (c + 1 < s->nheap && jk_cs_less(&s->heap[c + 1], &s->heap[c]))
            c++;
        if (!jk_cs_less(&s->heap[c], &last))
            break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (s->nheap)
        s->heap[i] = last;
    return top;
}

/* ---- the network ---------------------------------------------------------- */

static bool jk_cs_faulty(const jk_cs *s) { return s->now < s->fault_end; }

static void jk_cs_transmit(jk_cs *s, uint32_t from, uint32_t to, const uint8_t *bytes, size_t len)
{
    if (from == to)
        return;
    bool faulty = jk_cs_faulty(s);
    uint64_t at = s->now + 2 + jk_cs_below(s, 30);
    if (faulty && s->f.partition && s->now >= s->part_start && s->now < s->part_end &&
        s->side[from] != s->side[to])
        at = s->part_end + jk_cs_below(s, 30); /* held until the heal */
    if (faulty && jk_cs_chance(s, s->f.drop_permille))
        return;
    int copies = faulty && jk_cs_chance(s, s->f.dup_permille) ? 2 : 1;
    for (int c = 0; c < copies; c++) {
        uint8_t *b = malloc(len ? len : 1);
        jk_cs_item *it = b ? jk_cs_push(s, at + (uint64_t)c * jk_cs_below(s, 20), JK_CS_DELIVER, to)
                           : NULL;
        if (!it) {
            free(b);
            return;
        }
        memcpy(b, bytes, len);
        it->from = from;
        it->bytes = b;
        it->len = len;
        s->r->sent++;
    }
}

/* An honest validator's signed message: the same (height, round, type)
 * twice with different values is a violation. */
static void jk_cs_watch_signed(jk_cs *s, jk_cs_node *n, const uint8_t *bytes, size_t len)
{
    jk_cons_msg msg;
    if (jk_cons_msg_decode(bytes, len, &msg, NULL) != JK_OK)
        return;
    jk_cs_signed sg;
    memset(&sg, 0, sizeof sg);
    if (msg.kind == JK_CONS_MSG_PROPOSAL) {
        if (msg.proposal.proposer != n->index)
            return; /* a re-gossip of another's proposal */
        sg.height = msg.proposal.height;
        sg.round = msg.proposal.round;
        sg.type = JK_CONS_MSG_PROPOSAL;
        sg.has_value = true;
        jk_cons_app app;
        jk_node_chain_app_bind(n->app, &app);
        app.hash(app.ctx, msg.proposal.value, msg.proposal.value_len, &sg.value);
    } else if (msg.kind == JK_CONS_MSG_PREVOTE || msg.kind == JK_CONS_MSG_PRECOMMIT) {
        if (msg.vote.validator != n->index)
            return;
        sg.height = msg.vote.height;
        sg.round = msg.vote.round;
        sg.type = msg.kind;
        sg.has_value = msg.vote.has_value;
        sg.value = msg.vote.value;
    } else {
        return;
    }
    for (size_t i = 0; i < n->nsigs; i++) {
        const jk_cs_signed *o = &n->sigs[i];
        if (o->height == sg.height && o->round == sg.round && o->type == sg.type) {
            if (o->has_value != sg.has_value || memcmp(o->value.bytes, sg.value.bytes, 32) != 0)
                jk_cs_violation(s, true, "validator %u signed two different messages of kind %u "
                                "at height %" PRIu64 " round %u", n->index, sg.type, sg.height,
                                sg.round);
            return;
        }
    }
    if (n->nsigs == n->capsigs) {
        size_t cap = n->capsigs ? 2 * n->capsigs : 64;
        jk_cs_signed *p = realloc(n->sigs, cap * sizeof *p);
        if (!p)
            return;
        n->sigs = p;
        n->capsigs = cap;
    }
    n->sigs[n->nsigs++] = sg;
}

/* A Byzantine validator's SEND, corrupted (see the file comment). */
static void jk_cs_byzantine_send(jk_cs *s, jk_cs_node *n, uint32_t to, const uint8_t *bytes,
                                 size_t len)
{
    jk_cons_msg msg;
    uint8_t *out = NULL;
    size_t out_len = 0;
    if (jk_cons_msg_decode(bytes, len, &msg, NULL) == JK_OK) {
        if ((msg.kind == JK_CONS_MSG_PREVOTE || msg.kind == JK_CONS_MSG_PRECOMMIT) && to % 2 == 1) {
            /* equivocate: the odd half hears a vote for another value */
            msg.vote.has_value = true;
            for (int i = 0; i < 32; i++)
                msg.vote.value.bytes[i] = (uint8_t)jk_devnet_next(&s->rng);
            jk_cons_vote_sign(&msg.vote, &s->genesis.genesis_hash, s->keys[n->index].sk);
            jk_cons_msg_encode(&msg, &out, &out_len);
        } else if (msg.kind == JK_CONS_MSG_PROPOSAL && msg.proposal.proposer == n->index &&
                   msg.proposal.value_len >= JK_CHAIN_HEADER_SIZE) {
            /* an invalid proposal: a header whose state root is wrong */
            uint8_t *v = malloc(msg.proposal.value_len);
            jk_chain_header h;
            if (v) {
                memcpy(v, msg.proposal.value, msg.proposal.value_len);
                v[80] ^= 1;
                jk_hash id;
                if (jk_chain_header_decode(v, JK_CHAIN_HEADER_SIZE, &h, NULL) == JK_OK) {
                    jk_chain_header_hash(&h, &id);
                    msg.proposal.value = v;
                    jk_cons_proposal_sign(&msg.proposal, &s->genesis.genesis_hash, &id,
                                          s->keys[n->index].sk);
                    jk_cons_msg_encode(&msg, &out, &out_len);
                }
                free(v);
                n->bad++;
            }
        }
    }
    jk_cs_transmit(s, n->index, to, out ? out : bytes, out ? out_len : len);
    free(out);
    if (jk_cs_chance(s, 50)) { /* garbage */
        uint8_t junk[64];
        size_t jl = 1 + jk_cs_below(s, sizeof junk);
        for (size_t i = 0; i < jl; i++)
            junk[i] = (uint8_t)jk_devnet_next(&s->rng);
        junk[0] = (uint8_t)(1 + jk_cs_below(s, 6));
        jk_cs_transmit(s, n->index, to, junk, jl);
    }
}

/* ---- a validator's life --------------------------------------------------- */

static jk_err jk_cs_drain(jk_cs *s, jk_cs_node *n)
{
    size_t count;
    const jk_cons_out *outs = jk_cons_outputs(n->m, &count);
    jk_err err = JK_OK;
    for (size_t i = 0; i < count && err == JK_OK; i++) {
        const jk_cons_out *out = &outs[i];
        jk_diag diag = {{0}};
        switch (out->kind) {
        case JK_CONS_OUT_PERSIST:
        case JK_CONS_OUT_PERSIST_POL:
            err = jk_node_chain_app_persist(n->app, out, &diag);
            break;
        case JK_CONS_OUT_EVIDENCE:
            s->r->evidence++;
            break;
        case JK_CONS_OUT_TIMER: {
            jk_cs_item *it = jk_cs_push(s, s->now + out->timer.delay_ms, JK_CS_TIMER, n->index);
            if (!it)
                return JK_ERR_NOMEM;
            it->timer = out->timer;
            it->inc = n->inc;
            break;
        }
        case JK_CONS_OUT_SEND:
            if (!n->byzantine)
                jk_cs_watch_signed(s, n, out->bytes, out->len);
            for (uint32_t to = 0; to < s->v; to++) {
                if (out->peer != JK_CONS_ALL && out->peer != to)
                    continue;
                if (n->byzantine)
                    jk_cs_byzantine_send(s, n, to, out->bytes, out->len);
                else
                    jk_cs_transmit(s, n->index, to, out->bytes, out->len);
            }
            break;
        }
    }
    jk_cons_outputs_clear(n->m);
    return err;
}

static void jk_cs_crash(jk_cs_node *n)
{
    jk_cons_machine_free(n->m);
    jk_node_chain_app_close(n->app);
    n->m = NULL;
    n->app = NULL;
    n->inc++;
}

static void jk_cs_produce_hook(void *ctx, uint64_t height);

static jk_err jk_cs_open(jk_cs *s, jk_cs_node *n, jk_diag *diag)
{
    jk_err err = jk_node_chain_app_open(n->dir, s->keys[n->index].sk, &s->genesis, &n->app, diag);
    if (err != JK_OK)
        return err;
    jk_node_chain_app_set_produce_hook(n->app, jk_cs_produce_hook, n);
    /* a fresh pool: the workload past its head is handed over again */
    uint64_t h = jk_node_chain_app_validator(n->app)->height;
    n->fed = s->generated == 0 ? 0 : s->wl_end[h < s->generated ? h : s->generated];
    return JK_OK;
}

/* Open (unless open) and start the machine from the stores. */
static jk_err jk_cs_start(jk_cs *s, jk_cs_node *n, jk_diag *diag)
{
    jk_err err = n->app ? JK_OK : jk_cs_open(s, n, diag);
    if (err == JK_OK)
        jk_node_chain_app_set_height_limit(n->app, s->target);
    if (err == JK_OK)
        err = jk_node_chain_app_machine(n->app, &s->timeouts, &s->vs, &n->m, diag);
    n->inc++;
    if (err == JK_OK)
        err = jk_cons_start(n->m);
    if (err == JK_OK)
        err = jk_cs_drain(s, n);
    return err;
}

/* ---- the workload --------------------------------------------------------- */

/* Generate the workload's events up to height h (encoded for gossip). */
static jk_err jk_cs_generate(jk_cs *s, uint64_t h)
{
    jk_gossip *g = &s->gossip;
    while (s->generated < h) {
        uint64_t height = s->generated + 1;
        g->n = 0;
        if (s->workload == JK_DEVNET_WORKLOAD_DEMO) {
            jk_demo_block(&s->demo, &s->genesis.genesis_hash, height, s->o->events_per_block, g);
        } else if (s->workload == JK_DEVNET_WORKLOAD_EVENTS) {
            for (; g->n < s->o->events_per_block && s->next_event < s->events->count;
                 g->n++, s->next_event++) {
                const jk_spec_event *e = &s->events->events[s->next_event];
                g->events[g->n] = (jk_chain_event){e->endpoint, e->blob, e->blob_len};
                g->trace_ptrs[g->n] = e->traces;
                g->counts[g->n] = e->trace_count;
            }
        }
        if (s->nwl + g->n > s->capwl) {
            size_t cap = 2 * (s->nwl + g->n) + 64;
            jk_cs_event *w = realloc(s->wl, cap * sizeof *w);
            if (!w)
                return JK_ERR_NOMEM;
            s->wl = w;
            s->capwl = cap;
        }
        for (size_t e = 0; e < g->n; e++) {
            jk_cs_event *w = &s->wl[s->nwl];
            /* an event over the gossip bound is not this devnet's workload */
            if (jk_node_event_encode(&g->events[e], g->trace_ptrs[e], g->counts[e], &w->bytes,
                                     &w->len) == JK_OK)
                s->nwl++;
        }
        size_t *ends = realloc(s->wl_end, (height + 1) * sizeof *ends);
        if (!ends)
            return JK_ERR_NOMEM;
        s->wl_end = ends;
        ends[0] = 0;
        ends[height] = s->nwl;
        s->generated = height;
    }
    return JK_OK;
}

/* The produce hook: a client hands height h's events (and any earlier this
 * validator has not had) to the proposer before it reads its pool. */
static void jk_cs_produce_hook(void *ctx, uint64_t height)
{
    jk_cs_node *n = ctx;
    jk_cs *s = n->s;
    if (jk_cs_generate(s, height) != JK_OK)
        return;
    for (; n->fed < s->nwl; n->fed++)
        jk_node_chain_app_add_event(n->app, s->wl[n->fed].bytes, s->wl[n->fed].len);
}

/* Events generated since the last call, broadcast to every live validator
 * (which verifies them into its pool and gossips them on). */
static jk_err jk_cs_broadcast(jk_cs *s)
{
    jk_err err = JK_OK;
    for (; s->delivered < s->nwl && err == JK_OK; s->delivered++) {
        const jk_cs_event *w = &s->wl[s->delivered];
        for (uint32_t i = 0; i < s->v && err == JK_OK; i++) {
            jk_cs_node *n = &s->nodes[i];
            if (!n->m)
                continue;
            err = jk_cons_on_event(n->m, w->bytes, w->len);
            if (err == JK_OK)
                err = jk_cs_drain(s, n);
        }
    }
    return err;
}

/* ---- the checks ----------------------------------------------------------- */

static void jk_cs_hex8(const jk_hash *h, char out[17])
{
    for (int i = 0; i < 8; i++)
        snprintf(out + 2 * i, 3, "%02x", h->bytes[i]);
}

/* New commits of validator n: certificate, agreement, state root. */
static void jk_cs_check(jk_cs *s, jk_cs_node *n)
{
    jk_node_validator *val = jk_node_chain_app_validator(n->app);
    jk_node_archive *arch = jk_node_chain_app_archive(n->app);
    for (uint64_t h = n->checked + 1; h <= val->height && !s->stop; h++) {
        jk_hash id;
        jk_cons_cert cert;
        uint8_t *block = NULL;
        size_t len = 0;
        jk_diag diag = {{0}};
        if (jk_node_archive_get(arch, h, &id, &block, &len, &cert, &diag) != JK_OK) {
            jk_cs_violation(s, true, "validator %u: height %" PRIu64 " committed but not archived: %s",
                            n->index, h, diag.msg);
            free(block);
            return;
        }
        if (jk_cons_cert_check(&cert, &s->genesis.genesis_hash, &s->vs, h, &id, &diag) != JK_OK)
            jk_cs_violation(s, true, "validator %u: block %" PRIu64 " without a valid certificate: %s",
                            n->index, h, diag.msg);
        jk_chain_block b;
        memset(&b, 0, sizeof b);
        bool decoded = jk_chain_block_decode(block, len, &b, NULL) == JK_OK;
        if (!decoded)
            jk_cs_violation(s, true, "validator %u: block %" PRIu64 " does not decode", n->index, h);
        if (decoded && h == val->height) {
            jk_hash root;
            jk_node_chain_app_root(n->app, &root);
            if (memcmp(root.bytes, b.header.state_root.bytes, 32) != 0)
                jk_cs_violation(s, true, "validator %u: state at height %" PRIu64 " is not its "
                                "block's state root", n->index, h);
        }
        if (!n->byzantine && decoded) {
            if (h > s->ndec) {
                if (s->ndec == s->capdec) {
                    uint64_t cap = s->capdec ? 2 * s->capdec : 64;
                    jk_hash *d = realloc(s->dec, cap * sizeof *d);
                    if (d)
                        s->dec = d;
                    uint32_t *dr = realloc(s->dec_round, cap * sizeof *dr);
                    if (dr)
                        s->dec_round = dr;
                    if (!d || !dr) {
                        jk_chain_block_free(&b);
                        free(block);
                        s->stop = true;
                        return;
                    }
                    s->capdec = cap;
                }
                s->dec[s->ndec] = id;
                s->dec_round[s->ndec] = cert.round;
                s->ndec++;
                s->r->rounds += cert.round + 1;
                if (cert.round > s->r->max_round)
                    s->r->max_round = cert.round;
                s->r->base.events += b.event_count;
                s->r->base.traces += b.trace_count;
                if (!s->o->quiet) {
                    char hex[17];
                    jk_cs_hex8(&b.header.state_root, hex);
                    double t = jk_cs_ms();
                    printf("block %" PRIu64 " proposer %u round %u events %zu traces %zu root %s "
                           "%.1f ms\n", h, b.header.proposer, b.header.round, b.event_count,
                           b.trace_count, hex, t - s->t_last);
                    fflush(stdout);
                    s->t_last = t;
                }
            } else if (memcmp(s->dec[h - 1].bytes, id.bytes, 32) != 0) {
                jk_cs_violation(s, true, "agreement: validators %u and another committed "
                                "different blocks at height %" PRIu64, n->index, h);
            }
        }
        jk_chain_block_free(&b);
        free(block);
    }
    if (val->height > n->checked)
        n->checked = val->height;
}

/* ---- the run -------------------------------------------------------------- */

static void jk_cs_schedule_faults(jk_cs *s)
{
    uint32_t f = (s->v - 1) / 3;
    for (uint32_t i = 0; i < s->v; i++)
        s->nodes[i].byzantine = i < s->f.byzantine && i < f;
    s->fault_end = s->f.fault_ms ? s->f.fault_ms : 4000;
    if (s->f.partition) {
        s->part_start = jk_cs_below(s, s->fault_end / 2);
        s->part_end = s->part_start + s->fault_end / 4 + jk_cs_below(s, s->fault_end / 4);
        for (uint32_t i = 0; i < s->v; i++)
            s->side[i] = (uint8_t)(i % 2);
    }
    for (uint32_t c = 0; c < s->f.crashes; c++) {
        /* honest validators crash (the Byzantine ones are faulty already) */
        uint32_t who = s->f.byzantine + (uint32_t)jk_cs_below(s, s->v - s->f.byzantine);
        uint64_t at = 100 + jk_cs_below(s, s->fault_end);
        jk_cs_item *it = jk_cs_push(s, at, JK_CS_CRASH, who);
        jk_cs_item *back = jk_cs_push(s, at + 200 + jk_cs_below(s, 1500), JK_CS_RESTART, who);
        if (!it || !back)
            return;
    }
}

static bool jk_cs_done(jk_cs *s)
{
    for (uint32_t i = 0; i < s->v; i++) {
        const jk_cs_node *n = &s->nodes[i];
        if (n->byzantine)
            continue;
        if (!n->app || jk_node_chain_app_validator(n->app)->height < s->target)
            return false;
    }
    return true;
}

static uint64_t jk_cs_min_height(jk_cs *s)
{
    uint64_t low = UINT64_MAX;
    for (uint32_t i = 0; i < s->v; i++)
        if (s->nodes[i].app && !s->nodes[i].byzantine) {
            uint64_t h = jk_node_chain_app_validator(s->nodes[i].app)->height;
            low = h < low ? h : low;
        }
    return low == UINT64_MAX ? 0 : low;
}

static jk_err jk_cs_step(jk_cs *s, jk_cs_item *it, jk_diag *diag)
{
    jk_cs_node *n = &s->nodes[it->node];
    jk_err err = JK_OK;
    switch (it->kind) {
    case JK_CS_DELIVER:
        if (!n->m)
            break;
        s->r->delivered++;
        err = jk_cons_on_message(n->m, it->from, it->bytes, it->len, NULL);
        if (err == JK_ERR_CONS_DECODE || err == JK_ERR_CONS_SIG || err == JK_ERR_CONS_MEMBER ||
            err == JK_ERR_CONS_CERT || err == JK_ERR_CONS_VALUE)
            err = JK_OK; /* a peer's bad message: a real node drops the peer */
        if (err == JK_OK)
            err = jk_cs_drain(s, n);
        break;
    case JK_CS_TIMER:
        if (!n->m || it->inc != n->inc)
            break;
        err = jk_cons_on_timer(n->m, &it->timer);
        if (err == JK_OK)
            err = jk_cs_drain(s, n);
        break;
    case JK_CS_CRASH:
        if (n->m) {
            jk_cs_crash(n);
            s->r->crashes++;
        }
        break;
    case JK_CS_RESTART:
        if (!n->m)
            err = jk_cs_start(s, n, diag);
        break;
    }
    if (err != JK_OK && n->app) {
        jk_node_chain_app_stats st;
        jk_node_chain_app_stats_get(n->app, &st);
        if (!diag->msg[0])
            jk_diag_set(diag, err, "validator %u: %s (%s)", n->index, jk_strerror(err), st.last_error);
    }
    return err;
}

/* Keys, spec, genesis: as jk_devnet_run. Returns 0 or 2 (r->base.reason). */
static int jk_cs_setup(jk_cs *s, jk_spec_file *own, jk_diag *diag)
{
    const jk_devnet_options *o = s->o;
    jk_err e = o->spec_path ? jk_spec_file_load(o->spec_path, o->build, own, diag)
                            : jk_devnet_load_demo(own, diag);
    if (e != JK_OK)
        return 2;
    jk_spec_file spec = *own;
    if (!o->spec_path)
        memset(own, 0, sizeof *own); /* the demo's stays cached */
    if (s->workload == JK_DEVNET_WORKLOAD_DEMO)
        jk_demo_init(&s->demo, o->seed, &spec.spec);
    static uint8_t keys[JK_DEVNET_MAX_VALIDATORS][32];
    if (o->validator_key_count == 0) {
        s->v = o->validators;
        for (uint32_t i = 0; i < s->v; i++)
            jk_devnet_derive_key("validator", o->seed, i, &s->keys[i]);
    } else {
        if (o->validator_key_count != spec.spec.validator_count ||
            spec.spec.validator_count > JK_DEVNET_MAX_VALIDATORS) {
            jk_diag_set(diag, JK_ERR_INVALID_ARG, "give every validator's key, in the spec's order");
            return 2;
        }
        s->v = spec.spec.validator_count;
        for (uint32_t i = 0; i < s->v; i++) {
            if (memcmp(o->validator_keys[i].public_key, spec.spec.validators[i], 32) != 0) {
                jk_diag_set(diag, JK_ERR_INVALID_ARG, "validator key %u is not the spec's", i);
                return 2;
            }
            memcpy(s->keys[i].pk, o->validator_keys[i].public_key, 32);
            memcpy(s->keys[i].sk, o->validator_keys[i].secret, 64);
        }
    }
    for (uint32_t i = 0; i < s->v; i++)
        memcpy(keys[i], s->keys[i].pk, 32);
    spec.spec.validators = (const uint8_t(*)[32])keys;
    spec.spec.validator_count = s->v;
    if (jk_chain_genesis_build(&spec.spec, &s->genesis, diag) != JK_OK)
        return 2;
    s->r->base.genesis = s->genesis.genesis_hash;
    if (s->events && memcmp(s->events->genesis.bytes, s->genesis.genesis_hash.bytes, 32) != 0) {
        char want[17], got[17];
        jk_cs_hex8(&s->genesis.genesis_hash, want);
        jk_cs_hex8(&s->events->genesis, got);
        jk_diag_set(diag, JK_ERR_INVALID_ARG, "the events were signed for genesis %s..., this "
                    "chain's is %s...", got, want);
        return 2;
    }
    s->vs.count = s->v;
    for (uint32_t i = 0; i < s->v; i++)
        memcpy(s->vs.keys[i], s->keys[i].pk, 32);
    return 0;
}

int jk_devnet_consensus_run(const jk_devnet_options *o, const jk_devnet_faults *faults,
                            jk_devnet_cons_result *r)
{
    memset(r, 0, sizeof *r);
    r->safety_ok = r->liveness_ok = true;
    jk_devnet_workload workload = o->workload;
    if (workload == JK_DEVNET_WORKLOAD_DEFAULT)
        workload = o->events ? JK_DEVNET_WORKLOAD_EVENTS : !o->spec_path ? JK_DEVNET_WORKLOAD_DEMO
                                                                          : JK_DEVNET_WORKLOAD_NONE;
    jk_devnet_faults none;
    memset(&none, 0, sizeof none);
    if (!faults)
        faults = &none;
    uint32_t vcount = o->validator_key_count ? o->validator_key_count : o->validators;
    if (vcount < 1 || vcount > JK_DEVNET_MAX_VALIDATORS ||
        o->events_per_block > JK_DEVNET_MAX_EVENTS_PER_BLOCK || !o->dir ||
        (workload == JK_DEVNET_WORKLOAD_EVENTS) != (o->events != NULL) ||
        faults->byzantine > (vcount - 1) / 3 || faults->drop_permille > 900 ||
        faults->dup_permille > 1000) {
        snprintf(r->base.reason, sizeof r->base.reason,
                 "1..%d validators, at most %d events per block, a directory, an events list "
                 "exactly with the events workload, at most f = (V-1)/3 Byzantine, drop <= 0.9",
                 JK_DEVNET_MAX_VALIDATORS, JK_DEVNET_MAX_EVENTS_PER_BLOCK);
        return 2;
    }
    mkdir(o->dir, 0755);
    jk_cs *s = calloc(1, sizeof *s);
    jk_spec_file own;
    memset(&own, 0, sizeof own);
    jk_diag diag = {{0}};
    int rc = 1;
    double t0 = jk_cs_ms();
    if (!s || jk_crypto_init() != JK_OK) {
        snprintf(r->base.reason, sizeof r->base.reason, "out of memory");
        free(s);
        return 1;
    }
    s->o = o;
    s->f = *faults;
    s->r = r;
    s->workload = workload;
    s->events = o->events;
    s->rng = faults->net_seed ? faults->net_seed : o->seed ^ 0x6a61726b6e6574ull;
    s->timeouts = (jk_cons_timeouts){.propose_ms = 300, .propose_delta_ms = 100,
                                     .prevote_ms = 150, .prevote_delta_ms = 50,
                                     .precommit_ms = 150, .precommit_delta_ms = 50,
                                     .tick_ms = 700};
    if ((rc = jk_cs_setup(s, &own, &diag)) != 0) {
        snprintf(r->base.reason, sizeof r->base.reason, "%s", diag.msg[0] ? diag.msg : "setup failed");
        goto out;
    }
    rc = 1;
    jk_err err = JK_OK;
    for (uint32_t i = 0; i < s->v && err == JK_OK; i++) {
        jk_cs_node *n = &s->nodes[i];
        n->index = i;
        n->s = s;
        snprintf(n->dir, sizeof n->dir, "%.4000s/validator-%u", o->dir, i);
    }
    jk_cs_schedule_faults(s);
    for (uint32_t i = 0; i < s->v && err == JK_OK; i++)
        err = jk_cs_open(s, &s->nodes[i], &diag);
    if (err != JK_OK)
        goto fail;
    uint64_t start = jk_cs_min_height(s);
    for (uint32_t i = 0; i < s->v; i++)
        s->nodes[i].checked = jk_node_chain_app_validator(s->nodes[i].app)->height;
    s->ndec = 0;
    s->target = o->to_height ? o->to_height : start + o->blocks;
    r->start = start;
    /* the generator replays the heights already made (it must know the nonces) */
    if (err == JK_OK)
        err = jk_cs_generate(s, start);
    s->delivered = s->nwl;
    for (uint32_t i = 0; i < s->v; i++) {
        uint64_t h = jk_node_chain_app_validator(s->nodes[i].app)->height;
        s->nodes[i].fed = s->wl_end ? s->wl_end[h < start ? h : start] : 0;
    }
    /* the first honest commit of a height fills dec[h - 1]: heights below the
     * start are not re-checked */
    if (start > 0) {
        s->dec = calloc(start, sizeof *s->dec);
        s->dec_round = calloc(start, sizeof *s->dec_round);
        if (!s->dec || !s->dec_round) {
            err = JK_ERR_NOMEM;
            goto fail;
        }
        s->capdec = s->ndec = start;
        for (uint32_t i = 0; i < s->v; i++)
            s->nodes[i].checked = start < s->nodes[i].checked ? start : s->nodes[i].checked;
        for (uint64_t h = 1; h <= start; h++) {
            jk_node_archive_get(jk_node_chain_app_archive(s->nodes[0].app), h, &s->dec[h - 1], NULL,
                                NULL, NULL, NULL);
        }
    }
    if (!o->quiet) {
        char hex[2 * JK_HASH_SIZE + 1], root[17];
        jk_hash r0;
        jk_hex_encode(s->genesis.genesis_hash.bytes, JK_HASH_SIZE, hex);
        jk_node_chain_app_root(s->nodes[0].app, &r0);
        jk_cs_hex8(&r0, root);
        static const char *const names[] = {"", "demo", "events", "none"};
        printf("devnet: %u validators, genesis %s, state %s at height %" PRIu64 ", workload %s, "
               "stores under %s\n", s->v, hex, root, start, names[workload], o->dir);
        printf("devnet: consensus on a simulated network: drop %.2f, dup %.2f, partition %s, "
               "crashes %u, byzantine %u\n", faults->drop_permille / 1000.0,
               faults->dup_permille / 1000.0, faults->partition ? "yes" : "no", faults->crashes,
               faults->byzantine);
        fflush(stdout);
    }
    t0 = jk_cs_ms();
    s->t_last = t0;
    for (uint32_t i = 0; i < s->v && err == JK_OK; i++)
        err = jk_cs_start(s, &s->nodes[i], &diag);
    for (uint32_t i = 0; i < s->v && err == JK_OK; i++)
        jk_cs_check(s, &s->nodes[i]); /* one validator decides alone at once */
    /* liveness bound: generous simulated time per height, after the faults */
    uint64_t deadline = s->fault_end + 3000 + (s->target - start) * 5000;
    while (err == JK_OK && !s->stop && s->nheap > 0 && !jk_cs_done(s)) {
        jk_cs_item it = jk_cs_pop(s);
        s->now = it.time;
        if (s->now > deadline) {
            free(it.bytes);
            jk_cs_violation(s, false, "liveness: not every honest validator reached height %" PRIu64
                            " by %" PRIu64 " simulated ms", s->target, deadline);
            break;
        }
        err = jk_cs_step(s, &it, &diag);
        free(it.bytes);
        if (err == JK_OK && s->nodes[it.node].app)
            jk_cs_check(s, &s->nodes[it.node]);
        if (err == JK_OK)
            err = jk_cs_broadcast(s);
    }
    if (err == JK_OK && !s->stop && !jk_cs_done(s))
        jk_cs_violation(s, false, "liveness: the network went quiet before height %" PRIu64, s->target);
fail:
    if (err != JK_OK)
        snprintf(r->base.reason, sizeof r->base.reason, "%s", diag.msg[0] ? diag.msg : jk_strerror(err));
    else if (r->violation[0])
        snprintf(r->base.reason, sizeof r->base.reason, "%s", r->violation);
    r->base.seconds = (jk_cs_ms() - t0) / 1e3;
    r->sim_ms = s->now;
    r->base.height = s->ndec;
    r->base.agree = r->safety_ok;
    for (uint32_t i = 0; i < s->v; i++)
        if (s->nodes[i].app && !s->nodes[i].byzantine) {
            jk_node_chain_app_root(s->nodes[i].app, &r->base.root);
            break;
        }
    rc = err == JK_OK && r->safety_ok && r->liveness_ok ? 0 : 1;
out:
    for (uint32_t i = 0; i < JK_DEVNET_MAX_VALIDATORS; i++) {
        jk_cs_crash(&s->nodes[i]);
        free(s->nodes[i].sigs);
    }
    for (size_t i = 0; i < s->nheap; i++)
        free(s->heap[i].bytes);
    free(s->heap);
    free(s->dec);
    free(s->dec_round);
    for (size_t i = 0; i < s->nwl; i++)
        free(s->wl[i].bytes);
    free(s->wl);
    free(s->wl_end);
    jk_cap_release(s->genesis.chain);
    jk_crypto_wipe(s->keys, sizeof s->keys);
    jk_spec_file_free(&own);
    free(s);
    return rc;
}
