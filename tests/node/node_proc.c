/* node_proc.c — see node_proc.h. */
#define _GNU_SOURCE
#include "node_proc.h"
#include "node_util.h"

#include "jark/devnet.h"
#include "jark/rpc.h"

#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

pid_t np_spawn(const char *const *argv, const char *log)
{
    char exe[PATH_MAX] = {0}, jark[PATH_MAX + 8];
    if (readlink("/proc/self/exe", exe, sizeof exe - 1) <= 0)
        return -1;
    snprintf(jark, sizeof jark, "%s/jark", dirname(exe));
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        execv(jark, (char *const *)argv);
        _exit(127);
    }
    return pid;
}

bool np_stop(pid_t *pid)
{
    if (*pid <= 0)
        return true;
    kill(*pid, SIGTERM);
    int st = 0;
    pid_t r = waitpid(*pid, &st, 0);
    *pid = 0;
    return r > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

void np_kill(pid_t *pid)
{
    if (*pid > 0) {
        kill(*pid, SIGKILL);
        waitpid(*pid, NULL, 0);
    }
    *pid = 0;
}

json_object *np_rpc(uint16_t rpc, const char *method, const char *params)
{
    char *res = NULL;
    jk_diag d;
    json_object *o = NULL;
    if (jk_rpc_call("127.0.0.1", rpc, method, params, &res, &d) == JK_OK)
        o = json_tokener_parse(res);
    free(res);
    return o;
}

int64_t np_i64(json_object *o, const char *key)
{
    json_object *x;
    return o && json_object_object_get_ex(o, key, &x) ? json_object_get_int64(x) : -1;
}

int64_t np_height(uint16_t rpc)
{
    json_object *o = np_rpc(rpc, "status", NULL);
    int64_t h = np_i64(o, "height");
    json_object_put(o);
    return h;
}

bool np_wait_height(uint16_t rpc, int64_t h, uint64_t limit_ms)
{
    for (uint64_t t0 = tn_ms(); tn_ms() - t0 < limit_ms; usleep(20 * 1000))
        if (np_height(rpc) >= h)
            return true;
    return false;
}

bool np_transfer_params(const jk_hash *genesis, uint32_t account, char *params, size_t cap)
{
    jk_devnet_demo *demo = NULL;
    if (jk_devnet_demo_new(1, &demo) != JK_OK)
        return false;
    uint8_t blob[JK_DEVNET_TRANSFER_LEN];
    jk_chain_trace tr;
    jk_devnet_demo_transfer(demo, genesis, account, blob, &tr);
    jk_devnet_demo_free(demo);
    return jk_devnet_transfer_params(blob, &tr, params, cap) > 0;
}
