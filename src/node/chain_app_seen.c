/*
 * chain_app_seen.c — the chain app's memory of the events it has seen
 * (gossip dedup by event hash, each with why it was refused when it was)
 * and the verdicts add_event gives (jk_node_chain_app_verdict; issue 13:
 * the RPC's submit_event answers each event with its own). Split from
 * chain_app.c by concern.
 */
#include "chain_app_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Gossip dedup remembers this many event hashes, then starts over (the pool
 * and the chain keep their own duplicate checks; this only stops echoes).
 * The refusal reasons kept with them are one line each (jk_diag's 192
 * bytes at most): under 13 MiB when all of them were refused. */
#define JK_APP_SEEN_MAX 65536u

/* Index where id is or would go in the sorted seen list. */
size_t jk_node_app_seen_find(const jk_node_chain_app *a, const jk_hash *id, bool *found)
{
    size_t lo = 0, hi = a->nseen;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(a->seen[mid].bytes, id->bytes, JK_HASH_SIZE);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

void jk_node_app_seen_clear(jk_node_chain_app *a)
{
    for (size_t i = 0; i < a->nseen; i++)
        free(a->seen_why[i]);
    a->nseen = 0;
}

void jk_node_app_seen_forget(jk_node_chain_app *a, const jk_hash *id)
{
    bool found;
    size_t at = jk_node_app_seen_find(a, id, &found);
    if (!found)
        return;
    free(a->seen_why[at]);
    memmove(a->seen + at, a->seen + at + 1, (a->nseen - at - 1) * sizeof *a->seen);
    memmove(a->seen_why + at, a->seen_why + at + 1, (a->nseen - at - 1) * sizeof *a->seen_why);
    a->nseen--;
}

/* A refusal is verify's answer on one chain state: once the head moves, a
 * later copy of the event is judged afresh (an early nonce may have become
 * valid; outsider5 found a chain whose users could never resend one). The
 * admitted ones stay, to stop echoes. This costs a peer nothing it could not
 * have by sending fresh invalid events, which are verified once each too. */
void jk_node_app_seen_forget_refused(jk_node_chain_app *a)
{
    size_t k = 0;
    for (size_t i = 0; i < a->nseen; i++) {
        if (a->seen_why[i]) {
            free(a->seen_why[i]);
            continue;
        }
        a->seen[k] = a->seen[i];
        a->seen_why[k++] = NULL;
    }
    a->nseen = k;
}

/* Remember id as seen: admitted (why NULL) or refused for this reason
 * (copied), replacing what was remembered for it. */
jk_err jk_node_app_seen_add(jk_node_chain_app *a, const jk_hash *id, const char *why)
{
    char *copy = NULL;
    if (why) {
        size_t n = strlen(why) + 1;
        copy = malloc(n);
        if (!copy)
            return JK_ERR_NOMEM;
        memcpy(copy, why, n);
    }
    bool found;
    size_t at = jk_node_app_seen_find(a, id, &found);
    if (found) {
        free(a->seen_why[at]);
        a->seen_why[at] = copy;
        return JK_OK;
    }
    if (a->nseen >= JK_APP_SEEN_MAX) {
        jk_node_app_seen_clear(a);
        at = 0;
    }
    if (a->nseen == a->capseen) {
        size_t cap = a->capseen ? 2 * a->capseen : 64;
        jk_hash *s = realloc(a->seen, cap * sizeof *s);
        char **w = s ? realloc(a->seen_why, cap * sizeof *w) : NULL;
        if (s)
            a->seen = s;
        if (!w) {
            free(copy);
            return JK_ERR_NOMEM;
        }
        a->seen_why = w;
        a->capseen = cap;
    }
    memmove(a->seen + at + 1, a->seen + at, (a->nseen - at) * sizeof *a->seen);
    memmove(a->seen_why + at + 1, a->seen_why + at, (a->nseen - at) * sizeof *a->seen_why);
    a->seen[at] = *id;
    a->seen_why[at] = copy;
    a->nseen++;
    return JK_OK;
}

/* verify's own FAULT (JK_FAULT_GUEST) reaches the chain layer's reason as
 * "verify did not HALT: program fault, reason N: TEXT" (src/kernel's FAULT
 * host call, src/chain's verify): its code N, when why is that. */
void jk_node_app_verdict_code(jk_node_event_verdict *v, const char *why)
{
    static const char pre[] = "verify did not HALT: program fault, reason ";
    v->has_code = false;
    v->code = 0;
    if (strncmp(why, pre, sizeof pre - 1) != 0)
        return;
    const char *p = why + sizeof pre - 1;
    uint64_t code = 0;
    size_t digits = 0;
    for (; *p >= '0' && *p <= '9' && digits < 20; p++, digits++) {
        uint64_t d = (uint64_t)(*p - '0');
        if (code > (UINT64_MAX - d) / 10)
            return;
        code = code * 10 + d;
    }
    if (digits == 0 || *p != ':')
        return;
    v->has_code = true;
    v->code = code;
}

void jk_node_app_verdict_set(jk_node_event_verdict *v, jk_node_verdict_kind kind,
                             const char *fmt, ...)
{
    v->kind = kind;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->reason, sizeof v->reason, fmt, ap);
    va_end(ap);
}

/* Why an event seen before is not admitted again: still pooled, refused
 * when first seen (with that refusal's reason and code), or admitted and
 * since gone from the pool into a committed block (a dispatch event leaves
 * the pool at the next commit: it was for that height). */
void jk_node_app_repeat_verdict(const jk_node_chain_app *a, const jk_hash *id, size_t at,
                                jk_node_event_verdict *v)
{
    for (size_t i = 0; i < a->npending; i++)
        if (memcmp(a->pending[i].id.bytes, id->bytes, JK_HASH_SIZE) == 0) {
            jk_node_app_verdict_set(v, JK_NODE_VERDICT_IN_POOL, "already in the pool");
            return;
        }
    if (a->seen_why[at]) {
        jk_node_app_verdict_set(v, JK_NODE_VERDICT_REFUSED_BEFORE,
                                "already refused when first seen: %s", a->seen_why[at]);
        jk_node_app_verdict_code(v, a->seen_why[at]);
    } else {
        jk_node_app_verdict_set(v, JK_NODE_VERDICT_COMMITTED,
                                "already committed: a block of this chain holds it (or, a "
                                "dispatch event, processed at the height it arrived in)");
    }
}

bool jk_node_chain_app_verdict(const jk_node_chain_app *a, const jk_hash *id,
                               jk_node_event_verdict *out)
{
    if (!a->has_last || a->last.kind == JK_NODE_VERDICT_MALFORMED ||
        memcmp(a->last.id.bytes, id->bytes, JK_HASH_SIZE) != 0)
        return false;
    *out = a->last;
    return true;
}
