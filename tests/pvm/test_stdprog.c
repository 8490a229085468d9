/* test_stdprog.c — the standard program format (Graypaper A.7), its initial
 * memory and registers, and the jark program file around it. */
#include "../test.h"

#include "jark/pvm.h"

#include <stdlib.h>

static const uint8_t jk_halt_blob[] = {0, 0, 3, 51, 0, 1}; /* load_imm r0, 1 ... */

JK_TEST(test_stdprog_round_trip_and_layout)
{
    uint8_t ro[5000], rw[100];
    for (unsigned i = 0; i < sizeof ro; i++)
        ro[i] = (uint8_t)(i * 7);
    for (unsigned i = 0; i < sizeof rw; i++)
        rw[i] = (uint8_t)(i + 1);
    jk_pvm_stdprog sp = {.ro_data = ro, .rw_data = rw, .code = jk_halt_blob, .ro_len = sizeof ro,
                         .rw_len = sizeof rw, .code_len = sizeof jk_halt_blob, .heap_pages = 3,
                         .stack_size = 5000};
    uint8_t *bytes;
    size_t len;
    JK_REQUIRE(jk_pvm_stdprog_encode(&sp, &bytes, &len) == JK_OK);
    JK_CHECK_EQ(len, 11 + sizeof ro + sizeof rw + 4 + sizeof jk_halt_blob);
    jk_pvm_stdprog back;
    jk_diag diag;
    JK_REQUIRE(jk_pvm_stdprog_parse(bytes, len, &back, &diag) == JK_OK);
    JK_CHECK_EQ(back.ro_len, sizeof ro);
    JK_CHECK_EQ(back.heap_pages, 3);
    JK_CHECK_EQ(back.stack_size, 5000);
    JK_CHECK_MEM(back.rw_data, rw, sizeof rw);
    JK_CHECK_MEM(back.code, jk_halt_blob, sizeof jk_halt_blob);

    jk_pvm_stdlayout lay;
    jk_pvm_stdprog_layout(&back, &lay);
    JK_CHECK_EQ(lay.ro_base, 0x10000);
    JK_CHECK_EQ(lay.ro_size, 0x2000);             /* P(5000) */
    JK_CHECK_EQ(lay.rw_base, 0x30000);            /* 2·Z_Z + Z(5000) */
    JK_CHECK_EQ(lay.rw_size, 0x1000 + 3 * 0x1000); /* P(100) + 3 pages */
    JK_CHECK_EQ(lay.stack_top, 0xFEFE0000u);
    JK_CHECK_EQ(lay.stack_base, 0xFEFE0000u - 0x2000);
    JK_CHECK_EQ(lay.args_base, 0xFEFF0000u);

    jk_pvm_memory *mem;
    uint64_t regs[JK_PVM_REGS];
    static const uint8_t args[3] = {9, 8, 7};
    JK_REQUIRE(jk_pvm_memory_new(&mem) == JK_OK);
    JK_REQUIRE(jk_pvm_stdprog_init(&back, args, sizeof args, mem, regs) == JK_OK);
    JK_CHECK_EQ(regs[0], 0xFFFF0000u);
    JK_CHECK_EQ(regs[1], 0xFEFE0000u);
    JK_CHECK_EQ(regs[7], 0xFEFF0000u);
    JK_CHECK_EQ(regs[8], 3);
    JK_CHECK_EQ(regs[2], 0);
    JK_CHECK_EQ(jk_pvm_memory_access_at(mem, 0x10000), JK_PVM_ACCESS_READ);
    JK_CHECK_EQ(jk_pvm_memory_access_at(mem, 0x11FFF), JK_PVM_ACCESS_READ);
    JK_CHECK_EQ(jk_pvm_memory_access_at(mem, 0x12000), JK_PVM_ACCESS_NONE);
    JK_CHECK_EQ(jk_pvm_memory_access_at(mem, 0x30000), JK_PVM_ACCESS_WRITE);
    JK_CHECK_EQ(jk_pvm_memory_access_at(mem, 0x33FFF), JK_PVM_ACCESS_WRITE);
    JK_CHECK_EQ(jk_pvm_memory_access_at(mem, 0x34000), JK_PVM_ACCESS_NONE);
    JK_CHECK_EQ(jk_pvm_memory_access_at(mem, 0xFEFDFFFFu), JK_PVM_ACCESS_WRITE);
    JK_CHECK_EQ(jk_pvm_memory_access_at(mem, 0xFEFE0000u), JK_PVM_ACCESS_NONE);
    JK_CHECK_EQ(jk_pvm_memory_access_at(mem, 0xFEFF0000u), JK_PVM_ACCESS_READ);
    uint8_t probe[3];
    JK_CHECK_EQ(jk_pvm_memory_read(mem, 0x10000 + 4999, probe, 1), JK_OK);
    JK_CHECK_EQ(probe[0], (uint8_t)(4999 * 7));
    JK_CHECK_EQ(jk_pvm_memory_read(mem, 0x30000, probe, 2), JK_OK);
    JK_CHECK_EQ(probe[1], 2);
    JK_CHECK_EQ(jk_pvm_memory_read(mem, 0xFEFF0000u, probe, 3), JK_OK);
    JK_CHECK_MEM(probe, args, 3);
    jk_pvm_memory_free(mem);

    /* Truncation anywhere, and trailing bytes, are refused with a reason. */
    for (size_t cut = 0; cut < len; cut += 97) {
        diag.msg[0] = 0;
        JK_CHECK_EQ(jk_pvm_stdprog_parse(bytes, cut, &back, &diag), JK_ERR_PVM_BLOB);
        JK_CHECK(diag.msg[0] != 0);
    }
    uint8_t *longer = malloc(len + 1);
    memcpy(longer, bytes, len);
    longer[len] = 0;
    JK_CHECK_EQ(jk_pvm_stdprog_parse(longer, len + 1, &back, &diag), JK_ERR_PVM_BLOB);
    free(longer);
    free(bytes);
}

JK_TEST(test_stdprog_largest_layout_fits_and_lengths_are_checked)
{
    /* With 3-byte lengths and 2-byte z, even the largest layout fits 2^32:
     * what protects the parser is the length check against the bytes. */
    uint8_t header[15] = {0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    jk_pvm_stdprog sp;
    jk_diag diag;
    JK_CHECK_EQ(jk_pvm_stdprog_parse(header, sizeof header, &sp, &diag), JK_ERR_PVM_BLOB);
    JK_CHECK(strstr(diag.msg, "truncated") != NULL);
    jk_pvm_stdprog big = {.heap_pages = 65535, .stack_size = 0xFFFFFF};
    uint8_t *bytes;
    size_t len;
    JK_REQUIRE(jk_pvm_stdprog_encode(&big, &bytes, &len) == JK_OK);
    JK_CHECK_EQ(jk_pvm_stdprog_parse(bytes, len, &sp, &diag), JK_OK);
    JK_CHECK_EQ(sp.heap_pages, 65535);
    free(bytes);
    big.heap_pages = 65536; /* does not fit E2 */
    JK_CHECK_EQ(jk_pvm_stdprog_encode(&big, &bytes, &len), JK_ERR_INVALID_ARG);
}

JK_TEST(test_progfile_round_trip_and_refusals)
{
    jk_pvm_stdprog sp = {.code = jk_halt_blob, .code_len = sizeof jk_halt_blob, .stack_size = 4096};
    uint8_t *core, *file;
    size_t core_len, file_len;
    JK_REQUIRE(jk_pvm_stdprog_encode(&sp, &core, &core_len) == JK_OK);
    jk_pvm_endpoint eps[2] = {{"apply", 0}, {"transform_to_verify", 3}};
    JK_REQUIRE(jk_pvm_progfile_encode(eps, 2, core, core_len, &file, &file_len) == JK_OK);
    jk_pvm_progfile *pf = malloc(sizeof *pf);
    jk_diag diag;
    JK_REQUIRE(pf && jk_pvm_progfile_parse(file, file_len, pf, &diag) == JK_OK);
    JK_CHECK_EQ(pf->endpoint_count, 2);
    JK_CHECK_EQ(pf->endpoints[1].pc, 3);
    JK_CHECK_EQ(jk_pvm_progfile_find(pf, "transform_to_verify"), 1);
    JK_CHECK_EQ(jk_pvm_progfile_find(pf, "apply"), 0);
    JK_CHECK_EQ(jk_pvm_progfile_find(pf, "missing"), -1);
    JK_CHECK_EQ(pf->core_len, core_len);
    for (size_t cut = 0; cut < file_len; cut++)
        JK_CHECK_EQ(jk_pvm_progfile_parse(file, cut, pf, &diag), JK_ERR_PVM_BLOB);
    file[0] = 'X';
    JK_CHECK_EQ(jk_pvm_progfile_parse(file, file_len, pf, &diag), JK_ERR_PVM_BLOB);
    JK_CHECK(strstr(diag.msg, "magic") != NULL);
    free(file);
    /* Bad and duplicate names are refused when writing... */
    jk_pvm_endpoint bad[2] = {{"ok", 0}, {"not ok", 1}};
    JK_CHECK_EQ(jk_pvm_progfile_encode(bad, 2, core, core_len, &file, &file_len), JK_ERR_INVALID_ARG);
    jk_pvm_endpoint dup[2] = {{"same", 0}, {"same", 1}};
    JK_CHECK_EQ(jk_pvm_progfile_encode(dup, 2, core, core_len, &file, &file_len), JK_ERR_INVALID_ARG);
    /* ...and when reading (hand-made: two endpoints called "a"). */
    uint8_t hand[64] = {'J', 'K', 'P', 'V', 'M', 0, 1, 2, 1, 'a', 0, 1, 'a', 1};
    size_t n = 14;
    hand[n++] = (uint8_t)core_len;
    memcpy(hand + n, core, core_len);
    n += core_len;
    JK_CHECK_EQ(jk_pvm_progfile_parse(hand, n, pf, &diag), JK_ERR_PVM_BLOB);
    JK_CHECK(strstr(diag.msg, "twice") != NULL);
    hand[12] = 'b';
    JK_CHECK_EQ(jk_pvm_progfile_parse(hand, n, pf, &diag), JK_OK);
    free(pf);
    free(core);
}
