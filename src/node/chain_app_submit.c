/*
 * chain_app_submit.c — add_event with its verdict (jark/node.h
 * jk_node_chain_app_submit; docs/rpc.md "submit_event"): one event from RPC
 * or gossip decoded (or taken from the loop turn's prepared batch,
 * chain_app_batch.c), deduplicated through the seen set (chain_app_seen.c),
 * admitted into the chain Kernel's pool or refused with its reason, and
 * kept encoded in the pending list until a committed block carries it.
 */
#include "chain_app_internal.h"

#include <stdlib.h>
#include <string.h>

/* One decoded event (id: its hash) into the pool, as jk_app_admit. */
static jk_err jk_app_admit_one(jk_node_chain_app *a, const jk_chain_event *ev, const jk_hash *id,
                               const jk_chain_trace *traces, size_t count, bool *admitted,
                               jk_diag *why, jk_diag *diag)
{
    jk_chain_kernel *ck = a->v->ck;
    jk_err err = ck->cycle_open ? JK_OK : jk_chain_setup_cycle(ck, diag);
    if (err == JK_OK)
        err = jk_chain_handle_incoming_event_id(ck, ev, id, traces, count, admitted, why);
    if (err != JK_OK)
        jk_chain_teardown(ck);
    return err;
}

/* add_event with its verdict (jk_node_chain_app_submit): decode, dedup by
 * event hash, admit through the loop turn's prepared verdict or verify now.
 * An event of the prepared turn comes decoded and hashed already
 * (chain_app_batch.c): nothing here decodes or hashes it again, and its
 * copied bytes become the pending entry's. */
bool jk_node_app_submit(jk_node_chain_app *a, const uint8_t *bytes, size_t len, jk_node_event_verdict *v)
{
    memset(v, 0, sizeof *v);
    jk_app_prep_ev *pe = a->nprep_evs ? jk_node_app_prep_take(a, bytes, len) : NULL;
    jk_chain_event ev;
    jk_chain_trace *traces = NULL; /* owned here when pe is NULL */
    size_t count;
    jk_diag why = {{0}};
    if (pe) {
        ev = pe->ev;
        count = pe->count;
        v->id = pe->id;
    } else if (jk_node_event_decode(bytes, len, &ev, &traces, &count, &why) != JK_OK) {
        a->stats.events_refused++;
        jk_node_app_verdict_set(v, JK_NODE_VERDICT_MALFORMED, "%s",
                                why.msg[0] ? why.msg : "malformed");
        return false;
    } else {
        jk_chain_event_hash(&ev, &v->id);
    }
    const jk_chain_trace *tr = pe ? pe->traces : traces;
    const jk_hash *id = &v->id;
    bool found;
    uint64_t seen_h = pe ? pe->seen_h : jk_node_app_seen_hash(id); /* kept by the pending entry */
    size_t at = jk_node_app_seen_find_h(a, id, seen_h, &found);
    bool admitted = false;
    jk_err err = JK_OK;
    bool dispatch = ev.endpoint != JK_CHAIN_ENDPOINT_TRANSACT;
    if (found) {
        a->stats.events_duplicate++;
        jk_node_app_repeat_verdict(a, id, at, v);
        goto out;
    }
    if (pe && pe->shared) {
        /* seen when prepared, and no longer (a commit forgot a refusal, or
         * the turn's first copy was refused for a bound): judged afresh,
         * as an unprepared event (its id is the prepared one) */
        if (jk_node_event_decode(bytes, len, &ev, &traces, &count, &why) != JK_OK) {
            a->stats.events_refused++;
            jk_node_app_verdict_set(v, JK_NODE_VERDICT_FAILED, "%s", why.msg[0] ? why.msg : "no memory");
            return false;
        }
        pe = NULL;
        tr = traces;
    }
    /* A verify refusal is remembered under these bytes (the event with
     * these traces), not the event's id: see jk_node_app_refusal_id. */
    jk_hash rid;
    bool have_rid = false;
    if (a->seen_refusals) {
        bool rfound;
        jk_node_app_refusal_id(bytes, len, &rid);
        have_rid = true;
        size_t rat = jk_node_app_seen_find(a, &rid, &rfound);
        if (rfound) {
            a->stats.events_duplicate++;
            jk_node_app_repeat_verdict(a, &rid, rat, v);
            goto out;
        }
    }
    if (dispatch && a->npending_dispatch >= JK_NODE_MAX_PENDING_DISPATCH) {
        a->stats.events_refused++;
        jk_node_app_verdict_set(v, JK_NODE_VERDICT_OVER_BOUNDS, "%u dispatch events wait for a block already",
                                JK_NODE_MAX_PENDING_DISPATCH);
        goto out;
    }
    err = jk_node_app_seen_add_at(a, id, at);
    if (err == JK_OK && a->npending == a->cappending) {
        size_t cap = a->cappending ? 2 * a->cappending : 32;
        jk_app_pending *p = realloc(a->pending, cap * sizeof *p);
        if (p) {
            a->pending = p;
            a->cappending = cap;
        } else {
            err = JK_ERR_NOMEM;
        }
    }
    if (err != JK_OK) {
        jk_node_app_verdict_set(v, JK_NODE_VERDICT_FAILED, "%s", jk_strerror(err));
        goto out;
    }
    jk_diag diag = {{0}};
    a->v->ck->last_verify_gas = 0; /* none ran, should admission fail before */
    /* a prepared event without a verdict was seen when prepared, and is no
     * longer (a commit in between forgot its refusal): verified now */
    if (pe && pe->at != SIZE_MAX)
        err = jk_node_app_admit_prepared(a, pe, &admitted, &why, &diag);
    else
        err = jk_app_admit_one(a, &ev, id, tr, count, &admitted, &why, &diag);
    v->gas = a->v->ck->last_verify_gas;
    if (err != JK_OK || !admitted) {
        a->stats.events_refused++;
        if (err != JK_OK)
            jk_node_app_verdict_set(v, JK_NODE_VERDICT_FAILED, "%s",
                                    diag.msg[0] ? diag.msg : jk_strerror(err));
        else /* the chain layer's words tell verify's refusals from its bounds */
            jk_node_app_verdict_set(v, strncmp(why.msg, "verify ", 7) == 0
                                           ? JK_NODE_VERDICT_REFUSED
                                           : JK_NODE_VERDICT_OVER_BOUNDS,
                                    "%s", why.msg[0] ? why.msg : "dropped by handle_incoming_event");
        jk_node_app_verdict_code(v, v->reason);
        if (v->kind == JK_NODE_VERDICT_REFUSED) {
            /* verify's answer holds, for this event with these traces */
            jk_node_app_seen_forget(a, id);
            if (!have_rid)
                jk_node_app_refusal_id(bytes, len, &rid);
            (void)jk_node_app_seen_add(a, &rid, v->reason); /* counts seen_refusals */
        } else
            jk_node_app_seen_forget(a, id); /* a bound or a failure may lift: judge a
                                               later copy afresh (the bounds are checked
                                               before anything runs) */
        admitted = false;
        goto out;
    }
    size_t room = pe ? pe->room : jk_node_app_room(len, count);
    uint8_t *copy = pe ? pe->bytes : malloc(room);
    if (!copy) {
        jk_node_app_verdict_set(v, JK_NODE_VERDICT_FAILED, "%s", jk_strerror(JK_ERR_NOMEM));
        admitted = false;
        goto out;
    }
    if (pe)
        pe->bytes = NULL; /* the pending entry's now (pe is taken: nothing reads it) */
    else
        memcpy(copy, bytes, len);
    jk_app_pending *p = &a->pending[a->npending++];
    *p = (jk_app_pending){copy, len, *id, dispatch, a->v->height, false, {{0}}, 0, room, seen_h};
    jk_node_app_keep_verdict(a, p);
    a->npending_dispatch += dispatch;
    a->stats.events_admitted++;
out:
    free(traces);
    return admitted;
}
