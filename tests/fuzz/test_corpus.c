/* test_corpus.c — replays every fuzz corpus file through its target, so that
 * each input a fuzzer ever found interesting is rerun by `make test`. */
#include "../test.h"
#include "fuzz_targets.h"

#include <dirent.h>
#include <stdlib.h>

/* Runs target on every file in tests/fuzz/corpus/<name>; returns the count. */
static size_t jk_replay(const char *name, int (*target)(const uint8_t *, size_t))
{
    char dir_path[256], path[512];
    snprintf(dir_path, sizeof dir_path, "tests/fuzz/corpus/%s", name);
    DIR *dir = opendir(dir_path);
    if (!dir)
        return 0;
    size_t count = 0;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir_path, de->d_name);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        static uint8_t buf[1 << 17];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        target(buf, n); /* aborts on a bug */
        count++;
    }
    closedir(dir);
    return count;
}

JK_TEST(test_fuzz_corpus_pvm) { JK_CHECK(jk_replay("pvm", jk_fuzz_pvm) >= 201); }
JK_TEST(test_fuzz_corpus_asm) { JK_CHECK(jk_replay("asm", jk_fuzz_asm) >= 201); }
JK_TEST(test_fuzz_corpus_spec) { JK_CHECK(jk_replay("spec", jk_fuzz_spec) >= 8); }
JK_TEST(test_fuzz_corpus_manifest) { JK_CHECK(jk_replay("manifest", jk_fuzz_manifest) >= 6); }
JK_TEST(test_fuzz_corpus_sdk) { JK_CHECK(jk_replay("sdk", jk_fuzz_sdk) >= 4); }
JK_TEST(test_fuzz_corpus_jit) { JK_CHECK(jk_replay("jit", jk_fuzz_jit) >= 220); }
JK_TEST(test_fuzz_corpus_events) { JK_CHECK(jk_replay("events", jk_fuzz_events) >= 6); }
JK_TEST(test_fuzz_corpus_net) { JK_CHECK(jk_replay("net", jk_fuzz_net) >= 17); }
JK_TEST(test_fuzz_corpus_rpc) { JK_CHECK(jk_replay("rpc", jk_fuzz_rpc) >= 24); }
JK_TEST(test_fuzz_corpus_rpc_reply) { JK_CHECK(jk_replay("rpc_reply", jk_fuzz_rpc_reply) >= 12); }
JK_TEST(test_fuzz_corpus_store) { JK_CHECK(jk_replay("store", jk_fuzz_store) >= 5); }
JK_TEST(test_fuzz_corpus_cap_groups) { JK_CHECK(jk_replay("cap_groups", jk_fuzz_cap_groups) >= 7); }
JK_TEST(test_fuzz_corpus_votelog) { JK_CHECK(jk_replay("votelog", jk_fuzz_votelog) >= 18); }
JK_TEST(test_fuzz_corpus_kernel) { JK_CHECK(jk_replay("kernel", jk_fuzz_kernel) >= 20); }
JK_TEST(test_fuzz_corpus_examples) { JK_CHECK(jk_replay("examples", jk_fuzz_examples) >= 7); }
