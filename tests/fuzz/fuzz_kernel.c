/*
 * fuzz_kernel.c — fuzz target over the kernel: random host-call sequences run
 * by a PVM program the input describes, on a state built in memory and on
 * the same state exported and reloaded (equal values merged into one object,
 * as a validator that reopened its store sees them). Two rules are checked:
 *
 *   1. a guest never makes jk_kernel_call / jk_kernel_resume fail: they
 *      return JK_OK (JK_ERR_NOMEM aside) whatever the program does;
 *   2. no decision depends on object identity: both worlds give the same
 *      outcome, value (φ7), gas, fault, reason, result root and slot[0], at
 *      every step (the call, then up to three resumes of what paused; the
 *      reloaded world also reloads each paused value before resuming it);
 *   3. yields to the kernel's marker served in place (jk_kernel_call_served,
 *      up to three answered) end exactly as the pause + resume it stands
 *      for, in both worlds;
 *   4. the engine is unobservable: the in-memory world run by a kernel on
 *      the interpreter decides every step as the one on the recompiler,
 *      which serves local host calls inside compiled code (docs/abi.md
 *      "Host calls served in compiled code"), served yields included.
 *
 * Input:
 *   byte 0      gas: 2,000 · (1 + b mod 64) for the call and each resume
 *               (at most 128,000: at 2,000 · 256 a step's page touches and
 *               the hashing of what they dirtied, times four worlds and four
 *               steps, took 0.45 s of CPU under ASan and 5 runs/s at load
 *               20, near -timeout=5; the big cases live in
 *               tests/adversary/test_adv_kernel.c)
 *   byte 1      bits 0..4: ops in endpoint 0 (the rest go to endpoint 1);
 *               bit 5: send a Data as slot[0]; bit 6: list the marker in the
 *               catcher slot; bit 7: answer resumes with a Data
 *   then ops of 5 bytes: kind, then four argument bytes. A kind below 0xF0
 *   is host call (kind mod 20, 19 → 100 DEBUG_WRITE); 0xF0.. touches
 *   1 + arg0·64 + arg1 pages of the zero region (memory growth). An argument
 *   byte picks from a table by its top two bits: slot paths, numbers,
 *   addresses, or the raw low six bits.
 *
 * The program is straight-line code: each op loads φ7..φ10 and runs ecalli;
 * endpoint 0 runs on instance A, endpoint 1 on instance B (A's slot 21), so a
 * CALL from A to B with endpoint 1 runs B's ops. Any broken rule aborts.
 */
#include "jark/kernel.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int jk_fuzz_kernel(const uint8_t *data, size_t size);
/* Outcomes seen by the in-memory world, by jk_kernel_outcome (for the tests). */
extern uint64_t jk_fuzz_kernel_outcomes[4];
uint64_t jk_fuzz_kernel_outcomes[4];

#define FK_STATE 0x40000000u
#define FK_ZERO 0x20000000u
#define FK_ZERO_PAGES 4096u
#define FK_MAX_OPS 48

__attribute__((noreturn)) static void fk_fail(const char *what, long a)
{
    fprintf(stderr, "fuzz_kernel: %s (%ld)\n", what, a);
    abort();
}

/* ---- argument tables ---- */

#define P2(s, a) ((2ull << 60) | (uint64_t)(s) | ((uint64_t)(a) << 8))
#define P3(s, a, b) ((3ull << 60) | (uint64_t)(s) | ((uint64_t)(a) << 8) | ((uint64_t)(b) << 24))

static const uint64_t fk_paths[] = {
    0, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 19, 255,
    P2(32, 0), P2(32, 1), P2(32, 3), P2(33, 0), P2(23, 0), P2(0, 0), P3(32, 1, 0), P3(32, 0, 0),
    256, 5ull << 60, (1ull << 56) | 30, P2(30, 0),
};
static const uint64_t fk_numbers[] = {
    0, 1, 2, 3, 4, 8, 16, 17, 100, 1000, 4095, 4096, 4097, 5000, 65536, 1u << 20,
    (1u << 20) + 1, 64u << 20, (64u << 20) + 1, 1ull << 32, ~0ull, 1ull << 63, 20000, 100000,
};
static const uint64_t fk_addrs[] = {
    FK_STATE, FK_STATE + 8, FK_STATE + 4090, FK_STATE + 4096, FK_ZERO, FK_ZERO + 4095,
    FK_ZERO + FK_ZERO_PAGES * 4096 - 16, 0x10000, 0xF000, 0, 0xFFFFFFFF, 0x1FFFFFF0,
};

static uint64_t fk_arg(uint8_t b)
{
    unsigned i = b & 63;
    switch (b >> 6) {
    case 0: return fk_paths[i % (sizeof fk_paths / sizeof fk_paths[0])];
    case 1: return fk_numbers[i % (sizeof fk_numbers / sizeof fk_numbers[0])];
    case 2: return fk_addrs[i % (sizeof fk_addrs / sizeof fk_addrs[0])];
    default: return i;
    }
}

/* ---- the program ---- */

typedef struct fk_text {
    char *s;
    size_t n, cap;
} fk_text;

static void fk_put(fk_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fk_put(fk_text *t, const char *fmt, ...)
{
    char line[160];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line)
        fk_fail("assembly line too long", n);
    if (t->n + (size_t)n + 1 > t->cap) {
        t->cap = (t->n + (size_t)n + 1) * 2;
        t->s = realloc(t->s, t->cap);
        if (!t->s)
            fk_fail("out of memory", 0);
    }
    memcpy(t->s + t->n, line, (size_t)n + 1);
    t->n += (size_t)n;
}

static void fk_ops(fk_text *t, const uint8_t *ops, size_t count, int ep)
{
    for (size_t i = 0; i < count; i++) {
        const uint8_t *o = ops + 5 * i;
        if (o[0] >= 0xF0) {
            unsigned pages = 1 + o[1] % 64 * 64 + o[2];
            fk_put(t, "load_imm_64 r2, %u\nload_imm_64 r3, %u\nfallthrough\n", FK_ZERO, pages);
            fk_put(t, "t%d_%zu: store_ind_u8 r3, r2, 0\nadd_imm_64 r2, r2, 4096\n", ep, i);
            fk_put(t, "add_imm_64 r3, r3, -1\nbranch_ne_imm r3, 0, t%d_%zu\n", ep, i);
            continue;
        }
        unsigned n = o[0] % 20;
        if (n == 19)
            n = JK_HOST_DEBUG_WRITE_NUM;
        for (int r = 0; r < 4; r++)
            fk_put(t, "load_imm_64 r%d, 0x%llx\n", 7 + r, (unsigned long long)fk_arg(o[1 + r]));
        fk_put(t, "ecalli %u\n", n);
    }
    fk_put(t, "jump_ind r0, 0\n");
}

/* ---- an in-memory object map (the "store") ---- */

typedef struct fk_obj {
    jk_hash h;
    uint8_t *b;
    size_t n;
} fk_obj;

typedef struct fk_map {
    fk_obj *slots;
    size_t cap, count;
} fk_map;

static fk_obj *fk_find(fk_map *m, const jk_hash *h, bool add)
{
    if (add && (m->count + 1) * 2 > m->cap) {
        fk_map grown = {calloc(m->cap ? m->cap * 2 : 1024, sizeof(fk_obj)), m->cap ? m->cap * 2 : 1024, 0};
        if (!grown.slots)
            fk_fail("out of memory", 0);
        for (size_t i = 0; i < m->cap; i++)
            if (m->slots[i].b)
                *fk_find(&grown, &m->slots[i].h, true) = m->slots[i], grown.count++;
        free(m->slots);
        *m = grown;
    }
    if (!m->cap)
        return NULL;
    uint64_t x;
    memcpy(&x, h->bytes, 8);
    for (size_t i = (size_t)x % m->cap;; i = (i + 1) % m->cap) {
        if (!m->slots[i].b)
            return add ? &m->slots[i] : NULL;
        if (!memcmp(m->slots[i].h.bytes, h->bytes, JK_HASH_SIZE))
            return &m->slots[i];
    }
}

static jk_err fk_has(void *ctx, const jk_hash *h, bool *present)
{
    *present = fk_find(ctx, h, false) != NULL;
    return JK_OK;
}

static jk_err fk_store(void *ctx, const jk_hash *h, const uint8_t *bytes, size_t len)
{
    fk_map *m = ctx;
    fk_obj *o = fk_find(m, h, true);
    if (o->b)
        return JK_OK;
    o->h = *h;
    o->b = malloc(len ? len : 1);
    if (!o->b)
        return JK_ERR_NOMEM;
    memcpy(o->b, bytes, len);
    o->n = len;
    m->count++;
    return JK_OK;
}

static jk_err fk_get(void *ctx, const jk_hash *h, const uint8_t **bytes, size_t *len)
{
    fk_obj *o = fk_find(ctx, h, false);
    if (!o)
        return JK_ERR_CAP_MISSING;
    *bytes = o->b;
    *len = o->n;
    return JK_OK;
}

static void fk_map_free(fk_map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->slots[i].b);
    free(m->slots);
}

/* cap through the map: exported, then loaded back (NEW reference). */
static jk_cap fk_reload(fk_map *m, jk_cap cap)
{
    jk_cap_sink sink = {m, fk_has, fk_store};
    jk_cap_source src = {m, fk_get};
    jk_hash h;
    jk_cap out = jk_cap_null();
    jk_diag diag = {{0}};
    if (jk_cap_export(cap, &sink, &diag) != JK_OK)
        fk_fail(diag.msg, 0);
    jk_cap_hash(cap, &h);
    if (jk_cap_load(&src, &h, &out, &diag) != JK_OK)
        fk_fail(diag.msg, 1);
    if (!jk_cap_equal(out, cap))
        fk_fail("reloaded value differs", 0);
    return out;
}

/* ---- the worlds ---- */

static jk_cap fk_set(jk_cap cnode, uint32_t slot, jk_cap v)
{
    jk_cap next;
    if (jk_cap_cnode_set(cnode, slot, v, &next) != JK_OK)
        fk_fail("cnode_set", slot);
    jk_cap_release(cnode);
    jk_cap_release(v);
    return next;
}

static jk_cap fk_data(const char *s)
{
    jk_cap d;
    if (jk_cap_data_new(s, strlen(s), &d) != JK_OK)
        fk_fail("data", 0);
    return d;
}

/* An instance of image: a zeroed state page, the marker, extras. */
static jk_cap fk_instance(jk_cap image, jk_cap marker, jk_cap callee, jk_cap twin, bool catches)
{
    jk_cap cnode, state, inst, list;
    if (jk_cap_cnode_new(JK_CAP_ROOT_LOG2, &cnode) != JK_OK || jk_cap_data_new_zeroed(4096, &state) != JK_OK)
        fk_fail("cnode", 0);
    cnode = fk_set(cnode, 20, state);
    cnode = fk_set(cnode, 22, jk_cap_retain(marker));
    if (!jk_cap_is_null(callee)) {
        cnode = fk_set(cnode, 21, jk_cap_retain(callee));
        cnode = fk_set(cnode, 31, jk_cap_retain(twin));
        cnode = fk_set(cnode, 25, jk_cap_retain(image));
        cnode = fk_set(cnode, 30, fk_data("abcdefgh"));
        jk_cap nested;
        if (jk_cap_cnode_new(2, &nested) != JK_OK)
            fk_fail("cnode", 2);
        nested = fk_set(nested, 1, fk_data("nested"));
        cnode = fk_set(cnode, 32, nested);
        if (catches) {
            if (jk_cap_cnode_new(1, &list) != JK_OK)
                fk_fail("cnode", 1);
            cnode = fk_set(cnode, 23, fk_set(list, 0, jk_cap_retain(marker)));
        }
    }
    if (jk_cap_instance_genesis(image, cnode, &inst, NULL) != JK_OK)
        fk_fail("genesis", 0);
    jk_cap_release(cnode);
    return inst;
}

typedef struct fk_step {
    jk_err err;
    jk_kernel_outcome outcome;
    uint64_t value, reason;
    int64_t gas_used;
    jk_kernel_fault fault;
    jk_hash inst, slot0;
} fk_step;

/* The most gas one step used (for the tests: the target's bound holds). */
extern int64_t jk_fuzz_kernel_gas_most;
int64_t jk_fuzz_kernel_gas_most;

static void fk_record(jk_err err, const jk_kernel_result *r, fk_step *s)
{
    memset(s, 0, sizeof *s);
    s->err = err;
    if (err != JK_OK)
        return;
    s->outcome = r->outcome;
    s->value = r->value;
    s->reason = r->reason;
    s->gas_used = r->gas_used;
    if (r->gas_used > jk_fuzz_kernel_gas_most)
        jk_fuzz_kernel_gas_most = r->gas_used;
    s->fault = r->fault;
    jk_cap_hash(r->instance, &s->inst);
    jk_cap_hash(r->slot0, &s->slot0);
}

/* Run the call and up to three resumes; steps[] gets each. Returns the count. */
static int fk_run(jk_kernel *k, jk_cap a, int64_t gas, jk_cap slot0, jk_cap answer, fk_map *reload,
                  fk_step steps[4])
{
    jk_kernel_result r;
    jk_err err = jk_kernel_call(k, a, 0, gas, NULL, slot0, &r);
    fk_record(err, &r, &steps[0]);
    int n = 1;
    while (err == JK_OK && n < 4 && (r.outcome == JK_KERNEL_OUT_OF_GAS || r.outcome == JK_KERNEL_YIELDED)) {
        jk_cap paused = reload ? fk_reload(reload, r.instance) : jk_cap_retain(r.instance);
        jk_kernel_result_clear(&r);
        err = jk_kernel_resume(k, paused, gas, answer, &r);
        jk_cap_release(paused);
        fk_record(err, &r, &steps[n++]);
    }
    if (err == JK_OK)
        jk_kernel_result_clear(&r);
    return n;
}

/* jk_kernel_call_served (yields answered in place where they can be) against
 * its specification written out (kernel.h): every answer is `answer`, at
 * most three; the fourth yield is stopped. */
extern uint64_t jk_fuzz_kernel_in_place;
uint64_t jk_fuzz_kernel_in_place; /* yields answered in place (the property test checks some are) */

typedef struct fk_serve {
    jk_cap answer;
    int calls;
} fk_serve;

static jk_err fk_serve_fn(void *ctx, jk_cap marker, jk_cap request, bool *resume, jk_cap *answer)
{
    fk_serve *s = ctx;
    (void)marker;
    (void)request;
    if (++s->calls > 3)
        return JK_OK;
    *resume = true;
    *answer = jk_cap_retain(s->answer);
    return JK_OK;
}

static void fk_served(jk_kernel *k, jk_cap a, int64_t gas, jk_cap slot0, jk_cap answer, bool in_place,
                      fk_step *step)
{
    fk_serve s = {answer, 0};
    jk_kernel_result r;
    jk_err err;
    if (in_place) {
        uint64_t before = jk_kernel_served_in_place(k);
        err = jk_kernel_call_served(k, a, 0, gas, NULL, slot0, fk_serve_fn, &s, &r);
        jk_fuzz_kernel_in_place += jk_kernel_served_in_place(k) - before;
    } else {
        err = jk_kernel_call(k, a, 0, gas, NULL, slot0, &r);
        int64_t used = r.gas_used;
        while (err == JK_OK && r.outcome == JK_KERNEL_YIELDED) {
            bool resume = false;
            jk_cap ans = jk_cap_null();
            fk_serve_fn(&s, r.marker, r.slot0, &resume, &ans);
            if (!resume)
                break;
            jk_cap paused = jk_cap_retain(r.instance);
            jk_kernel_result_clear(&r);
            err = jk_kernel_resume(k, paused, gas - used, ans, &r);
            jk_cap_release(paused);
            jk_cap_release(ans);
            used += r.gas_used;
            r.gas_used = used;
        }
    }
    fk_record(err, &r, step);
    step->value ^= (uint64_t)s.calls << 56;
    if (err == JK_OK)
        jk_kernel_result_clear(&r);
}

int jk_fuzz_kernel(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    int64_t gas = 2000 * (1 + (int64_t)(data[0] % 64));
    uint8_t flags = data[1];
    size_t nops = (size - 2) / 5;
    if (nops > FK_MAX_OPS)
        nops = FK_MAX_OPS;
    size_t n0 = flags & 31;
    if (n0 > nops)
        n0 = nops;
    const uint8_t *ops = data + 2;

    fk_text t = {0};
    fk_put(&t, ".jump_table ep1\n");
    fk_ops(&t, ops, n0, 0);
    fk_put(&t, "ep1:\n");
    fk_ops(&t, ops + 5 * n0, nops - n0, 1);
    uint8_t *code;
    size_t code_len;
    jk_diag diag = {{0}};
    if (jk_pvm_asm(t.s, t.n, &code, &code_len, &diag) != JK_OK)
        fk_fail(diag.msg, 0);
    free(t.s);
    jk_pvm_blob blob;
    if (jk_pvm_blob_parse(code, code_len, &blob, &diag) != JK_OK || blob.jump_count != 1)
        fk_fail("blob", 0);
    uint32_t ep1 = jk_pvm_blob_jump_entry(&blob, 0);

    jk_cap_stats s0, s1;
    jk_cap_stats_get(&s0);
    jk_cap_endpoint eps[2] = {{0, {0}}, {ep1, {0}}};
    eps[0].regs[0] = eps[1].regs[0] = JK_PVM_HALT_ADDRESS;
    jk_cap_mapping maps[2] = {
        {FK_ZERO, FK_ZERO_PAGES * 4096, JK_CAP_MAP_EPHEMERAL_ZERO, JK_PVM_ACCESS_WRITE, 0},
        {FK_STATE, 4096, JK_CAP_MAP_PERSISTENT, JK_PVM_ACCESS_WRITE, 20},
    };
    jk_cap ro = fk_data("pinned");
    jk_cap_pin pin = {19, ro};
    jk_cap_image_spec spec = {.code = code, .code_len = code_len, .mappings = maps, .mapping_count = 2,
                              .endpoints = eps, .endpoint_count = 2, .pins = &pin, .pin_count = 1,
                              .yield_catcher_slot = 23};
    jk_cap image;
    if (jk_cap_image_new(&spec, &image, &diag) != JK_OK)
        fk_fail(diag.msg, 2);
    jk_cap_release(ro);
    free(code);

    jk_kernel *k1, *k2, *k3;
    jk_cap m1, m2, m3;
    jk_kernel_config interp = {.engine = JK_PVM_ENGINE_INTERP};
    if (jk_kernel_new(NULL, &k1) != JK_OK || jk_kernel_new(NULL, &k2) != JK_OK ||
        jk_kernel_new(&interp, &k3) != JK_OK || jk_kernel_mint_marker(k1, 1, &m1) != JK_OK ||
        jk_kernel_mint_marker(k2, 1, &m2) != JK_OK || jk_kernel_mint_marker(k3, 1, &m3) != JK_OK)
        fk_fail("kernel", 0);
    /* In memory: B and its twin are equal values built apart. */
    jk_cap b = fk_instance(image, m1, jk_cap_null(), jk_cap_null(), false);
    jk_cap twin = fk_instance(image, m1, jk_cap_null(), jk_cap_null(), false);
    jk_cap a = fk_instance(image, m1, b, twin, flags & 0x40);
    jk_cap slot0 = flags & 0x20 ? fk_data("sent") : jk_cap_null();
    jk_cap answer = flags & 0x80 ? fk_data("answer") : jk_cap_null();

    fk_map map = {0};
    jk_cap a2 = fk_reload(&map, a);
    jk_cap slot0_2 = jk_cap_is_null(slot0) ? jk_cap_null() : fk_reload(&map, slot0);
    jk_cap answer_2 = jk_cap_is_null(answer) ? jk_cap_null() : fk_reload(&map, answer);

    fk_step st1[4], st2[4], st3[4];
    int n1 = fk_run(k1, a, gas, slot0, answer, NULL, st1);
    int n2 = fk_run(k2, a2, gas, slot0_2, answer_2, &map, st2);
    int n3 = fk_run(k3, a, gas, slot0, answer, NULL, st3);
    for (int i = 0; i < n1; i++) {
        if (st1[i].err != JK_OK && st1[i].err != JK_ERR_NOMEM)
            fk_fail("a guest made the kernel fail", st1[i].err);
        if (st1[i].err == JK_OK)
            jk_fuzz_kernel_outcomes[st1[i].outcome & 3]++;
    }
    if (n1 != n2)
        fk_fail("the reloaded state took another number of steps", n2);
    for (int i = 0; i < n1; i++)
        if (memcmp(&st1[i], &st2[i], sizeof st1[i]) != 0)
            fk_fail("the reloaded state decided differently at step", i);
    if (n1 != n3)
        fk_fail("the interpreter took another number of steps", n3);
    for (int i = 0; i < n1; i++)
        if (memcmp(&st1[i], &st3[i], sizeof st1[i]) != 0)
            fk_fail("the interpreter decided differently at step", i);
    /* 3. yields served in place decide exactly as pause + resume, in memory
     *    and on the reloaded state. */
    fk_step sv[4];
    fk_served(k1, a, gas, slot0, answer, false, &sv[0]);
    fk_served(k1, a, gas, slot0, answer, true, &sv[1]);
    fk_served(k2, a2, gas, slot0_2, answer_2, true, &sv[2]);
    fk_served(k3, a, gas, slot0, answer, true, &sv[3]);
    if (memcmp(&sv[0], &sv[1], sizeof sv[0]) != 0)
        fk_fail("a yield served in place decided otherwise than pause and resume", sv[1].outcome);
    if (memcmp(&sv[0], &sv[2], sizeof sv[0]) != 0)
        fk_fail("the reloaded state served in place decided differently", sv[2].outcome);
    if (memcmp(&sv[0], &sv[3], sizeof sv[0]) != 0)
        fk_fail("the interpreter served in place decided differently", sv[3].outcome);

    jk_cap_release(a);
    jk_cap_release(a2);
    jk_cap_release(b);
    jk_cap_release(twin);
    jk_cap_release(slot0);
    jk_cap_release(slot0_2);
    jk_cap_release(answer);
    jk_cap_release(answer_2);
    jk_cap_release(m1);
    jk_cap_release(m2);
    jk_cap_release(m3);
    jk_cap_release(image);
    jk_kernel_free(k1);
    jk_kernel_free(k2);
    jk_kernel_free(k3);
    fk_map_free(&map);
    jk_cap_stats_get(&s1);
    if (s1.live_objects != s0.live_objects)
        fk_fail("cap objects leaked", (long)(s1.live_objects - s0.live_objects));
    return 0;
}

#ifdef JK_FUZZ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return jk_fuzz_kernel(data, size);
}
#endif
