/* node_proc.c — see node_proc.h. */
#define _GNU_SOURCE
#include "node_proc.h"
#include "node_util.h"
#include "../progs.h"

#include "jark/devnet.h"
#include "jark/rpc.h"

#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* A "NAME.c" string token at text[i] (i at its opening quote): NAME's
 * length, 0 when it is not one (a path, or another string). */
static size_t np_c_token(const char *text, size_t len, size_t i)
{
    size_t j = i + 1;
    while (j < len && text[j] != '"' && text[j] != '\n' && text[j] != '/')
        j++;
    size_t n = j - i - 1;
    if (j >= len || text[j] != '"' || n < 3 || n >= 64 || memcmp(text + j - 2, ".c", 2) != 0)
        return 0;
    return n - 2;
}

const char *np_demo_spec(void)
{
    static const char demo[] = "examples/demo/devnet-spec.json";
    static char spec[320];
    static bool made;
    if (made)
        return spec;
    uint8_t *bytes = NULL;
    size_t len = 0;
    char dir[256];
    if (jk_read_file(demo, &bytes, &len, NULL) != JK_OK || !jk_test_tmpdir("demo-spec", dir, sizeof dir)) {
        free(bytes);
        return demo;
    }
    const char *text = (const char *)bytes;
    char *out = malloc(2 * len + 1);
    size_t o = 0;
    bool ok = out != NULL;
    for (size_t i = 0; ok && i < len;) {
        size_t n = text[i] == '"' ? np_c_token(text, len, i) : 0;
        if (!n) {
            out[o++] = text[i++];
            continue;
        }
        char name[64], source[128], program[400];
        memcpy(name, text + i + 1, n);
        name[n] = 0;
        snprintf(source, sizeof source, "examples/demo/%s.c", name);
        snprintf(program, sizeof program, "%s/%s.jkp", dir, name);
        const char *sources[1] = {source};
        ok = jk_test_build(sources, 1, NULL, program, NULL) == JK_OK;
        o += (size_t)sprintf(out + o, "\"%s.jkp\"", name); /* ".c" -> ".jkp": 2 more bytes a name */
        i += n + 4;
    }
    if (ok) {
        snprintf(spec, sizeof spec, "%s/devnet-spec.json", dir);
        FILE *f = fopen(spec, "w");
        ok = f && fwrite(out, 1, o, f) == o;
        if (f && fclose(f) != 0)
            ok = false;
    }
    free(out);
    free(bytes);
    if (!ok)
        return demo;
    made = true;
    return spec;
}
