/* sieve.c — prime sieve of Eratosthenes over n numbers (n ≤ 10,000,000);
 * returns the count of primes below n. The PVM build's array lives in
 * zero-initialised data; the native build is the same code. */
#include "jark.h"
#include "place.h"

#define SIEVE_MAX 10000000
static JK_BENCH_LARGE uint8_t composite[SIEVE_MAX];

uint64_t c_sieve(uint64_t n)
{
    uint64_t count = 0;
    if (n > SIEVE_MAX)
        n = SIEVE_MAX;
    for (uint64_t i = 0; i < n; i++)
        composite[i] = 0;
    for (uint64_t i = 2; i < n; i++) {
        if (composite[i])
            continue;
        count++;
        for (uint64_t j = i * i; j < n; j += i)
            composite[j] = 1;
    }
    return count;
}
JK_ENDPOINT(0, c_sieve);
