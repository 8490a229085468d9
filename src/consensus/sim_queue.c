/*
 * sim_queue.c — the simulated network's schedule (consensus.h): a binary
 * min-heap of timed items ordered by (time, seq). seq is a counter of pushes,
 * so the order of equal times is the push order and the whole schedule is a
 * function of what the driver pushed, never of addresses.
 */
#include "jark/consensus.h"

#include <stdlib.h>
#include <string.h>

static bool jk_item_less(const jk_cons_sim_item *a, const jk_cons_sim_item *b)
{
    return a->time != b->time ? a->time < b->time : a->seq < b->seq;
}

jk_cons_sim_item *jk_cons_sim_queue_push(jk_cons_sim_queue *q, uint64_t time, uint8_t kind,
                                         uint32_t node)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? 2 * q->cap : 256;
        jk_cons_sim_item *h = realloc(q->items, cap * sizeof *h);
        if (!h)
            return NULL;
        q->items = h;
        q->cap = cap;
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
