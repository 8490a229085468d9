/* files.h — files the tests read and write: the fuzz corpora that `make test`
 * replays (tests/fuzz/corpus/<target>/) and the seeds the corpus tests write
 * when asked to (JK_*_WRITE_CORPUS). */
#ifndef JK_TESTS_FILES_H
#define JK_TESTS_FILES_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Is process pid gone, or a zombie nobody reaped (/proc/PID/stat's state;
 * an orphan in a container may wait for a reaper that never comes)? */
bool jk_test_process_gone(pid_t pid);

/* Write b[0..n) to dir/name; a failure is recorded (jk_test_fail). */
void jk_test_write_file(const char *dir, const char *name, const uint8_t *b, size_t n);

/* Walks the files of one folder, in the order readdir gives (each file is
 * judged alone, so the order decides nothing); names that start with '.'
 * are skipped, and so are files that cannot be opened. */
typedef struct jk_test_corpus {
    DIR *dir;
    char path[256];
    const char *name; /* the current file's name (valid until the next call) */
    uint8_t *bytes;   /* its whole contents, exactly len bytes (malloc'd, so
                         ASan sees any read past them; owned by the walk) */
    size_t len;
} jk_test_corpus;

/* Open the walk of folder `dir`; false (nothing to close) when it cannot be
 * opened. */
bool jk_test_corpus_open(jk_test_corpus *c, const char *dir);
/* Step to the next file; false at the end. */
bool jk_test_corpus_next(jk_test_corpus *c);
void jk_test_corpus_close(jk_test_corpus *c);

#endif
