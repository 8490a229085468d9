/* funcptr.c — function pointers in tables, as arguments, returned, compared
 * and stored in structs; and a dense and a sparse switch. */
#include "corpus.h"

typedef int64_t (*binop)(int64_t, int64_t);
static int64_t op_add(int64_t a, int64_t b) { return a + b; }
static int64_t op_sub(int64_t a, int64_t b) { return a - b; }
static int64_t op_mul(int64_t a, int64_t b) { return a * b; }
static int64_t op_max(int64_t a, int64_t b) { return a > b ? a : b; }

static const binop const_table[4] = {op_add, op_sub, op_mul, op_max};
static binop table[4] = {op_mul, op_max, op_add, op_sub};

struct handler {
    const char *name;
    binop fn;
};
static struct handler handlers[] = {{"add", op_add}, {"sub", op_sub}, {"mul", op_mul}};

static int64_t fold(const int64_t *xs, int n, binop f, int64_t init)
{
    for (int i = 0; i < n; i++)
        init = f(init, xs[i]);
    return init;
}

static binop pick(int k) { return k & 1 ? op_sub : op_add; }

static int64_t dense_switch(int k, int64_t v)
{
    switch (k) {
    case 0: return v + 1;
    case 1: return v * 3;
    case 2: return v - 17;
    case 3: return v ^ 0x55;
    case 4: return v << 3;
    case 5: return v / 7;
    case 6: return -v;
    case 7: return v & 0xFF;
    case 8: return v | 0x100;
    default: return 12345;
    }
}

static int64_t sparse_switch(int64_t k)
{
    switch (k) {
    case -1000: return 1;
    case 3: return 2;
    case 77: return 3;
    case 4096: return 4;
    case 1000000: return 5;
    default: return 0;
    }
}

long funcptr_main(void)
{
    int64_t xs[] = {3, -4, 5, 9, -2, 6};
    for (int i = 0; i < 4; i++) {
        say("const_table", fold(xs, 6, const_table[i], 1));
        say("table", fold(xs, 6, table[i], 2));
    }
    for (unsigned i = 0; i < sizeof handlers / sizeof handlers[0]; i++) {
        jk_print_str(handlers[i].name);
        say(":", handlers[i].fn(40, 2));
    }
    say("pick", pick(1)(10, 3) + pick(2)(10, 3));
    say("same", pick(1) == op_sub);
    say("differ", pick(1) == pick(2));
    table[0] = pick(3);
    say("swapped", table[0](100, 1));
    int64_t acc = 0;
    for (int k = -1; k < 11; k++)
        acc = acc * 31 + dense_switch(k, 1000 + k);
    say("dense", acc);
    int64_t keys[] = {-1000, 3, 4, 77, 4096, 1000000, 5};
    acc = 0;
    for (int i = 0; i < 7; i++)
        acc = acc * 10 + sparse_switch(keys[i]);
    say("sparse", acc);
    return (long)acc;
}
JK_PROGRAM_MAIN(funcptr_main);
