/*
 * test.h — jark's tiny test framework.
 *
 * JK_TEST(name) { ... } defines a test and registers it at start-up; the runner
 * (tests/main.c) runs every registered test, or those whose name contains one
 * of its arguments, and ends with the line "N passed, N failed".
 * JK_CHECK* record a failure (file:line and the values) and let the test go on;
 * JK_REQUIRE* also return from the test.
 */
#ifndef JK_TEST_H
#define JK_TEST_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "jark/bytes.h"

typedef void (*jk_test_fn)(void);
void jk_test_register(const char *name, jk_test_fn fn);
void jk_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Failures of the running test so far (a test that keeps its logs when it
 * failed). */
int jk_test_failures(void);
/* Directory holding ../shared (the project root's sibling); "../shared" unless
 * JK_SHARED_DIR is set in the environment. */
const char *jk_test_shared_dir(void);

#define JK_TEST(name)                                                          \
    static void name(void);                                                    \
    __attribute__((constructor)) static void name##_register(void)             \
    {                                                                          \
        jk_test_register(#name, name);                                         \
    }                                                                          \
    static void name(void)

#define JK_CHECK(cond)                                                         \
    ((cond) ? (void)0 : jk_test_fail(__FILE__, __LINE__, "check failed: %s", #cond))

#define JK_CHECK_EQ(a, b)                                                      \
    do {                                                                       \
        uint64_t jk_a_ = (uint64_t)(a), jk_b_ = (uint64_t)(b);                 \
        if (jk_a_ != jk_b_)                                                    \
            jk_test_fail(__FILE__, __LINE__, "%s == %s: 0x%" PRIx64 " != 0x%" PRIx64, \
                         #a, #b, jk_a_, jk_b_);                                \
    } while (0)

#define JK_CHECK_MEM(a, b, n)                                                  \
    do {                                                                       \
        if (memcmp((a), (b), (n)) != 0)                                        \
            jk_test_fail(__FILE__, __LINE__, "%s and %s differ", #a, #b);      \
    } while (0)

/* bytes[0..n) as lower-case hex equal the string expect (golden values). */
#define JK_CHECK_HEX(bytes, n, expect)                                         \
    do {                                                                       \
        char jk_got_[2 * (n) + 1];                                             \
        jk_hex_encode((bytes), (n), jk_got_);                                  \
        if (strcmp(jk_got_, (expect)) != 0)                                    \
            jk_test_fail(__FILE__, __LINE__, "%s:\n  got    %s\n  expect %s", \
                         #bytes, jk_got_, (expect));                           \
    } while (0)

#define JK_REQUIRE(cond)                                                       \
    do {                                                                       \
        if (!(cond)) {                                                         \
            jk_test_fail(__FILE__, __LINE__, "required: %s", #cond);           \
            return;                                                            \
        }                                                                      \
    } while (0)

#endif
