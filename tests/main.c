/* main.c — the test runner: runs registered tests, prints "N passed, N failed". */
#include "test.h"

#include <stdarg.h>
#include <stdlib.h>

#define JK_MAX_TESTS 4096

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

int main(int argc, char **argv)
{
    size_t passed = 0, failed = 0;
    /* Run in name order so output is the same on every machine. */
    qsort(jk_tests, jk_test_count, sizeof jk_tests[0], jk_name_cmp);
    for (size_t i = 0; i < jk_test_count; i++) {
        bool selected = argc < 2;
        for (int a = 1; a < argc && !selected; a++)
            selected = strstr(jk_tests[i].name, argv[a]) != NULL;
        if (!selected)
            continue;
        jk_current_name = jk_tests[i].name;
        jk_current_failures = 0;
        jk_tests[i].fn();
        fflush(stdout);
        if (jk_current_failures == 0) {
            passed++;
        } else {
            failed++;
            printf("FAILED %s (%d checks)\n", jk_tests[i].name, jk_current_failures);
        }
    }
    printf("%zu passed, %zu failed\n", passed, failed);
    return failed ? 1 : 0;
}
