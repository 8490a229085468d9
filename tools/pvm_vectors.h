/* pvm_vectors.h — running the PVM JSON test vectors (schema:
 * ../shared/vectors/pvm/schema.asn). Used by `jark pvm test` and the tests. */
#ifndef JK_TOOLS_PVM_VECTORS_H
#define JK_TOOLS_PVM_VECTORS_H

#include <stddef.h>
#include <stdio.h>

typedef struct jk_vector_totals {
    size_t passed, failed;
} jk_vector_totals;

/* Run every vector in `path` (a .json file, or a directory whose *.json files
 * run in name order) on back end `backend` (0 switch, 1 goto, 2 the recompiler).
 * One line per failing case goes to `report`, saying what differed. A file
 * that cannot be read or parsed counts as a failure. Returns 0, or -1 when
 * path itself cannot be opened. */
int jk_vectors_run_path(const char *path, int backend, FILE *report,
                        jk_vector_totals *totals);

#endif
