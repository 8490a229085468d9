/*
 * sim_run.c — one simulation run: the fault mix a seed picks, set-up, the
 * step loop, the heal and the liveness deadline, and the figures.
 */
#include "sim_internal.h"

#include "jark/bytes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void jk_seed_rng(jk_sim_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++) { /* splitmix64 */
        uint64_t z = (seed += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        r->s[i] = z ^ (z >> 31);
    }
}

void jk_cons_sim_config_for_seed(uint64_t seed, uint32_t validators, bool with_faults,
                                 jk_cons_sim_config *cfg)
{
    jk_sim_rng r;
    jk_seed_rng(&r, seed ^ 0x6a61726b73696dull); /* not the run's own stream */
    memset(cfg, 0, sizeof *cfg);
    cfg->seed = seed;
    cfg->validators = validators;
    cfg->delay_min_ms = 1 + (uint32_t)jk_cons_sim_below(&r, 10);
    cfg->delay_max_ms = cfg->delay_min_ms + 5 + (uint32_t)jk_cons_sim_below(&r, 60);
    cfg->fault_ms = 1500 + (uint32_t)jk_cons_sim_below(&r, 1500);
    cfg->heights = 4;
    cfg->events = 3;
    cfg->timeouts = (jk_cons_timeouts){.propose_ms = 300, .propose_delta_ms = 100,
                                       .prevote_ms = 150, .prevote_delta_ms = 50,
                                       .precommit_ms = 150, .precommit_delta_ms = 50,
                                       .tick_ms = 700};
    uint32_t f = validators ? (validators - 1) / 3 : 0;
    cfg->liveness_rounds = f + 4;
    if (!with_faults)
        return;
    static const uint32_t drops[] = {0, 50, 200, 350};
    cfg->drop_permille = drops[jk_cons_sim_below(&r, 4)];
    cfg->dup_permille = (uint32_t)jk_cons_sim_below(&r, 200);
    cfg->partition = jk_cons_sim_chance(&r, 500);
    cfg->crashes = (uint32_t)jk_cons_sim_below(&r, 3);
    cfg->midcrash_permille = (uint32_t)jk_cons_sim_below(&r, 60);
    cfg->byzantine = (uint32_t)jk_cons_sim_below(&r, f + 1);
    cfg->byz_mask = 1 + (uint32_t)jk_cons_sim_below(&r, 15);
    /* Drawn last, so the earlier draws (the fault mix of every seed) are
     * those of runs without it: half the seeds wait up to 100..999 ms
     * before an idle height's round 0, under the same faults. */
    if (jk_cons_sim_chance(&r, 500))
        cfg->timeouts.empty_blocks_ms = 100 + (uint32_t)jk_cons_sim_below(&r, 900);
    /* Drawn after it for the same reason: a third of the seeds crash every
     * honest validator at once, once or twice (jk_crash_all). */
    if (jk_cons_sim_chance(&r, 333))
        cfg->crash_all = 1 + (uint32_t)jk_cons_sim_below(&r, 2);
}

static void jk_sim_free(jk_sim *s)
{
    if (s->nodes)
        for (uint32_t i = 0; i < s->vs.count; i++)
            jk_cons_sim_node_free(&s->nodes[i]);
    free(s->nodes);
    jk_cons_sim_queue_free(&s->queue);
    free(s->dec_value);
    free(s->dec_root);
    free(s->dec_round);
    free(s->events);
}

static uint64_t jk_min_honest_height(const jk_sim *s)
{
    uint64_t lo = UINT64_MAX;
    for (uint32_t i = 0; i < s->vs.count; i++)
        if (!s->nodes[i].byzantine && s->nodes[i].ndecided < lo)
            lo = s->nodes[i].ndecided;
    return lo;
}

/* The heal: partitions end, drops stop, crashed validators come back. From
 * here on every honest validator must reach `target` by `deadline`: a budget
 * of liveness_rounds full rounds per height at the timeouts of the highest
 * round any honest machine is in, plus the stall ticks a lagging node needs. */
static void jk_heal(jk_sim *s)
{
    const jk_cons_sim_config *c = s->cfg;
    s->healed = true;
    uint64_t hi = 0;
    uint32_t max_round = 0;
    for (uint32_t i = 0; i < s->vs.count; i++) {
        jk_sim_node *node = &s->nodes[i];
        if (!node->m && (s->failed = jk_cons_sim_node_restart(node)) != JK_OK)
            return;
        if (node->byzantine)
            continue;
        jk_cons_status st;
        jk_cons_status_get(node->m, &st);
        if (st.round > max_round)
            max_round = st.round;
        if (node->ndecided > hi)
            hi = node->ndecided;
    }
    /* The links that lost messages (drops, the partition) are new
     * connections from here on, as broken ones are for a node. */
    for (uint32_t i = 0; i < s->vs.count && !c->no_reconnect; i++)
        for (uint32_t j = 0; j < s->vs.count && s->failed == JK_OK; j++)
            if (j != i && (s->failed = jk_cons_sim_peer_up(s, i, j)) != JK_OK)
                return;
    /* Not only what the stores hold: a height some honest validator decided
     * and then lost from its store (a crash inside its write) began before
     * the heal, and its rounds before the heal are not the bound's. Above
     * s->ndec + 1 no honest validator can be at the heal (it would have
     * decided s->ndec + 1 first), so height s->ndec + 2 starts after it. */
    if (s->ndec > hi)
        hi = s->ndec;
    s->heal_height = hi;
    s->target = hi + 2 > c->heights ? hi + 2 : c->heights;
    const jk_cons_timeouts *t = &c->timeouts;
    uint64_t r = (uint64_t)max_round + c->liveness_rounds;
    uint64_t round_ms = t->propose_ms + t->prevote_ms + t->precommit_ms +
                        r * (t->propose_delta_ms + t->prevote_delta_ms + t->precommit_delta_ms) +
                        3ull * c->delay_max_ms;
    s->deadline = s->now + (s->target - jk_min_honest_height(s) + 1) *
                               (c->liveness_rounds * round_ms + 2ull * t->tick_ms +
                                t->empty_blocks_ms);
    for (uint32_t k = 0; k < c->events; k++) {
        uint32_t to = (uint32_t)(c->byzantine + jk_cons_sim_below(&s->rng, s->vs.count - c->byzantine));
        jk_sim_item *it = jk_cons_sim_push(s, s->now + 10 + 40 * k, JK_SIM_EVENT, to);
        if (it)
            it->from = k;
    }
}

static bool jk_done(const jk_sim *s)
{
    /* Also wait until the last event has had time to be flooded (two hops). */
    if (!s->healed || s->now < (uint64_t)s->cfg->fault_ms + 10 + 40ull * s->cfg->events +
                                   2ull * s->cfg->delay_max_ms + 1)
        return false;
    for (uint32_t i = 0; i < s->vs.count; i++)
        if (!s->nodes[i].byzantine && s->nodes[i].ndecided < s->target)
            return false;
    return true;
}

/* After a run that reached its target: every event submitted after the heal
 * reached every honest pool (gossip converges). */
static void jk_check_pools(jk_sim *s)
{
    for (uint32_t i = 0; i < s->vs.count; i++) {
        const jk_sim_node *node = &s->nodes[i];
        if (node->byzantine)
            continue;
        for (size_t e = 0; e < s->nevents; e++) {
            bool found = false;
            for (size_t k = 0; k < node->npool && !found; k++)
                found = memcmp(node->pool[k].bytes, s->events[e].bytes, 32) == 0;
            if (!found)
                jk_cons_sim_violation(s, false, "event %zu never reached validator %u", e, i);
        }
    }
}

/* A correlated crash: every honest validator that is up goes down at once,
 * each losing its last decided height, as when every node is killed inside
 * the write of that height (the height is decided and certified, its
 * records and proof of lock are in the vote logs, its block in no store:
 * docs/node.md "A crash of every validator at once"). Each comes back
 * 20..319 ms later. Counted in lost_everywhere when no honest store holds
 * the highest height decided before it: the run must then decide that
 * height again, with the same value (the safety check's first decision). */
static jk_err jk_crash_all(jk_sim *s)
{
    uint64_t before = 0, after = 0;
    for (uint32_t i = 0; i < s->vs.count; i++) {
        jk_sim_node *node = &s->nodes[i];
        if (node->byzantine)
            continue;
        if (node->ndecided > before)
            before = node->ndecided;
        if (node->m) {
            jk_cons_sim_node_crash(node, true);
            jk_sim_item *it = jk_cons_sim_push(s, s->now + 20 + jk_cons_sim_below(&s->rng, 300), JK_SIM_RESTART, i);
            if (it)
                it->inc = node->incarnation;
        }
        if (node->ndecided > after)
            after = node->ndecided;
    }
    s->res->crashed_all++;
    s->res->lost_everywhere += after < before;
    return s->failed;
}

static jk_err jk_step(jk_sim *s, jk_sim_item *it)
{
    jk_sim_node *node = &s->nodes[it->node];
    uint8_t head[21];
    jk_put_u64le(head, it->time);
    head[8] = it->kind;
    jk_put_u32le(head + 9, it->node);
    jk_put_u32le(head + 13, it->from);
    jk_put_u32le(head + 17, (uint32_t)it->len);
    jk_crypto_hasher_update(&s->digest, head, sizeof head);
    jk_crypto_hasher_update(&s->digest, it->bytes, it->len);
    switch (it->kind) {
    case JK_SIM_DELIVER: {
        if (!node->m)
            return JK_OK; /* lost: the receiver is down */
        s->res->delivered++;
        s->res->steps++;
        jk_diag diag = {{0}};
        jk_err err = jk_cons_on_message(node->m, it->from, it->bytes, it->len, &diag);
        if (err == JK_ERR_NOMEM)
            return err;
        if (err != JK_OK) {
            s->res->rejected++;
            if (!s->nodes[it->from].byzantine)
                jk_cons_sim_violation(s, true, "validator %u refused a message of honest validator "
                                 "%u: %s (%s)", it->node, it->from, jk_strerror(err), diag.msg);
        }
        return jk_cons_sim_drain(node);
    }
    case JK_SIM_TIMER:
        if (!node->m || it->inc != node->incarnation)
            return JK_OK;
        s->res->steps++;
        if (s->cfg->trace_steps && it->timer.kind <= JK_CONS_TIMER_PRECOMMIT) {
            jk_cons_status st;
            jk_cons_status_get(node->m, &st);
            static const char *const names[] = {"propose", "prevote", "precommit"};
            if (st.height == it->timer.height && st.round == it->timer.round &&
                (it->timer.kind == JK_CONS_TIMER_PRECOMMIT || (uint32_t)st.step == (uint32_t)it->timer.kind))
                jk_cons_sim_trace(s, "v%u timeout%s h%llu r%u", it->node, names[it->timer.kind],
                                  (unsigned long long)st.height, st.round);
        }
        if (jk_cons_on_timer(node->m, &it->timer) != JK_OK)
            return JK_ERR_NOMEM;
        return jk_cons_sim_drain(node);
    case JK_SIM_CRASH:
        if (!node->m || s->healed)
            return JK_OK;
        s->res->crashes++;
        jk_cons_sim_trace(s, "v%u crashes", it->node);
        jk_cons_sim_node_crash(node, false);
        return JK_OK;
    case JK_SIM_CRASH_ALL:
        if (!s->healed)
            jk_cons_sim_trace(s, "every honest validator crashes");
        return s->healed ? JK_OK : jk_crash_all(s);
    case JK_SIM_RESTART:
        if (node->m || it->inc != node->incarnation)
            return JK_OK;
        return jk_cons_sim_node_restart(node);
    case JK_SIM_HEAL:
        jk_cons_sim_trace(s, "heal");
        jk_heal(s);
        return s->failed;
    case JK_SIM_EVENT: {
        uint8_t ev[16];
        memcpy(ev, "sim-event", 9);
        jk_put_u32le(ev + 9, it->from);
        jk_put_u32le(ev + 12, (uint32_t)s->cfg->seed);
        jk_hash id;
        jk_crypto_blake2b256(ev, sizeof ev, &id);
        jk_hash *e = realloc(s->events, (s->nevents + 1) * sizeof *e);
        if (!e)
            return JK_ERR_NOMEM;
        s->events = e;
        s->events[s->nevents++] = id;
        if (!node->m)
            return JK_OK;
        if (jk_cons_on_event(node->m, ev, sizeof ev) != JK_OK)
            return JK_ERR_NOMEM;
        return jk_cons_sim_drain(node);
    }
    }
    return JK_OK;
}

static jk_err jk_setup(jk_sim *s)
{
    const jk_cons_sim_config *c = s->cfg;
    uint8_t seedbuf[24];
    memcpy(seedbuf, "jark-sim-genesis", 16);
    jk_put_u64le(seedbuf + 16, c->seed);
    jk_crypto_blake2b256(seedbuf, sizeof seedbuf, &s->genesis);
    jk_seed_rng(&s->rng, c->seed);
    s->vs.count = c->validators;
    s->nodes = calloc(c->validators, sizeof *s->nodes);
    if (!s->nodes)
        return JK_ERR_NOMEM;
    for (uint32_t i = 0; i < c->validators; i++) {
        jk_sim_node *node = &s->nodes[i];
        uint8_t ks[32] = "jark-sim-validator-key";
        jk_put_u32le(ks + 28, i);
        node->sim = s;
        node->index = i;
        node->byzantine = i < c->byzantine;
        if (jk_crypto_ed25519_keypair_from_seed(ks, node->pk, node->sk) != JK_OK)
            return JK_ERR_INVALID_ARG;
        memcpy(s->vs.keys[i], node->pk, 32);
    }
    /* The partition: two random non-empty sides for a stretch of the faults. */
    if (c->partition && c->validators > 1) {
        uint32_t a = (uint32_t)jk_cons_sim_below(&s->rng, c->validators);
        for (uint32_t i = 0; i < c->validators; i++)
            s->side[i] = (uint8_t)jk_cons_sim_below(&s->rng, 2);
        s->side[a] = 0;
        s->side[(a + 1) % c->validators] = 1;
        s->part_start = jk_cons_sim_below(&s->rng, c->fault_ms / 2);
        s->part_end = s->part_start + 1 + jk_cons_sim_below(&s->rng, c->fault_ms - s->part_start);
    }
    /* Crashes of honest validators, each restarted inside the faults. */
    uint32_t honest = c->validators - c->byzantine;
    for (uint32_t k = 0; k < c->crashes && honest > 0 && c->fault_ms > 300; k++) {
        uint32_t i = c->byzantine + (uint32_t)jk_cons_sim_below(&s->rng, honest);
        uint64_t t = 50 + jk_cons_sim_below(&s->rng, c->fault_ms - 300);
        uint64_t down = 20 + jk_cons_sim_below(&s->rng, c->fault_ms - t);
        jk_cons_sim_push(s, t, JK_SIM_CRASH, i);
        jk_cons_sim_push(s, t + down, JK_SIM_RESTART, i);
    }
    for (uint32_t k = 0; k < c->crash_all && c->fault_ms > 400; k++)
        jk_cons_sim_push(s, 100 + jk_cons_sim_below(&s->rng, c->fault_ms - 400), JK_SIM_CRASH_ALL, 0);
    if (!jk_cons_sim_push(s, c->fault_ms, JK_SIM_HEAL, 0))
        return JK_ERR_NOMEM;
    for (uint32_t i = 0; i < c->validators; i++) {
        jk_err err = jk_cons_sim_node_restart(&s->nodes[i]);
        if (err != JK_OK)
            return err;
    }
    return s->failed;
}

jk_err jk_cons_sim_run(const jk_cons_sim_config *cfg, jk_cons_sim_result *res)
{
    memset(res, 0, sizeof *res);
    res->safety_ok = res->liveness_ok = true;
    if (cfg->validators == 0 || cfg->validators > JK_CONS_MAX_VALIDATORS ||
        cfg->byzantine > (cfg->validators - 1) / 3 || cfg->delay_max_ms < cfg->delay_min_ms ||
        cfg->liveness_rounds == 0)
        return JK_ERR_INVALID_ARG;
    jk_sim s = {0};
    s.cfg = cfg;
    s.res = res;
    jk_crypto_hasher_init(&s.digest);
    jk_err err = jk_setup(&s);
    while (err == JK_OK && !s.stop && s.queue.n > 0) {
        jk_sim_item it = jk_cons_sim_queue_pop(&s.queue);
        s.now = it.time;
        if (s.healed && s.now > s.deadline) {
            jk_cons_sim_violation(&s, false, "liveness: honest validators at height %llu, not %llu, "
                             "at t=%llu ms (heal at %u ms)",
                             (unsigned long long)jk_min_honest_height(&s),
                             (unsigned long long)s.target, (unsigned long long)s.now,
                             cfg->fault_ms);
            free(it.bytes);
            break;
        }
        err = jk_step(&s, &it);
        free(it.bytes);
        if (err == JK_OK)
            err = s.failed;
        if (jk_done(&s))
            break;
    }
    if (err == JK_OK && !s.stop) {
        if (!jk_done(&s))
            jk_cons_sim_violation(&s, false, "liveness: the run stopped with nothing left to do");
        else
            jk_check_pools(&s);
    }
    res->heights = s.nodes ? jk_min_honest_height(&s) : 0;
    for (size_t h = 0; h < s.ndec && h < res->heights; h++) {
        res->rounds += s.dec_round[h] + 1;
        if (s.dec_round[h] > res->max_round)
            res->max_round = s.dec_round[h];
        res->round_hist[s.dec_round[h] < 7 ? s.dec_round[h] : 7]++;
        if (s.healed && h + 1 >= s.heal_height + 2 && s.dec_round[h] > res->max_bound_round)
            res->max_bound_round = s.dec_round[h];
    }
    for (uint32_t i = 0; s.nodes && i < cfg->validators; i++) {
        if (s.nodes[i].m && !s.nodes[i].byzantine) {
            jk_cons_status st;
            jk_cons_status_get(s.nodes[i].m, &st);
            res->equivocations += st.equivocations;
        }
    }
    for (uint32_t i = 0; cfg->trace && s.nodes && i < cfg->validators; i++) {
        jk_cons_status st = {0};
        if (s.nodes[i].m)
            jk_cons_status_get(s.nodes[i].m, &st);
        char line[200];
        snprintf(line, sizeof line,
                 "validator %u%s: %s, decided %zu, height %llu round %u step %u locked %d", i,
                 s.nodes[i].byzantine ? " (byzantine)" : "", s.nodes[i].m ? "up" : "down",
                 s.nodes[i].ndecided, (unsigned long long)st.height, st.round,
                 (unsigned)st.step, (int)st.locked_round);
        cfg->trace(cfg->trace_ctx, line);
    }
    res->sim_ms = s.now;
    (void)jk_crypto_hasher_final(&s.digest, &res->digest);
    res->ok = res->safety_ok && res->liveness_ok;
    jk_sim_free(&s);
    return err;
}
