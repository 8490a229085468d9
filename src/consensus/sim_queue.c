/*
 * sim_queue.c — what every simulating driver keeps (consensus.h): the
 * network's schedule, a binary min-heap of timed items ordered by (time,
 * seq), where seq counts pushes, so the order of equal times is the push
 * order and the schedule is a function of what the driver pushed, never of
 * addresses; and the log of what each honest validator signed, scanned in
 * the order noted.
 */
#include "jark/consensus.h"

#include <stdlib.h>
#include <string.h>

/* Room for one more element: items (of elem bytes, *cap of them) grown to
 * twice as many, or to `first`. The new array, or NULL (items unchanged). */
static void *jk_grow(void *items, size_t *cap, size_t elem, size_t first)
{
    size_t n = *cap ? 2 * *cap : first;
    void *a = realloc(items, n * elem);
    if (a)
        *cap = n;
    return a;
}

static bool jk_item_less(const jk_cons_sim_item *a, const jk_cons_sim_item *b)
{
    return a->time != b->time ? a->time < b->time : a->seq < b->seq;
}

jk_cons_sim_item *jk_cons_sim_queue_push(jk_cons_sim_queue *q, uint64_t time, uint8_t kind,
                                         uint32_t node)
{
    if (q->n == q->cap) {
        jk_cons_sim_item *h = jk_grow(q->items, &q->cap, sizeof *h, 256);
        if (!h)
            return NULL;
        q->items = h;
    }
    jk_cons_sim_item it;
    memset(&it, 0, sizeof it);
    it.time = time;
    it.seq = q->seq++;
    it.kind = kind;
    it.node = node;
    /* Sift up: the new item rises past every later parent. */
    size_t i = q->n++;
    while (i > 0 && jk_item_less(&it, &q->items[(i - 1) / 2])) {
        q->items[i] = q->items[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    q->items[i] = it;
    return &q->items[i];
}

jk_cons_sim_item jk_cons_sim_queue_pop(jk_cons_sim_queue *q)
{
    jk_cons_sim_item top = q->items[0], last = q->items[--q->n];
    /* Sift down: the last item sinks from the root past every earlier child. */
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= q->n)
            break;
        if (c + 1 < q->n && jk_item_less(&q->items[c + 1], &q->items[c]))
            c++;
        if (!jk_item_less(&q->items[c], &last))
            break;
        q->items[i] = q->items[c];
        i = c;
    }
    if (q->n)
        q->items[i] = last;
    return top;
}

void jk_cons_sim_queue_free(jk_cons_sim_queue *q)
{
    for (size_t i = 0; i < q->n; i++)
        free(q->items[i].bytes);
    free(q->items);
    memset(q, 0, sizeof *q);
}

/* ---- what an honest validator signed -------------------------------------- */

jk_err jk_cons_sim_signed_note(jk_cons_sim_signed_log *log, const jk_cons_sim_signed *sg,
                               bool *conflict)
{
    *conflict = false;
    for (size_t i = 0; i < log->n; i++) {
        const jk_cons_sim_signed *o = &log->items[i];
        if (o->height != sg->height || o->round != sg->round || o->type != sg->type)
            continue;
        *conflict = o->has_value != sg->has_value ||
                    memcmp(o->value.bytes, sg->value.bytes, JK_HASH_SIZE) != 0;
        return JK_OK;
    }
    if (log->n == log->cap) {
        jk_cons_sim_signed *a = jk_grow(log->items, &log->cap, sizeof *a, 64);
        if (!a)
            return JK_ERR_NOMEM;
        log->items = a;
    }
    log->items[log->n++] = *sg;
    return JK_OK;
}

void jk_cons_sim_signed_free(jk_cons_sim_signed_log *log)
{
    free(log->items);
    memset(log, 0, sizeof *log);
}
