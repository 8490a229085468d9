/*
 * testnet_workload.c — the testnet's workload (devnet.h, "The multi-process
 * testnet"; docs/node.md): the demo's transfers, signed here for the
 * genesis the nodes build, submitted through the nodes' JSON-RPC.
 *
 * Why batches in flight: an account's next nonce is only valid once its last
 * transfer is committed, so one account can have one transfer in flight.
 * Throughput therefore comes from many accounts: batch b takes accounts
 * [b E, b E + E) mod A, up to K batches are outstanding, and a batch is sent
 * only once the last batch that used any of its accounts is retired (with
 * A >= E × K that never waits). A batch is retired when every event of it
 * that was admitted has been seen in a committed block (the watch decodes
 * each block it reports and hands its event ids here), so retirement is
 * exact whatever order blocks take events in. A refused transfer gives its
 * nonce back, so the account stays in step.
 *
 * Each batch is split over the running nodes and sent to them at once, one
 * thread per node (a node admits its share while the others admit theirs),
 * in JSON-RPC batches of at most JK_RPC_MAX_BATCH requests.
 */
#include "testnet_internal.h"

#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JK_WL_STALL_MS 20000u

typedef struct jk_wl_batch {
    uint64_t index;          /* the batch's number (its accounts follow from it) */
    uint64_t sent_ms;
    uint32_t left;           /* admitted events not yet seen in a committed block */
    bool open;
} jk_wl_batch;

/* An admitted event not yet seen committed: its id and its batch's slot. */
typedef struct jk_wl_wait {
    jk_hash id;
    uint32_t slot;
    bool done;
} jk_wl_wait;

struct jk_tnet_wl {
    jk_devnet_demo *demo;
    jk_hash genesis;
    uint32_t per_batch, in_flight, accounts;
    uint64_t next;           /* the next batch's index */
    jk_wl_batch slots[JK_DEVNET_TESTNET_MAX_IN_FLIGHT];
    size_t count;            /* open batches */
    jk_wl_wait *wait;        /* sorted by id */
    size_t nwait, capwait;
    uint64_t admitted, refused;
    uint64_t *lat;
    size_t nlat, caplat;
    bool stopped;
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

jk_err jk_tnet_wl_new(const jk_tnet *t, jk_tnet_wl **out, jk_diag *diag)
{
    const jk_devnet_testnet_options *o = t->o;
    *out = NULL;
    jk_tnet_wl *w = calloc(1, sizeof *w);
    if (!w)
        return JK_ERR_NOMEM;
    w->per_batch = o->events_per_batch;
    w->in_flight = o->in_flight ? o->in_flight : 1;
    w->accounts = o->accounts ? o->accounts : jk_devnet_demo_accounts();
    jk_err err = jk_devnet_demo_new_accounts(1, w->accounts, &w->demo);
    if (err != JK_OK) {
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
    if (err != JK_OK) {
        jk_tnet_wl_free(w);
        return err;
    }
    *out = w;
    return JK_OK;
}

void jk_tnet_wl_free(jk_tnet_wl *w)
{
    if (!w)
        return;
    jk_devnet_demo_free(w->demo);
    free(w->lat);
    free(w->wait);
    free(w);
}

uint64_t *jk_tnet_wl_latencies(jk_tnet_wl *w, size_t *n)
{
    *n = w ? w->nlat : 0;
    return w ? w->lat : NULL;
}

void jk_tnet_wl_counts(const jk_tnet_wl *w, uint64_t *admitted, uint64_t *refused)
{
    *admitted = w ? w->admitted : 0;
    *refused = w ? w->refused : 0;
}

/* One node's share of a batch: its accounts, the JSON-RPC bodies (one per
 * JK_RPC_MAX_BATCH events), and what came back. */
typedef struct jk_wl_share {
    const char *host;
    uint16_t port;
    uint32_t first, count;   /* batch positions */
    char **bodies;
    size_t *lens, nbodies;
    char **replies;
    bool *ok;
} jk_wl_share;

static void *jk_wl_send(void *arg)
{
    jk_wl_share *s = arg;
    for (size_t k = 0; k < s->nbodies; k++) {
        if (!s->bodies[k])
            continue; /* never signed (out of memory): nothing to send */
        int status = 0;
        size_t rlen = 0;
        jk_diag d;
        s->ok[k] = jk_rpc_http(s->host, s->port, "POST", "/", s->bodies[k], s->lens[k], &status,
                               &s->replies[k], &rlen, &d) == JK_OK &&
                   status == 200;
    }
    return NULL;
}

/* Sign events [first, first + count) of the batch (accounts[i]) into
 * JSON-RPC bodies of at most JK_RPC_MAX_BATCH requests. */
static bool jk_wl_bodies(jk_tnet_wl *w, const uint32_t *accounts, jk_hash *ids, jk_wl_share *s)
{
    s->nbodies = (s->count + JK_RPC_MAX_BATCH - 1) / JK_RPC_MAX_BATCH;
    s->bodies = calloc(s->nbodies ? s->nbodies : 1, sizeof *s->bodies);
    s->lens = calloc(s->nbodies ? s->nbodies : 1, sizeof *s->lens);
    s->replies = calloc(s->nbodies ? s->nbodies : 1, sizeof *s->replies);
    s->ok = calloc(s->nbodies ? s->nbodies : 1, sizeof *s->ok);
    if (!s->bodies || !s->lens || !s->replies || !s->ok) {
        s->nbodies = 0;
        return false;
    }
    for (size_t k = 0; k < s->nbodies; k++) {
        uint32_t lo = s->first + (uint32_t)k * JK_RPC_MAX_BATCH;
        uint32_t n = s->first + s->count - lo < JK_RPC_MAX_BATCH ? s->first + s->count - lo
                                                                  : JK_RPC_MAX_BATCH;
        size_t cap = 64 + (size_t)n * 720, len = 0;
        char *body = malloc(cap);
        if (!body)
            return false;
        body[len++] = '[';
        for (uint32_t a = 0; a < n; a++) {
            uint8_t blob[JK_DEVNET_TRANSFER_LEN];
            jk_chain_trace tr;
            jk_devnet_demo_transfer(w->demo, &w->genesis, accounts[lo + a], blob, &tr);
            jk_chain_event_hash(&(jk_chain_event){JK_CHAIN_ENDPOINT_TRANSACT, blob, sizeof blob}, &ids[lo + a]);
            char bh[2 * JK_DEVNET_TRANSFER_LEN + 1], kh[65], mh[65], sg[129];
            jk_wl_hex(blob, sizeof blob, bh);
            jk_wl_hex(tr.key, 32, kh);
            jk_wl_hex(tr.msg_hash.bytes, 32, mh);
            jk_wl_hex(tr.sig, 64, sg);
            len += (size_t)snprintf(body + len, cap - len,
                                    "%s{\"jsonrpc\":\"2.0\",\"id\":%u,\"method\":\"submit_event\","
                                    "\"params\":[\"transact\",\"%s\",[[\"%s\",\"%s\",\"%s\"]]]}",
                                    a ? "," : "", lo + a, bh, kh, mh, sg);
        }
        body[len++] = ']';
        s->bodies[k] = body;
        s->lens[k] = len;
    }
    return true;
}

static int jk_wl_wait_cmp(const void *x, const void *y)
{
    return memcmp(((const jk_wl_wait *)x)->id.bytes, ((const jk_wl_wait *)y)->id.bytes, JK_HASH_SIZE);
}

/* arr (n used of *cap elements of `size` bytes) with room for one more:
 * the array, moved when it grew (doubling, from 256), or NULL when out of
 * memory (arr then stays valid and unchanged). */
static void *jk_wl_room(void *arr, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return arr;
    size_t want = *cap ? 2 * *cap : 256;
    void *p = realloc(arr, want * size);
    if (p)
        *cap = want;
    return p;
}

/* Remember an admitted event (sorted again once the batch is in). */
static bool jk_wl_wait_add(jk_tnet_wl *w, const jk_hash *id, uint32_t slot)
{
    jk_wl_wait *room = jk_wl_room(w->wait, w->nwait, &w->capwait, sizeof *room);
    if (!room)
        return false;
    w->wait = room;
    w->wait[w->nwait++] = (jk_wl_wait){*id, slot, false};
    return true;
}

void jk_tnet_wl_committed(jk_tnet_wl *w, const jk_hash *ids, size_t n)
{
    for (size_t i = 0; w && i < n; i++) {
        jk_wl_wait key = {ids[i], 0, false};
        jk_wl_wait *hit = bsearch(&key, w->wait, w->nwait, sizeof *w->wait, jk_wl_wait_cmp);
        if (hit && !hit->done) {
            hit->done = true;
            w->slots[hit->slot].left--;
        }
    }
}

/* Read one reply: each request whose result is not admitted gives its
 * account's nonce back. A body without a reply (the node was killed, the
 * call failed) counts every event in it as refused. */
static void jk_wl_replies(jk_tnet_wl *w, const jk_tnet *t, const uint32_t *accounts,
                          const jk_hash *ids, uint32_t slot, jk_wl_share *s)
{
    for (size_t k = 0; k < s->nbodies; k++) {
        uint32_t lo = s->first + (uint32_t)k * JK_RPC_MAX_BATCH;
        uint32_t n = s->first + s->count - lo < JK_RPC_MAX_BATCH ? s->first + s->count - lo
                                                                  : JK_RPC_MAX_BATCH;
        if (!s->bodies || !s->bodies[k])
            continue; /* never signed: no nonce was counted */
        bool *in = calloc(n, sizeof *in);
        json_object *o = s->ok[k] && in ? json_tokener_parse(s->replies[k]) : NULL;
        size_t m = o && json_object_is_type(o, json_type_array) ? json_object_array_length(o) : 0;
        for (size_t r = 0; r < m; r++) {
            json_object *e = json_object_array_get_idx(o, r), *id, *res, *x;
            if (!json_object_object_get_ex(e, "id", &id))
                continue;
            int64_t pos = json_object_get_int64(id);
            if (pos < lo || pos >= (int64_t)(lo + n))
                continue;
            if (json_object_object_get_ex(e, "result", &res) &&
                json_object_object_get_ex(res, "admitted", &x) && json_object_get_boolean(x))
                in[pos - lo] = true;
            else if (t->o->verbose)
                jk_tnet_note(t, "testnet: submit refused: %s", json_object_to_json_string(e));
        }
        json_object_put(o);
        for (uint32_t a = 0; a < n; a++) {
            if (in && in[a] && jk_wl_wait_add(w, &ids[lo + a], slot)) {
                w->admitted++;
                w->slots[slot].left++;
            } else {
                jk_devnet_demo_unsend(w->demo, accounts[lo + a]);
                w->refused++;
            }
        }
        free(in);
    }
}

static void jk_wl_share_free(jk_wl_share *s)
{
    for (size_t k = 0; k < s->nbodies; k++) {
        if (s->bodies)
            free(s->bodies[k]);
        if (s->replies)
            free(s->replies[k]);
    }
    free(s->bodies);
    free(s->lens);
    free(s->replies);
    free(s->ok);
}

/* One node's lane of a send: its share of each batch going out, posted in
 * batch order on one thread (the node admits them one after another). */
typedef struct jk_wl_lane {
    jk_wl_share *share;      /* share[b * stride] is batch b's */
    uint32_t nb, stride;
} jk_wl_lane;

static void *jk_wl_lane_send(void *arg)
{
    jk_wl_lane *l = arg;
    for (uint32_t b = 0; b < l->nb; b++)
        jk_wl_send(&l->share[(size_t)b * l->stride]);
    return NULL;
}

/* Send batches w->slots[slots[b]].index (b < nb) split over the running
 * nodes, all in one go: each node's lane posts its shares of every batch,
 * the lanes run at once, and the driver waits once for the slowest node
 * (batch by batch it waited once per batch, and a node busy with a block
 * held every other node's next share back). The batches use disjoint
 * accounts (the caller's A >= E x K rule), so signing them together keeps
 * every account's nonces in order. Their admitted events wait in w->wait,
 * counted in each slot's left. */
static void jk_wl_batches_send(jk_tnet_wl *w, jk_tnet *t, const uint32_t *slots, uint32_t nb)
{
    uint32_t e = w->per_batch, running = 0;
    for (uint32_t i = 0; i < t->v; i++)
        running += t->pid[i] != 0;
    if (!running || !e || !nb)
        return;
    size_t total = (size_t)nb * e;
    uint32_t *accounts = malloc(total * sizeof *accounts);
    jk_hash *ids = malloc(total * sizeof *ids);
    jk_wl_share *share = calloc((size_t)nb * running, sizeof *share);
    jk_wl_lane lane[JK_DEVNET_TESTNET_MAX];
    pthread_t th[JK_DEVNET_TESTNET_MAX];
    bool started[JK_DEVNET_TESTNET_MAX] = {0};
    if (!accounts || !ids || !share) {
        free(accounts);
        free(ids);
        free(share);
        return;
    }
    uint32_t part = (e + running - 1) / running, ns = 0;
    for (uint32_t b = 0; b < nb; b++) {
        uint32_t *acc = accounts + (size_t)b * e;
        uint64_t first = w->slots[slots[b]].index * e;
        for (uint32_t a = 0; a < e; a++)
            acc[a] = (uint32_t)((first + a) % w->accounts);
        uint32_t done = 0;
        ns = 0;
        for (uint32_t i = 0; i < t->v && done < e; i++) {
            if (!t->pid[i])
                continue;
            jk_wl_share *s = &share[(size_t)b * running + ns];
            s->host = t->rpc_host[i];
            s->port = t->rpc[i];
            s->first = done;
            s->count = e - done < part ? e - done : part;
            done += s->count;
            ns++;
            /* out of memory: the chunks not signed stay NULL and are skipped */
            (void)jk_wl_bodies(w, acc, ids + (size_t)b * e, s);
        }
    }
    for (uint32_t k = 0; k < ns; k++) {
        lane[k] = (jk_wl_lane){&share[k], nb, running};
        started[k] = pthread_create(&th[k], NULL, jk_wl_lane_send, &lane[k]) == 0;
    }
    for (uint32_t k = 0; k < ns; k++) {
        if (started[k])
            pthread_join(th[k], NULL);
        else
            jk_wl_lane_send(&lane[k]);
    }
    for (uint32_t b = 0; b < nb; b++)
        for (uint32_t k = 0; k < ns; k++) {
            jk_wl_share *s = &share[(size_t)b * running + k];
            jk_wl_replies(w, t, accounts + (size_t)b * e, ids + (size_t)b * e, slots[b], s);
            jk_wl_share_free(s);
        }
    qsort(w->wait, w->nwait, sizeof *w->wait, jk_wl_wait_cmp);
    free(accounts);
    free(ids);
    free(share);
}

void jk_tnet_wl_step(jk_tnet_wl *w, jk_tnet *t, uint64_t now, bool more)
{
    if (!w || w->stopped)
        return;
    /* Retire every batch whose admitted events were all seen committed. */
    bool retired = false;
    for (uint32_t k = 0; k < JK_DEVNET_TESTNET_MAX_IN_FLIGHT; k++) {
        jk_wl_batch *b = &w->slots[k];
        if (!b->open || b->left)
            continue;
        uint64_t *room = jk_wl_room(w->lat, w->nlat, &w->caplat, sizeof *room);
        if (!room)
            break;
        w->lat = room;
        w->lat[w->nlat++] = now - b->sent_ms;
        b->open = false;
        w->count--;
        retired = true;
    }
    if (retired) { /* drop the committed ones; the order stays sorted */
        size_t m = 0;
        for (size_t i = 0; i < w->nwait; i++)
            if (!w->wait[i].done)
                w->wait[m++] = w->wait[i];
        w->nwait = m;
    }
    uint64_t oldest = w->next;
    for (uint32_t k = 0; k < JK_DEVNET_TESTNET_MAX_IN_FLIGHT; k++) {
        const jk_wl_batch *b = &w->slots[k];
        if (b->open && b->index < oldest)
            oldest = b->index;
        if (b->open && now - b->sent_ms > JK_WL_STALL_MS) {
            jk_tnet_note(t, "testnet: a batch of events was not committed in %u s; workload stopped",
                         JK_WL_STALL_MS / 1000);
            w->stopped = true;
            return;
        }
    }
    /* Batch b takes accounts [b E, b E + E) mod A; the last batch to use
     * any of them is b - floor(A / E) or earlier, and must be retired
     * (every batch from `oldest` on may still be open). */
    uint64_t gap = w->accounts / w->per_batch, sent = jk_tnet_ms();
    uint32_t pick[JK_DEVNET_TESTNET_MAX_IN_FLIGHT], np = 0;
    while (more && w->count < w->in_flight && (w->next < gap || w->next - gap < oldest)) {
        uint32_t slot = 0;
        while (w->slots[slot].open)
            slot++;
        w->slots[slot] = (jk_wl_batch){w->next++, sent, 0, true};
        w->count++;
        pick[np++] = slot;
    }
    /* At most JK_DEVNET_TESTNET_MAX_BATCH events (one largest batch) are
     * signed and held at once: K x E may reach 64 x 4096. */
    uint32_t group = JK_DEVNET_TESTNET_MAX_BATCH / w->per_batch;
    if (group == 0)
        group = 1;
    for (uint32_t i = 0; i < np; i += group)
        jk_wl_batches_send(w, t, pick + i, np - i < group ? np - i : group);
}
