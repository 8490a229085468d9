/*
 * main.c — the test runner: runs registered tests, prints "N passed, N failed".
 *
 * The tests run in JK_TEST_JOBS child processes (the workers; default: one
 * per online CPU), watched by this one (the supervisor). The supervisor
 * hands each idle worker the next test through a pipe, longest tests first
 * (jk_long_tests: a long test started last would leave the other cores
 * idle at the end), and the worker answers on another pipe when the test
 * ends. A test still running JK_TEST_TIMEOUT seconds (default 300) after it
 * was handed out is *hung*: the supervisor kills that worker's process group
 * (the worker and whatever the test started), prints "HUNG <name>", counts
 * the test as failed and starts a new worker for the tests still to run. A
 * worker that dies inside a test (a signal, an exit, a sanitizer's abort)
 * fails that test by name the same way, and the run goes on. So a
 * recompiler that loops forever costs one test and a named line, not the
 * whole run.
 *
 * A worker sends a test's stdout and stderr to a file of its own, and the
 * supervisor prints that file whole when the test ends (passed, failed,
 * hung or crashed): the output of tests running side by side never
 * interleaves, and a test's lines sit together, before its HUNG or CRASHED
 * line. Tests end in an order that depends on the machine; which tests pass
 * does not.
 *
 * Time decides nothing else: a test that ends, however slowly, passes or
 * fails by its checks alone, and the limit only separates "hung" from
 * "still working" (docs/testing.md). JK_TEST_TIMEOUT=0 runs every test in
 * this process, one after the other in name order, with no watchdog (for a
 * debugger or valgrind). JK_TEST_SLOWEST=N lists the N slowest tests at the
 * end (for choosing a limit and jk_long_tests; it changes no result).
 *
 * A process a test starts may leave the process group (setsid, setpgid: a
 * daemonising helper does), and a kill of the group would miss it. So the
 * supervisor makes itself the child subreaper (Linux): whatever the tests
 * started and left behind becomes its child when its parent goes, and once
 * a worker has ended (hung, crashed or finished) the supervisor kills and
 * reaps every child it has that is not a worker, generation by generation.
 */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#ifdef __linux__
#include <dirent.h>
#include <sys/prctl.h>
#endif
#include <time.h>
#include <unistd.h>

#define JK_MAX_TESTS 4096
#define JK_MAX_JOBS 32
#define JK_TEST_TIMEOUT_DEFAULT 300

static struct {
    const char *name;
    jk_test_fn fn;
} jk_tests[JK_MAX_TESTS];
static size_t jk_test_count;
static int jk_current_failures;
static const char *jk_current_name;

/* The tests that take longest (JK_TEST_SLOWEST and the runner's own
 * figures, session 12: docs/testing.md), started first in this order;
 * every other test follows in name order. Only the order of the run
 * depends on this list: a name missing here, or one that no longer
 * exists, costs time, never a result. */
static const char *const jk_long_tests[] = {
    "test_node_full_syncs_relays_and_serves",
    "test_tutorial_runs_as_written",
    "test_node_testnet_kill_restart_agree",
    "test_node_testnet_kill_all_at_once_loses_no_block",
    "test_spec_programs_several_files_and_build_options",
    "test_spec_devnet_runs_any_chain_on_events",
    "test_genesis_probe_failure_exits_1_from_every_command",
    "test_node_pacing_idle_waits_event_ends_the_wait",
    "test_node_net_kill_two_halts_then_resumes",
    "test_devnet_survives_sigkill_at_any_point",
    "test_devnet_consensus_seeds_with_faults_v4_v7",
    "test_cons_sim_seeds_4_validators",
    "test_cons_sim_seeds_7_validators",
    NULL,
};

/* Tests whose honest run outgrows JK_TEST_TIMEOUT on a loaded machine get
 * this many times it (their own limit; a hang still fails them by name).
 * test_node_testnet_kill_all_at_once_loses_no_block: three waves of four
 * `jark node` starts, each compiling the demo spec with the SDK, ~90 s a
 * wave at load 20 (session 14; 37.5 s in all under ASan, quiet). The
 * runner's self-test checks that the factor applies. */
static const struct {
    const char *name;
    double times;
} jk_limit_times[] = {
    {"test_node_testnet_kill_all_at_once_loses_no_block", 3},
    {"runner_selftest_f_slow", 3},
    {NULL, 0},
};

/* The limit of the worker's current test. */
static double jk_limit_of(size_t test, double limit)
{
    for (size_t i = 0; jk_limit_times[i].name; i++)
        if (strcmp(jk_tests[test].name, jk_limit_times[i].name) == 0)
            return limit * jk_limit_times[i].times;
    return limit;
}

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

/* The selected tests' indices, in name order; jk_order: the order they are
 * handed out (positions in jk_sel). */
static size_t jk_sel[JK_MAX_TESTS], jk_nsel;
static size_t jk_order[JK_MAX_TESTS], jk_next;
static double jk_took[JK_MAX_TESTS]; /* seconds, for JK_TEST_SLOWEST only */

static double jk_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* jk_order: the selected long tests in jk_long_tests' order, then the rest
 * in name order. */
static void jk_plan(void)
{
    static bool placed[JK_MAX_TESTS];
    size_t n = 0;
    for (size_t l = 0; jk_long_tests[l]; l++)
        for (size_t k = 0; k < jk_nsel; k++)
            if (!placed[k] && strcmp(jk_tests[jk_sel[k]].name, jk_long_tests[l]) == 0) {
                placed[k] = true;
                jk_order[n++] = k;
            }
    for (size_t k = 0; k < jk_nsel; k++)
        if (!placed[k])
            jk_order[n++] = k;
}

/* ---- a worker: runs the tests it is handed, one at a time ---- */

static void jk_write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* a supervisor that went away (EPIPE) has nothing to read */
        p += w;
        n -= (size_t)w;
    }
}

/* The next position from the supervisor's pipe; false at its end. */
static bool jk_read_position(int fd, size_t *k)
{
    char line[32];
    size_t n = 0;
    for (;;) {
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return false;
        if (c == '\n')
            break;
        if (n + 1 < sizeof line)
            line[n++] = c;
    }
    line[n] = 0;
    char *end;
    unsigned long long v = strtoull(line, &end, 10);
    if (*end || end == line || v >= jk_nsel)
        return false;
    *k = (size_t)v;
    return true;
}

/* Runs the tests the supervisor sends on cmd (until it closes it), their
 * output into the file out (emptied before each test), each end reported on
 * rep as "E position failures". */
static void jk_worker(int cmd, int rep, int out)
{
    /* Line-buffered: the FAIL lines of a test killed as hung are not lost. */
    setvbuf(stdout, NULL, _IOLBF, 0);
    int saved_out = fcntl(1, F_DUPFD_CLOEXEC, 3), saved_err = fcntl(2, F_DUPFD_CLOEXEC, 3);
    size_t k;
    while (jk_read_position(cmd, &k)) {
        if (ftruncate(out, 0) != 0)
            perror("tests: ftruncate");
        fflush(stdout);
        fflush(stderr);
        dup2(out, 1);
        dup2(out, 2);
        int failures = jk_run_one(jk_sel[k]);
        fflush(stdout);
        fflush(stderr);
        dup2(saved_out, 1);
        dup2(saved_err, 2);
        char line[64];
        int n = snprintf(line, sizeof line, "E %zu %d\n", k, failures);
        jk_write_all(rep, line, (size_t)n);
    }
    close(rep);
    /* exit, not _exit: atexit handlers (scratch folders) and LeakSanitizer
     * run, and a leak shows in the exit status. */
    exit(0);
}

/* ---- the supervisor ---- */

typedef struct jk_slot {
    pid_t pid;      /* the worker; 0: none running */
    int cmd;        /* positions to the worker (-1: closed) */
    int rep;        /* the worker's reports (-1: closed) */
    int out;        /* the file the worker's tests write to */
    char buf[256];  /* a report line not yet whole */
    size_t len;
    long current;   /* the position it runs, -1: none */
    double started;
    bool exited;    /* reaped; status holds how it ended */
    int status;
} jk_slot;

static jk_slot jk_slots[JK_MAX_JOBS];
static size_t jk_nslots;

/* The workers' pids, for the signal handler. */
static volatile sig_atomic_t jk_worker_pid[JK_MAX_JOBS];

/* Ctrl-C or a kill of the runner reaches the workers' process groups too;
 * the supervisor then ends what left those groups (jk_stop_if_asked)
 * before it dies of the same signal. */
static volatile sig_atomic_t jk_stop_signal;

static void jk_forward(int sig)
{
    for (size_t s = 0; s < JK_MAX_JOBS; s++)
        if (jk_worker_pid[s] > 0)
            kill(-(pid_t)jk_worker_pid[s], sig);
    jk_stop_signal = sig;
}

static void jk_describe_status(int status, char *out, size_t cap)
{
    if (WIFSIGNALED(status))
        snprintf(out, cap, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(out, cap, "exited with status %d", WEXITSTATUS(status));
}

static jk_slot *jk_slot_of(pid_t pid)
{
    for (size_t s = 0; s < jk_nslots; s++)
        if (jk_slots[s].pid == pid && pid > 0)
            return &jk_slots[s];
    return NULL;
}

/* A reaped child: a worker's status is kept for its slot. */
static void jk_reaped(pid_t pid, int status)
{
    jk_slot *w = jk_slot_of(pid);
    if (w && !w->exited) {
        w->exited = true;
        w->status = status;
    }
}

#ifdef __linux__
/* SIGKILLs every live process whose parent is this one and that is not a
 * worker (read from /proc/PID/stat: the field after the command's closing
 * parenthesis is the state, then the parent's pid); true when any such
 * child, live or a zombie, remains. */
static bool jk_kill_children(void)
{
    DIR *d = opendir("/proc");
    if (!d)
        return false;
    pid_t self = getpid();
    bool any = false;
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
        if (!rp || sscanf(rp + 1, " %c %ld", &state, &ppid) != 2 || ppid != self)
            continue;
        jk_slot *w = jk_slot_of((pid_t)pid);
        if (w && !w->exited)
            continue;
        any = true;
        if (state != 'Z')
            kill((pid_t)pid, SIGKILL);
    }
    closedir(d);
    return any;
}
#endif

/* After a worker has been reaped: kills and reaps what its tests left
 * running outside its process group (reparented to this subreaper). A
 * process is reparented before its dead parent can be reaped, so scanning
 * again after each reap finds every generation. The other workers go on
 * running (a reap of one of them is kept for its slot). */
static void jk_kill_escaped(void)
{
#ifdef __linux__
    while (jk_kill_children()) {
        int status;
        pid_t w = waitpid(-1, &status, WNOHANG);
        if (w > 0)
            jk_reaped(w, status);
        else if (w == 0)
            usleep(1000);
        else if (errno != EINTR)
            break;
    }
#endif
}

/* Waits for worker w's end (after a kill). */
static void jk_reap(jk_slot *w)
{
    while (!w->exited) {
        int status;
        pid_t r = waitpid(w->pid, &status, 0);
        if (r == w->pid)
            jk_reaped(r, status);
        else if (r < 0 && errno != EINTR)
            break;
    }
}

/* When a signal asked the runner to stop: the workers' groups killed and
 * reaped, what escaped them killed, then the runner ends by the signal
 * itself, as it would have without a handler. */
static void jk_stop_if_asked(void)
{
    int sig = jk_stop_signal;
    if (!sig)
        return;
    for (size_t s = 0; s < jk_nslots; s++) {
        jk_slot *w = &jk_slots[s];
        if (w->pid > 0 && !w->exited) {
            kill(-w->pid, SIGKILL);
            jk_reap(w);
        }
        jk_worker_pid[s] = 0;
    }
    jk_kill_escaped();
    fflush(stdout);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* What worker w's last test wrote, to stdout. */
static void jk_print_output(const jk_slot *w)
{
    char buf[8192];
    off_t at = 0;
    ssize_t n;
    fflush(stdout);
    while ((n = pread(w->out, buf, sizeof buf, at)) > 0) {
        jk_write_all(1, buf, (size_t)n);
        at += n;
    }
}

typedef struct jk_tally {
    size_t passed, failed;
    bool bad_end; /* a worker ended badly after its last test */
} jk_tally;

static void jk_close(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* Hands worker w the next test, or closes its pipe when none is left (the
 * worker then exits). */
static void jk_hand_out(jk_slot *w)
{
    if (jk_next < jk_nsel) {
        size_t k = jk_order[jk_next++];
        char line[32];
        int n = snprintf(line, sizeof line, "%zu\n", k);
        w->current = (long)k;
        w->started = jk_now();
        jk_write_all(w->cmd, line, (size_t)n);
    } else {
        jk_close(&w->cmd);
    }
}

/* Starts a worker in slot s and hands it a test. */
static void jk_start(size_t s)
{
    jk_slot *w = &jk_slots[s];
    int c[2], r[2];
    if (pipe(c) != 0 || pipe(r) != 0) {
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
        /* The other workers' ends of their pipes: a worker holding another's
         * command pipe would keep it from ever seeing its end. */
        for (size_t o = 0; o < jk_nslots; o++)
            if (o != s) {
                jk_close(&jk_slots[o].cmd);
                jk_close(&jk_slots[o].rep);
                jk_close(&jk_slots[o].out);
            }
        close(c[1]);
        close(r[0]);
        setpgid(0, 0);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        signal(SIGPIPE, SIG_DFL); /* as the tests had it before the supervisor */
        /* programs a test execs hold neither pipe nor the output file */
        fcntl(c[0], F_SETFD, FD_CLOEXEC);
        fcntl(r[1], F_SETFD, FD_CLOEXEC);
        jk_worker(c[0], r[1], w->out);
    }
    setpgid(pid, pid); /* both sides set it: no race with a test that forks at once */
    close(c[0]);
    close(r[1]);
    fcntl(c[1], F_SETFD, FD_CLOEXEC);
    fcntl(r[0], F_SETFD, FD_CLOEXEC);
    w->pid = pid;
    jk_worker_pid[s] = pid;
    w->cmd = c[1];
    w->rep = r[0];
    w->len = 0;
    w->current = -1;
    w->exited = false;
    w->status = 0;
    jk_hand_out(w);
}

/* Reads worker w's whole report lines: each ends its current test. */
static void jk_parse(jk_slot *w, jk_tally *t)
{
    char *p = w->buf, *nl;
    while ((nl = memchr(p, '\n', w->len - (size_t)(p - w->buf))) != NULL) {
        *nl = 0;
        size_t k = 0;
        int failures = 0;
        if (sscanf(p, "E %zu %d", &k, &failures) == 2 && (long)k == w->current) {
            jk_took[k] = jk_now() - w->started;
            jk_print_output(w);
            if (failures)
                t->failed++;
            else
                t->passed++;
            w->current = -1;
            if (w->cmd >= 0)
                jk_hand_out(w);
        }
        p = nl + 1;
    }
    w->len -= (size_t)(p - w->buf);
    memmove(w->buf, p, w->len);
}

/* Reads what worker w has sent; at the end of its pipe, closes it. */
static void jk_drain(jk_slot *w, jk_tally *t, bool wait)
{
    while (w->rep >= 0) {
        if (!wait) {
            struct pollfd pfd = {.fd = w->rep, .events = POLLIN};
            if (poll(&pfd, 1, 0) <= 0)
                return;
        }
        ssize_t n = read(w->rep, w->buf + w->len, sizeof w->buf - w->len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            jk_close(&w->rep);
            return;
        }
        w->len += (size_t)n;
        jk_parse(w, t);
        wait = false;
    }
}

/* Worker w has been reaped: a test it was running crashed; otherwise it
 * ended after its last test. Restarts the slot while tests remain. */
static void jk_ended(size_t s, jk_tally *t)
{
    jk_slot *w = &jk_slots[s];
    jk_close(&w->cmd); /* first: the reports read below hand it nothing */
    jk_drain(w, t, false); /* what it wrote before it went */
    jk_close(&w->rep);
    jk_worker_pid[s] = 0;
    jk_kill_escaped();
    if (w->current >= 0) {
        char how[96];
        jk_describe_status(w->status, how, sizeof how);
        jk_print_output(w);
        printf("CRASHED %s: the test process %s inside it (the run goes on at the next test)\n",
               jk_tests[jk_sel[w->current]].name, how);
        t->failed++;
    } else if (w->status != 0) {
        char how[96];
        jk_describe_status(w->status, how, sizeof how);
        printf("the test process %s after its last test (a sanitizer's report above?)\n", how);
        t->bad_end = true;
    }
    w->pid = 0;
    w->current = -1;
    if (jk_next < jk_nsel)
        jk_start(s);
}

/* Worker w's test ran past the limit: its group killed, the test failed. */
static void jk_hung(size_t s, double limit, jk_tally *t)
{
    jk_slot *w = &jk_slots[s];
    double own = jk_limit_of(jk_sel[w->current], limit);
    kill(-w->pid, SIGKILL);
    jk_reap(w);
    jk_close(&w->rep);
    jk_close(&w->cmd);
    jk_worker_pid[s] = 0;
    jk_kill_escaped();
    jk_print_output(w);
    printf("HUNG %s: still running %.0f s after it started; its processes were killed "
           "(JK_TEST_TIMEOUT=%.0f; the run goes on at the next test)\n",
           jk_tests[jk_sel[w->current]].name, own, limit);
    t->failed++;
    w->pid = 0;
    w->current = -1;
    if (jk_next < jk_nsel)
        jk_start(s);
}

/* A file for a worker's test output, already unlinked. */
static int jk_output_file(void)
{
    const char *tmp = getenv("TMPDIR");
    char path[128];
    snprintf(path, sizeof path, "%.64s/jark-tests-out-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0) {
        perror("tests: mkstemp");
        exit(2);
    }
    unlink(path);
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, fl | O_APPEND); /* a leftover writer appends; it never overwrites */
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    return fd;
}

/* Runs the selected tests on `jobs` workers. */
static void jk_supervise(size_t jobs, double limit, jk_tally *t)
{
    jk_nslots = jobs < jk_nsel ? jobs : jk_nsel;
    for (size_t s = 0; s < jk_nslots; s++) {
        jk_slots[s].out = jk_output_file();
        jk_slots[s].cmd = jk_slots[s].rep = -1;
    }
    for (size_t s = 0; s < jk_nslots; s++)
        jk_start(s);
    for (;;) {
        struct pollfd pfd[JK_MAX_JOBS];
        size_t who[JK_MAX_JOBS], np = 0;
        bool running = false;
        int wait_ms = 500; /* also how often a worker whose pipe a grandchild holds is reaped */
        double now = jk_now();
        for (size_t s = 0; s < jk_nslots; s++)
            if (jk_slots[s].pid > 0 && jk_slots[s].current >= 0 &&
                jk_slots[s].started + jk_limit_of(jk_sel[jk_slots[s].current], limit) <= now)
                jk_hung(s, limit, t);
        now = jk_now();
        for (size_t s = 0; s < jk_nslots; s++) {
            jk_slot *w = &jk_slots[s];
            if (w->pid <= 0)
                continue;
            running = true;
            if (w->rep >= 0) {
                pfd[np] = (struct pollfd){.fd = w->rep, .events = POLLIN};
                who[np++] = s;
            } else {
                wait_ms = 20; /* its pipe ended: only its exit is left to see */
            }
            double left = w->current >= 0 ? w->started + jk_limit_of(jk_sel[w->current], limit) - now : 0;
            if (w->current >= 0 && left * 1000 < wait_ms)
                wait_ms = left > 0 ? (int)(left * 1000) + 1 : 0;
        }
        if (!running)
            break;
        jk_stop_if_asked();
        int ready = poll(pfd, (nfds_t)np, wait_ms); /* a signal ends the wait (EINTR) */
        jk_stop_if_asked();
        for (size_t i = 0; ready > 0 && i < np; i++)
            if (pfd[i].revents)
                jk_drain(&jk_slots[who[i]], t, true);
        if (np == 0 && wait_ms > 0)
            usleep((useconds_t)wait_ms * 1000);
        for (;;) {
            int status;
            pid_t r = waitpid(-1, &status, WNOHANG);
            if (r <= 0)
                break;
            jk_reaped(r, status);
        }
        for (size_t s = 0; s < jk_nslots; s++)
            if (jk_slots[s].pid > 0 && jk_slots[s].exited)
                jk_ended(s, t);
    }
    jk_kill_escaped();
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

/* A non-negative number from the environment variable `name` (def when
 * unset or empty); false when it is not one. */
static bool jk_env_number(const char *name, double def, double *out)
{
    const char *env = getenv(name);
    *out = def;
    if (!env || !*env)
        return true;
    char *end;
    *out = strtod(env, &end);
    return !*end && *out >= 0;
}

int main(int argc, char **argv)
{
    /* Name order: JK_TEST_TIMEOUT=0 runs in it, and it breaks ties in jk_plan. */
    qsort(jk_tests, jk_test_count, sizeof jk_tests[0], jk_name_cmp);
    for (size_t i = 0; i < jk_test_count; i++) {
        bool selected = argc < 2;
        for (int a = 1; a < argc && !selected; a++)
            selected = strstr(jk_tests[i].name, argv[a]) != NULL;
        if (selected)
            jk_sel[jk_nsel++] = i;
    }
    double limit, jobs;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (!jk_env_number("JK_TEST_TIMEOUT", JK_TEST_TIMEOUT_DEFAULT, &limit)) {
        fprintf(stderr, "tests: JK_TEST_TIMEOUT=%s is not a number of seconds (0: no watchdog)\n",
                getenv("JK_TEST_TIMEOUT"));
        return 2;
    }
    if (!jk_env_number("JK_TEST_JOBS", cpus > 0 ? (double)cpus : 1, &jobs) || jobs < 1 ||
        jobs > JK_MAX_JOBS || jobs != (double)(size_t)jobs) {
        fprintf(stderr, "tests: JK_TEST_JOBS=%s is not a number of workers (1 to %d)\n",
                getenv("JK_TEST_JOBS"), JK_MAX_JOBS);
        return 2;
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
        jk_plan();
        jk_supervise((size_t)jobs, limit, &t);
        jk_stop_if_asked();
    }
    jk_print_slowest(getenv("JK_TEST_SLOWEST"));
    printf("%zu passed, %zu failed\n", t.passed, t.failed);
    return t.failed || t.bad_end ? 1 : 0;
}
