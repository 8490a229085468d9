/*
 * test_cap_image.c — Image: a valid image and its accessors, its hash against
 * an encoding built by hand from docs/cap.md, and every validation refusal
 * with its reason.
 */
#include "../test.h"
#include "cap_test_util.h"

#include "jark/cap.h"

#include <stdlib.h>

/* fallthrough; ecalli 0; trap — basic blocks start at pc 0, 1 and 4; pc 2 is
 * an operand byte and pc 3 follows a host call (mid-block). */
static const uint8_t blob[] = {0x00, 0x00, 0x04, 0x01, 0x0A, 0x00, 0x00, 0x0B};

static jk_cap data_of(const char *s)
{
    jk_cap d = jk_cap_null();
    jk_cap_data_new(s, strlen(s), &d);
    return d;
}

/* An image with nothing but code and one endpoint. */
static jk_cap plain_image(uint32_t pc)
{
    jk_cap_endpoint ep = {.pc = pc};
    jk_cap_image_spec spec = {.code = blob, .code_len = sizeof blob, .endpoints = &ep,
                              .endpoint_count = 1};
    jk_cap im = jk_cap_null();
    jk_cap_image_new(&spec, &im, NULL);
    return im;
}

/* The fixture: every kind of mapping and pin. */
typedef struct fixture {
    jk_cap_mapping maps[4];
    jk_cap_endpoint eps[2];
    jk_cap_pin pins[3];
    jk_cap_image_spec spec;
} fixture;

static void fixture_init(fixture *f)
{
    memset(f, 0, sizeof *f);
    /* given out of order on purpose: the image sorts them */
    f->maps[0] = (jk_cap_mapping){0x40000, 0x4000, JK_CAP_MAP_EPHEMERAL_ZERO, JK_PVM_ACCESS_WRITE, 0};
    f->maps[1] = (jk_cap_mapping){0x10000, 0x2000, JK_CAP_MAP_PERSISTENT, JK_PVM_ACCESS_WRITE, 30};
    f->maps[2] = (jk_cap_mapping){0x20000, 0x1000, JK_CAP_MAP_EPHEMERAL_INIT, JK_PVM_ACCESS_WRITE, 2};
    f->maps[3] = (jk_cap_mapping){0x30000, 0x1000, JK_CAP_MAP_PERSISTENT, JK_PVM_ACCESS_READ, 3};
    f->eps[0].pc = 0;
    f->eps[1].pc = 1;
    for (int r = 0; r < JK_PVM_REGS; r++)
        f->eps[1].regs[r] = 0x1111111111111111ull * (uint64_t)r;
    f->pins[0] = (jk_cap_pin){4, plain_image(0)};
    f->pins[1] = (jk_cap_pin){2, data_of("initial bytes")};
    f->pins[2] = (jk_cap_pin){3, data_of("read-only table")};
    f->spec = (jk_cap_image_spec){blob, sizeof blob, f->maps, 4, f->eps, 2, f->pins, 3, 9};
}

static void fixture_free(fixture *f)
{
    for (int i = 0; i < 3; i++)
        jk_cap_release(f->pins[i].cap);
}

JK_TEST(test_cap_image_valid_and_accessors)
{
    int64_t before = live();
    fixture f;
    fixture_init(&f);
    jk_cap im;
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_cap_image_new(&f.spec, &im, &diag) == JK_OK);
    JK_CHECK_EQ(jk_cap_kind_of(im), JK_CAP_IMAGE);
    JK_CHECK_EQ(jk_cap_depth(im), 3); /* pins an image that holds a data */
    JK_CHECK(jk_cap_image_program(im) != NULL);
    JK_CHECK(jk_pvm_program_is_block_start(jk_cap_image_program(im), 1));
    jk_cap code = jk_cap_image_code(im);
    JK_CHECK_EQ(jk_cap_data_len(code), sizeof blob);
    uint8_t back[sizeof blob];
    JK_CHECK(jk_cap_data_read(code, 0, back, sizeof blob) == JK_OK);
    JK_CHECK_MEM(back, blob, sizeof blob);
    JK_CHECK_EQ(jk_cap_image_mapping_count(im), 4);
    uint32_t prev = 0;
    for (uint32_t i = 0; i < 4; i++) {
        JK_CHECK(jk_cap_image_mapping(im, i)->base > prev);
        prev = jk_cap_image_mapping(im, i)->base;
    }
    JK_CHECK(jk_cap_image_mapping(im, 4) == NULL);
    JK_CHECK_EQ(jk_cap_image_endpoint_count(im), 2);
    JK_CHECK_EQ(jk_cap_image_endpoint(im, 1)->regs[12], 0x1111111111111111ull * 12);
    JK_CHECK(jk_cap_image_endpoint(im, 2) == NULL);
    JK_CHECK_EQ(jk_cap_image_pin_count(im), 3);
    JK_CHECK_EQ(jk_cap_image_pin(im, 0)->slot, 2);
    JK_CHECK_EQ(jk_cap_image_pin(im, 2)->slot, 4);
    JK_CHECK(jk_cap_image_pinned(im, 4).body == f.pins[0].cap.body);
    JK_CHECK(jk_cap_is_null(jk_cap_image_pinned(im, 5)));
    /* every slot, in range or not: the pin with that slot, or none (the
     * lookup is a table by slot since session 12) */
    for (uint32_t s = 0; s < 300; s++) {
        jk_cap want = jk_cap_null();
        for (uint32_t i = 0; i < 3; i++)
            if (f.pins[i].slot == s)
                want = f.pins[i].cap;
        JK_CHECK(jk_cap_same(jk_cap_image_pinned(im, s), want));
    }
    JK_CHECK(jk_cap_is_null(jk_cap_image_pinned(im, 0x80000004u)));
    JK_CHECK_EQ(jk_cap_image_yield_catcher_slot(im), 9);

    /* image_id = H(the encoding of docs/cap.md), written out by hand */
    uint8_t enc[2048], *p = enc;
    *p++ = 0x06;
    puth(&p, code);
    put32(&p, 4);
    static const uint32_t order[4] = {1, 2, 3, 0};
    for (int i = 0; i < 4; i++) {
        const jk_cap_mapping *m = &f.maps[order[i]];
        put32(&p, m->base);
        put32(&p, m->size);
        *p++ = m->kind;
        *p++ = m->access;
        *p++ = m->slot;
    }
    put32(&p, 2);
    for (int e = 0; e < 2; e++) {
        put32(&p, f.eps[e].pc);
        for (int r = 0; r < JK_PVM_REGS; r++)
            put64(&p, f.eps[e].regs[r]);
    }
    put32(&p, 3);
    static const int pin_order[3] = {1, 2, 0};
    for (int i = 0; i < 3; i++) {
        *p++ = (uint8_t)f.pins[pin_order[i]].slot;
        puth(&p, f.pins[pin_order[i]].cap);
    }
    *p++ = 9;
    jk_hash want, got;
    jk_crypto_blake2b256(enc, (size_t)(p - enc), &want);
    jk_cap_hash(im, &got);
    JK_CHECK_MEM(got.bytes, want.bytes, 32);

    /* the same spec in another order is the same image */
    jk_cap_mapping maps2[4] = {f.maps[3], f.maps[2], f.maps[1], f.maps[0]};
    jk_cap_pin pins2[3] = {f.pins[2], f.pins[0], f.pins[1]};
    jk_cap_image_spec spec2 = f.spec;
    spec2.mappings = maps2;
    spec2.pins = pins2;
    jk_cap im2;
    JK_REQUIRE(jk_cap_image_new(&spec2, &im2, NULL) == JK_OK);
    JK_CHECK(jk_cap_equal(im, im2));
    jk_cap_release(im2);
    jk_cap_release(im);
    fixture_free(&f);
    JK_CHECK_EQ(live(), before);
}

/* Each case breaks the fixture in one way. */
typedef struct refusal {
    const char *name;
    void (*mutate)(fixture *f);
    jk_err err;
    const char *reason; /* a substring of the diagnostic */
} refusal;

static void m_bad_code(fixture *f)
{
    static const uint8_t junk[] = {0xFF};
    f->spec.code = junk;
    f->spec.code_len = 1;
}
static void m_huge_code(fixture *f) { f->spec.code_len = (size_t)JK_CAP_IMAGE_MAX_CODE + 1; }
static void m_ep_operand(fixture *f) { f->eps[1].pc = 2; }
static void m_ep_midblock(fixture *f) { f->eps[1].pc = 3; }
static void m_ep_outside(fixture *f) { f->eps[0].pc = 1000; }
static void m_many_eps(fixture *f)
{
    static jk_cap_endpoint many[JK_CAP_IMAGE_MAX_ENDPOINTS + 1];
    f->spec.endpoints = many;
    f->spec.endpoint_count = JK_CAP_IMAGE_MAX_ENDPOINTS + 1;
}
static void m_many_maps(fixture *f)
{
    static jk_cap_mapping many[JK_CAP_IMAGE_MAX_MAPPINGS + 1];
    for (uint32_t i = 0; i <= JK_CAP_IMAGE_MAX_MAPPINGS; i++)
        many[i] = (jk_cap_mapping){0x100000 + i * 0x1000, 0x1000, JK_CAP_MAP_EPHEMERAL_ZERO,
                                   JK_PVM_ACCESS_WRITE, 0};
    f->spec.mappings = many;
    f->spec.mapping_count = JK_CAP_IMAGE_MAX_MAPPINGS + 1;
}
static void m_unaligned_base(fixture *f) { f->maps[0].base = 0x40001; }
static void m_unaligned_size(fixture *f) { f->maps[0].size = 100; }
static void m_empty(fixture *f) { f->maps[0].size = 0; }
static void m_guard(fixture *f) { f->maps[0].base = 0xF000; }
static void m_past_top(fixture *f)
{
    f->maps[0].base = 0xFFFFF000;
    f->maps[0].size = 0x2000;
}
static void m_overlap(fixture *f) { f->maps[0].base = 0x11000; }
static void m_kind(fixture *f) { f->maps[0].kind = 3; }
static void m_access(fixture *f) { f->maps[0].access = 2; }
static void m_persist_scratch(fixture *f) { f->maps[1].slot = 0; }
static void m_persist_pinned_image(fixture *f) { f->maps[3].slot = 4; }
static void m_persist_pinned_rw(fixture *f) { f->maps[3].access = JK_PVM_ACCESS_WRITE; }
static void m_zero_slot(fixture *f) { f->maps[0].slot = 7; }
static void m_init_unpinned(fixture *f) { f->maps[2].slot = 30; }
static void m_init_image(fixture *f) { f->maps[2].slot = 4; }
static void m_pin_scratch(fixture *f) { f->pins[1].slot = 0; }
static void m_pin_range(fixture *f) { f->pins[1].slot = 256; }
static void m_pin_twice(fixture *f) { f->pins[1].slot = 3; }
static void m_pin_null(fixture *f) { f->pins[2].cap = jk_cap_null(); }
static void m_catcher_range(fixture *f) { f->spec.yield_catcher_slot = 256; }
static void m_catcher_pinned(fixture *f) { f->spec.yield_catcher_slot = 3; }

static const refusal refusals[] = {
    {"code", m_bad_code, JK_ERR_CAP_IMAGE, "code does not load"},
    {"huge code", m_huge_code, JK_ERR_CAP_IMAGE, "code of"},
    {"endpoint on operand", m_ep_operand, JK_ERR_CAP_IMAGE, "does not start a basic block"},
    {"endpoint mid-block", m_ep_midblock, JK_ERR_CAP_IMAGE, "does not start a basic block"},
    {"endpoint outside", m_ep_outside, JK_ERR_CAP_IMAGE, "does not start a basic block"},
    {"too many endpoints", m_many_eps, JK_ERR_CAP_IMAGE, "endpoints (at most"},
    {"too many mappings", m_many_maps, JK_ERR_CAP_IMAGE, "mappings (at most"},
    {"unaligned base", m_unaligned_base, JK_ERR_CAP_IMAGE, "not page-aligned"},
    {"unaligned size", m_unaligned_size, JK_ERR_CAP_IMAGE, "not page-aligned"},
    {"empty mapping", m_empty, JK_ERR_CAP_IMAGE, "is empty"},
    {"guard", m_guard, JK_ERR_CAP_IMAGE, "guard"},
    {"past 2^32", m_past_top, JK_ERR_CAP_IMAGE, "past 2^32"},
    {"overlap", m_overlap, JK_ERR_CAP_IMAGE, "overlap"},
    {"mapping kind", m_kind, JK_ERR_CAP_IMAGE, "unknown kind"},
    {"mapping access", m_access, JK_ERR_CAP_IMAGE, "bad access"},
    {"persistent scratchpad", m_persist_scratch, JK_ERR_CAP_IMAGE, "scratchpad"},
    {"persistent pinned image", m_persist_pinned_image, JK_ERR_CAP_IMAGE, "not a data"},
    {"persistent pinned writable", m_persist_pinned_rw, JK_ERR_CAP_IMAGE, "read-only"},
    {"ephemeral-zero slot", m_zero_slot, JK_ERR_CAP_IMAGE, "names slot"},
    {"ephemeral-init unpinned", m_init_unpinned, JK_ERR_CAP_IMAGE, "not a pinned data"},
    {"ephemeral-init image", m_init_image, JK_ERR_CAP_IMAGE, "not a pinned data"},
    {"pin slot 0", m_pin_scratch, JK_ERR_CAP_IMAGE, "scratchpad"},
    {"pin slot 256", m_pin_range, JK_ERR_CAP_IMAGE, "out of range"},
    {"pin twice", m_pin_twice, JK_ERR_CAP_IMAGE, "pinned twice"},
    {"pin null", m_pin_null, JK_ERR_CAP_IMAGE, "holds a none"},
    {"catcher range", m_catcher_range, JK_ERR_CAP_IMAGE, "out of range"},
    {"catcher pinned", m_catcher_pinned, JK_ERR_CAP_IMAGE, "is pinned"},
};

JK_TEST(test_cap_image_refusals)
{
    int64_t before = live();
    for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
        fixture f;
        fixture_init(&f);
        jk_cap saved[3] = {f.pins[0].cap, f.pins[1].cap, f.pins[2].cap};
        refusals[i].mutate(&f);
        jk_cap im = jk_cap_null();
        jk_diag diag = {{0}};
        jk_err err = jk_cap_image_new(&f.spec, &im, &diag);
        if (err != refusals[i].err || !strstr(diag.msg, refusals[i].reason))
            jk_test_fail(__FILE__, __LINE__, "%s: got %d \"%s\", want %d \"...%s...\"",
                         refusals[i].name, err, diag.msg, refusals[i].err,
                         refusals[i].reason);
        JK_CHECK(jk_cap_is_null(im));
        for (int p = 0; p < 3; p++)
            jk_cap_release(saved[p]);
    }
    JK_CHECK_EQ(live(), before);
}

/* A pinned Data longer than its ephemeral-init or read-only mapping. */
JK_TEST(test_cap_image_refuses_pinned_data_longer_than_mapping)
{
    int64_t before = live();
    static const uint8_t big[0x1001];
    jk_cap d;
    JK_REQUIRE(jk_cap_data_new(big, sizeof big, &d) == JK_OK);
    jk_cap_pin pin = {2, d};
    jk_cap_endpoint ep = {0};
    for (uint8_t kind = JK_CAP_MAP_PERSISTENT; kind <= JK_CAP_MAP_EPHEMERAL_INIT; kind += 2) {
        jk_cap_mapping m = {0x10000, 0x1000, kind, JK_PVM_ACCESS_READ, 2};
        jk_cap_image_spec spec = {blob, sizeof blob, &m, 1, &ep, 1, &pin, 1, 0};
        jk_cap im = jk_cap_null();
        jk_diag diag = {{0}};
        JK_CHECK(jk_cap_image_new(&spec, &im, &diag) == JK_ERR_CAP_IMAGE);
        JK_CHECK(strstr(diag.msg, "longer than the mapping") != NULL);
        m.size = 0x2000; /* now it fits */
        JK_CHECK(jk_cap_image_new(&spec, &im, &diag) == JK_OK);
        jk_cap_release(im);
    }
    jk_cap_release(d);
    JK_CHECK_EQ(live(), before);
}

JK_TEST(test_cap_image_bad_arguments_and_kinds)
{
    int64_t before = live();
    jk_cap im = jk_cap_null(), c;
    JK_CHECK(jk_cap_image_new(NULL, &im, NULL) == JK_ERR_INVALID_ARG);
    jk_cap_image_spec spec = {NULL, 5, NULL, 0, NULL, 0, NULL, 0, 0};
    JK_CHECK(jk_cap_image_new(&spec, &im, NULL) == JK_ERR_INVALID_ARG);
    JK_REQUIRE(jk_cap_cnode_new(1, &c) == JK_OK);
    jk_cap_pin pin = {7, c};
    jk_cap_image_spec spec2 = {blob, sizeof blob, NULL, 0, NULL, 0, &pin, 1, 0};
    jk_diag diag = {{0}};
    JK_CHECK(jk_cap_image_new(&spec2, &im, &diag) == JK_ERR_CAP_IMAGE);
    JK_CHECK(strstr(diag.msg, "holds a cnode") != NULL);
    JK_CHECK(jk_cap_is_null(im));
    jk_cap_release(c);
    JK_CHECK_EQ(live(), before);
}

/* Images pinning images: the nesting bound applies to them too. */
JK_TEST(test_cap_image_nesting_bound)
{
    int64_t before = live();
    jk_cap cur = plain_image(0); /* depth 2 */
    jk_cap_endpoint ep = {0};
    unsigned depth = 2;
    for (;;) {
        jk_cap_pin pin = {1, cur};
        jk_cap_image_spec spec = {blob, sizeof blob, NULL, 0, &ep, 1, &pin, 1, 0};
        jk_cap next = jk_cap_null();
        jk_diag diag = {{0}};
        jk_err err = jk_cap_image_new(&spec, &next, &diag);
        if (err != JK_OK) {
            JK_CHECK_EQ(err, JK_ERR_CAP_TOO_DEEP);
            JK_CHECK_EQ(depth, JK_CAP_MAX_DEPTH);
            break;
        }
        depth++;
        JK_CHECK_EQ(jk_cap_depth(next), depth);
        jk_cap_release(cur);
        cur = next;
    }
    jk_cap_release(cur);
    JK_CHECK_EQ(live(), before);
}
