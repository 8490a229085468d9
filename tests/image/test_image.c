/*
 * test_image.c — `jark image`: manifests, image files, one call on a fresh
 * instance (tools/cmd_image.c, tools/image_file.c, docs/image-format.md).
 *
 * Most tests use a tiny program file made from assembly (image_test_util.h,
 * no SDK needed): endpoint "first" halts at once, "second" adds 1 to φ7. The
 * end-to-end test builds tests/kernel/progs/kprog.c with the SDK, as the
 * kernel tests do. Every test checks that no cap value is leaked. What the
 * image-file reader refuses, and the fuzz corpus, are in test_image_reader.c.
 */
#include "../test.h"
#include "image_test_util.h"
#include "../../tools/commands.h"
#include "jark/image.h"
#include "jark/sdk.h"
#include "../progs.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- round trip ---- */

JK_TEST(test_image_manifest_file_round_trip)
{
    int64_t live = jk_live();
    jk_image_file *f = jk_file_new(), *back = jk_file_new();
    jk_diag diag = {{0}};
    JK_REQUIRE(f && back);
    JK_CHECK_EQ(jk_tiny_image(f, &diag), JK_OK);
    if (diag.msg[0])
        printf("  %s\n", diag.msg);
    JK_REQUIRE(!jk_cap_is_null(f->image));
    jk_cap im = f->image;
    JK_CHECK_EQ(jk_cap_image_endpoint_count(im), 2);
    JK_CHECK_EQ(jk_cap_image_endpoint(im, 1)->pc, jk_second_pc);
    JK_CHECK_EQ(f->name_count, 2);
    JK_CHECK(!strcmp(f->names[0], "first") && !strcmp(f->names[1], "second"));
    JK_CHECK_EQ(jk_cap_image_yield_catcher_slot(im), 23);
    JK_CHECK_EQ(jk_cap_data_len(jk_cap_image_pinned(im, 5)), 12);
    JK_CHECK_EQ(jk_cap_data_len(jk_cap_image_pinned(im, 6)), 2);
    JK_CHECK_EQ(jk_cap_data_len(jk_cap_image_pinned(im, 17)), 2); /* ro_slot */
    JK_CHECK_EQ(jk_cap_data_len(jk_cap_image_pinned(im, 16)), 2); /* rw_slot */
    JK_CHECK(jk_cap_is_null(jk_cap_image_pinned(im, 19)));
    bool persistent = false, zero = false;
    for (uint32_t i = 0; i < jk_cap_image_mapping_count(im); i++) {
        const jk_cap_mapping *mp = jk_cap_image_mapping(im, i);
        persistent |= mp->base == 0x40000000 && mp->kind == JK_CAP_MAP_PERSISTENT && mp->slot == 20;
        zero |= mp->base == 0x50000000 && mp->size == 8192 && mp->kind == JK_CAP_MAP_EPHEMERAL_ZERO;
    }
    JK_CHECK(persistent && zero);
    JK_CHECK_EQ(jk_cap_data_len(jk_cap_cnode_get(f->state, 20)), 4096);
    JK_CHECK_EQ(jk_cap_data_len(jk_cap_cnode_get(f->state, 21)), 12);

    /* file and back: equal values, equal names, equal bytes */
    JK_REQUIRE(jk_image_file_save(jk_path("tiny.img"), f, &diag) == JK_OK);
    JK_REQUIRE(jk_image_file_load(jk_path("tiny.img"), back, &diag) == JK_OK);
    JK_CHECK(jk_cap_equal(back->image, f->image));
    JK_CHECK(jk_cap_equal(back->state, f->state));
    JK_CHECK_EQ(back->name_count, 2);
    JK_CHECK(!strcmp(back->names[1], "second"));
    uint8_t *a, *b;
    size_t alen, blen;
    JK_REQUIRE(jk_image_file_write(f, &a, &alen, NULL) == JK_OK);
    JK_REQUIRE(jk_image_file_write(back, &b, &blen, NULL) == JK_OK);
    JK_CHECK(alen == blen && !memcmp(a, b, alen));
    JK_CHECK(!memcmp(a, "JKIMG\0\1", 7));
    free(a);
    free(b);

    /* building again gives the same image (deterministic) */
    jk_image_file *again = jk_file_new();
    JK_REQUIRE(jk_image_manifest_build(jk_path("tiny.json"), again, NULL) == JK_OK);
    JK_CHECK(jk_cap_equal(again->image, f->image));
    jk_file_free(again);

    /* the writer refuses what is not a file's content */
    jk_cap keep = back->state;
    JK_REQUIRE(jk_cap_cnode_new(4, &back->state) == JK_OK);
    JK_CHECK_EQ(jk_image_file_write(back, &a, &alen, &diag), JK_ERR_INVALID_ARG);
    jk_cap_release(back->state);
    back->state = keep;
    back->name_count = 1;
    JK_CHECK_EQ(jk_image_file_write(back, &a, &alen, &diag), JK_ERR_INVALID_ARG);
    back->name_count = 2;
    strcpy(back->names[1], "first");
    JK_CHECK_EQ(jk_image_file_write(back, &a, &alen, &diag), JK_ERR_INVALID_ARG);
    JK_CHECK(strstr(diag.msg, "twice") != NULL);
    jk_file_free(f);
    jk_file_free(back);
    JK_CHECK_EQ(jk_live(), live);
}

JK_TEST(test_image_endpoints_select_and_run)
{
    int64_t live = jk_live();
    jk_image_file *full = jk_file_new(), *one = jk_file_new();
    jk_diag diag = {{0}};
    JK_REQUIRE(full && one);
    JK_REQUIRE(jk_tiny_image(full, &diag) == JK_OK);
    /* only "second", and by index the same again: no, listed twice is refused */
    jk_put_text("one.json", "{\"program\": \"tiny.jkp\", \"endpoints\": [\"second\"],"
                            " \"ro_slot\": 17, \"rw_slot\": 16, \"yield_catcher_slot\": 23,"
                            " \"pins\": [ {\"slot\": 5, \"data\": \"pin.bin\"}, {\"slot\": 6, \"data_hex\": \"00ff\"} ],"
                            " \"mappings\": [ {\"slot\": 20, \"base\": \"0x40000000\", \"size\": \"0x1000\", \"access\": \"rw\"},"
                            " {\"base\": 1342177280, \"size\": 8192, \"access\": \"rw\", \"kind\": \"ephemeral-zero\"} ] }");
    JK_CHECK_EQ(jk_image_manifest_build(jk_path("one.json"), one, &diag), JK_OK);
    JK_REQUIRE(!jk_cap_is_null(one->image));
    JK_CHECK_EQ(jk_cap_image_endpoint_count(one->image), 1);
    JK_CHECK_EQ(one->name_count, 1);
    JK_CHECK(!strcmp(one->names[0], "second"));
    JK_CHECK_EQ(jk_cap_image_endpoint(one->image, 0)->pc, jk_cap_image_endpoint(full->image, 1)->pc);
    JK_CHECK_MEM(jk_cap_image_endpoint(one->image, 0)->regs, jk_cap_image_endpoint(full->image, 1)->regs,
                 sizeof(uint64_t) * JK_PVM_REGS);
    /* everything but the endpoints is the full image's */
    JK_CHECK(jk_cap_equal(jk_cap_image_code(one->image), jk_cap_image_code(full->image)));
    JK_CHECK_EQ(jk_cap_image_mapping_count(one->image), jk_cap_image_mapping_count(full->image));
    for (uint32_t i = 0; i < jk_cap_image_mapping_count(one->image); i++) {
        const jk_cap_mapping *x = jk_cap_image_mapping(one->image, i), *y = jk_cap_image_mapping(full->image, i);
        JK_CHECK(x->base == y->base && x->size == y->size && x->kind == y->kind && x->access == y->access &&
                 x->slot == y->slot);
    }
    JK_CHECK_EQ(jk_cap_image_pin_count(one->image), jk_cap_image_pin_count(full->image));
    JK_CHECK(jk_cap_is_null(one->state));

    /* reordered: both, second first */
    jk_image_file *rev = jk_file_new();
    jk_put_text("rev.json", "{\"program\": \"tiny.jkp\", \"endpoints\": [\"second\", 0]}");
    JK_CHECK_EQ(jk_image_manifest_build(jk_path("rev.json"), rev, &diag), JK_OK);
    JK_CHECK_EQ(jk_cap_image_endpoint(rev->image, 0)->pc, jk_second_pc);
    JK_CHECK_EQ(jk_cap_image_endpoint(rev->image, 1)->pc, 0);
    JK_CHECK(!strcmp(rev->names[0], "second") && !strcmp(rev->names[1], "first"));
    JK_CHECK_EQ(jk_image_file_find(rev, "first"), 1);
    JK_CHECK_EQ(jk_image_file_find(rev, "nope"), -1);

    /* run: "second" adds one; no state given, so an empty cnode */
    jk_kernel_result res;
    uint64_t args[3] = {41, 0, 0};
    char line[512];
    JK_REQUIRE(jk_image_run(rev, 0, 1000, args, jk_cap_null(), NULL, &res, &diag) == JK_OK);
    jk_image_run_line(&res, line, sizeof line);
    if (res.outcome != JK_KERNEL_HALT)
        printf("  %s\n", line);
    JK_CHECK_EQ(res.outcome, JK_KERNEL_HALT);
    JK_CHECK_EQ(res.value, 42);
    JK_CHECK(!strncmp(line, "outcome=halt r7=42 gas_used=", 28));
    JK_CHECK(strstr(line, " slot0=none") != NULL);
    jk_kernel_result_clear(&res);
    /* `one` maps slot 20 persistently but has no state: a fault, and why */
    JK_REQUIRE(jk_image_run(one, 0, 1000, args, jk_cap_null(), NULL, &res, &diag) == JK_OK);
    jk_image_run_line(&res, line, sizeof line);
    JK_CHECK(!strncmp(line, "outcome=fault ", 14));
    JK_CHECK(strstr(line, " slot0=none fault=\"") != NULL);
    jk_kernel_result_clear(&res);
    jk_file_free(rev);
    /* a Data in slot[0] comes back at HALT */
    jk_cap hello;
    JK_REQUIRE(jk_cap_data_new("hello", 5, &hello) == JK_OK);
    JK_REQUIRE(jk_image_run(full, 0, 1000, NULL, hello, NULL, &res, &diag) == JK_OK);
    jk_image_run_line(&res, line, sizeof line);
    JK_CHECK(strstr(line, "outcome=halt r7=0 ") == line);
    JK_CHECK(strstr(line, " slot0=data:5:68656c6c6f") != NULL);
    jk_kernel_result_clear(&res);
    jk_cap_release(hello);
    /* out of gas */
    JK_REQUIRE(jk_image_run(full, 1, 1, args, jk_cap_null(), NULL, &res, &diag) == JK_OK);
    jk_image_run_line(&res, line, sizeof line);
    JK_CHECK(!strncmp(line, "outcome=out-of-gas ", 19));
    jk_kernel_result_clear(&res);
    /* refusals */
    JK_CHECK_EQ(jk_image_run(one, 1, 1000, NULL, jk_cap_null(), NULL, &res, &diag), JK_ERR_INVALID_ARG);
    JK_CHECK_EQ(jk_image_run(one, 0, -1, NULL, jk_cap_null(), NULL, &res, &diag), JK_ERR_INVALID_ARG);
    jk_file_free(full);
    jk_file_free(one);
    JK_CHECK_EQ(jk_live(), live);
}

/* ---- manifest refusals ---- */

typedef struct jk_bad_manifest {
    const char *json;
    jk_err err;
    const char *says; /* a substring of the message: the field */
} jk_bad_manifest;

JK_TEST(test_image_manifest_refusals)
{
    static const jk_bad_manifest cases[] = {
        {"{", JK_ERR_PARSE, "JSON"},
        {"{\"program\": \"tiny.jkp\"} x", JK_ERR_PARSE, "JSON"},
        {"[]", JK_ERR_PARSE, "manifest: expected an object"},
        {"{\"program\": \"tiny.jkp\", \"bogus\": 1}", JK_ERR_PARSE, "manifest: unknown key 'bogus'"},
        /* json-c keeps the last of two equal keys and clamps a number past
         * its range without a word: both refused (src/base/json.c) */
        {"{\"program\": \"nope.jkp\", \"program\": \"tiny.jkp\"}", JK_ERR_PARSE, "key 'program' given twice"},
        {"{\"program\": \"tiny.jkp\", \"pins\": [{\"slot\": 5, \"slot\": 6, \"data_zero\": 1}]}", JK_ERR_PARSE,
         "key 'slot' given twice"},
        {"{\"program\": \"tiny.jkp\", \"pins\": [{\"slot\": 5, \"data_zero\": 100000000000000000000000}]}",
         JK_ERR_PARSE, "the number 100000000000000000000000 is out of range"},
        {"{}", JK_ERR_PARSE, "program: missing"},
        {"{\"program\": 5}", JK_ERR_PARSE, "program: expected a string"},
        {"{\"program\": \"nope.jkp\"}", JK_ERR_IO, "program: "},
        {"{\"program\": \"pin.bin\"}", JK_ERR_PVM_BLOB, "program: "},
        {"{\"program\": \"tiny.jkp\", \"ro_slot\": 0}", JK_ERR_PARSE, "ro_slot: 0 is out of range"},
        {"{\"program\": \"tiny.jkp\", \"rw_slot\": 256}", JK_ERR_PARSE, "rw_slot: 256 is out of range"},
        {"{\"program\": \"tiny.jkp\", \"ro_slot\": -3}", JK_ERR_PARSE, "ro_slot: -3 is negative"},
        {"{\"program\": \"tiny.jkp\", \"ro_slot\": 1.5}", JK_ERR_PARSE, "ro_slot: expected a number"},
        {"{\"program\": \"tiny.jkp\", \"ro_slot\": \"0x1z\"}", JK_ERR_PARSE, "ro_slot: \"0x1z\" is not a number"},
        {"{\"program\": \"tiny.jkp\", \"ro_slot\": 7, \"rw_slot\": 7}", JK_ERR_PARSE, "rw_slot: 7 is also"},
        {"{\"program\": \"tiny.jkp\", \"yield_catcher_slot\": null}", JK_ERR_PARSE, "yield_catcher_slot: expected"},
        {"{\"program\": \"tiny.jkp\", \"pins\": {}}", JK_ERR_PARSE, "pins: expected an array"},
        {"{\"program\": \"tiny.jkp\", \"pins\": [3]}", JK_ERR_PARSE, "pins[0]: expected an object"},
        {"{\"program\": \"tiny.jkp\", \"pins\": [{\"data_hex\": \"00\"}]}", JK_ERR_PARSE, "pins[0].slot: missing"},
        {"{\"program\": \"tiny.jkp\", \"pins\": [{\"slot\": 5}]}", JK_ERR_PARSE, "pins[0]: needs one of"},
        {"{\"program\": \"tiny.jkp\", \"pins\": [{\"slot\": 5, \"data_hex\": \"00\", \"data\": \"pin.bin\"}]}",
         JK_ERR_PARSE, "pins[0]: has both"},
        {"{\"program\": \"tiny.jkp\", \"pins\": [{\"slot\": 5, \"data_hex\": \"0g\"}]}", JK_ERR_PARSE,
         "pins[0].data_hex: '0g'"},
        {"{\"program\": \"tiny.jkp\", \"pins\": [{\"slot\": 5, \"data_hex\": \"000\"}]}", JK_ERR_PARSE,
         "pins[0].data_hex: an odd number"},
        {"{\"program\": \"tiny.jkp\", \"pins\": [{\"slot\": 5, \"data_hex\": \"00\", \"x\": 1}]}", JK_ERR_PARSE,
         "pins[0]: unknown key 'x'"},
        {"{\"program\": \"tiny.jkp\", \"pins\": [{\"slot\": 5, \"data_hex\": \"\"}, {\"slot\": 5, \"data_zero\": 1}]}",
         JK_ERR_PARSE, "pins[1]: slot 5 is pinned twice"},
        {"{\"program\": \"tiny.jkp\", \"pins\": [{\"slot\": 5, \"data\": \"missing.bin\"}]}", JK_ERR_IO,
         "pins[0].data: "},
        {"{\"program\": \"tiny.jkp\", \"pins\": [{\"slot\": 5, \"image\": \"pin.bin\"}]}", JK_ERR_CAP_DECODE,
         "pins[0].image: "},
        {"{\"program\": \"tiny.jkp\", \"pins\": [{\"slot\": 5, \"data_zero\": \"0x40000001\"}]}", JK_ERR_PARSE,
         "pins[0].data_zero: 1073741825 is out of range"},
        {"{\"program\": \"tiny.jkp\", \"pins\": [{\"slot\": 19, \"data_hex\": \"00\"}]}", JK_ERR_CAP_IMAGE,
         "image: "},
        {"{\"program\": \"tiny.jkp\", \"mappings\": [{\"slot\": 20, \"size\": 4096, \"access\": \"rw\"}]}",
         JK_ERR_PARSE, "mappings[0].base: missing"},
        {"{\"program\": \"tiny.jkp\", \"mappings\": [{\"slot\": 20, \"base\": \"0x40000010\", \"size\": 4096, "
         "\"access\": \"rw\"}]}",
         JK_ERR_PARSE, "mappings[0].base: 0x40000010 is not a multiple"},
        {"{\"program\": \"tiny.jkp\", \"mappings\": [{\"slot\": 20, \"base\": \"0x40000000\", \"size\": 0, "
         "\"access\": \"rw\"}]}",
         JK_ERR_PARSE, "mappings[0].size: 0 is out of range"},
        {"{\"program\": \"tiny.jkp\", \"mappings\": [{\"slot\": 20, \"base\": \"0xfffff000\", \"size\": 8192, "
         "\"access\": \"rw\"}]}",
         JK_ERR_PARSE, "mappings[0].size: the mapping ends past"},
        {"{\"program\": \"tiny.jkp\", \"mappings\": [{\"slot\": 20, \"base\": \"0x40000000\", \"size\": 4096, "
         "\"access\": \"wx\"}]}",
         JK_ERR_PARSE, "mappings[0].access: 'wx'"},
        {"{\"program\": \"tiny.jkp\", \"mappings\": [{\"slot\": 20, \"base\": \"0x40000000\", \"size\": 4096, "
         "\"access\": \"rw\", \"kind\": \"heap\"}]}",
         JK_ERR_PARSE, "mappings[0].kind: 'heap'"},
        {"{\"program\": \"tiny.jkp\", \"mappings\": [{\"slot\": 20, \"base\": \"0x40000000\", \"size\": 4096, "
         "\"access\": \"rw\", \"kind\": \"ephemeral-zero\"}]}",
         JK_ERR_PARSE, "mappings[0].slot: an ephemeral-zero mapping has no slot"},
        {"{\"program\": \"tiny.jkp\", \"mappings\": [{\"slot\": 20, \"base\": \"0x10000\", \"size\": 4096, "
         "\"access\": \"rw\"}]}",
         JK_ERR_CAP_IMAGE, "image: "},
        {"{\"program\": \"tiny.jkp\", \"mappings\": [{\"slot\": 20, \"base\": 65536, \"sise\": 4096}]}",
         JK_ERR_PARSE, "mappings[0]: unknown key 'sise'"},
        {"{\"program\": \"tiny.jkp\", \"endpoints\": []}", JK_ERR_PARSE, "endpoints: 0 entries"},
        {"{\"program\": \"tiny.jkp\", \"endpoints\": [\"third\"]}", JK_ERR_PARSE,
         "endpoints[0]: the program has no endpoint 'third'"},
        {"{\"program\": \"tiny.jkp\", \"endpoints\": [\"first\", 0]}", JK_ERR_PARSE,
         "endpoints[1]: endpoint 'first' is listed twice"},
        {"{\"program\": \"tiny.jkp\", \"endpoints\": [2]}", JK_ERR_PARSE, "endpoints[0]: the program has 2"},
        {"{\"program\": \"tiny.jkp\", \"endpoints\": [true]}", JK_ERR_PARSE, "endpoints[0]: expected an endpoint"},
        {"{\"program\": \"tiny.jkp\", \"state\": [{\"slot\": 20, \"data_zero\": 1}, {\"slot\": 20, \"data_zero\": 1}]}",
         JK_ERR_PARSE, "state[1]: slot 20 is given twice"},
        {"{\"program\": \"tiny.jkp\", \"state\": [{\"slot\": 0, \"data_zero\": 1}]}", JK_ERR_PARSE,
         "state[0].slot: 0 is out of range"},
        {"{\"program\": \"tiny.jkp\", \"state\": [{\"slot\": 19, \"data_zero\": 1}]}", JK_ERR_CAP_PINNED, "state: "},
        {"{\"program\": \"tiny.jkp\", \"yield_catcher_slot\": 19}", JK_ERR_CAP_IMAGE, "image: "},
    };
    int64_t live = jk_live();
    jk_tiny_program();
    jk_put_text("pin.bin", "pinned bytes");
    jk_image_file *f = jk_file_new();
    JK_REQUIRE(f != NULL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        jk_diag diag = {{0}};
        jk_put_text("bad.json", cases[i].json);
        jk_err err = jk_image_manifest_build(jk_path("bad.json"), f, &diag);
        if (err != cases[i].err || !strstr(diag.msg, cases[i].says))
            jk_test_fail(__FILE__, __LINE__, "case %zu: got %s \"%s\", want %s \"%s...\"", i, jk_strerror(err),
                         diag.msg, jk_strerror(cases[i].err), cases[i].says);
        JK_CHECK(jk_cap_is_null(f->image) && jk_cap_is_null(f->state));
        jk_image_file_clear(f);
    }
    JK_CHECK_EQ(jk_image_manifest_build(jk_path("none.json"), f, NULL), JK_ERR_IO);
    jk_file_free(f);
    JK_CHECK_EQ(jk_live(), live);
}

/* An image pinned into another: {"image": FILE} loads its Image. */
JK_TEST(test_image_pins_another_image)
{
    int64_t live = jk_live();
    jk_image_file *inner = jk_file_new(), *outer = jk_file_new();
    jk_diag diag = {{0}};
    JK_REQUIRE(inner && outer && jk_tiny_image(inner, &diag) == JK_OK);
    JK_REQUIRE(jk_image_file_save(jk_path("inner.img"), inner, &diag) == JK_OK);
    jk_put_text("outer.json", "{\"program\": \"tiny.jkp\", \"pins\": [{\"slot\": 1, \"image\": \"inner.img\"}],"
                              " \"state\": [{\"slot\": 25, \"image\": \"inner.img\"}]}");
    JK_CHECK_EQ(jk_image_manifest_build(jk_path("outer.json"), outer, &diag), JK_OK);
    JK_CHECK(jk_cap_equal(jk_cap_image_pinned(outer->image, 1), inner->image));
    JK_CHECK(jk_cap_equal(jk_cap_cnode_get(outer->state, 25), inner->image));
    /* the file holds the inner image's objects once, shared by pin and state */
    uint8_t *b;
    size_t n;
    JK_REQUIRE(jk_image_file_write(outer, &b, &n, NULL) == JK_OK);
    JK_CHECK(!jk_refused(b, n, NULL));
    free(b);
    jk_file_free(inner);
    jk_file_free(outer);
    JK_CHECK_EQ(jk_live(), live);
}

/* ---- end to end through the CLI, with the SDK ---- */

/* Runs jk_tool_image(argv) with stderr captured into buf (stdout, the debug
 * stream, goes to a file nobody reads). */
static int jk_tool_capture(int argc, char **argv, char *buf, size_t size)
{
    const char *path = jk_path("stderr.txt");
    fflush(stdout);
    fflush(stderr);
    int saved = dup(2), fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int saved_out = dup(1), fd_out = open(jk_path("stdout.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (saved < 0 || fd < 0 || saved_out < 0 || fd_out < 0)
        return -1;
    dup2(fd, 2);
    close(fd);
    dup2(fd_out, 1);
    close(fd_out);
    int rc = jk_tool_image(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    dup2(saved_out, 1);
    close(saved_out);
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, size - 1, f) : 0;
    buf[n] = 0;
    if (f)
        fclose(f);
    return rc;
}

JK_TEST(test_image_end_to_end_kprog)
{
    int64_t live = jk_live();
    const char *src[1] = {"tests/kernel/progs/kprog.c"};
    JK_REQUIRE(jk_test_build(src, 1, "-O2", jk_path("kprog.jkp"), NULL) == JK_OK);
    jk_put_text("kprog.json", "{\n"
                              "  \"program\": \"kprog.jkp\",\n"
                              "  \"mappings\": [ {\"slot\": 20, \"base\": \"0x40000000\", \"size\": \"0x1000\", \"access\": \"rw\"} ],\n"
                              "  \"state\": [ {\"slot\": 20, \"data_zero\": 4096} ],\n"
                              "  \"yield_catcher_slot\": 23\n"
                              "}\n");
    char out[4096];
    char *build[] = {"build", (char *)jk_path("kprog.json"), "-o", (char *)jk_path("kprog.img")};
    JK_CHECK_EQ(jk_tool_capture(4, build, out, sizeof out), 0);
    JK_CHECK_EQ(out[0], 0);

    char *run[] = {"run", (char *)jk_path("kprog.img"), "--endpoint", "0", "--gas", "1000000", "--arg", "5"};
    JK_CHECK_EQ(jk_tool_capture(8, run, out, sizeof out), 0);
    JK_CHECK(!strncmp(out, "outcome=halt r7=5 gas_used=", 27));
    JK_CHECK(strstr(out, " slot0=none\n") != NULL);
    /* by name, with a Data in slot[0] that comes back */
    jk_put_text("slot0.bin", "0123456789abcdef0123456789abcdefXYZ");
    char *named[] = {"run", (char *)jk_path("kprog.img"), "--endpoint", "bump", "--gas", "1000000",
                     "--arg", "7", "--slot0", (char *)jk_path("slot0.bin")};
    JK_CHECK_EQ(jk_tool_capture(10, named, out, sizeof out), 0);
    JK_CHECK(!strncmp(out, "outcome=halt r7=7 ", 18));
    JK_CHECK(strstr(out, " slot0=data:35:3031323334353637383961626364656630313233343536373839616263646566\n") != NULL);
    /* a fault: exit 1 and the kernel's reason */
    char *wild[] = {"run", (char *)jk_path("kprog.img"), "--endpoint", "wild", "--gas", "1000000"};
    JK_CHECK_EQ(jk_tool_capture(6, wild, out, sizeof out), 1);
    JK_CHECK(!strncmp(out, "outcome=fault r7=", 17));
    JK_CHECK(strstr(out, " fault=\"") != NULL);
    /* out of gas */
    char *spin[] = {"run", (char *)jk_path("kprog.img"), "--endpoint", "spin", "--gas", "5000"};
    JK_CHECK_EQ(jk_tool_capture(6, spin, out, sizeof out), 1);
    JK_CHECK(!strncmp(out, "outcome=out-of-gas r7=", 22));
    JK_CHECK(strstr(out, "gas_used=") != NULL);
    /* usage and lookup errors */
    char *four[] = {"run", (char *)jk_path("kprog.img"), "--endpoint", "0", "--gas", "1", "--arg", "1",
                    "--arg", "2", "--arg", "3", "--arg", "4"};
    JK_CHECK_EQ(jk_tool_capture(14, four, out, sizeof out), 2);
    char *nogas[] = {"run", (char *)jk_path("kprog.img"), "--endpoint", "0"};
    JK_CHECK_EQ(jk_tool_capture(4, nogas, out, sizeof out), 2);
    char *noname[] = {"run", (char *)jk_path("kprog.img"), "--endpoint", "nope", "--gas", "10"};
    JK_CHECK_EQ(jk_tool_capture(6, noname, out, sizeof out), 2); /* an input error, not the guest's no */
    JK_CHECK(strstr(out, "no endpoint named 'nope'") != NULL);
    char *range[] = {"run", (char *)jk_path("kprog.img"), "--endpoint", "999", "--gas", "10"};
    JK_CHECK_EQ(jk_tool_capture(6, range, out, sizeof out), 2);
    /* show */
    char *show[] = {"show", (char *)jk_path("kprog.img")};
    fflush(stdout);
    int saved = dup(1), fd = open(jk_path("show.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    JK_REQUIRE(saved >= 0 && fd >= 0);
    dup2(fd, 1);
    close(fd);
    int rc = jk_tool_image(2, show);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    JK_CHECK_EQ(rc, 0);
    FILE *f = fopen(jk_path("show.txt"), "rb");
    size_t n = f ? fread(out, 1, sizeof out - 1, f) : 0;
    out[n] = 0;
    if (f)
        fclose(f);
    JK_CHECK(!strncmp(out, "image ", 6));
    JK_CHECK(strstr(out, "  0 bump pc=") != NULL);
    JK_CHECK(strstr(out, "  0x40000000+0x1000 persistent rw slot 20\n") != NULL);
    JK_CHECK(strstr(out, "yield_catcher_slot 23\n") != NULL);
    JK_CHECK(strstr(out, "  state slot 20: data 4096 bytes") != NULL);
    char *bad[] = {"frobnicate"};
    JK_CHECK_EQ(jk_tool_capture(1, bad, out, sizeof out), 2);
    JK_CHECK_EQ(jk_live(), live);
}
