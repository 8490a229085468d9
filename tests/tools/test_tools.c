/* test_tools.c — the `jark` commands as a user meets them: one exit-code rule
 * (0 ok, 1 the guest or chain said no, 2 usage or input), `jark cc` with -D,
 * -I and several files, plain char signed on the PVM as natively, keygen's
 * file mode and refusal to overwrite. */
#include "../test.h"
#include "../progs.h"
#include "../../tools/commands.h"

#include <stdlib.h>
#include <sys/stat.h>

static void jk_put(const char *dir, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

static const char *jk_at(const char *dir, const char *name)
{
    static char paths[8][256];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 256, "%s/%s", dir, name);
    return p;
}

JK_TEST(test_tools_cc_flags_files_and_exit_codes)
{
    char dir[96], out[1024], err[1024];
    JK_REQUIRE(jk_test_tmpdir("tools-test", dir, sizeof dir));
    char inc[128];
    snprintf(inc, sizeof inc, "%s/inc", dir);
    JK_REQUIRE(mkdir(inc, 0700) == 0);
    jk_put(inc, "base.h", "#define BASE 100\nlong helper(long);\n");
    jk_put(dir, "main.c",
           "#include \"jark.h\"\n#include \"base.h\"\n"
           "#ifndef EXTRA\n#error EXTRA not defined\n#endif\n"
           "long value(void) { return helper(BASE + EXTRA); }\n"
           "long sign(void) { volatile char c = (char)0xff; return c < 0; }\n"
           "long boom(void) { __builtin_trap(); }\n"
           "JK_ENDPOINT(0, value);\nJK_ENDPOINT(1, sign);\nJK_ENDPOINT(2, boom);\n");
    jk_put(dir, "helper.c", "long helper(long x) { return x * 2; }\n");
    char *cc[] = {"-O2", "-DEXTRA=5", "-I", inc, (char *)jk_at(dir, "main.c"), (char *)jk_at(dir, "helper.c"),
                  "-o", (char *)jk_at(dir, "p.jkp")};
    JK_REQUIRE(jk_test_tool(jk_tool_cc, 8, cc, out, sizeof out, err, sizeof err) == 0);

    char *value[] = {(char *)jk_at(dir, "p.jkp"), "--entry", "value"};
    JK_CHECK_EQ(jk_test_tool(jk_tool_pvm_exec, 3, value, out, sizeof out, err, sizeof err), 0);
    JK_CHECK(strstr(err, "status=halt r7=210 ") != NULL); /* (100 + 5) * 2: -D, -I and both files */
    /* plain char is signed on the PVM, as on x86 (-fsigned-char) */
    char *sign[] = {(char *)jk_at(dir, "p.jkp"), "--entry", "sign"};
    JK_CHECK_EQ(jk_test_tool(jk_tool_pvm_exec, 3, sign, out, sizeof out, err, sizeof err), 0);
    JK_CHECK(strstr(err, "r7=1 ") != NULL);
    /* the guest said no: 1 */
    char *boom[] = {(char *)jk_at(dir, "p.jkp"), "--entry", "boom"};
    JK_CHECK_EQ(jk_test_tool(jk_tool_pvm_exec, 3, boom, out, sizeof out, err, sizeof err), 1);
    JK_CHECK(strstr(err, "status=panic") != NULL);
    /* usage and input errors: 2 */
    char *no_entry[] = {(char *)jk_at(dir, "p.jkp"), "--entry", "nonesuch"};
    JK_CHECK_EQ(jk_test_tool(jk_tool_pvm_exec, 3, no_entry, out, sizeof out, err, sizeof err), 2);
    JK_CHECK(strstr(err, "no endpoint 'nonesuch'") != NULL);
    char *missing[] = {(char *)jk_at(dir, "none.jkp")};
    JK_CHECK_EQ(jk_test_tool(jk_tool_pvm_exec, 1, missing, out, sizeof out, err, sizeof err), 2);
    char *no_define[] = {(char *)jk_at(dir, "main.c"), (char *)jk_at(dir, "helper.c"), "-I", inc, "-o",
                         (char *)jk_at(dir, "q.jkp")};
    JK_CHECK_EQ(jk_test_tool(jk_tool_cc, 6, no_define, out, sizeof out, err, sizeof err), 2);
    JK_CHECK(strstr(err, "EXTRA not defined") != NULL); /* the compiler's own message reaches the user */
    char *bad_flag[] = {"-D", "-x", (char *)jk_at(dir, "main.c"), "-o", (char *)jk_at(dir, "q.jkp")};
    JK_CHECK_EQ(jk_test_tool(jk_tool_cc, 5, bad_flag, out, sizeof out, err, sizeof err), 2);
    char *usage[] = {"--bogus"};
    JK_CHECK_EQ(jk_test_tool(jk_tool_cc, 1, usage, out, sizeof out, err, sizeof err), 2);

    /* pvm run: a program that traps exits 1 (it used to exit 0), one that halts 0 */
    jk_put(dir, "trap.s", "    trap\n");
    jk_put(dir, "halt.s", "    load_imm r0, 0xFFFF0000\n    jump_ind r0, 0\n");
    char *asm_trap[] = {(char *)jk_at(dir, "trap.s"), "-o", (char *)jk_at(dir, "trap.pvm")};
    char *asm_halt[] = {(char *)jk_at(dir, "halt.s"), "-o", (char *)jk_at(dir, "halt.pvm")};
    JK_REQUIRE(jk_test_tool(jk_tool_asm, 3, asm_trap, out, sizeof out, err, sizeof err) == 0);
    JK_REQUIRE(jk_test_tool(jk_tool_asm, 3, asm_halt, out, sizeof out, err, sizeof err) == 0);
    char *run_trap[] = {"run", (char *)jk_at(dir, "trap.pvm")}, *run_halt[] = {"run", (char *)jk_at(dir, "halt.pvm")};
    JK_CHECK_EQ(jk_test_tool(jk_tool_pvm, 2, run_trap, out, sizeof out, err, sizeof err), 1);
    JK_CHECK(strstr(out, "status=panic") != NULL);
    JK_CHECK_EQ(jk_test_tool(jk_tool_pvm, 2, run_halt, out, sizeof out, err, sizeof err), 0);
    char *run_missing[] = {"run", (char *)jk_at(dir, "none.pvm")};
    JK_CHECK_EQ(jk_test_tool(jk_tool_pvm, 2, run_missing, out, sizeof out, err, sizeof err), 2);
    jk_test_rm_tree(dir);
}

JK_TEST(test_tools_keygen)
{
    char dir[96], out[256], err[256];
    JK_REQUIRE(jk_test_tmpdir("keygen-test", dir, sizeof dir));
    char *keygen[] = {"-o", (char *)jk_at(dir, "a.key")};
    JK_CHECK_EQ(jk_test_tool(jk_tool_keygen, 2, keygen, out, sizeof out, err, sizeof err), 0);
    JK_CHECK(strncmp(out, "public ", 7) == 0 && strlen(out) == 7 + 64 + 1);
    struct stat st;
    JK_REQUIRE(stat(jk_at(dir, "a.key"), &st) == 0);
    JK_CHECK_EQ(st.st_mode & 0777, 0600);
    /* the key file says the same public key */
    FILE *f = fopen(jk_at(dir, "a.key"), "r");
    char text[256] = "";
    JK_REQUIRE(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    JK_CHECK(strstr(text, out) != NULL);
    JK_CHECK_EQ(jk_test_tool(jk_tool_keygen, 2, keygen, out, sizeof out, err, sizeof err), 2);
    JK_CHECK(strstr(err, "never overwritten") != NULL);
    char *usage[] = {"a.key"};
    JK_CHECK_EQ(jk_test_tool(jk_tool_keygen, 1, usage, out, sizeof out, err, sizeof err), 2);
    jk_test_rm_tree(dir);
}
