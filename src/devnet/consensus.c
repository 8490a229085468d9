/*
 * consensus.c — the devnet on real consensus (jark/devnet.h,
 * jk_devnet_consensus_run; docs/node.md "The devnet"): V Tendermint machines
 * (jark/consensus.h), each over its chain-backed application
 * (jk_node_chain_app: the validator's Kernel, store and archive), on a
 * deterministic simulated network.
 *
 * The network is the consensus simulator's (src/consensus/sim.c) on the real
 * chain: its schedule jk_cons_sim_queue, ordered by (simulated ms, push order);
 * every SEND is delayed uniformly in [delay_min, delay_max] (so messages
 * reorder), and while the faults last it may be lost or duplicated, and
 * crosses the partition only after it heals. Crashed validators lose their
 * machine, Kernel, pool and pending timers, and restart from their stores
 * (head, archive, signed-vote records). Byzantine validators run an honest
 * machine whose outputs the network corrupts: votes re-signed for another
 * value to half the peers, proposals of blocks with a broken header or with
 * a LastCommit one signature short of 2f+1, random bytes. Everything is a
 * function of the seed: splitmix64 draws in event order, arrays scanned by
 * index; wall time is only printed.
 *
 * Checks after every step: an honest validator's committed blocks are the
 * first honest ones at their heights, each with a certificate that proves it
 * final, and its chain state is its head block's state root (so equal
 * heights have equal roots); no honest validator signs two different votes
 * or proposals for one (height, round, step). Liveness: every honest
 * validator reaches the target within the simulated-time bound.
 */
#include "consensus_internal.h"

#include "jark/bytes.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static double jk_cs_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
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
        case JK_CONS_OUT_EVIDENCE: /* kept in the validator's store */
            s->r->evidence++;
            err = jk_node_chain_app_persist(n->app, out, &diag);
            break;
        case JK_CONS_OUT_TIMER: {
            jk_cs_item *it = jk_cons_sim_queue_push(&s->queue, s->now + out->timer.delay_ms,
                                                    JK_CS_TIMER, n->index);
            if (!it)
                return JK_ERR_NOMEM;
            it->timer = out->timer;
            it->inc = n->inc;
            break;
        }
        case JK_CONS_OUT_SEND:
            if (!n->byzantine)
                jk_devnet_cs_watch_signed(s, n, out->bytes, out->len);
            for (uint32_t to = 0; to < s->v; to++) {
                if (out->peer != JK_CONS_ALL && out->peer != to)
                    continue;
                if (n->byzantine)
                    jk_devnet_cs_byzantine_send(s, n, to, out->bytes, out->len);
                else
                    jk_devnet_cs_transmit(s, n->index, to, out->bytes, out->len);
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
    jk_node_chain_app_set_debug(n->app, s->o->debug);
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
            jk_devnet_demo_block(&s->demo, &s->genesis.genesis_hash, height, s->o->events_per_block, g);
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
            jk_devnet_cs_violation(s, true, "validator %u: height %" PRIu64 " committed but not archived: %s",
                            n->index, h, diag.msg);
            free(block);
            return;
        }
        if (jk_cons_cert_check(&cert, &s->genesis.genesis_hash, &s->vs, h, &id, &diag) != JK_OK)
            jk_devnet_cs_violation(s, true, "validator %u: block %" PRIu64 " without a valid certificate: %s",
                            n->index, h, diag.msg);
        jk_chain_block b;
        memset(&b, 0, sizeof b);
        bool decoded = jk_chain_block_decode(block, len, &b, NULL) == JK_OK;
        if (!decoded)
            jk_devnet_cs_violation(s, true, "validator %u: block %" PRIu64 " does not decode", n->index, h);
        if (decoded && h == val->height) {
            jk_hash root;
            jk_node_chain_app_root(n->app, &root);
            if (memcmp(root.bytes, b.header.state_root.bytes, 32) != 0)
                jk_devnet_cs_violation(s, true, "validator %u: state at height %" PRIu64 " is not its "
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
                jk_devnet_cs_violation(s, true, "agreement: validators %u and another committed "
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
        s->part_start = jk_devnet_cs_below(s, s->fault_end / 2);
        s->part_end = s->part_start + s->fault_end / 4 + jk_devnet_cs_below(s, s->fault_end / 4);
        for (uint32_t i = 0; i < s->v; i++)
            s->side[i] = (uint8_t)(i % 2);
    }
    for (uint32_t c = 0; c < s->f.crashes; c++) {
        /* honest validators crash (the Byzantine ones are faulty already) */
        uint32_t who = s->f.byzantine + (uint32_t)jk_devnet_cs_below(s, s->v - s->f.byzantine);
        uint64_t at = 100 + jk_devnet_cs_below(s, s->fault_end);
        jk_cs_item *it = jk_cons_sim_queue_push(&s->queue, at, JK_CS_CRASH, who);
        jk_cs_item *back = jk_cons_sim_queue_push(&s->queue, at + 200 + jk_devnet_cs_below(s, 1500),
                                                  JK_CS_RESTART, who);
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

/* Keys, spec, genesis: as jk_devnet_run. Returns 0, 1 (genesis refused) or 2
 * (r->base.reason). */
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
        jk_devnet_demo_init(&s->demo, o->seed, &spec.spec);
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
        return 1; /* the chain said no (its genesis probe): 1, as `jark chain genesis` */
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
        if (workload == JK_DEVNET_WORKLOAD_EVENTS && start > 0 && s->next_event > 0)
            printf("devnet: resumed at height %" PRIu64 ": the events file's first %zu events are "
                   "taken as blocks 1..%" PRIu64 "'s and skipped (docs/events-format.md)\n",
                   start, s->next_event, start);
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
    while (err == JK_OK && !s->stop && s->queue.n > 0 && !jk_cs_done(s)) {
        jk_cs_item it = jk_cons_sim_queue_pop(&s->queue);
        s->now = it.time;
        if (s->now > deadline) {
            free(it.bytes);
            jk_devnet_cs_violation(s, false, "liveness: not every honest validator reached height %" PRIu64
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
        jk_devnet_cs_violation(s, false, "liveness: the network went quiet before height %" PRIu64, s->target);
    /* not live: say why the chain refused its blocks, if it did (a validator's
     * chain app keeps its last failing callback's reason) */
    for (uint32_t i = 0; i < s->v && !r->liveness_ok && !r->chain_error[0]; i++)
        if (s->nodes[i].app && !s->nodes[i].byzantine) {
            jk_node_chain_app_stats st;
            jk_node_chain_app_stats_get(s->nodes[i].app, &st);
            if (st.last_error[0])
                snprintf(r->chain_error, sizeof r->chain_error, "validator %u: %.170s", i, st.last_error);
        }
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
        jk_cons_sim_signed_free(&s->nodes[i].sigs);
    }
    jk_cons_sim_queue_free(&s->queue);
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
