/*
 * test_err.c — jk_strerror has a real message for every code in jk_err_all.
 *
 * Lives with the crypto tests because crypto is the lowest layer whose codes
 * (JK_ERR_CRYPTO_*) must be in the table; the check itself covers every layer.
 */
#include "../test.h"

#include "jark/err.h"

JK_TEST(err_strerror_covers_all)
{
    const char *unknown = "unknown error";
    JK_REQUIRE(jk_err_all_count > 0);
    for (size_t i = 0; i < jk_err_all_count; i++) {
        const char *msg = jk_strerror(jk_err_all[i]);
        if (msg == NULL) {
            jk_test_fail(__FILE__, __LINE__, "code %d has a NULL message",
                         (int)jk_err_all[i]);
            continue;
        }
        if (msg[0] == '\0' || strcmp(msg, unknown) == 0)
            jk_test_fail(__FILE__, __LINE__, "code %d has no message (\"%s\")",
                         (int)jk_err_all[i], msg);
    }
}

/* The fallback the check above relies on: a code outside the enum gets the
 * "unknown error" text (never NULL). */
JK_TEST(err_strerror_unknown_code)
{
    const char *msg = jk_strerror((jk_err)-99);
    JK_REQUIRE(msg != NULL);
    JK_CHECK(strcmp(msg, "unknown error") == 0);
}

/* The table lists each code once, JK_OK among them, and this layer's codes. */
JK_TEST(err_all_codes_unique)
{
    bool saw_ok = false, saw_init = false, saw_bad_sig = false;
    for (size_t i = 0; i < jk_err_all_count; i++) {
        for (size_t j = i + 1; j < jk_err_all_count; j++)
            if (jk_err_all[i] == jk_err_all[j])
                jk_test_fail(__FILE__, __LINE__, "code %d listed twice",
                             (int)jk_err_all[i]);
        saw_ok |= jk_err_all[i] == JK_OK;
        saw_init |= jk_err_all[i] == JK_ERR_CRYPTO_INIT;
        saw_bad_sig |= jk_err_all[i] == JK_ERR_CRYPTO_BAD_SIG;
    }
    JK_CHECK(saw_ok);
    JK_CHECK(saw_init);
    JK_CHECK(saw_bad_sig);
}
