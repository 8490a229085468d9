/*
 * fuzz_consensus.c — fuzz target over the consensus layer's decoders and
 * its state machine.
 *
 * The whole input is one candidate message: a refusal must come with a
 * diagnostic and JK_ERR_CONS_DECODE and leave the message zeroed; a message
 * that decodes must re-encode to exactly the input. The same bytes go
 * through the certificate and record decoders under the same rules. Then the
 * input is read as a sequence of messages (u16 length, bytes) delivered to
 * validator 0 of 4 at height 1 from peer (length mod 4), with a timer fired
 * after each: every call must return a documented code, and the machine's
 * outputs must be well-formed (every SEND decodes; PERSIST never moves the
 * record backwards). The keys and genesis are fixed (seeds 1..4, "fuzz
 * genesis") so that a corpus can hold validly signed messages.
 */
#include "fuzz_targets.h"

#include "jark/consensus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void jk_fuzz_fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_consensus: %s: %s\n", what, detail ? detail : "");
    abort();
}

static jk_cons_valset jk_fz_vs;
static uint8_t jk_fz_sk[4][JK_ED25519_SECRET_SIZE];
static jk_hash jk_fz_genesis;
static uint64_t jk_fz_decided;

static uint32_t fz_proposer(void *ctx, uint64_t h, uint32_t r)
{
    (void)ctx;
    return (uint32_t)((h + r) % 4);
}

static jk_err fz_get_value(void *ctx, uint64_t h, uint32_t r, uint8_t **v, size_t *len)
{
    (void)ctx;
    if (!(*v = malloc(8)))
        return JK_ERR_NOMEM;
    memcpy(*v, "fuzzval", 8);
    (*v)[7] = (uint8_t)(h + r);
    *len = 8;
    return JK_OK;
}

static bool fz_valid(void *ctx, uint64_t h, const uint8_t *v, size_t len)
{
    (void)ctx;
    (void)h;
    return len > 0 && v[0] != 'X';
}

static void fz_hash(void *ctx, const uint8_t *v, size_t len, jk_hash *out)
{
    (void)ctx;
    jk_crypto_blake2b256(v, len, out);
}

static jk_err fz_commit(void *ctx, uint64_t h, const uint8_t *v, size_t len,
                        const jk_cons_cert *cert)
{
    (void)ctx;
    jk_hash id;
    jk_crypto_blake2b256(v, len, &id);
    if (jk_cons_cert_check(cert, &jk_fz_genesis, &jk_fz_vs, h, &id, NULL) != JK_OK)
        jk_fuzz_fail("committed without a valid certificate", NULL);
    jk_fz_decided++;
    return JK_OK;
}

static bool fz_add_event(void *ctx, const uint8_t *ev, size_t len)
{
    (void)ctx;
    return len > 0 && ev[0] != 0;
}

static void jk_fz_setup(void)
{
    static int ready;
    if (ready)
        return;
    if (jk_crypto_init() != JK_OK)
        abort();
    jk_fz_vs.count = 4;
    for (uint32_t i = 0; i < 4; i++) {
        uint8_t seed[32] = {0};
        seed[0] = (uint8_t)(i + 1);
        if (jk_crypto_ed25519_keypair_from_seed(seed, jk_fz_vs.keys[i], jk_fz_sk[i]) != JK_OK)
            abort();
    }
    jk_crypto_blake2b256("fuzz genesis", 12, &jk_fz_genesis);
    ready = 1;
}

static void jk_fz_decoders(const uint8_t *data, size_t size)
{
    jk_cons_msg *msg = malloc(sizeof *msg);
    jk_cons_cert *cert = malloc(sizeof *cert);
    jk_diag diag = {{0}};
    if (!msg || !cert)
        abort();
    jk_err err = jk_cons_msg_decode(data, size, msg, &diag);
    if (err == JK_OK) {
        uint8_t *enc;
        size_t len;
        if (jk_cons_msg_encode(msg, &enc, &len) != JK_OK)
            jk_fuzz_fail("a decoded message does not encode", NULL);
        if (len != size || memcmp(enc, data, size) != 0)
            jk_fuzz_fail("re-encoding differs from the input", NULL);
        free(enc);
    } else if (err != JK_ERR_CONS_DECODE || !diag.msg[0] || msg->kind != 0) {
        jk_fuzz_fail("refusal without a message or code", jk_strerror(err));
    }
    diag.msg[0] = 0;
    err = jk_cons_cert_decode(data, size, cert, &diag);
    if (err == JK_OK) {
        uint8_t *enc = malloc(jk_cons_cert_size(cert));
        if (!enc)
            abort();
        jk_cons_cert_encode(cert, enc);
        if (jk_cons_cert_size(cert) != size || memcmp(enc, data, size) != 0)
            jk_fuzz_fail("certificate re-encoding differs", NULL);
        free(enc);
        jk_hash any;
        memcpy(any.bytes, cert->value.bytes, 32);
        err = jk_cons_cert_check(cert, &jk_fz_genesis, &jk_fz_vs, cert->height, &any, NULL);
        if (err != JK_OK && err != JK_ERR_CONS_CERT)
            jk_fuzz_fail("certificate check gave an undocumented code", jk_strerror(err));
    } else if (err != JK_ERR_CONS_DECODE || !diag.msg[0]) {
        jk_fuzz_fail("certificate refusal without a message", jk_strerror(err));
    }
    jk_cons_record rec;
    diag.msg[0] = 0;
    err = jk_cons_record_decode(data, size, &rec, &diag);
    if (err == JK_OK) {
        uint8_t enc[JK_CONS_RECORD_SIZE];
        jk_cons_record_encode(&rec, enc);
        if (memcmp(enc, data, JK_CONS_RECORD_SIZE) != 0)
            jk_fuzz_fail("record re-encoding differs", NULL);
    } else if (err != JK_ERR_CONS_RECORD || !diag.msg[0]) {
        jk_fuzz_fail("record refusal without a message", jk_strerror(err));
    }
    free(msg);
    free(cert);
}

static void jk_fz_check_outputs(jk_cons_machine *m, jk_cons_record *last)
{
    size_t n;
    const jk_cons_out *o = jk_cons_outputs(m, &n);
    jk_cons_msg *msg = malloc(sizeof *msg);
    if (!msg)
        abort();
    for (size_t i = 0; i < n; i++) {
        if (o[i].kind == JK_CONS_OUT_SEND &&
            jk_cons_msg_decode(o[i].bytes, o[i].len, msg, NULL) != JK_OK)
            jk_fuzz_fail("the machine sent bytes that do not decode", NULL);
        if (o[i].kind == JK_CONS_OUT_PERSIST) {
            const jk_cons_record *r = &o[i].record;
            if (last->present &&
                (r->height < last->height ||
                 (r->height == last->height &&
                  (r->round < last->round || (r->round == last->round && r->step <= last->step)))))
                jk_fuzz_fail("the signed-vote record moved backwards", NULL);
            *last = *r;
        }
    }
    free(msg);
    jk_cons_outputs_clear(m);
}

int jk_fuzz_consensus(const uint8_t *data, size_t size)
{
    jk_fz_setup();
    jk_fz_decoders(data, size);

    jk_cons_config cfg = {0};
    cfg.genesis = jk_fz_genesis;
    cfg.valset = &jk_fz_vs;
    cfg.self = 0;
    memcpy(cfg.secret_key, jk_fz_sk[0], sizeof cfg.secret_key);
    cfg.timeouts = (jk_cons_timeouts){300, 100, 200, 50, 150, 25, 1000};
    cfg.app = (jk_cons_app){.proposer = fz_proposer, .get_value = fz_get_value,
                            .valid = fz_valid, .hash = fz_hash, .commit = fz_commit,
                            .add_event = fz_add_event};
    jk_cons_machine *m;
    jk_cons_record last = {0};
    if (jk_cons_machine_new(&cfg, 1, NULL, 0, NULL, 0, &m) != JK_OK)
        abort();
    jk_fz_decided = 0;
    if (jk_cons_start(m) != JK_OK)
        jk_fuzz_fail("start failed", NULL);
    jk_fz_check_outputs(m, &last);
    size_t off = 0;
    unsigned k = 0;
    while (off + 2 <= size && k < 64) {
        size_t len = (size_t)data[off] | (size_t)data[off + 1] << 8;
        off += 2;
        if (len > size - off)
            len = size - off;
        jk_diag diag = {{0}};
        jk_err err = jk_cons_on_message(m, (uint32_t)(len % 4), data + off, len, &diag);
        if (err != JK_OK && err != JK_ERR_CONS_DECODE && err != JK_ERR_CONS_SIG &&
            err != JK_ERR_CONS_MEMBER && err != JK_ERR_CONS_CERT && err != JK_ERR_CONS_VALUE)
            jk_fuzz_fail("on_message gave an undocumented code", jk_strerror(err));
        if (err != JK_OK && !diag.msg[0])
            jk_fuzz_fail("a refusal without a message", jk_strerror(err));
        jk_fz_check_outputs(m, &last);
        jk_cons_status st;
        jk_cons_status_get(m, &st);
        jk_cons_timer t = {(jk_cons_timer_kind)(k % 4), st.height, st.round, 0};
        if (jk_cons_on_timer(m, &t) != JK_OK)
            jk_fuzz_fail("on_timer failed", NULL);
        jk_fz_check_outputs(m, &last);
        off += len;
        k++;
    }
    jk_cons_machine_free(m);
    return 0;
}

#ifdef JK_FUZZ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return jk_fuzz_consensus(data, size);
}
#endif
