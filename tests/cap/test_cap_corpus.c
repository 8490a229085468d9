/*
 * test_cap_corpus.c — replays every file of tests/fuzz/corpus/cap through the
 * fuzz target (as tests/fuzz/test_corpus.c does for the other targets), and
 * checks that the seeds are still what they claim: a "valid-*" or "linked-*"
 * bundle loads, an "obj-*" object passes jk_cap_object_check. A seed that stops being valid
 * means an encoding changed.
 *
 * The seeds are written by this file: run the test binary with
 * JK_CAP_WRITE_CORPUS=tests/fuzz/corpus/cap to regenerate them.
 * Input format: see tests/fuzz/fuzz_cap.c.
 */
#include "../files.h"
#include "../test.h"

#include "jark/cap.h"

#include <stdio.h>
#include <stdlib.h>

int jk_fuzz_cap(const uint8_t *data, size_t size);

#define CORPUS_DIR "tests/fuzz/corpus/cap"

/* ---- writing seeds ---- */

typedef struct seed {
    uint8_t *b;
    size_t n, cap;
    jk_hash seen[4096];
    size_t nseen;
} seed;

static void seed_bytes(seed *s, const void *p, size_t n)
{
    if (s->n + n > s->cap) {
        s->cap = (s->n + n) * 2;
        s->b = realloc(s->b, s->cap);
    }
    memcpy(s->b + s->n, p, n);
    s->n += n;
}

static jk_err seed_has(void *ctx, const jk_hash *h, bool *present)
{
    seed *s = ctx;
    *present = false;
    for (size_t i = 0; i < s->nseen; i++)
        if (!memcmp(s->seen[i].bytes, h->bytes, 32))
            *present = true;
    return JK_OK;
}

static jk_err seed_put(void *ctx, const jk_hash *h, const uint8_t *bytes, size_t len)
{
    seed *s = ctx;
    uint8_t hdr[2] = {(uint8_t)len, (uint8_t)(len >> 8)};
    if (len > 0xFFFF || s->nseen == 4096)
        return JK_ERR_INVALID_ARG;
    s->seen[s->nseen++] = *h;
    seed_bytes(s, hdr, 2);
    seed_bytes(s, bytes, len);
    return JK_OK;
}

/* A mode-1 bundle of every object of c, children first, root last. */
static void write_bundle(const char *dir, const char *name, jk_cap c)
{
    static seed s;
    s.n = 0;
    s.nseen = 0;
    uint8_t mode = 1;
    seed_bytes(&s, &mode, 1);
    jk_cap_sink sink = {&s, seed_has, seed_put};
    if (jk_cap_export(c, &sink, NULL) != JK_OK)
        jk_test_fail(__FILE__, __LINE__, "cannot export %s", name);
    jk_test_write_file(dir, name, s.b, s.n);
}

/* The same as a mode-3 bundle: each child hash inside a record becomes
 * "JKRF" ‖ its record's index (fuzz_cap.c turns it back). */
static void write_linked(const char *dir, const char *name, jk_cap c)
{
    static seed s;
    s.n = 0;
    s.nseen = 0;
    uint8_t mode = 3;
    seed_bytes(&s, &mode, 1);
    jk_cap_sink sink = {&s, seed_has, seed_put};
    jk_cap_export(c, &sink, NULL);
    size_t off = 1, rec = 0;
    while (off < s.n && rec < s.nseen) {
        size_t len = s.b[off] | (size_t)s.b[off + 1] << 8;
        uint8_t *p = s.b + off + 2;
        for (size_t i = 0; i + 32 <= len; i++)
            for (size_t j = 0; j < rec && j < 256; j++)
                if (!memcmp(p + i, s.seen[j].bytes, 32)) {
                    memset(p + i, 0, 32);
                    memcpy(p + i, "JKRF", 4);
                    p[i + 4] = (uint8_t)j;
                    i += 31;
                    break;
                }
        off += 2 + len;
        rec++;
    }
    jk_test_write_file(dir, name, s.b, s.n);
}

/* Mode-0 seeds: the root object of c alone. */
static void write_object(const char *dir, const char *name, jk_cap c)
{
    static seed s;
    s.n = 0;
    s.nseen = 0;
    jk_cap_sink sink = {&s, seed_has, seed_put};
    jk_cap_export(c, &sink, NULL);
    /* the root is the last record */
    size_t off = 0, last = 0;
    while (off < s.n) {
        last = off;
        off += 2 + (s.b[off] | (size_t)s.b[off + 1] << 8);
    }
    size_t len = s.n - last - 2;
    uint8_t *out = malloc(len + 1);
    out[0] = 0;
    memcpy(out + 1, s.b + last + 2, len);
    jk_test_write_file(dir, name, out, len + 1);
    free(out);
}

static const uint8_t blob[] = {0x00, 0x00, 0x04, 0x01, 0x0A, 0x00, 0x00, 0x0B};

static void write_corpus(const char *dir)
{
    jk_cap empty, jark, two, zero, cn0, cn4, nested, im, inst, paused, tmp, tmp2;
    jk_cap_data_new(NULL, 0, &empty);
    jk_cap_data_new("jark", 4, &jark);
    uint8_t b[4106];
    for (size_t i = 0; i < sizeof b; i++)
        b[i] = (uint8_t)(i * 7);
    jk_cap_data_new(b, sizeof b, &two);
    jk_cap_data_new_zeroed(1 << 20, &zero);
    jk_cap_cnode_new(0, &tmp);
    jk_cap_cnode_set(tmp, 0, jark, &cn0);
    jk_cap_release(tmp);
    jk_cap_cnode_new(4, &tmp);
    jk_cap_cnode_set(tmp, 3, jark, &tmp2);
    jk_cap_cnode_set(tmp2, 12, empty, &cn4);
    jk_cap_release(tmp);
    jk_cap_release(tmp2);
    jk_cap_cnode_new(2, &tmp);
    jk_cap_cnode_set(tmp, 1, cn4, &nested);
    jk_cap_release(tmp);
    jk_cap_endpoint eps[2] = {{.pc = 0}, {.pc = 1, .regs = {5, 6}}};
    jk_cap_pin pins[2] = {{3, jark}, {4, empty}};
    jk_cap_mapping maps[2] = {
        {0x10000, 0x1000, JK_CAP_MAP_EPHEMERAL_INIT, JK_PVM_ACCESS_READ, 3},
        {0x20000, 0x2000, JK_CAP_MAP_PERSISTENT, JK_PVM_ACCESS_WRITE, 30},
    };
    jk_cap_image_spec spec = {blob, sizeof blob, maps, 2, eps, 2, pins, 2, 8};
    jk_cap_image_new(&spec, &im, NULL);
    jk_cap_cnode_new(8, &tmp);
    jk_cap_cnode_set(tmp, 30, jark, &tmp2);
    jk_cap_instance_genesis(im, tmp2, &inst, NULL);
    jk_cap_release(tmp);
    jk_cap_release(tmp2);
    jk_cap_region rg[2] = {{0x10000, jark}, {0x20000, two}};
    jk_cap_frame fr[2] = {{inst, 1, 3, {1, 2, 3}, 99, 1, 2, rg}, {inst, 0, 0, {0}, -1, 0, 0, NULL}};
    jk_cap_instance_pause(inst, fr, 2, &paused, NULL);

    write_bundle(dir, "valid-data-empty", empty);
    write_bundle(dir, "valid-data-small", jark);
    write_bundle(dir, "valid-data-two-pages", two);
    write_bundle(dir, "valid-data-zero-1mib", zero);
    write_bundle(dir, "valid-cnode-k0", cn0);
    write_bundle(dir, "valid-cnode-k4", cn4);
    write_bundle(dir, "valid-cnode-nested", nested);
    write_bundle(dir, "valid-image", im);
    write_bundle(dir, "valid-instance-idle", inst);
    write_bundle(dir, "valid-instance-paused", paused);
    write_linked(dir, "linked-cnode-nested", nested);
    write_linked(dir, "linked-data-two-pages", two);
    write_linked(dir, "linked-instance-paused", paused);
    write_object(dir, "obj-data", jark);
    write_object(dir, "obj-cnode", cn4);
    write_object(dir, "obj-image", im);
    write_object(dir, "obj-instance-idle", inst);
    write_object(dir, "obj-instance-paused", paused);
    /* tree nodes alone: a page and a data node, a cnode node */
    static const uint8_t page[] = {0x00, 0x02, 4, 0, 0, 0, 'j', 'a', 'r', 'k'};
    uint8_t node[1 + 65] = {0x00, 0x03};
    memset(node + 2, 0x11, 64);
    jk_test_write_file(dir, "obj-data-page", page, sizeof page);
    jk_test_write_file(dir, "obj-data-node", node, sizeof node);
    node[1] = 0x05;
    jk_test_write_file(dir, "obj-cnode-node", node, sizeof node);
    /* a mode-2 bundle whose one object is stored under a wrong name */
    uint8_t named[1 + 2 + 32 + 41] = {2, 41, 0};
    memset(named + 3, 0xEE, 32);
    named[35] = 0x01;
    jk_test_write_file(dir, "named-corrupt", named, sizeof named);

    jk_cap all[] = {empty, jark, two, zero, cn0, cn4, nested, im, inst, paused};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        jk_cap_release(all[i]);
}

/* ---- replaying ---- */

typedef struct bundle_map {
    const uint8_t *obj[512];
    size_t len[512];
    jk_hash name[512];
    size_t n;
} bundle_map;

static jk_err bundle_get(void *ctx, const jk_hash *h, const uint8_t **bytes, size_t *len)
{
    bundle_map *m = ctx;
    for (size_t i = 0; i < m->n; i++)
        if (!memcmp(m->name[i].bytes, h->bytes, 32)) {
            *bytes = m->obj[i];
            *len = m->len[i];
            return JK_OK;
        }
    return JK_ERR_CAP_MISSING;
}

/* A "valid-" seed must load, an "obj-" seed must pass the object check. */
static void check_seed(const char *name, const uint8_t *b, size_t n)
{
    jk_diag diag = {{0}};
    if (!strncmp(name, "obj-", 4)) {
        if (n < 1 || jk_cap_object_check(b + 1, n - 1, &diag) != JK_OK)
            jk_test_fail(__FILE__, __LINE__, "seed %s: %s", name, diag.msg);
        return;
    }
    bool linked = !strncmp(name, "linked-", 7);
    if (strncmp(name, "valid-", 6) != 0 && !linked)
        return;
    static bundle_map m;
    static uint8_t arena[1 << 17];
    size_t used = 0;
    m.n = 0;
    size_t off = 1;
    while (off + 2 <= n && m.n < 512) {
        size_t len = b[off] | (size_t)b[off + 1] << 8;
        off += 2;
        if (linked && used + len <= sizeof arena) { /* as fuzz_cap.c's mode 3 */
            uint8_t *p = arena + used;
            memcpy(p, b + off, len);
            used += len;
            for (size_t i = 0; i + 32 <= len; i++)
                if (!memcmp(p + i, "JKRF", 4) && p[i + 4] < m.n) {
                    memcpy(p + i, m.name[p[i + 4]].bytes, 32);
                    i += 31;
                }
            m.obj[m.n] = p;
            m.len[m.n] = len;
            jk_crypto_blake2b256(p, len, &m.name[m.n]);
            m.n++;
            off += len;
            continue;
        }
        m.obj[m.n] = b + off;
        m.len[m.n] = len;
        jk_crypto_blake2b256(b + off, len, &m.name[m.n]);
        m.n++;
        off += len;
    }
    jk_cap c;
    jk_cap_source src = {&m, bundle_get};
    if (m.n == 0 || jk_cap_load(&src, &m.name[m.n - 1], &c, &diag) != JK_OK) {
        jk_test_fail(__FILE__, __LINE__, "seed %s does not load: %s", name, diag.msg);
        return;
    }
    jk_cap_release(c);
}

JK_TEST(test_cap_corpus_replay)
{
    const char *out = getenv("JK_CAP_WRITE_CORPUS");
    if (out)
        write_corpus(out);
    jk_test_corpus c;
    JK_REQUIRE(jk_test_corpus_open(&c, CORPUS_DIR));
    size_t count = 0, valid = 0;
    while (jk_test_corpus_next(&c)) {
        jk_fuzz_cap(c.bytes, c.len); /* aborts on a bug */
        check_seed(c.name, c.bytes, c.len);
        valid += !strncmp(c.name, "valid-", 6) || !strncmp(c.name, "linked-", 7);
        count++;
    }
    jk_test_corpus_close(&c);
    JK_CHECK(count >= 22);
    JK_CHECK(valid >= 13);
}
