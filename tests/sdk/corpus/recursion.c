/* recursion.c — recursive and mutually recursive calls, deep enough to use
 * the stack in earnest. */
#include "corpus.h"

static long fib(long n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

static long ackermann(long m, long n)
{
    if (m == 0)
        return n + 1;
    if (n == 0)
        return ackermann(m - 1, 1);
    return ackermann(m - 1, ackermann(m, n - 1));
}

static int is_odd(unsigned n);
static int is_even(unsigned n) { return n == 0 ? 1 : is_odd(n - 1); }
static int is_odd(unsigned n) { return n == 0 ? 0 : is_even(n - 1); }

/* Recursion with a frame that holds an array. */
static uint64_t deep(unsigned depth, uint64_t acc)
{
    volatile uint64_t local[8];
    for (unsigned i = 0; i < 8; i++)
        local[i] = acc + i * depth;
    if (depth == 0)
        return acc;
    uint64_t r = deep(depth - 1, acc * 31 + local[depth % 8]);
    return r ^ local[(depth + 3) % 8];
}

long recursion_main(void)
{
    say("fib(24)", fib(24));
    say("ackermann(2,3)", ackermann(2, 3));
    say("ackermann(3,3)", ackermann(3, 3));
    say("even(1001)", is_even(1001));
    say("odd(777)", is_odd(777));
    say_hex("deep(400)", deep(400, 1));
    return fib(15);
}
JK_PROGRAM_MAIN(recursion_main);
