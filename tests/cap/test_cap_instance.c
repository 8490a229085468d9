/*
 * test_cap_instance.c — Instance: the lineage formulas of architecture §2
 * (genesis bound to the kernel ABI, set_image, derive_spawn, copy), pinned
 * slots and their collisions, status changes, the continuation's
 * constructors, accessors, validation and its place in instance_hash.
 */
#include "../test.h"
#include "cap_test_util.h"

#include "jark/cap.h"

#include <stdio.h>
#include <stdlib.h>

static const uint8_t blob[] = {0x00, 0x00, 0x04, 0x01, 0x0A, 0x00, 0x00, 0x0B};

static jk_cap data_of(const char *s)
{
    jk_cap d = jk_cap_null();
    jk_cap_data_new(s, strlen(s), &d);
    return d;
}

/* An image with 2 endpoints pinning `pin` (if any) at `slot`. */
static jk_cap image_with(uint32_t slot, jk_cap pin, uint64_t tag)
{
    jk_cap_endpoint eps[2] = {{.pc = 0}, {.pc = 1}};
    eps[0].regs[0] = tag; /* makes images distinct */
    jk_cap_pin p = {slot, pin};
    jk_cap_image_spec spec = {blob, sizeof blob, NULL, 0, eps, 2, &p, pin.body ? 1 : 0, 0};
    jk_cap im = jk_cap_null();
    jk_diag diag;
    if (jk_cap_image_new(&spec, &im, &diag) != JK_OK)
        printf("image_with: %s\n", diag.msg);
    return im;
}

static jk_cap root_cnode(void)
{
    jk_cap c = jk_cap_null();
    jk_cap_cnode_new(8, &c);
    return c;
}

static void h2(const jk_hash *a, const jk_hash *b, jk_hash *out)
{
    uint8_t buf[64];
    memcpy(buf, a->bytes, 32);
    memcpy(buf + 32, b->bytes, 32);
    jk_crypto_blake2b256(buf, 64, out);
}

JK_TEST(test_cap_instance_kernel_id)
{
    char id[32];
    snprintf(id, sizeof id, "%s/%d", JK_KERNEL_ABI_NAME, JK_KERNEL_ABI_VERSION);
    JK_CHECK(strcmp(id, JK_KERNEL_ABI_ID) == 0);
    jk_hash want, got;
    jk_crypto_blake2b256("jark/1", 6, &want);
    jk_cap_kernel_id(&got);
    JK_CHECK_MEM(got.bytes, want.bytes, 32);
    /* the constant cap.c writes out is the hash of the ABI id itself */
    jk_crypto_blake2b256(JK_KERNEL_ABI_ID, strlen(JK_KERNEL_ABI_ID), &want);
    JK_CHECK_MEM(got.bytes, want.bytes, 32);
}

JK_TEST(test_cap_instance_lineage_formulas)
{
    int64_t before = live();
    jk_cap pinned_v = data_of("verify pin");
    jk_cap chain_img = image_with(0, jk_cap_null(), 1);
    jk_cap verify_img = image_with(2, pinned_v, 2);
    jk_cap transact_img = image_with(0, jk_cap_null(), 3);
    jk_cap cn = root_cnode(), chain, verify, transact;
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_cap_instance_genesis(chain_img, cn, &chain, &diag) == JK_OK);

    jk_hash kid, id_chain, id_verify, id_transact, want, got;
    jk_cap_kernel_id(&kid);
    jk_cap_hash(chain_img, &id_chain);
    jk_cap_hash(verify_img, &id_verify);
    jk_cap_hash(transact_img, &id_transact);
    /* genesis: H(kernel_id ‖ image_id(ChainImage)) */
    h2(&kid, &id_chain, &want);
    jk_cap_instance_image_hash(chain, &got);
    JK_CHECK_MEM(got.bytes, want.bytes, 32);
    JK_CHECK_EQ(jk_cap_instance_status(chain), JK_CAP_IDLE);
    JK_CHECK(jk_cap_instance_image(chain).body == chain_img.body);

    /* copy keeps everything */
    jk_cap copy = jk_cap_retain(chain);
    jk_hash got2;
    jk_cap_instance_image_hash(copy, &got2);
    JK_CHECK_MEM(got2.bytes, want.bytes, 32);
    JK_CHECK(jk_cap_equal(copy, chain));

    /* set_image: H(image_hash_before ‖ image_id(new)) */
    JK_REQUIRE(jk_cap_instance_set_image(copy, verify_img, &verify, &diag) == JK_OK);
    jk_hash chain_lineage = want;
    h2(&chain_lineage, &id_verify, &want);
    jk_cap_instance_image_hash(verify, &got);
    JK_CHECK_MEM(got.bytes, want.bytes, 32);
    JK_CHECK(jk_cap_equal(jk_cap_cnode_get(jk_cap_instance_cnode(verify), 2), pinned_v));
    /* the original is untouched */
    JK_CHECK(jk_cap_is_null(jk_cap_cnode_get(jk_cap_instance_cnode(chain), 2)));

    /* derive_spawn: H(spawner.image_hash ‖ image_id(new)) */
    jk_cap cn2 = root_cnode();
    JK_REQUIRE(jk_cap_instance_derive_spawn(verify, transact_img, cn2, &transact, &diag) == JK_OK);
    jk_hash verify_lineage = want;
    h2(&verify_lineage, &id_transact, &want);
    jk_cap_instance_image_hash(transact, &got);
    JK_CHECK_MEM(got.bytes, want.bytes, 32);
    /* the same image spawned from the chain itself has a different type */
    jk_cap other;
    JK_REQUIRE(jk_cap_instance_derive_spawn(chain, transact_img, cn2, &other, &diag) == JK_OK);
    jk_cap_instance_image_hash(other, &got2);
    JK_CHECK(memcmp(got.bytes, got2.bytes, 32) != 0);

    jk_cap caps[] = {pinned_v, chain_img, verify_img, transact_img, cn, chain, verify,
                     transact, copy, cn2, other};
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++)
        jk_cap_release(caps[i]);
    JK_CHECK_EQ(live(), before);
}

JK_TEST(test_cap_instance_pins_and_collisions)
{
    int64_t before = live();
    jk_cap a = data_of("A"), b = data_of("B"), c = data_of("C");
    jk_cap img_a = image_with(5, a, 1), img_b = image_with(5, b, 2), img_c6 = image_with(6, c, 3);
    jk_cap cn = root_cnode(), cn_taken, cn_same, inst = jk_cap_null(), next = jk_cap_null();
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_cap_cnode_set(cn, 5, c, &cn_taken) == JK_OK);
    JK_REQUIRE(jk_cap_cnode_set(cn, 5, a, &cn_same) == JK_OK);
    /* genesis over a slot holding something else collides; the same cap is fine */
    JK_CHECK(jk_cap_instance_genesis(img_a, cn_taken, &inst, &diag) == JK_ERR_CAP_PINNED);
    JK_CHECK(strstr(diag.msg, "slot 5") != NULL);
    JK_CHECK(jk_cap_is_null(inst));
    JK_REQUIRE(jk_cap_instance_genesis(img_a, cn_same, &inst, &diag) == JK_OK);
    /* set_image: the old pins go, the new ones come; 5 → 5 is no collision */
    JK_REQUIRE(jk_cap_instance_set_image(inst, img_b, &next, &diag) == JK_OK);
    JK_CHECK(jk_cap_equal(jk_cap_cnode_get(jk_cap_instance_cnode(next), 5), b));
    jk_cap next2;
    JK_REQUIRE(jk_cap_instance_set_image(next, img_c6, &next2, &diag) == JK_OK);
    JK_CHECK(jk_cap_is_null(jk_cap_cnode_get(jk_cap_instance_cnode(next2), 5)));
    JK_CHECK(jk_cap_equal(jk_cap_cnode_get(jk_cap_instance_cnode(next2), 6), c));
    jk_cap_release(next2);
    /* set_image onto non-pinned content collides */
    jk_cap st, inst2, bad = jk_cap_null();
    JK_REQUIRE(jk_cap_cnode_set(jk_cap_instance_cnode(next), 6, a, &st) == JK_OK);
    JK_REQUIRE(jk_cap_instance_with_cnode(next, st, &inst2, &diag) == JK_OK);
    JK_CHECK(jk_cap_instance_set_image(inst2, img_c6, &bad, &diag) == JK_ERR_CAP_PINNED);
    JK_CHECK(jk_cap_is_null(bad));
    /* with_cnode keeps the pinned-slot invariant */
    JK_CHECK(jk_cap_instance_with_cnode(next, cn, &bad, &diag) == JK_ERR_CAP_INSTANCE);
    JK_CHECK(strstr(diag.msg, "pinned slot 5") != NULL);
    /* kinds and shapes */
    jk_cap small;
    JK_REQUIRE(jk_cap_cnode_new(4, &small) == JK_OK);
    JK_CHECK(jk_cap_instance_genesis(img_a, small, &bad, &diag) == JK_ERR_CAP_INSTANCE);
    JK_CHECK(jk_cap_instance_genesis(a, cn, &bad, &diag) == JK_ERR_CAP_KIND);
    JK_CHECK(jk_cap_instance_genesis(img_a, a, &bad, &diag) == JK_ERR_CAP_KIND);
    JK_CHECK(jk_cap_instance_derive_spawn(a, img_a, cn, &bad, &diag) == JK_ERR_CAP_KIND);
    JK_CHECK(jk_cap_instance_set_image(a, img_a, &bad, &diag) == JK_ERR_CAP_KIND);
    JK_CHECK(jk_cap_is_null(bad));
    jk_cap caps[] = {a, b, c, img_a, img_b, img_c6, cn, cn_taken, cn_same, inst, next,
                     st, inst2, small};
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++)
        jk_cap_release(caps[i]);
    JK_CHECK_EQ(live(), before);
}

JK_TEST(test_cap_instance_status)
{
    int64_t before = live();
    jk_cap img = image_with(0, jk_cap_null(), 1), cn = root_cnode(), inst, faulted, idle;
    JK_REQUIRE(jk_cap_instance_genesis(img, cn, &inst, NULL) == JK_OK);
    JK_REQUIRE(jk_cap_instance_with_status(inst, JK_CAP_FAULTED, &faulted) == JK_OK);
    JK_CHECK_EQ(jk_cap_instance_status(faulted), JK_CAP_FAULTED);
    JK_CHECK(!jk_cap_equal(faulted, inst));
    jk_hash a, b;
    jk_cap_instance_image_hash(faulted, &a);
    jk_cap_instance_image_hash(inst, &b);
    JK_CHECK_MEM(a.bytes, b.bytes, 32);
    JK_REQUIRE(jk_cap_instance_with_status(faulted, JK_CAP_IDLE, &idle) == JK_OK);
    JK_CHECK(jk_cap_equal(idle, inst));
    jk_cap bad = jk_cap_null();
    JK_CHECK(jk_cap_instance_with_status(inst, JK_CAP_PAUSED, &bad) == JK_ERR_CAP_INSTANCE);
    JK_CHECK(jk_cap_instance_set_image(faulted, img, &bad, NULL) == JK_ERR_CAP_INSTANCE);
    JK_CHECK(jk_cap_is_null(bad));
    jk_cap caps[] = {img, cn, inst, faulted, idle};
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++)
        jk_cap_release(caps[i]);
    JK_CHECK_EQ(live(), before);
}

/* ---- continuations ---- */

typedef struct cont_fixture {
    jk_cap img, cn, inst, callee, mem0, mem1, stack;
    jk_cap_region regions0[2], regions1[1];
    jk_cap_frame frames[2];
} cont_fixture;

static void cont_init(cont_fixture *f)
{
    f->img = image_with(0, jk_cap_null(), 7);
    f->cn = root_cnode();
    jk_cap_instance_genesis(f->img, f->cn, &f->inst, NULL);
    jk_cap img2 = image_with(0, jk_cap_null(), 8), cn2 = root_cnode();
    jk_cap_instance_derive_spawn(f->inst, img2, cn2, &f->callee, NULL);
    jk_cap_release(img2);
    jk_cap_release(cn2);
    static uint8_t page[2 * 4096];
    memset(page, 0x3C, sizeof page);
    jk_cap_data_new(page, sizeof page, &f->mem0);
    jk_cap_data_new(page, 100, &f->mem1);
    jk_cap_data_new_zeroed(4096, &f->stack);
    f->regions0[0] = (jk_cap_region){0x10000, f->mem0};
    f->regions0[1] = (jk_cap_region){0x12000, f->mem1}; /* right after mem0 */
    f->regions1[0] = (jk_cap_region){0xFFFFF000, f->stack};
    memset(f->frames, 0, sizeof f->frames);
    f->frames[0].instance = f->inst;
    f->frames[0].endpoint = 1;
    f->frames[0].pc = 3;
    f->frames[0].gas = -5;
    f->frames[0].flags = JK_CAP_FRAME_BLOCK_PAID;
    for (int r = 0; r < JK_PVM_REGS; r++)
        f->frames[0].regs[r] = 0x0101010101010101ull * (uint64_t)(r + 1);
    f->frames[0].region_count = 2;
    f->frames[0].regions = f->regions0;
    f->frames[1].instance = f->callee;
    f->frames[1].endpoint = 0;
    f->frames[1].pc = 1;
    f->frames[1].gas = 1000;
    f->frames[1].region_count = 1;
    f->frames[1].regions = f->regions1;
}

static void cont_free(cont_fixture *f)
{
    jk_cap caps[] = {f->img, f->cn, f->inst, f->callee, f->mem0, f->mem1, f->stack};
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++)
        jk_cap_release(caps[i]);
}

JK_TEST(test_cap_instance_pause_and_reference_hash)
{
    int64_t before = live();
    cont_fixture f;
    cont_init(&f);
    jk_cap paused;
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_cap_instance_pause(f.inst, f.frames, 2, &paused, &diag) == JK_OK);
    JK_CHECK_EQ(jk_cap_instance_status(paused), JK_CAP_PAUSED);
    JK_CHECK_EQ(jk_cap_instance_frame_count(paused), 2);
    JK_CHECK_EQ(jk_cap_instance_frame_count(f.inst), 0);
    const jk_cap_frame *fr = jk_cap_instance_frame(paused, 0);
    JK_REQUIRE(fr != NULL);
    JK_CHECK(fr->instance.body == f.inst.body);
    JK_CHECK_EQ(fr->pc, 3);
    JK_CHECK_EQ(fr->gas, (uint64_t)-5);
    JK_CHECK_EQ(fr->regs[12], 0x0D0D0D0D0D0D0D0Dull);
    JK_CHECK_EQ(fr->region_count, 2);
    JK_CHECK(fr->regions != f.regions0); /* copied */
    JK_CHECK(fr->regions[1].data.body == f.mem1.body);
    JK_CHECK(jk_cap_instance_frame(paused, 2) == NULL);
    JK_CHECK_EQ(jk_cap_depth(paused), jk_cap_depth(f.callee) + 1);
    /* set_image on a Paused instance is refused: its continuation would run
     * code of an image it no longer has. */
    jk_cap refused = jk_cap_null();
    JK_CHECK_EQ(jk_cap_instance_set_image(paused, jk_cap_instance_image(f.inst), &refused, &diag),
                JK_ERR_CAP_INSTANCE);
    JK_CHECK(jk_cap_is_null(refused));

    /* instance_hash by hand: docs/cap.md, Instance record */
    jk_hash ih;
    uint8_t enc[1024], *p = enc;
    *p++ = 0x07;
    puth(&p, f.img);
    jk_cap_instance_image_hash(f.inst, &ih);
    memcpy(p, ih.bytes, 32);
    p += 32;
    puth(&p, jk_cap_instance_cnode(f.inst));
    *p++ = 1;
    put32(&p, 2);
    for (int i = 0; i < 2; i++) {
        const jk_cap_frame *x = &f.frames[i];
        puth(&p, x->instance);
        *p++ = x->endpoint;
        put32(&p, x->pc);
        for (int r = 0; r < JK_PVM_REGS; r++)
            put64(&p, x->regs[r]);
        put64(&p, (uint64_t)x->gas);
        *p++ = x->flags;
        put32(&p, x->spawned);
        put32(&p, x->region_count);
        for (uint32_t r = 0; r < x->region_count; r++) {
            put32(&p, x->regions[r].base);
            puth(&p, x->regions[r].data);
        }
    }
    jk_hash want, got;
    jk_crypto_blake2b256(enc, (size_t)(p - enc), &want);
    jk_cap_hash(paused, &got);
    JK_CHECK_MEM(got.bytes, want.bytes, 32);

    /* and an Idle one: the record ends with its status */
    p = enc + 1 + 96;
    *p++ = 0;
    jk_crypto_blake2b256(enc, (size_t)(p - enc), &want);
    jk_cap_hash(f.inst, &got);
    JK_CHECK_MEM(got.bytes, want.bytes, 32);

    /* every part of the continuation is in the hash */
    jk_hash base;
    jk_cap_hash(paused, &base);
    for (int change = 0; change < 6; change++) {
        cont_fixture g = f;
        jk_cap_region rg[2] = {f.regions0[0], f.regions0[1]};
        g.frames[0].regions = rg;
        switch (change) {
        case 0: g.frames[1].pc = 0; break;
        case 1: g.frames[0].regs[4] ^= 1; break;
        case 2: g.frames[1].gas = 999; break;
        case 3: g.frames[0].flags = 0; break;
        case 4: g.frames[0].endpoint = 0; break;
        case 5: rg[1].data = f.stack; break;
        }
        jk_cap q;
        JK_REQUIRE(jk_cap_instance_pause(f.inst, g.frames, 2, &q, &diag) == JK_OK);
        jk_cap_hash(q, &got);
        if (!memcmp(got.bytes, base.bytes, 32))
            jk_test_fail(__FILE__, __LINE__, "change %d did not change instance_hash", change);
        jk_cap_release(q);
    }
    /* DROP_PAUSED: back to the instance as it was */
    jk_cap dropped;
    JK_REQUIRE(jk_cap_instance_with_status(paused, JK_CAP_IDLE, &dropped) == JK_OK);
    JK_CHECK(jk_cap_equal(dropped, f.inst));
    jk_cap_release(dropped);
    jk_cap_release(paused);
    cont_free(&f);
    JK_CHECK_EQ(live(), before);
}

JK_TEST(test_cap_instance_continuation_refusals)
{
    int64_t before = live();
    for (int c = 0; c < 12; c++) {
        cont_fixture f;
        cont_init(&f);
        jk_cap_region rg[2] = {f.regions0[0], f.regions0[1]};
        f.frames[0].regions = rg;
        jk_cap extra = jk_cap_null();
        uint32_t count = 2;
        jk_err want = JK_ERR_CAP_INSTANCE;
        switch (c) {
        case 0: count = 0; break;
        case 1: f.frames[1].endpoint = 2; break;           /* image has 2 endpoints */
        case 2: f.frames[0].flags = 2; break;
        case 3: rg[0].base = 0x10800; break;                 /* unaligned */
        case 4: rg[0].base = 0xF000; break;                  /* below the guard */
        case 5: rg[1].base = 0x11000; break;                 /* overlaps mem0's 2 pages */
        case 6: rg[1] = rg[0]; break;                        /* same base twice */
        case 7: f.frames[0].region_count = JK_CAP_FRAME_MAX_REGIONS + 1; break;
        case 8: f.frames[1].instance = f.mem0; want = JK_ERR_CAP_KIND; break;
        case 9: rg[0].data = f.cn; want = JK_ERR_CAP_KIND; break;
        case 10: /* a frame's instance must be Idle */
            jk_cap_instance_with_status(f.callee, JK_CAP_FAULTED, &extra);
            f.frames[1].instance = extra;
            break;
        case 11: { /* a region running past 2^32 */
            jk_cap_data_new_zeroed(8192, &extra);
            f.regions1[0].data = extra;
            break;
        }
        }
        jk_cap out = jk_cap_null();
        jk_diag diag = {{0}};
        jk_err err = jk_cap_instance_pause(f.inst, f.frames, count, &out, &diag);
        if (err != want)
            jk_test_fail(__FILE__, __LINE__, "case %d: got %d (%s), want %d", c, err, diag.msg,
                         want);
        JK_CHECK(jk_cap_is_null(out));
        jk_cap_release(extra);
        cont_free(&f);
    }
    /* a frame count over the bound */
    cont_fixture f;
    cont_init(&f);
    jk_cap_frame *many = calloc(JK_CAP_MAX_FRAMES + 1, sizeof *many);
    for (int i = 0; i <= JK_CAP_MAX_FRAMES; i++)
        many[i] = f.frames[1];
    jk_cap out = jk_cap_null();
    JK_CHECK(jk_cap_instance_pause(f.inst, many, JK_CAP_MAX_FRAMES + 1, &out, NULL) ==
             JK_ERR_CAP_INSTANCE);
    JK_REQUIRE(jk_cap_instance_pause(f.inst, many, JK_CAP_MAX_FRAMES, &out, NULL) == JK_OK);
    JK_CHECK_EQ(jk_cap_instance_frame_count(out), JK_CAP_MAX_FRAMES);
    jk_cap_release(out);
    free(many);
    /* make(): status and frames must agree */
    jk_hash ih;
    jk_cap_instance_image_hash(f.inst, &ih);
    out = jk_cap_null();
    JK_CHECK(jk_cap_instance_make(f.img, &ih, jk_cap_instance_cnode(f.inst), JK_CAP_IDLE,
                                  f.frames, 1, &out, NULL) == JK_ERR_CAP_INSTANCE);
    JK_CHECK(jk_cap_instance_make(f.img, &ih, jk_cap_instance_cnode(f.inst), JK_CAP_PAUSED,
                                  NULL, 0, &out, NULL) == JK_ERR_CAP_INSTANCE);
    JK_CHECK(jk_cap_instance_make(f.img, &ih, jk_cap_instance_cnode(f.inst),
                                  (jk_cap_status)3, NULL, 0, &out, NULL) == JK_ERR_CAP_INSTANCE);
    JK_CHECK(jk_cap_is_null(out));
    cont_free(&f);
    JK_CHECK_EQ(live(), before);
}
