/*
 * test_crypto_c.c — the benchmark's C crypto (bench/c/ed25519.c,
 * bench/c/blake2b.c, issue 15) as a correctness test of the SDK and of both
 * PVM engines on real code: each is built with the SDK and run on the
 * interpreter and on the recompiler over small inputs, and every answer must
 * equal libsodium's (crypto_sign_verify_detached, crypto_generichash), with
 * the same gas on both engines. A recompiler (or translator) bug in 128-bit
 * products, rotations or byte loads shows up here as a wrong mask or digest.
 */
#include "../test.h"

#include "jark/pvm.h"
#include "jark/sdk.h"

#include <sodium.h>
#include <stdlib.h>

typedef struct jk_cc_prog {
    uint8_t *bytes;
    jk_pvm_progfile pf;
    jk_pvm_program *prog;
} jk_cc_prog;

static bool jk_cc_load(const char *source, jk_cc_prog *p)
{
    size_t len = 0;
    jk_diag diag = {{0}};
    p->bytes = NULL;
    p->prog = NULL;
    if (jk_sdk_build_one(source, &p->bytes, &len, &diag) != JK_OK) {
        printf("%s: %s\n", source, diag.msg);
        return false;
    }
    if (jk_pvm_progfile_parse(p->bytes, len, &p->pf, &diag) != JK_OK ||
        jk_pvm_program_load(p->pf.core.code, p->pf.core.code_len, &p->prog, &diag) != JK_OK) {
        printf("%s: %s\n", source, diag.msg);
        return false;
    }
    return true;
}

static void jk_cc_free(jk_cc_prog *p)
{
    jk_pvm_program_free(p->prog);
    free(p->bytes);
}

/* Run endpoint 0 with args on `engine`: false unless it HALTs. φ7 and the
 * gas used out; with out_len, the bytes at address φ7. */
static bool jk_cc_run(const jk_cc_prog *p, const uint8_t *args, size_t len, jk_pvm_engine engine, uint64_t *r7,
                      int64_t *used, uint8_t *out, size_t out_len)
{
    jk_pvm_memory *mem = NULL;
    jk_pvm_state st;
    jk_pvm_exit ex;
    memset(&st, 0, sizeof st);
    bool ok = jk_pvm_memory_new(&mem) == JK_OK && jk_pvm_stdprog_init(&p->pf.core, args, len, mem, st.regs) == JK_OK;
    if (ok) {
        st.pc = p->pf.endpoints[0].pc;
        st.gas = INT64_C(10000000000);
        ok = jk_pvm_run_engine(p->prog, mem, &st, &ex, engine) == JK_OK && ex.status == JK_PVM_HALT;
    }
    if (ok) {
        *r7 = st.regs[7];
        *used = INT64_C(10000000000) - st.gas;
        if (out_len)
            ok = st.regs[7] <= UINT32_MAX && jk_pvm_memory_read(mem, (uint32_t)st.regs[7], out, out_len) == JK_OK;
    }
    if (mem)
        jk_pvm_memory_free(mem);
    return ok;
}

#define JK_CC_RECORD 160u

JK_TEST(test_crypto_c_ed25519_matches_libsodium_on_both_engines)
{
    JK_REQUIRE(sodium_init() >= 0);
    enum { N = 8 };
    static uint8_t rec[N * JK_CC_RECORD];
    uint8_t pk[2][32], sk[2][64];
    for (int k = 0; k < 2; k++) {
        uint8_t seed[32];
        memset(seed, 0x40 + k, sizeof seed);
        crypto_sign_seed_keypair(pk[k], sk[k], seed);
    }
    for (int i = 0; i < N; i++) {
        uint8_t *r = rec + i * JK_CC_RECORD;
        memcpy(r, pk[i & 1], 32);
        for (int j = 0; j < 64; j++)
            r[96 + j] = (uint8_t)(i * 13 + j);
        crypto_sign_detached(r + 32, NULL, r + 96, 64, sk[i & 1]);
    }
    /* 0 and 1 stay valid; each other record breaks one thing */
    rec[2 * JK_CC_RECORD + 96 + 10] ^= 0x01; /* a bit of the message */
    rec[3 * JK_CC_RECORD + 32 + 5] ^= 0x80;  /* a bit of R */
    rec[4 * JK_CC_RECORD + 64] ^= 0x01;      /* a bit of S */
    memcpy(rec + 5 * JK_CC_RECORD, pk[0], 32); /* signed by key 1, checked with key 0 */
    { /* S + L: the same point equation, but S not canonical (refused) */
        static const uint8_t l[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                                      0xa2, 0xde, 0xf9, 0xde, 0x14, 0,    0,    0,    0,    0,    0,
                                      0,    0,    0,    0,    0,    0,    0,    0,    0,    0x10};
        uint8_t *s = rec + 6 * JK_CC_RECORD + 64;
        unsigned carry = 0;
        for (int j = 0; j < 32; j++) {
            carry += (unsigned)s[j] + l[j];
            s[j] = (uint8_t)carry;
            carry >>= 8;
        }
    }
    memset(rec + 7 * JK_CC_RECORD, 0xFF, 31); /* y ≥ p: not a canonical key */
    rec[7 * JK_CC_RECORD + 31] = 0x7F;
    uint64_t sodium = 0;
    for (int i = 0; i < N; i++) {
        const uint8_t *r = rec + i * JK_CC_RECORD;
        if (crypto_sign_verify_detached(r + 32, r + 96, 64, r) == 0)
            sodium |= UINT64_C(1) << i;
    }
    JK_CHECK_EQ(sodium, 0x03); /* libsodium agrees on what the records are */

    jk_cc_prog p;
    JK_REQUIRE(jk_cc_load("bench/c/ed25519.c", &p));
    uint64_t interp = 0, jit = 0;
    int64_t gas_i = 0, gas_j = 0;
    JK_CHECK(jk_cc_run(&p, rec, sizeof rec, JK_PVM_ENGINE_INTERP, &interp, &gas_i, NULL, 0));
    JK_CHECK(jk_cc_run(&p, rec, sizeof rec, JK_PVM_ENGINE_JIT, &jit, &gas_j, NULL, 0));
    JK_CHECK_EQ(interp, sodium);
    JK_CHECK_EQ(jit, sodium);
    JK_CHECK_EQ(gas_i, gas_j);
    JK_CHECK(gas_i > 0);
    jk_cc_free(&p);
}

JK_TEST(test_crypto_c_blake2b_matches_libsodium_on_both_engines)
{
    JK_REQUIRE(sodium_init() >= 0);
    jk_cc_prog p;
    JK_REQUIRE(jk_cc_load("bench/c/blake2b.c", &p));
    static uint8_t args[1 + 1000];
    for (size_t i = 1; i < sizeof args; i++)
        args[i] = (uint8_t)(i * 29 + 3);
    /* block boundaries (127/128/129/256/257) and digest lengths 1..64 */
    static const size_t lens[] = {0, 1, 127, 128, 129, 256, 257, 1000};
    static const uint8_t outlens[] = {1, 20, 32, 64};
    for (size_t o = 0; o < sizeof outlens; o++) {
        for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
            size_t outlen = outlens[o];
            uint8_t want[64], got_i[64], got_j[64];
            uint64_t addr;
            int64_t gas_i = 0, gas_j = -1;
            args[0] = (uint8_t)outlen;
            crypto_generichash(want, outlen, args + 1, lens[k], NULL, 0);
            JK_CHECK(jk_cc_run(&p, args, 1 + lens[k], JK_PVM_ENGINE_INTERP, &addr, &gas_i, got_i, outlen));
            JK_CHECK(jk_cc_run(&p, args, 1 + lens[k], JK_PVM_ENGINE_JIT, &addr, &gas_j, got_j, outlen));
            if (memcmp(got_i, want, outlen) || memcmp(got_j, want, outlen) || gas_i != gas_j)
                jk_test_fail(__FILE__, __LINE__, "BLAKE2b-%zu of %zu bytes differs from libsodium's", outlen * 8,
                             lens[k]);
        }
    }
    jk_cc_free(&p);
}
