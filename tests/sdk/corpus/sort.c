/* sort.c — a merge sort of generated keys (with a struct payload), checked
 * for order and for being a permutation of the input. */
#include "corpus.h"

struct item {
    uint64_t key;
    uint32_t original_index;
};

#define COUNT 5000
static struct item items[COUNT], scratch[COUNT];

static int before(const struct item *a, const struct item *b)
{
    return a->key < b->key || (a->key == b->key && a->original_index < b->original_index);
}

static void merge_sort(struct item *v, struct item *tmp, unsigned n)
{
    if (n < 16) { /* insertion sort for short runs */
        for (unsigned i = 1; i < n; i++) {
            struct item x = v[i];
            unsigned j = i;
            while (j > 0 && before(&x, &v[j - 1])) {
                v[j] = v[j - 1];
                j--;
            }
            v[j] = x;
        }
        return;
    }
    unsigned half = n / 2;
    merge_sort(v, tmp, half);
    merge_sort(v + half, tmp, n - half);
    unsigned i = 0, j = half, o = 0;
    while (i < half && j < n)
        tmp[o++] = before(&v[j], &v[i]) ? v[j++] : v[i++];
    while (i < half)
        tmp[o++] = v[i++];
    while (j < n)
        tmp[o++] = v[j++];
    for (unsigned k = 0; k < n; k++)
        v[k] = tmp[k];
}

long sort_main(void)
{
    uint64_t state = 77, sum_before = 0, sum_after = 0;
    for (unsigned i = 0; i < COUNT; i++) {
        items[i].key = corpus_next(&state) % 100000; /* with duplicates */
        items[i].original_index = i;
        sum_before += items[i].key * 3 + i;
    }
    merge_sort(items, scratch, COUNT);
    int sorted = 1;
    uint64_t order = 0;
    for (unsigned i = 0; i < COUNT; i++) {
        sum_after += items[i].key * 3 + items[i].original_index;
        if (i && before(&items[i], &items[i - 1]))
            sorted = 0;
        order = order * 1000003 + items[i].original_index;
    }
    say("sorted", sorted);
    say("permutation", sum_before == sum_after);
    say_u("min", items[0].key);
    say_u("max", items[COUNT - 1].key);
    say_hex("order", order);
    return sorted;
}
JK_PROGRAM_MAIN(sort_main);
