/*
 * testnet_workload.c — the testnet's workload (devnet.h, "The multi-process
 * testnet"; docs/node.md "The workload"): the demo's transfers, signed here
 * for the genesis the nodes build, submitted through the nodes' JSON-RPC.
 *
 * Why batches in flight: an account's next nonce is only valid once its last
 * transfer is committed, so one account can have one transfer in flight.
 * Throughput therefore comes from many accounts: batch b takes accounts
 * [b E, b E + E) mod A, up to K batches are outstanding, and a batch is sent
 * only once the last batch that used any of its accounts is retired (with
 * A >= E × K that never waits). A batch is retired when every event of it
 * has been seen in a committed block or given up (the watch decodes each
 * block it reports and hands its event ids here), so retirement is exact
 * whatever order blocks take events in.
 *
 * Why pre-signed and open-loop (netperf, docs/bench.md "BENCH testnet"): the
 * driver used to sign a batch when it was due, on the cores the nodes run
 * on, and to post it from the watch loop, which polled no heights while it
 * waited for the slowest node's answer; the nodes then ran empty heights
 * while the next batches were being signed and retired. Now the first
 * batches (enough for the run: blocks × K × E ÷ 4 events, at most
 * JK_WL_PRESIGN_MAX) are signed before the nodes start, later ones when due,
 * and each node has a lane — a thread with a queue — that posts whatever is
 * queued for it while the watch loop goes on polling, retiring and queueing.
 * The in-flight bound (K batches, A accounts) is unchanged: the queue is
 * bounded by it.
 *
 * A refused event is sent again as it is (the same signed bytes, the same
 * nonce: the account stays in step) to the next running node, at most
 * JK_WL_TRIES times; then it is given up and its account left out of the
 * batches to come (its later transfers were signed with nonces that can no
 * longer follow).
 */
#include "testnet_internal.h"

#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JK_WL_STALL_MS 20000u
#define JK_WL_TRIES 8u
#define JK_WL_PRESIGN_MAX 131072u
#define JK_WL_EVENT_TEXT 768u /* one request object's text, at most */

/* FIN: seen committed or given up (no longer in the batch's `left`). */
enum { JK_WL_ADMITTED = 1, JK_WL_FIN = 2 };

/* A batch's signed requests: request k is text[off[k] .. off[k+1]), a
 * JSON-RPC submit_event object whose id is the event's global number
 * (batch × E + k); ids[k] is the event's hash. */
typedef struct jk_wl_signed {
    char *text;
    uint32_t *off;
    jk_hash *ids;
} jk_wl_signed;

typedef struct jk_wl_batch {
    uint64_t index;          /* the batch's number (its accounts follow from it) */
    uint64_t sent_ms;
    uint64_t answered_ms;    /* every send of it answered last (0: not yet) */
    uint64_t seen_ms;        /* its last event seen committed (0: not yet) */
    uint64_t h_lo, h_hi;     /* the heights its events were seen in */
    uint32_t left;           /* events neither seen committed nor given up */
    uint32_t pending;        /* its items at the lanes, not yet answered */
    bool open;
    jk_wl_signed s;
    uint8_t *state;          /* per event: JK_WL_ADMITTED | JK_WL_FIN */
    uint8_t *tries;          /* per event: sends so far */
} jk_wl_batch;

/* An event of an open batch, by id (sorted), for the watch's commits. */
typedef struct jk_wl_wait {
    jk_hash id;
    uint64_t batch;
    uint32_t slot, pos;
} jk_wl_wait;

/* Up to JK_RPC_MAX_BATCH events of one batch for one node: one HTTP
 * request; ok[k] is set by the lane when pos[k] was admitted. */
typedef struct jk_wl_item {
    struct jk_wl_item *next;
    uint32_t slot, n;
    uint64_t batch;
    const jk_wl_signed *s;
    uint32_t pos[JK_RPC_MAX_BATCH];
    bool ok[JK_RPC_MAX_BATCH];
} jk_wl_item;

typedef struct jk_wl_lane {
    struct jk_tnet_wl *w;
    const char *host;
    uint16_t port;
    pthread_t th[JK_DEVNET_TESTNET_MAX_POSTS]; /* each posts one item at a time */
    uint32_t started;
    pthread_cond_t cv;
    jk_wl_item *head, *tail; /* queued (under w->mu) */
} jk_wl_lane;

struct jk_tnet_wl {
    jk_devnet_demo *demo;
    jk_hash genesis;
    uint32_t per_batch, in_flight, accounts;
    uint64_t next;           /* the next batch's index */
    jk_wl_batch slots[JK_DEVNET_TESTNET_MAX_IN_FLIGHT];
    size_t count;            /* open batches */
    jk_wl_wait *wait;        /* sorted by id */
    size_t nwait, capwait;
    jk_wl_signed *pre;       /* batches [0, npre) signed ahead (taken when sent) */
    uint64_t npre;
    uint8_t *dead;           /* per account: a transfer of it was given up */
    uint64_t admitted, refused, given_up;
    uint64_t answered;       /* batches whose sends were all answered (once each) */
    uint64_t *lat, *lat_sent; /* a retired batch's finality, when it was queued */
    size_t nlat, caplat;
    jk_tnet_wl_breakdown sum; /* the retired batches' times, summed */
    bool stopped;
    /* the lanes (one per node) and what they answered */
    pthread_mutex_t mu;
    jk_wl_lane lanes[JK_DEVNET_TESTNET_MAX];
    uint32_t nlanes, rr;
    jk_wl_item *done;
    bool quit;               /* under mu: the lanes end */
};

static void jk_wl_hex(const uint8_t *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = 0;
}

static void jk_wl_signed_free(jk_wl_signed *s)
{
    free(s->text);
    free(s->off);
    free(s->ids);
    *s = (jk_wl_signed){0};
}

size_t jk_devnet_transfer_params(const uint8_t blob[JK_DEVNET_TRANSFER_LEN],
                                 const jk_chain_trace *trace, char *out, size_t cap)
{
    char bh[2 * JK_DEVNET_TRANSFER_LEN + 1], kh[65], mh[65], sg[129];
    jk_wl_hex(blob, JK_DEVNET_TRANSFER_LEN, bh);
    jk_wl_hex(trace->key, 32, kh);
    jk_wl_hex(trace->msg_hash.bytes, 32, mh);
    jk_wl_hex(trace->sig, 64, sg);
    int n = snprintf(out, cap, "[\"transact\",\"%s\",[[\"%s\",\"%s\",\"%s\"]]]", bh, kh, mh, sg);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* Sign batch `index` (its E transfers, each account's next nonce) into s.
 * false when out of memory (s then empty). */
static bool jk_wl_sign(jk_tnet_wl *w, uint64_t index, jk_wl_signed *s)
{
    uint32_t e = w->per_batch;
    s->text = malloc((size_t)e * JK_WL_EVENT_TEXT + 1);
    s->off = malloc(((size_t)e + 1) * sizeof *s->off);
    s->ids = malloc((size_t)e * sizeof *s->ids);
    if (!s->text || !s->off || !s->ids) {
        jk_wl_signed_free(s);
        return false;
    }
    size_t len = 0;
    for (uint32_t a = 0; a < e; a++) {
        uint64_t g = index * e + a;
        uint8_t blob[JK_DEVNET_TRANSFER_LEN];
        jk_chain_trace tr;
        jk_devnet_demo_transfer(w->demo, &w->genesis, (uint32_t)(g % w->accounts), blob, &tr);
        jk_chain_event_hash(&(jk_chain_event){JK_CHAIN_ENDPOINT_TRANSACT, blob, sizeof blob}, &s->ids[a]);
        char params[JK_WL_EVENT_TEXT];
        s->off[a] = (uint32_t)len;
        int n = jk_devnet_transfer_params(blob, &tr, params, sizeof params)
                    ? snprintf(s->text + len, JK_WL_EVENT_TEXT,
                               "{\"jsonrpc\":\"2.0\",\"id\":%llu,\"method\":\"submit_event\","
                               "\"params\":%s}",
                               (unsigned long long)g, params)
                    : 0;
        len += n > 0 && (unsigned)n < JK_WL_EVENT_TEXT ? (size_t)n : 0;
    }
    s->off[e] = (uint32_t)len;
    return true;
}

/* The lane's HTTP request for an item: its requests as one JSON-RPC batch;
 * ok[k] for each request whose answer says admitted. */
static void jk_wl_post(jk_wl_lane *l, jk_wl_item *it)
{
    size_t cap = 2, len = 0;
    for (uint32_t k = 0; k < it->n; k++)
        cap += it->s->off[it->pos[k] + 1] - it->s->off[it->pos[k]] + 1;
    char *body = malloc(cap);
    memset(it->ok, 0, sizeof it->ok);
    if (!body)
        return;
    body[len++] = '[';
    for (uint32_t k = 0; k < it->n; k++) {
        uint32_t lo = it->s->off[it->pos[k]], hi = it->s->off[it->pos[k] + 1];
        if (k)
            body[len++] = ',';
        memcpy(body + len, it->s->text + lo, hi - lo);
        len += hi - lo;
    }
    body[len++] = ']';
    int status = 0;
    size_t rlen = 0;
    char *reply = NULL;
    jk_diag d;
    if (jk_rpc_http(l->host, l->port, "POST", "/", body, len, &status, &reply, &rlen, &d) == JK_OK &&
        status == 200) {
        json_object *o = json_tokener_parse(reply);
        size_t m = o && json_object_is_type(o, json_type_array) ? json_object_array_length(o) : 0;
        uint64_t first = it->batch * (uint64_t)l->w->per_batch;
        for (size_t r = 0; r < m; r++) {
            json_object *e = json_object_array_get_idx(o, r), *id, *res, *x;
            if (!json_object_object_get_ex(e, "id", &id) ||
                !json_object_object_get_ex(e, "result", &res) ||
                !json_object_object_get_ex(res, "admitted", &x) || !json_object_get_boolean(x))
                continue;
            int64_t g = json_object_get_int64(id);
            for (uint32_t k = 0; k < it->n; k++)
                if ((uint64_t)g == first + it->pos[k])
                    it->ok[k] = true;
        }
        json_object_put(o);
    }
    free(reply);
    free(body);
}

static void *jk_wl_lane_run(void *arg)
{
    jk_wl_lane *l = arg;
    jk_tnet_wl *w = l->w;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->quit && !l->head)
            pthread_cond_wait(&l->cv, &w->mu);
        if (w->quit)
            break;
        jk_wl_item *it = l->head;
        l->head = it->next;
        if (!l->head)
            l->tail = NULL;
        pthread_mutex_unlock(&w->mu);
        jk_wl_post(l, it);
        pthread_mutex_lock(&w->mu);
        it->next = w->done;
        w->done = it;
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

static void jk_wl_items_free(jk_wl_item *it)
{
    while (it) {
        jk_wl_item *next = it->next;
        free(it);
        it = next;
    }
}

jk_err jk_devnet_tnet_wl_new(const jk_tnet *t, jk_tnet_wl **out, jk_diag *diag)
{
    const jk_devnet_testnet_options *o = t->o;
    *out = NULL;
    jk_tnet_wl *w = calloc(1, sizeof *w);
    if (!w)
        return JK_ERR_NOMEM;
    pthread_mutex_init(&w->mu, NULL);
    w->per_batch = o->events_per_batch;
    w->in_flight = o->in_flight ? o->in_flight : 1;
    w->accounts = o->accounts ? o->accounts : jk_devnet_demo_accounts();
    jk_err err = jk_devnet_demo_new_accounts(1, w->accounts, &w->demo);
    if (err != JK_OK) {
        pthread_mutex_destroy(&w->mu);
        free(w);
        return jk_diag_set(diag, err, "the demo workload: %s", jk_strerror(err));
    }
    /* The genesis the nodes build: the spec, the testnet's validators, the
     * demo state. */
    jk_spec_file f;
    err = jk_spec_file_load(t->spec, NULL, &f, diag);
    if (err == JK_OK) {
        uint8_t keys[JK_DEVNET_TESTNET_MAX][32];
        for (uint32_t i = 0; i < t->v; i++)
            memcpy(keys[i], t->keys[i].public_key, 32);
        f.spec.validators = (const uint8_t(*)[JK_ED25519_PUBLIC_SIZE])keys;
        f.spec.validator_count = t->v;
        jk_devnet_demo_state(w->demo, &f.spec);
        jk_chain_genesis g;
        err = jk_chain_genesis_build(&f.spec, &g, diag);
        jk_spec_file_free(&f);
        if (err == JK_OK) {
            w->genesis = g.genesis_hash;
            jk_cap_release(g.chain);
        }
    }
    w->dead = err == JK_OK ? calloc(w->accounts, 1) : NULL;
    if (err == JK_OK && !w->dead)
        err = jk_diag_set(diag, JK_ERR_NOMEM, "the demo workload: out of memory");
    /* Sign ahead, before the nodes start (so not on the cores while they
     * are timed): blocks × K × E ÷ 4 events, at least K batches. */
    uint64_t want = (o->warmup + o->blocks) * w->in_flight / 4;
    if (want < w->in_flight)
        want = w->in_flight;
    if (w->per_batch && want > JK_WL_PRESIGN_MAX / w->per_batch)
        want = JK_WL_PRESIGN_MAX / w->per_batch;
    if (err == JK_OK && w->per_batch && want) {
        w->pre = calloc(want, sizeof *w->pre);
        for (uint64_t b = 0; w->pre && b < want && jk_wl_sign(w, b, &w->pre[b]); b++)
            w->npre = b + 1;
    }
    /* A lane's threads take its queue's items one each: `posts` requests
     * in flight to a node at once (session 10: with one, a node took one
     * JSON-RPC batch of at most 64 events per few turns of its loop — each
     * request a connection of its own, accepted, read and answered in
     * separate passes — and a deeper window only lengthened the queues;
     * docs/bench.md "Testnet, session 10"). */
    uint32_t posts = o->posts ? o->posts : 1;
    if (posts > JK_DEVNET_TESTNET_MAX_POSTS)
        posts = JK_DEVNET_TESTNET_MAX_POSTS;
    for (uint32_t i = 0; err == JK_OK && i < t->v; i++) {
        jk_wl_lane *l = &w->lanes[i];
        *l = (jk_wl_lane){.w = w, .host = t->rpc_host[i], .port = t->rpc[i]};
        pthread_cond_init(&l->cv, NULL);
        w->nlanes = i + 1;
        for (uint32_t k = 0; err == JK_OK && k < posts; k++) {
            if (pthread_create(&l->th[k], NULL, jk_wl_lane_run, l) == 0)
                l->started = k + 1;
            else
                err = jk_diag_set(diag, JK_ERR_NOMEM, "the demo workload: no thread for node %u", i);
        }
    }
    if (err != JK_OK) {
        jk_devnet_tnet_wl_free(w);
        return err;
    }
    *out = w;
    return JK_OK;
}

void jk_devnet_tnet_wl_stop(jk_tnet_wl *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->quit = true;
    for (uint32_t i = 0; i < w->nlanes; i++)
        pthread_cond_broadcast(&w->lanes[i].cv);
    pthread_mutex_unlock(&w->mu);
    for (uint32_t i = 0; i < w->nlanes; i++) {
        for (uint32_t k = 0; k < w->lanes[i].started; k++)
            pthread_join(w->lanes[i].th[k], NULL);
        w->lanes[i].started = 0;
    }
    /* Answers the watch loop did not take yet still count: those events
     * were admitted (and gossiped) as much as the others. Nothing is sent
     * again now. */
    if (!w->stopped)
        for (jk_wl_item *it = w->done; it; it = it->next) {
            jk_wl_batch *b = &w->slots[it->slot];
            for (uint32_t k = 0; k < it->n; k++) {
                uint32_t p = it->pos[k];
                if (!it->ok[k])
                    w->refused++;
                else if (!(b->state[p] & JK_WL_ADMITTED)) {
                    w->admitted++;
                    b->state[p] |= JK_WL_ADMITTED;
                }
            }
        }
    w->stopped = true;
}

void jk_devnet_tnet_wl_free(jk_tnet_wl *w)
{
    if (!w)
        return;
    jk_devnet_tnet_wl_stop(w);
    for (uint32_t i = 0; i < w->nlanes; i++) {
        jk_wl_items_free(w->lanes[i].head);
        pthread_cond_destroy(&w->lanes[i].cv);
    }
    jk_wl_items_free(w->done);
    pthread_mutex_destroy(&w->mu);
    for (uint32_t k = 0; k < JK_DEVNET_TESTNET_MAX_IN_FLIGHT; k++) {
        jk_wl_signed_free(&w->slots[k].s);
        free(w->slots[k].state);
        free(w->slots[k].tries);
    }
    for (uint64_t b = 0; b < w->npre; b++)
        jk_wl_signed_free(&w->pre[b]);
    free(w->pre);
    free(w->dead);
    jk_devnet_demo_free(w->demo);
    free(w->lat);
    free(w->lat_sent);
    free(w->wait);
    free(w);
}

uint64_t *jk_devnet_tnet_wl_latencies(jk_tnet_wl *w, uint64_t from_ms, size_t *n)
{
    size_t m = 0;
    for (size_t k = 0; w && k < w->nlat; k++)
        if (w->lat_sent[k] >= from_ms)
            w->lat[m++] = w->lat[k];
    *n = m;
    return w ? w->lat : NULL;
}

bool jk_devnet_tnet_wl_filled(const jk_tnet_wl *w)
{
    return !w || w->answered >= w->in_flight;
}

void jk_devnet_tnet_wl_counts(const jk_tnet_wl *w, uint64_t *admitted, uint64_t *refused)
{
    *admitted = w ? w->admitted : 0;
    *refused = w ? w->refused : 0;
}

/* Does batch b use account x? (batch b takes accounts [b E, b E + E) mod A) */
static bool jk_wl_batch_has(const jk_tnet_wl *w, uint64_t b, uint32_t x)
{
    uint64_t first = b * w->per_batch % w->accounts;
    return (x + w->accounts - first) % w->accounts < w->per_batch;
}

bool jk_devnet_tnet_wl_probe(jk_tnet_wl *w, uint32_t k, char *params, size_t cap, jk_hash *id)
{
    if (!w || !w->per_batch)
        return false;
    /* The k-th account free of open batches and not given up: every batch
     * sent that used it was committed (a retired batch's events were all
     * seen committed, or the account would be dead), so its committed
     * nonce is the number of those batches. */
    uint32_t x = 0, seen = 0;
    for (; x < w->accounts; x++) {
        bool busy = w->dead[x];
        for (uint32_t s = 0; s < JK_DEVNET_TESTNET_MAX_IN_FLIGHT && !busy; s++)
            busy = w->slots[s].open && jk_wl_batch_has(w, w->slots[s].index, x);
        if (!busy && seen++ == k)
            break;
    }
    if (x == w->accounts)
        return false;
    uint64_t nonce = 0;
    for (uint64_t b = 0; b < w->next; b++)
        nonce += jk_wl_batch_has(w, b, x);
    /* A generator of its own, moved to that nonce (w->demo counted the
     * batches signed ahead too). */
    jk_devnet_demo *d = NULL;
    if (jk_devnet_demo_new_accounts(1, w->accounts, &d) != JK_OK)
        return false;
    uint8_t blob[JK_DEVNET_TRANSFER_LEN];
    jk_chain_trace tr;
    for (uint64_t n = 0; n <= nonce; n++)
        jk_devnet_demo_transfer(d, &w->genesis, x, blob, &tr);
    jk_devnet_demo_free(d);
    jk_chain_event_hash(&(jk_chain_event){JK_CHAIN_ENDPOINT_TRANSACT, blob, sizeof blob}, id);
    return jk_devnet_transfer_params(blob, &tr, params, cap) > 0;
}

static int jk_wl_wait_cmp(const void *x, const void *y)
{
    return memcmp(((const jk_wl_wait *)x)->id.bytes, ((const jk_wl_wait *)y)->id.bytes, JK_HASH_SIZE);
}

/* arr (n used of *cap elements of `size` bytes) with room for `more` more:
 * the array, moved when it grew (doubling, from 256), or NULL when out of
 * memory (arr then stays valid and unchanged). */
static void *jk_wl_room(void *arr, size_t n, size_t more, size_t *cap, size_t size)
{
    if (n + more <= *cap)
        return arr;
    size_t want = *cap ? *cap : 256;
    while (want < n + more)
        want *= 2;
    void *p = realloc(arr, want * size);
    if (p)
        *cap = want;
    return p;
}

/* The event is done with: seen committed or given up. */
static void jk_wl_fin(jk_wl_batch *b, uint32_t pos)
{
    if (b->state[pos] & JK_WL_FIN)
        return;
    b->state[pos] |= JK_WL_FIN;
    b->left--;
}

void jk_devnet_tnet_wl_committed(jk_tnet_wl *w, const jk_hash *ids, size_t n, uint64_t height,
                                 uint64_t now)
{
    for (size_t i = 0; w && i < n; i++) {
        jk_wl_wait key = {.id = ids[i]};
        jk_wl_wait *hit = bsearch(&key, w->wait, w->nwait, sizeof *w->wait, jk_wl_wait_cmp);
        if (!hit)
            continue;
        jk_wl_batch *b = &w->slots[hit->slot];
        if (!b->open || b->index != hit->batch || (b->state[hit->pos] & JK_WL_FIN))
            continue;
        jk_wl_fin(b, hit->pos);
        if (!b->h_lo || height < b->h_lo)
            b->h_lo = height;
        if (height > b->h_hi)
            b->h_hi = height;
        if (!b->left)
            b->seen_ms = now;
    }
}

void jk_devnet_tnet_wl_breakdown(const jk_tnet_wl *w, jk_tnet_wl_breakdown *out)
{
    memset(out, 0, sizeof *out);
    if (!w || !w->sum.batches)
        return;
    double n = (double)w->sum.batches;
    *out = (jk_tnet_wl_breakdown){.batches = w->sum.batches, .answered_ms = w->sum.answered_ms / n,
                                  .committed_ms = w->sum.committed_ms / n,
                                  .retired_ms = w->sum.retired_ms / n, .heights = w->sum.heights / n,
                                  .one_height = w->sum.one_height / n};
}

/* The running lane after the last one used (round robin), or -1. */
static int jk_wl_next_lane(jk_tnet_wl *w, const jk_tnet *t)
{
    for (uint32_t k = 0; k < w->nlanes; k++) {
        uint32_t i = (w->rr + 1 + k) % w->nlanes;
        if (t->pid[i]) {
            w->rr = i;
            return (int)i;
        }
    }
    return -1;
}

/* Queue an item at lane i (the caller holds w->mu). */
static void jk_wl_queue(jk_tnet_wl *w, uint32_t i, jk_wl_item *it)
{
    jk_wl_lane *l = &w->lanes[i];
    it->next = NULL;
    if (l->tail)
        l->tail->next = it;
    else
        l->head = it;
    l->tail = it;
    pthread_cond_signal(&l->cv);
    w->slots[it->slot].pending++;
}

/* Give the event up: its account is left out of the batches to come (their
 * transfers were signed with nonces that cannot follow this one). */
static void jk_wl_give_up(jk_tnet_wl *w, jk_wl_batch *b, uint32_t pos)
{
    jk_wl_fin(b, pos);
    w->dead[(b->index * w->per_batch + pos) % w->accounts] = 1;
    w->given_up++;
}

/* Send positions pos[0..n) of the batch in `slot` to the running nodes:
 * n split evenly over them, in requests of at most JK_RPC_MAX_BATCH.
 * Positions that cannot be sent (no node runs, out of memory) are given
 * up. */
static void jk_wl_send(jk_tnet_wl *w, const jk_tnet *t, uint32_t slot, const uint32_t *pos, uint32_t n)
{
    jk_wl_batch *b = &w->slots[slot];
    uint32_t running = 0;
    for (uint32_t i = 0; i < w->nlanes; i++)
        running += t->pid[i] != 0;
    uint32_t part = running ? (n + running - 1) / running : n;
    pthread_mutex_lock(&w->mu);
    for (uint32_t done = 0; done < n;) {
        int lane = jk_wl_next_lane(w, t);
        uint32_t share = n - done < part ? n - done : part;
        for (uint32_t k = 0; k < share; k += JK_RPC_MAX_BATCH) {
            uint32_t m = share - k < JK_RPC_MAX_BATCH ? share - k : JK_RPC_MAX_BATCH;
            jk_wl_item *it = lane >= 0 ? calloc(1, sizeof *it) : NULL;
            for (uint32_t j = 0; j < m; j++) {
                uint32_t p = pos[done + k + j];
                b->tries[p]++;
                if (it)
                    it->pos[it->n++] = p;
                else
                    jk_wl_give_up(w, b, p);
            }
            if (!it)
                continue;
            it->slot = slot;
            it->batch = b->index;
            it->s = &b->s;
            jk_wl_queue(w, (uint32_t)lane, it);
        }
        done += share;
    }
    pthread_mutex_unlock(&w->mu);
}

/* Open batch w->next in a free slot and send it: its signed requests
 * (signed ahead, or now), its ids among the waiting, its live accounts'
 * events over the nodes. false when out of memory (nothing opened). */
static bool jk_wl_open(jk_tnet_wl *w, const jk_tnet *t, uint64_t now)
{
    uint32_t e = w->per_batch, slot = 0;
    while (w->slots[slot].open)
        slot++;
    jk_wl_batch *b = &w->slots[slot];
    *b = (jk_wl_batch){.index = w->next, .sent_ms = now};
    if (w->next < w->npre) {
        b->s = w->pre[w->next];
        w->pre[w->next] = (jk_wl_signed){0};
    } else if (!jk_wl_sign(w, w->next, &b->s))
        return false;
    b->state = calloc(e, 1);
    b->tries = calloc(e, 1);
    uint32_t *pos = malloc((size_t)e * sizeof *pos);
    jk_wl_wait *fresh = malloc((size_t)(e ? e : 1) * sizeof *fresh);
    jk_wl_wait *room = jk_wl_room(w->wait, w->nwait, e, &w->capwait, sizeof *room);
    if (!b->state || !b->tries || !pos || !fresh || !room) {
        if (w->next < w->npre) /* signed ahead: kept for the next try */
            w->pre[w->next] = b->s;
        else
            jk_wl_signed_free(&b->s);
        free(b->state);
        free(b->tries);
        free(pos);
        free(fresh);
        if (room)
            w->wait = room;
        *b = (jk_wl_batch){0};
        return false;
    }
    w->wait = room;
    uint32_t live = 0;
    for (uint32_t a = 0; a < e; a++) {
        if (w->dead[(w->next * e + a) % w->accounts]) {
            b->state[a] = JK_WL_FIN; /* its nonce cannot follow a given-up one */
            continue;
        }
        fresh[live] = (jk_wl_wait){b->s.ids[a], b->index, slot, a};
        pos[live++] = a;
    }
    /* The new ids sorted, then merged into the sorted list from its end
     * (session 16: sorting the whole list again, up to K × E entries for
     * each batch, was ~200 comparisons an event on the driver's thread). */
    qsort(fresh, live, sizeof *fresh, jk_wl_wait_cmp);
    size_t i = w->nwait, j = live, k = w->nwait + live;
    while (j > 0)
        w->wait[--k] = i > 0 && jk_wl_wait_cmp(&w->wait[i - 1], &fresh[j - 1]) > 0 ? w->wait[--i]
                                                                                  : fresh[--j];
    w->nwait += live;
    free(fresh);
    b->left = live;
    b->open = true;
    w->count++;
    w->next++;
    jk_wl_send(w, t, slot, pos, live);
    free(pos);
    return true;
}

/* Take the lanes' answers: admitted events count once; a refused one goes
 * again to the next node, or is given up after JK_WL_TRIES sends. */
static void jk_wl_answers(jk_tnet_wl *w, const jk_tnet *t, uint64_t now)
{
    pthread_mutex_lock(&w->mu);
    jk_wl_item *it = w->done;
    w->done = NULL;
    pthread_mutex_unlock(&w->mu);
    while (it) {
        jk_wl_item *next = it->next;
        jk_wl_batch *b = &w->slots[it->slot];
        uint32_t again[JK_RPC_MAX_BATCH], na = 0;
        if (--b->pending == 0) {
            w->answered += !b->answered_ms;
            b->answered_ms = now;
        }
        for (uint32_t k = 0; k < it->n; k++) {
            uint32_t p = it->pos[k];
            if (it->ok[k]) {
                if (!(b->state[p] & JK_WL_ADMITTED))
                    w->admitted++;
                b->state[p] |= JK_WL_ADMITTED;
                continue;
            }
            w->refused++;
            if (t->o->verbose)
                jk_devnet_tnet_note(t, "testnet: submit of event %llu refused",
                             (unsigned long long)(b->index * w->per_batch + p));
            if (b->state[p] & JK_WL_FIN)
                continue;
            if (b->tries[p] < JK_WL_TRIES)
                again[na++] = p;
            else
                jk_wl_give_up(w, b, p);
        }
        if (na)
            jk_wl_send(w, t, it->slot, again, na);
        free(it);
        it = next;
    }
}

void jk_devnet_tnet_wl_step(jk_tnet_wl *w, jk_tnet *t, uint64_t now, bool more)
{
    if (!w || w->stopped)
        return;
    jk_wl_answers(w, t, now);
    /* Retire every batch whose events were all seen committed (or given
     * up) and whose sends were all answered. */
    bool retired = false;
    for (uint32_t k = 0; k < JK_DEVNET_TESTNET_MAX_IN_FLIGHT; k++) {
        jk_wl_batch *b = &w->slots[k];
        if (!b->open || b->left || b->pending)
            continue;
        size_t cap = w->caplat;
        uint64_t *room = jk_wl_room(w->lat, w->nlat, 1, &cap, sizeof *room);
        if (room)
            w->lat = room;
        uint64_t *sent = room ? jk_wl_room(w->lat_sent, w->nlat, 1, &w->caplat, sizeof *sent) : NULL;
        if (!sent)
            break;
        w->lat_sent = sent;
        w->lat_sent[w->nlat] = b->sent_ms;
        w->lat[w->nlat++] = now - b->sent_ms;
        if (b->h_lo) { /* where its time went (a batch all given up has none) */
            uint64_t answered = b->answered_ms ? b->answered_ms : b->sent_ms;
            uint64_t seen = b->seen_ms > answered ? b->seen_ms : answered;
            w->sum.batches++;
            w->sum.answered_ms += (double)(answered - b->sent_ms);
            w->sum.committed_ms += (double)(seen - answered);
            w->sum.retired_ms += (double)(now - seen);
            w->sum.heights += (double)(b->h_hi - b->h_lo + 1);
            w->sum.one_height += b->h_hi == b->h_lo;
        }
        jk_wl_signed_free(&b->s);
        free(b->state);
        free(b->tries);
        *b = (jk_wl_batch){0};
        w->count--;
        retired = true;
    }
    if (retired) { /* drop the retired batches' ids; the order stays sorted */
        size_t m = 0;
        for (size_t i = 0; i < w->nwait; i++) {
            const jk_wl_batch *b = &w->slots[w->wait[i].slot];
            if (b->open && b->index == w->wait[i].batch)
                w->wait[m++] = w->wait[i];
        }
        w->nwait = m;
    }
    uint64_t oldest = w->next;
    for (uint32_t k = 0; k < JK_DEVNET_TESTNET_MAX_IN_FLIGHT; k++) {
        const jk_wl_batch *b = &w->slots[k];
        if (b->open && b->index < oldest)
            oldest = b->index;
        if (b->open && now - b->sent_ms > JK_WL_STALL_MS) {
            jk_devnet_tnet_note(t, "testnet: a batch of events was not committed in %u s; workload stopped",
                         JK_WL_STALL_MS / 1000);
            jk_devnet_tnet_wl_stop(w);
            return;
        }
    }
    /* Batch b takes accounts [b E, b E + E) mod A; the last batch to use
     * any of them is b - floor(A / E) or earlier, and must be retired
     * (every batch from `oldest` on may still be open). */
    uint64_t gap = w->accounts / w->per_batch;
    while (more && w->count < w->in_flight && (w->next < gap || w->next - gap < oldest))
        if (!jk_wl_open(w, t, jk_devnet_tnet_ms()))
            break;
}
