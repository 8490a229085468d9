/* test_store.c — a validator store opened safely (src/node/store.c): a
 * data.mdb cut short is refused with a clear error before LMDB maps it (it
 * used to die with SIGBUS inside mdb_get), and a store is open in one place
 * at a time (flock on jark.lock). */
#include "../test.h"

#include "jark/node.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* A store in a fresh directory holding a head "head" over 2 MiB of data
 * (several hundred LMDB pages), so that truncations cut live pages. */
static bool jk_store_fixture(char *dir, size_t len, off_t *size)
{
    snprintf(dir, len, "/tmp/jark-store-test-XXXXXX");
    if (!mkdtemp(dir))
        return false;
    jk_node_store s;
    jk_diag diag = {{0}};
    if (jk_node_store_open(dir, 64u << 20, &s, &diag) != JK_OK)
        return false;
    enum { CHUNK = 64 << 10, N = 32 };
    static uint8_t bytes[CHUNK];
    jk_cap node = jk_cap_null();
    bool ok = jk_cap_cnode_new(5, &node) == JK_OK;
    for (uint32_t i = 0; ok && i < N; i++) {
        jk_cap d, next;
        uint64_t x = 0x9E3779B97F4A7C15ull * (i + 1); /* distinct, incompressible bytes */
        for (size_t k = 0; k < sizeof bytes; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            bytes[k] = (uint8_t)x;
        }
        ok = jk_cap_data_new(bytes, sizeof bytes, &d) == JK_OK && jk_cap_cnode_set(node, i, d, &next) == JK_OK;
        if (ok) {
            jk_cap_release(d);
            jk_cap_release(node);
            node = next;
        }
    }
    ok = ok && jk_cap_store_commit(s.store, "head", node, NULL, &diag) == JK_OK;
    jk_cap_release(node);
    jk_node_store_close(&s);
    char path[128];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    struct stat st;
    ok = ok && stat(path, &st) == 0;
    *size = ok ? st.st_size : 0;
    return ok;
}

static void jk_rm_store(const char *dir)
{
    char path[128];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/lock.mdb", dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/jark.lock", dir);
    unlink(path);
    rmdir(dir);
}

JK_TEST(test_node_store_truncated_file_refused)
{
    char dir[64];
    off_t size;
    JK_REQUIRE(jk_store_fixture(dir, sizeof dir, &size));
    JK_REQUIRE(size > 2 << 20);
    char path[128];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    jk_diag diag = {{0}};
    JK_CHECK_EQ(jk_node_store_check_file(path, &diag), JK_OK); /* the whole file is fine */
    /* cut to 16 KB .. 800 KB (and to less than a meta page): each is refused
     * with a reason, by the check and by every way in (no SIGBUS) */
    static const off_t cuts[] = {800 << 10, 400 << 10, 100 << 10, 16 << 10, 5000, 100};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        JK_REQUIRE(truncate(path, cuts[i]) == 0);
        diag.msg[0] = 0;
        JK_CHECK_EQ(jk_node_store_check_file(path, &diag), JK_ERR_NODE_STORE_CORRUPT);
        JK_CHECK(strstr(diag.msg, "data.mdb") != NULL);
        jk_node_head head;
        diag.msg[0] = 0;
        JK_CHECK_EQ(jk_node_head_read(dir, &head, &diag), JK_ERR_NODE_STORE_CORRUPT);
        JK_CHECK(diag.msg[0] != 0);
        jk_node_head_release(&head);
    }
    /* a file that is not LMDB's */
    int fd = open(path, O_WRONLY | O_TRUNC);
    JK_REQUIRE(fd >= 0);
    static const uint8_t junk[8192] = {1, 2, 3};
    JK_REQUIRE(write(fd, junk, sizeof junk) == (ssize_t)sizeof junk);
    close(fd);
    JK_CHECK_EQ(jk_node_store_check_file(path, &diag), JK_ERR_NODE_STORE_CORRUPT);
    JK_CHECK(strstr(diag.msg, "meta page") != NULL);
    jk_rm_store(dir);
}

JK_TEST(test_node_store_one_process_at_a_time)
{
    char dir[64];
    off_t size;
    JK_REQUIRE(jk_store_fixture(dir, sizeof dir, &size));
    jk_node_store a, b;
    jk_diag diag = {{0}};
    JK_REQUIRE(jk_node_store_open(dir, 64u << 20, &a, &diag) == JK_OK);
    /* another process is refused while a holds it */
    fflush(stdout);
    pid_t pid = fork();
    JK_REQUIRE(pid >= 0);
    if (pid == 0) {
        jk_node_store c;
        jk_diag d = {{0}};
        jk_err e = jk_node_store_open(dir, 64u << 20, &c, &d);
        _exit(e == JK_ERR_NODE_STORE_BUSY && strstr(d.msg, "another process") ? 0 : 1);
    }
    int status = 0;
    JK_REQUIRE(waitpid(pid, &status, 0) == pid);
    JK_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    /* so is a second open here, and jk_node_head_read (jark chain show) */
    JK_CHECK_EQ(jk_node_store_open(dir, 64u << 20, &b, &diag), JK_ERR_NODE_STORE_BUSY);
    jk_node_store_close(&b);
    jk_node_head head;
    JK_CHECK_EQ(jk_node_head_read(dir, &head, &diag), JK_ERR_NODE_STORE_BUSY);
    jk_node_head_release(&head);
    /* once closed, it opens again */
    jk_node_store_close(&a);
    JK_CHECK_EQ(jk_node_store_open(dir, 64u << 20, &b, &diag), JK_OK);
    jk_node_store_close(&b);
    jk_rm_store(dir);
}

