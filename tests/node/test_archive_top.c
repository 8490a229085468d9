/*
 * test_archive_top.c — the archive answers its top (the block of the last
 * async commit, its certificate, and the certificate of top - 1 it
 * carried) from memory while the store's writer is still writing it
 * (archive.c, jk_node_archive_get): a peer's sync request for the height a
 * validator has just decided reads exactly those (the chain app's
 * get_decision), and every read of the store waits for the write in
 * progress — under load a checkpoint's write held a validator's loop for
 * ~0.9 s that way (docs/bench.md "Pacing, session 11").
 */
#include "chain_app_fx.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

/* The writer of height `at`, held inside its transaction until released
 * or, at the latest, until a bound only a failure reaches (the reader then
 * waited for it: `expired`). */
typedef struct at_hold {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t at;
    bool inside, released, expired;
} at_hold;

static void at_hook(void *ctx, uint64_t height)
{
    at_hold *t = ctx;
    if (height != t->at)
        return;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 120;
    pthread_mutex_lock(&t->mu);
    t->inside = true;
    pthread_cond_broadcast(&t->cv);
    while (!t->released && !t->expired)
        t->expired = pthread_cond_timedwait(&t->cv, &t->mu, &until) != 0;
    pthread_mutex_unlock(&t->mu);
}

/* Validator 0's decision of height 2 (block 2, the certificate of 1 it
 * carried, its own certificate of 2) is answered while its write of 2 is
 * held, and is what validator 1 — whose write was not held — answers from
 * its store. Without the copy the answer waits for the held write until
 * the hook's bound lets it go. */
JK_TEST(test_archive_top_decision_answered_while_its_write_waits)
{
    static fx f;
    JK_REQUIRE(fx_make(&f));
    static at_hold t;
    pthread_mutex_init(&t.mu, NULL);
    pthread_cond_init(&t.cv, NULL);
    t.at = 2;
    jk_cons_cert c1, c2;
    JK_REQUIRE(fx_gossip(&f, 1, 8) == 8);
    JK_REQUIRE(fx_decide(&f, 1, 0, &c1));
    jk_node_archive_set_write_hook(jk_node_chain_app_archive(f.apps[0]), at_hook, &t);
    JK_REQUIRE(fx_gossip(&f, 2, 8) == 8);
    JK_REQUIRE(fx_decide(&f, 2, 0, &c2));
    pthread_mutex_lock(&t.mu);
    while (!t.inside)
        pthread_cond_wait(&t.cv, &t.mu);
    pthread_mutex_unlock(&t.mu);

    const uint8_t *v0 = NULL;
    size_t len0 = 0;
    const jk_cons_cert *cert0 = NULL;
    bool ok = f.cb[0].get_decision(f.apps[0], 2, &v0, &len0, &cert0);
    pthread_mutex_lock(&t.mu);
    bool held = !t.expired; /* answered while the write was held */
    t.released = true;
    pthread_cond_broadcast(&t.cv);
    pthread_mutex_unlock(&t.mu);
    JK_CHECK(held);
    JK_REQUIRE(ok);
    uint8_t *value = malloc(len0);
    JK_REQUIRE(value);
    memcpy(value, v0, len0);
    jk_cons_cert cert = *cert0;

    /* validator 1's store answers the same value and certificate */
    const uint8_t *v1 = NULL;
    size_t len1 = 0;
    const jk_cons_cert *cert1 = NULL;
    JK_REQUIRE(f.cb[1].get_decision(f.apps[1], 2, &v1, &len1, &cert1));
    JK_CHECK_EQ(len0, len1);
    if (len0 == len1)
        JK_CHECK_MEM(value, v1, len1);
    JK_CHECK_EQ(cert.height, 2);
    JK_CHECK_MEM(cert.value.bytes, c2.value.bytes, 32);
    JK_CHECK_EQ(cert.count, c2.count);
    free(value);
    jk_node_archive_set_write_hook(jk_node_chain_app_archive(f.apps[0]), NULL, NULL);
    fx_free(&f);
}
