/*
 * test_runner.c — the runner (tests/main.c): a hung test fails by name, the
 * processes it started are killed, and the run goes on; a test whose
 * process dies fails by name too; tests run side by side on JK_TEST_JOBS
 * workers, each test's output printed whole.
 *
 * The checks run this very binary again (/proc/self/exe) on self-test
 * tests that exist only when JK_TEST_SELFTEST is set in the environment (so
 * an ordinary run never sees them): one passes, one hangs after starting a
 * process of its own, one kills its own process, one fails a check, one
 * passes after them all, one runs past the limit within its own; a pair that passes only when run at once; one
 * that waits for the runner to be stopped.
 */
#include "test.h"
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "progs.h"

static const char *selftest_dir(void)
{
    const char *d = getenv("JK_TEST_SELFTEST");
    return d ? d : ".";
}

static void selftest_a_passes(void)
{
    JK_CHECK(1 + 1 == 2);
}

/* Starts a helper that leaves the process group with setsid() and starts a
 * process of its own (as a daemonising helper does): their pids into
 * *s and *s2 (-1 when it could not). */
static void start_escapee(pid_t *s_out, pid_t *s2_out)
{
    int p[2];
    pid_t s = -1, s2 = -1;
    if (pipe(p) == 0) {
        s = fork();
        if (s == 0) {
            setsid();
            pid_t c = fork();
            if (c == 0)
                for (;;)
                    pause();
            if (write(p[1], &c, sizeof c) != (ssize_t)sizeof c)
                _exit(1);
            for (;;)
                pause();
        }
        if (s > 0 && read(p[0], &s2, sizeof s2) != (ssize_t)sizeof s2)
            s2 = -1;
        close(p[0]);
        close(p[1]);
    }
    *s_out = s;
    *s2_out = s2;
}

/* Hangs, the way a recompiler's endless loop would, after starting a process
 * (as the node tests do) and an escapee (start_escapee); leaves the three
 * pids in DIR/grandchild. */
static void selftest_b_hangs(void)
{
    pid_t g = fork();
    if (g == 0) {
        for (;;)
            pause();
    }
    pid_t s, s2;
    start_escapee(&s, &s2);
    char path[512];
    snprintf(path, sizeof path, "%s/grandchild", selftest_dir());
    FILE *f = fopen(path, "w");
    if (f) {
        fprintf(f, "%d %d %d\n", (int)g, (int)s, (int)s2);
        fclose(f);
    }
    printf("selftest b: about to hang\n"); /* must reach the log: line-buffered */
    for (volatile unsigned long spin = 0;; spin++)
        if ((spin & 0xfffff) == 0)
            usleep(1000);
}

/* Starts an escapee, leaves its two pids in DIR/stop-pids, and waits for
 * the runner to be stopped by a signal (never by its watchdog: the outer
 * test gives a long limit). */
static void stop_selftest_hangs(void)
{
    pid_t s, s2;
    start_escapee(&s, &s2);
    char path[512], tmp[520];
    snprintf(path, sizeof path, "%s/stop-pids", selftest_dir());
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f) {
        fprintf(f, "%d %d\n", (int)s, (int)s2);
        fclose(f);
        rename(tmp, path); /* whole, or not there */
    }
    for (;;)
        pause();
}

static void selftest_c_dies(void)
{
    fprintf(stderr, "selftest c: about to die\n");
    raise(SIGUSR1); /* default action: the process ends */
}

static void selftest_d_fails(void)
{
    JK_CHECK_EQ(2 + 2, 5);
}

static void selftest_e_after(void)
{
    printf("selftest e ran\n");
}

/* Runs past JK_TEST_TIMEOUT, within its own limit (3 times it: tests/main.c,
 * jk_limit_times), so it passes. */
static void selftest_f_slow(void)
{
    sleep(5);
    printf("selftest f ran\n");
}

/* Each of the pair marks that it started and waits for the other's mark:
 * both pass only when two workers run them at once (bounded: a runner
 * that runs them one after the other fails them as hung). */
static void pair_meet(const char *self, const char *other)
{
    char mine[512], theirs[512];
    snprintf(mine, sizeof mine, "%s/%s", selftest_dir(), self);
    snprintf(theirs, sizeof theirs, "%s/%s", selftest_dir(), other);
    FILE *f = fopen(mine, "w");
    JK_REQUIRE(f);
    fclose(f);
    while (access(theirs, F_OK) != 0)
        usleep(1000);
}

static void pair_selftest_x(void)
{
    pair_meet("x", "y");
}

static void pair_selftest_y(void)
{
    pair_meet("y", "x");
}

__attribute__((constructor)) static void selftest_register(void)
{
    if (!getenv("JK_TEST_SELFTEST"))
        return;
    jk_test_register("runner_selftest_a_passes", selftest_a_passes);
    jk_test_register("runner_selftest_b_hangs", selftest_b_hangs);
    jk_test_register("runner_selftest_c_dies", selftest_c_dies);
    jk_test_register("runner_selftest_d_fails", selftest_d_fails);
    jk_test_register("runner_selftest_e_after", selftest_e_after);
    jk_test_register("runner_selftest_f_slow", selftest_f_slow);
    jk_test_register("runner_stop_selftest_hangs", stop_selftest_hangs);
    jk_test_register("runner_pair_selftest_x", pair_selftest_x);
    jk_test_register("runner_pair_selftest_y", pair_selftest_y);
}

/* Starts this binary on the self-tests named by `filter`, with
 * JK_TEST_TIMEOUT=timeout, JK_TEST_JOBS=jobs and its output into
 * DIR/out.log; its pid (-1 when fork fails). */
static pid_t spawn_runner(const char *dir, const char *timeout, const char *jobs, const char *filter)
{
    char log[512];
    snprintf(log, sizeof log, "%s/out.log", dir);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0)
            _exit(127);
        dup2(fd, 1);
        dup2(fd, 2);
        setenv("JK_TEST_SELFTEST", dir, 1);
        setenv("JK_TEST_TIMEOUT", timeout, 1);
        setenv("JK_TEST_JOBS", jobs, 1);
        unsetenv("JK_TEST_SLOWEST");
        execl("/proc/self/exe", "tests", filter, (char *)NULL);
        _exit(127);
    }
    return pid;
}

/* Runs this binary on the self-tests named by `filter` with
 * JK_TEST_TIMEOUT=timeout and JK_TEST_JOBS=jobs; its stdout into out, its
 * exit status into *status. At most 240 s: a runner without a watchdog
 * never ends. */
static bool run_selftests(const char *dir, const char *timeout, const char *jobs, const char *filter, char *out,
                          size_t cap, int *status)
{
    char log[512];
    snprintf(log, sizeof log, "%s/out.log", dir);
    pid_t pid = spawn_runner(dir, timeout, jobs, filter);
    if (pid < 0)
        return false;
    for (int i = 0; i < 240 * 20; i++) {
        pid_t w = waitpid(pid, status, WNOHANG);
        if (w == pid) {
            FILE *f = fopen(log, "r");
            size_t n = f ? fread(out, 1, cap - 1, f) : 0;
            out[n] = 0;
            if (f)
                fclose(f);
            return true;
        }
        usleep(50000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, status, 0);
    return false;
}

JK_TEST(test_runner_watchdog_names_a_hang_and_goes_on)
{
    char dir[256], out[16384];
    int status = 0;
    JK_REQUIRE(jk_test_tmpdir("runner", dir, sizeof dir));
    /* 3 s: the hanging test never ends, and the others do nothing. Two
     * workers: the others run beside the hanging one. */
    JK_REQUIRE(run_selftests(dir, "3", "2", "runner_selftest_", out, sizeof out, &status));
    JK_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1);
    JK_CHECK(strstr(out, "selftest b: about to hang") != NULL);
    JK_CHECK(strstr(out, "HUNG runner_selftest_b_hangs: still running 3 s after it started") != NULL);
    char crashed[128];
    snprintf(crashed, sizeof crashed, "CRASHED runner_selftest_c_dies: the test process killed by signal %d", SIGUSR1);
    JK_CHECK(strstr(out, crashed) != NULL);
    /* A test's output (stderr too) is printed whole, before its verdict. */
    char said[160];
    snprintf(said, sizeof said, "selftest c: about to die\n%s", crashed);
    JK_CHECK(strstr(out, said) != NULL);
    JK_CHECK(strstr(out, "selftest b: about to hang\nHUNG runner_selftest_b_hangs") != NULL);
    JK_CHECK(strstr(out, "FAIL runner_selftest_d_fails") != NULL);
    JK_CHECK(strstr(out, "selftest e ran") != NULL);
    /* a test with a limit of its own: 5 s against 3 s, passed */
    JK_CHECK(strstr(out, "selftest f ran") != NULL);
    JK_CHECK(strstr(out, "HUNG runner_selftest_f_slow") == NULL);
    JK_CHECK(strstr(out, "\n3 passed, 3 failed\n") != NULL);
    if (jk_test_failures())
        printf("the self-test run printed:\n%s", out);

    /* The hung test's own processes went with it: the one in its process
     * group, and the setsid() helper and its child, which a kill of the
     * group misses (the runner, their subreaper, kills those). */
    char path[512];
    snprintf(path, sizeof path, "%s/grandchild", dir);
    FILE *f = fopen(path, "r");
    int g[3] = {0, 0, 0};
    JK_REQUIRE(f);
    JK_CHECK(fscanf(f, "%d %d %d", &g[0], &g[1], &g[2]) == 3);
    fclose(f);
    for (int k = 0; k < 3; k++) {
        JK_CHECK(g[k] > 0);
        bool gone = false;
        for (int i = 0; i < 200 && !gone && g[k] > 0; i++) {
            gone = jk_test_process_gone((pid_t)g[k]);
            if (!gone)
                usleep(50000);
        }
        if (!gone)
            jk_test_fail(__FILE__, __LINE__, "process %d of the hung test (%s) is still running", g[k],
                         k == 0 ? "in its group" : k == 1 ? "the setsid() helper" : "the helper's child");
        if (!gone && g[k] > 0)
            kill((pid_t)g[k], SIGKILL);
    }

    /* A limit that is not a number: a usage error, nothing runs. */
    JK_REQUIRE(run_selftests(dir, "soon", "2", "runner_selftest_", out, sizeof out, &status));
    JK_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 2);
    JK_CHECK(strstr(out, "JK_TEST_TIMEOUT=soon is not a number of seconds") != NULL);
    JK_CHECK(strstr(out, "passed") == NULL);
    JK_REQUIRE(run_selftests(dir, "3", "0", "runner_selftest_", out, sizeof out, &status));
    JK_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 2);
    JK_CHECK(strstr(out, "JK_TEST_JOBS=0 is not a number of workers") != NULL);
    JK_CHECK(strstr(out, "passed") == NULL);
}

/* JK_TEST_JOBS=2 runs two tests at once: the pair, each waiting for the
 * other to start, both pass (run one after the other, the first would hang
 * and fail). */
JK_TEST(test_runner_runs_tests_side_by_side)
{
    char dir[256], out[16384];
    int status = 0;
    JK_REQUIRE(jk_test_tmpdir("runner-pair", dir, sizeof dir));
    JK_REQUIRE(run_selftests(dir, "120", "2", "runner_pair_", out, sizeof out, &status));
    JK_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    JK_CHECK(strstr(out, "\n2 passed, 0 failed\n") != NULL || strncmp(out, "2 passed, 0 failed\n", 19) == 0);
    if (jk_test_failures())
        printf("the self-test run printed:\n%s", out);
}

/* The runner stopped by a signal (a Ctrl-C, `timeout` in CI) while a test's
 * escapee runs: the runner dies of that signal, and the setsid() helper and
 * its child die with it (before, they were left running). */
JK_TEST(test_runner_stopped_by_a_signal_leaves_nothing)
{
    char dir[256], path[512];
    JK_REQUIRE(jk_test_tmpdir("runner-stop", dir, sizeof dir));
    snprintf(path, sizeof path, "%s/stop-pids", dir);
    pid_t pid = spawn_runner(dir, "600", "2", "runner_stop_selftest_");
    JK_REQUIRE(pid >= 0);
    int p[2] = {0, 0};
    bool seen = false;
    for (int i = 0; i < 240 * 20 && !seen; i++) { /* bounded: 240 s */
        FILE *f = fopen(path, "r");
        if (f) {
            seen = fscanf(f, "%d %d", &p[0], &p[1]) == 2;
            fclose(f);
        }
        if (!seen)
            usleep(50000);
    }
    JK_CHECK(seen && p[0] > 0 && p[1] > 0);
    kill(pid, SIGTERM);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    JK_CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
    for (int k = 0; k < 2; k++) {
        bool gone = p[k] <= 0;
        for (int i = 0; i < 200 && !gone; i++) {
            gone = jk_test_process_gone((pid_t)p[k]);
            if (!gone)
                usleep(50000);
        }
        if (!gone) {
            jk_test_fail(__FILE__, __LINE__, "process %d (%s) outlived the runner", p[k],
                         k == 0 ? "the setsid() helper" : "the helper's child");
            kill((pid_t)p[k], SIGKILL);
        }
    }
}
