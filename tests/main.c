/*
 * main.c — the test runner: runs registered tests, prints "N passed, N failed".
 *
 * The tests run in one child process, watched by this one (the supervisor).
 * The child tells the supervisor through a pipe when each test starts and
 * ends; a test still running JK_TEST_TIMEOUT seconds (default 300) after it
 * started is *hung*: the supervisor kills the child's process group (the
 * child and whatever the test started), prints "HUNG <name>", counts the
 * test as failed and starts a new child at the next test. A child that dies
 * inside a test (a signal, an exit, a sanitizer's abort) fails that test by
 * name the same way, and the run goes on. So a recompiler that loops
 * forever costs one test and a named line, not the whole run.
 *
 * Time decides nothing else: a test that ends, however slowly, passes or
 * fails by its checks alone, and the limit only separates "hung" from
 * "still working" (docs/testing.md). JK_TEST_TIMEOUT=0 runs every test in
 * this process with no watchdog (for a debugger or valgrind).
 * JK_TEST_SLOWEST=N lists the N slowest tests at the end (for choosing a
 * limit; it changes no result).
 *
 * A process a test starts may leave the process group (setsid, setpgid: a
 * daemonising helper does), and a kill of the group would miss it. So the
 * supervisor makes itself the child subreaper (Linux): whatever the tests
 * started and left behind becomes its child when its parent goes, and once
 * a test child has ended (hung, crashed or finished) the supervisor kills
 * and reaps every child it has left, generation by generation.
 */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
#ifdef __linux__
#include <dirent.h>
#include <sys/prctl.h>
#endif
#include <time.h>
#include <unistd.h>

#define JK_MAX_TESTS 4096
#define JK_TEST_TIMEOUT_DEFAULT 300

static struct {
    const char *name;
    jk_test_fn fn;
} jk_tests[JK_MAX_TESTS];
static size_t jk_test_count;
static int jk_current_failures;
static const char *jk_current_name;

void jk_test_register(const char *name, jk_test_fn fn)
{
    if (jk_test_count == JK_MAX_TESTS) {
        fprintf(stderr, "too many tests\n");
        abort();
    }
    jk_tests[jk_test_count].name = name;
    jk_tests[jk_test_count].fn = fn;
    jk_test_count++;
}

void jk_test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    if (jk_current_failures < 20) {
        fprintf(stdout, "FAIL %s (%s:%d): ", jk_current_name, file, line);
        va_start(ap, fmt);
        vfprintf(stdout, fmt, ap);
        va_end(ap);
        fputc('\n', stdout);
    }
    jk_current_failures++;
}

int jk_test_failures(void)
{
    return jk_current_failures;
}

const char *jk_test_shared_dir(void)
{
    const char *dir = getenv("JK_SHARED_DIR");
    return dir && *dir ? dir : "../shared";
}

static int jk_name_cmp(const void *a, const void *b)
{
    const char *const *x = a, *const *y = b;
    return strcmp(*x, *y);
}

/* Runs test i; its failures. */
static int jk_run_one(size_t i)
{
    jk_current_name = jk_tests[i].name;
    jk_current_failures = 0;
    jk_tests[i].fn();
    fflush(stdout);
    if (jk_current_failures)
        printf("FAILED %s (%d checks)\n", jk_tests[i].name, jk_current_failures);
    fflush(stdout);
    return jk_current_failures;
}

/* The selected tests' indices, in name order. */
static size_t jk_sel[JK_MAX_TESTS], jk_nsel;
static double jk_took[JK_MAX_TESTS]; /* seconds, for JK_TEST_SLOWEST only */

static double jk_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the child: runs jk_sel[from..] and reports each start and end ---- */

static void jk_report(int fd, char what, size_t k, int failures)
{
    char line[64];
    int n = snprintf(line, sizeof line, "%c %zu %d\n", what, k, failures);
    /* One write of a short line is atomic on a pipe; a supervisor that went
     * away (EPIPE) leaves nothing to tell. */
    while (write(fd, line, (size_t)n) < 0 && errno == EINTR)
        ;
}

static void jk_child(size_t from, int fd)
{
    /* Line-buffered: the FAIL lines of a test killed as hung are not lost. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (size_t k = from; k < jk_nsel; k++) {
        jk_report(fd, 'S', k, 0);
        int failures = jk_run_one(jk_sel[k]);
        jk_report(fd, 'E', k, failures);
    }
    close(fd);
    /* exit, not _exit: atexit handlers (scratch folders) and LeakSanitizer
     * run, and a leak shows in the exit status. */
    exit(0);
}

/* ---- the supervisor ---- */

static volatile sig_atomic_t jk_child_pid;

/* Ctrl-C or a kill of the runner reaches the tests' process group too;
 * the supervisor then ends what left that group (jk_stop_if_asked) before
 * it dies of the same signal. */
static volatile sig_atomic_t jk_stop_signal;

static void jk_forward(int sig)
{
    if (jk_child_pid > 0)
        kill(-(pid_t)jk_child_pid, sig);
    jk_stop_signal = sig;
}

static void jk_describe_status(int status, char *out, size_t cap)
{
    if (WIFSIGNALED(status))
        snprintf(out, cap, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(out, cap, "exited with status %d", WEXITSTATUS(status));
}

#ifdef __linux__
/* SIGKILLs every live process whose parent is this one (read from
 * /proc/PID/stat: the field after the command's closing parenthesis is
 * the state, then the parent's pid). */
static void jk_kill_children(void)
{
    DIR *d = opendir("/proc");
    if (!d)
        return;
    pid_t self = getpid();
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0)
            continue;
        char path[64], stat[512];
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t n = fread(stat, 1, sizeof stat - 1, f);
        fclose(f);
        stat[n] = 0;
        const char *rp = strrchr(stat, ')');
        char state = 0;
        long ppid = 0;
        if (rp && sscanf(rp + 1, " %c %ld", &state, &ppid) == 2 && ppid == self && state != 'Z')
            kill((pid_t)pid, SIGKILL);
    }
    closedir(d);
}
#endif

/* After a test child has been reaped: kills and reaps what its tests left
 * running outside its process group (reparented to this subreaper). A
 * process is reparented before its dead parent can be reaped, so scanning
 * again after each reap finds every generation; waitpid fails with ECHILD
 * once none is left. */
static void jk_kill_escaped(void)
{
#ifdef __linux__
    for (;;) {
        jk_kill_children();
        pid_t w = waitpid(-1, NULL, 0);
        if (w < 0 && errno != EINTR)
            break;
    }
#endif
}

/* When a signal asked the runner to stop: the test child's group killed and
 * reaped (pid > 0), what escaped it killed, then the runner ends by the
 * signal itself, as it would have without a handler. */
static void jk_stop_if_asked(pid_t pid)
{
    int sig = jk_stop_signal;
    if (!sig)
        return;
    if (pid > 0) {
        kill(-pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    jk_child_pid = 0;
    jk_kill_escaped();
    fflush(stdout);
    signal(sig, SIG_DFL);
    raise(sig);
}

typedef struct jk_tally {
    size_t passed, failed;
    int end_status; /* the last child's exit status after its last test */
} jk_tally;

/* Reads the child's lines from buf[*len..]; updates current/tally. */
static void jk_parse(char *buf, size_t *len, long *current, double *started, jk_tally *t)
{
    char *p = buf, *nl;
    while ((nl = memchr(p, '\n', *len - (size_t)(p - buf))) != NULL) {
        *nl = 0;
        char what = 0;
        size_t k = 0;
        int failures = 0;
        if (sscanf(p, "%c %zu %d", &what, &k, &failures) == 3 && k < jk_nsel) {
            if (what == 'S') {
                *current = (long)k;
                *started = jk_now();
            } else if (what == 'E') {
                jk_took[k] = jk_now() - *started;
                if (failures)
                    t->failed++;
                else
                    t->passed++;
                *current = -1;
            }
        }
        p = nl + 1;
    }
    *len -= (size_t)(p - buf);
    memmove(buf, p, *len);
}

/* Runs one child from test `from`; returns where the next child must start
 * (jk_nsel when the child finished). */
static size_t jk_supervise(size_t from, double limit, jk_tally *t)
{
    int fds[2];
    if (pipe(fds) != 0) {
        perror("tests: pipe");
        exit(2);
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        perror("tests: fork");
        exit(2);
    }
    if (pid == 0) {
        close(fds[0]);
        setpgid(0, 0);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        signal(SIGPIPE, SIG_DFL); /* as the tests had it before the supervisor */
        fcntl(fds[1], F_SETFD, FD_CLOEXEC); /* programs a test execs do not hold the pipe */
        jk_child(from, fds[1]);
    }
    setpgid(pid, pid); /* both sides set it: no race with a test that forks at once */
    jk_child_pid = pid;
    close(fds[1]);

    char buf[4096];
    size_t len = 0;
    long current = -1;
    double started = jk_now();
    int status = 0;
    bool exited = false, eof = false;
    while (!exited) {
        int wait_ms = 500; /* also how often a child whose pipe a grandchild holds is reaped */
        if (current >= 0) {
            double left = started + limit - jk_now();
            if (left <= 0) {
                kill(-pid, SIGKILL);
                while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                    ;
                jk_child_pid = 0;
                jk_kill_escaped();
                close(fds[0]);
                printf("HUNG %s: still running %.0f s after it started; its processes were killed "
                       "(JK_TEST_TIMEOUT=%.0f; the run goes on at the next test)\n",
                       jk_tests[jk_sel[current]].name, limit, limit);
                t->failed++;
                return (size_t)current + 1;
            }
            if (left * 1000 < wait_ms)
                wait_ms = (int)(left * 1000) + 1;
        }
        jk_stop_if_asked(pid);
        struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
        int ready = eof ? 0 : poll(&pfd, 1, wait_ms); /* a signal ends the wait (EINTR) */
        jk_stop_if_asked(pid);
        if (eof)
            usleep(20000);
        if (ready > 0) {
            ssize_t n = read(fds[0], buf + len, sizeof buf - len - 1);
            if (n > 0) {
                len += (size_t)n;
                jk_parse(buf, &len, &current, &started, t);
            } else if (n == 0) {
                eof = true;
            }
        } else if (ready < 0 && errno != EINTR) {
            eof = true;
        }
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid) {
            exited = true;
            /* what it wrote before it went */
            ssize_t n;
            int fl = fcntl(fds[0], F_GETFL);
            fcntl(fds[0], F_SETFL, fl | O_NONBLOCK);
            while ((n = read(fds[0], buf + len, sizeof buf - len - 1)) > 0) {
                len += (size_t)n;
                jk_parse(buf, &len, &current, &started, t);
            }
        }
    }
    jk_child_pid = 0;
    close(fds[0]);
    jk_kill_escaped();
    if (current >= 0) {
        char how[96];
        jk_describe_status(status, how, sizeof how);
        fflush(stdout);
        printf("CRASHED %s: the test process %s inside it (the run goes on at the next test)\n",
               jk_tests[jk_sel[current]].name, how);
        t->failed++;
        return (size_t)current + 1;
    }
    t->end_status = status;
    return jk_nsel;
}

static void jk_print_slowest(const char *env)
{
    long want = env ? strtol(env, NULL, 10) : 0;
    size_t order[JK_MAX_TESTS];
    for (size_t k = 0; k < jk_nsel; k++)
        order[k] = k;
    for (long r = 0; r < want && (size_t)r < jk_nsel; r++) {
        size_t best = (size_t)r;
        for (size_t k = (size_t)r + 1; k < jk_nsel; k++)
            if (jk_took[order[k]] > jk_took[order[best]])
                best = k;
        size_t tmp = order[r];
        order[r] = order[best];
        order[best] = tmp;
        printf("slowest %ld: %s %.1f s\n", r + 1, jk_tests[jk_sel[order[r]]].name, jk_took[order[r]]);
    }
}

int main(int argc, char **argv)
{
    /* Run in name order so output is the same on every machine. */
    qsort(jk_tests, jk_test_count, sizeof jk_tests[0], jk_name_cmp);
    for (size_t i = 0; i < jk_test_count; i++) {
        bool selected = argc < 2;
        for (int a = 1; a < argc && !selected; a++)
            selected = strstr(jk_tests[i].name, argv[a]) != NULL;
        if (selected)
            jk_sel[jk_nsel++] = i;
    }
    const char *env = getenv("JK_TEST_TIMEOUT");
    double limit = JK_TEST_TIMEOUT_DEFAULT;
    if (env && *env) {
        char *end;
        limit = strtod(env, &end);
        if (*end || limit < 0) {
            fprintf(stderr, "tests: JK_TEST_TIMEOUT=%s is not a number of seconds (0: no watchdog)\n", env);
            return 2;
        }
    }

    jk_tally t = {0};
    if (limit == 0) {
        for (size_t k = 0; k < jk_nsel; k++) {
            double t0 = jk_now();
            if (jk_run_one(jk_sel[k]))
                t.failed++;
            else
                t.passed++;
            jk_took[k] = jk_now() - t0;
        }
    } else {
        signal(SIGINT, jk_forward);
        signal(SIGTERM, jk_forward);
        signal(SIGHUP, jk_forward);
        signal(SIGPIPE, SIG_IGN);
#ifdef __linux__
        prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
#endif
        for (size_t from = 0; from < jk_nsel;) {
            from = jk_supervise(from, limit, &t);
            jk_stop_if_asked(0);
        }
        if (jk_nsel == 0)
            t.end_status = 0;
    }
    jk_print_slowest(getenv("JK_TEST_SLOWEST"));
    bool bad_end = t.end_status != 0;
    if (bad_end) {
        char how[96];
        jk_describe_status(t.end_status, how, sizeof how);
        printf("the test process %s after its last test (a sanitizer's report above?)\n", how);
    }
    printf("%zu passed, %zu failed\n", t.passed, t.failed);
    return t.failed || bad_end ? 1 : 0;
}
