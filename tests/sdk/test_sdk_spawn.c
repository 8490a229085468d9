/*
 * test_sdk_spawn.c — how the SDK waits for clang and ld.lld (src/sdk/build.c,
 * jk_run). Found by fuzz_examples, which builds the example chains in its
 * set-up: libFuzzer's -timeout alarm interrupted waitpid, and the build
 * failed with "ld.lld-19 failed (its messages are above)" though the linker
 * had printed nothing and was still running. Now a signal caught while
 * waiting makes the SDK wait again, and a tool killed by a signal is named
 * as such.
 */
#include "../test.h"
#include "../files.h"
#include "../progs.h"
#include "jark/sdk.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>

static const char jk_tiny[] = "#include \"jark.h\"\nuint64_t one(void) { return 1; }\nJK_ENDPOINT(0, one);\n";

static volatile sig_atomic_t jk_alarms;
static void jk_on_alarm(int sig)
{
    (void)sig;
    jk_alarms++;
}

/* A build while a 1 ms interval timer interrupts every wait (a handler
 * without SA_RESTART, as libFuzzer's): it must still succeed. Without the
 * retry on EINTR the wait for clang, which takes tens of ms, is all but
 * always interrupted. */
JK_TEST(test_sdk_build_waits_through_signals)
{
    char dir[256], src[320];
    JK_REQUIRE(jk_test_tmpdir("sdk-spawn", dir, sizeof dir));
    jk_test_write_file(dir, "tiny.c", (const uint8_t *)jk_tiny, strlen(jk_tiny));
    snprintf(src, sizeof src, "%s/tiny.c", dir);
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = jk_on_alarm;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: waitpid returns EINTR */
    JK_REQUIRE(sigaction(SIGALRM, &sa, &old) == 0);
    struct itimerval every_ms = {{0, 1000}, {0, 1000}}, off = {{0, 0}, {0, 0}};
    jk_alarms = 0;
    JK_REQUIRE(setitimer(ITIMER_REAL, &every_ms, NULL) == 0);
    uint8_t *prog = NULL;
    size_t len = 0;
    jk_diag why = {{0}};
    jk_err err = jk_sdk_build_one(src, &prog, &len, &why);
    setitimer(ITIMER_REAL, &off, NULL);
    sigaction(SIGALRM, &old, NULL);
    if (err != JK_OK)
        printf("build under alarms: %s\n", why.msg);
    JK_CHECK_EQ(err, JK_OK);
    JK_CHECK(len > 0);
    JK_CHECK(jk_alarms > 0); /* the timer did fire during the build */
    free(prog);
    jk_test_rm_tree(dir);
}

/* A linker killed by a signal printed nothing: the message names the
 * signal instead of pointing at messages above. */
JK_TEST(test_sdk_build_names_a_tool_killed_by_a_signal)
{
    char dir[256], src[320], lld[320];
    JK_REQUIRE(jk_test_tmpdir("sdk-spawn", dir, sizeof dir));
    jk_test_write_file(dir, "tiny.c", (const uint8_t *)jk_tiny, strlen(jk_tiny));
    static const char killer[] = "#!/bin/sh\nkill -9 $$\n";
    jk_test_write_file(dir, "lld", (const uint8_t *)killer, strlen(killer));
    snprintf(src, sizeof src, "%s/tiny.c", dir);
    snprintf(lld, sizeof lld, "%s/lld", dir);
    JK_REQUIRE(chmod(lld, 0700) == 0);
    const char *was = getenv("JARK_LLD");
    char *saved = was ? strdup(was) : NULL;
    JK_REQUIRE(setenv("JARK_LLD", lld, 1) == 0);
    uint8_t *prog = NULL;
    size_t len = 0;
    jk_diag why = {{0}};
    jk_err err = jk_sdk_build_one(src, &prog, &len, &why);
    if (saved)
        setenv("JARK_LLD", saved, 1);
    else
        unsetenv("JARK_LLD");
    free(saved);
    JK_CHECK(err != JK_OK);
    if (!strstr(why.msg, "killed by signal 9"))
        printf("killed linker: %s\n", why.msg);
    JK_CHECK(strstr(why.msg, "killed by signal 9") != NULL);
    free(prog);
    jk_test_rm_tree(dir);
}
