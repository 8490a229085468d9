/* test_examples_corpus.c — replays tests/fuzz/corpus/examples/ through the
 * example chains' fuzz target (tests/fuzz/fuzz_examples.c): every input it
 * ever found interesting runs again on every `make test`. */
#include "../test.h"
#include "../fuzz/fuzz_targets.h"

#include <dirent.h>

JK_TEST(test_fuzz_corpus_examples)
{
    DIR *dir = opendir("tests/fuzz/corpus/examples");
    JK_REQUIRE(dir != NULL);
    size_t count = 0;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char path[512];
        snprintf(path, sizeof path, "tests/fuzz/corpus/examples/%s", de->d_name);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        static uint8_t buf[1 << 16];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        jk_fuzz_examples(buf, n); /* aborts on a broken rule */
        count++;
    }
    closedir(dir);
    JK_CHECK(count >= 6);
}
