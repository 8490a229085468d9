/*
 * jark/spec.h — chains as files: a chain spec (docs/chain-spec.md) loaded,
 * its C programs compiled with the SDK, ready for genesis
 * (jk_chain_genesis_build); events files (docs/events-format.md); key files
 * (docs/keys.md).
 *
 * Layer: spec sits on chain, image and sdk (crypto → pvm → sdk;
 * … → kernel → image → chain → spec → devnet). It is what an embedder
 * includes to run a chain from its files without the `jark` command
 * (examples/driver/).
 */
#ifndef JARK_SPEC_H
#define JARK_SPEC_H

#include "jark/chain.h"
#include "jark/err.h"
#include "jark/sdk.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------------------------------------------------------------------
 * Chain specs
 * ------------------------------------------------------------------------- */

/* A loaded spec: `spec` points into the storage below, which the struct
 * owns; free it with jk_spec_file_free. */
typedef struct jk_spec_file {
    jk_chain_spec spec;
    uint8_t *programs[5 + JK_CHAIN_MAX_DISPATCH_ENDPOINTS];
    uint32_t *state_slots;
    uint8_t **state_data;
    size_t state_cap;    /* entries of state_slots / state_data / state_len */
    size_t *state_len;
    uint8_t (*validators)[JK_ED25519_PUBLIC_SIZE];
} jk_spec_file;

/* Reads a file a spec names: a program (program = true) or state data.
 * @param[out] out  malloc'd bytes; the spec file takes them.
 * @return JK_OK, or an error with the reason in diag. */
typedef jk_err (*jk_spec_reader)(void *ctx, const char *name, bool program, uint8_t **out, size_t *len,
                                 jk_diag *diag);

/* Parse a chain spec from text[0..len) (untrusted JSON: one object, nothing
 * after it but white space), reading the files it names with reader(ctx, …).
 * @param[out] out  filled on success; on failure zeroed with nothing to free.
 * @return JK_OK; JK_ERR_PARSE (not JSON, an unknown key, a field missing,
 *         mistyped or out of range: diag names the field); what the reader
 *         returns; JK_ERR_NOMEM. Never crashes on any input (fuzzed:
 *         tests/fuzz/fuzz_spec.c). Genesis checks the programs
 *         themselves. */
jk_err jk_spec_file_parse(const char *text, size_t len, jk_spec_reader reader, void *ctx, jk_spec_file *out,
                          jk_diag *diag);

/* Load the spec at `path`: files it names are relative to the spec's folder
 * (or absolute); a program ending in ".c" is compiled with the SDK
 * (jk_sdk_build with `build`, NULL: -O2), any other is a program file.
 * @param[out] out  as jk_spec_file_parse.
 * @return as jk_spec_file_parse, plus JK_ERR_IO (a file cannot be read, the
 *         SDK or its tools are missing, a program does not compile: diag
 *         names the program) and what jk_sdk_build returns. */
jk_err jk_spec_file_load(const char *path, const jk_sdk_options *build, jk_spec_file *out, jk_diag *diag);

/* Free what f holds and zero it. Safe on a zeroed struct. */
void jk_spec_file_free(jk_spec_file *f);

#endif
