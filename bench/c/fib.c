/* fib.c — recursive fibonacci. The recursion goes through a volatile
 * function pointer so that neither compiler turns it into a loop: both
 * builds make every call. */
#include "jark.h"

static uint64_t fib_rec(uint64_t n);
static uint64_t (*volatile fib_call)(uint64_t) = fib_rec;

static uint64_t fib_rec(uint64_t n)
{
    if (n < 2)
        return n;
    return fib_call(n - 1) + fib_call(n - 2);
}

uint64_t c_fib(uint64_t n)
{
    return fib_rec(n);
}
JK_ENDPOINT(0, c_fib);
