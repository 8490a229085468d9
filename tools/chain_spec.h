/* chain_spec.h — reading a chain-spec file (docs/chain-spec.md) into a
 * jk_chain_spec, compiling C programs it names with the SDK. */
#ifndef JK_TOOLS_CHAIN_SPEC_H
#define JK_TOOLS_CHAIN_SPEC_H

#include "jark/chain.h"

typedef struct jk_spec_file {
    jk_chain_spec spec;  /* points into the storage below */
    uint8_t *programs[5 + JK_CHAIN_MAX_DISPATCH_ENDPOINTS];
    uint32_t *state_slots;
    uint8_t **state_data;
    size_t state_cap;    /* entries of state_slots / state_data / state_len */
    size_t *state_len;
    uint8_t (*validators)[JK_ED25519_PUBLIC_SIZE];
} jk_spec_file;

/* Read a file a spec names: a program (program = true) or state data.
 * @return 0 with *out malloc'd (the spec file owns it), or -1 with the reason
 *         in err. */
typedef int (*jk_spec_reader)(void *ctx, const char *name, bool program, uint8_t **out, size_t *len, char *err,
                              size_t err_len);

/* Parse a chain spec from text[0..len) (JSON; nothing may follow the
 * object), reading the files it names with reader(ctx, ...).
 * @return 0, or -1 with the reason (naming the field) in err; on failure
 *         nothing is left to free. */
int jk_spec_file_parse(const char *text, size_t len, jk_spec_reader reader, void *ctx, jk_spec_file *out,
                       char *err, size_t err_len);

/* Write the reason into err (printf style) and return -1. */
__attribute__((format(printf, 3, 4)))
int jk_spec_fail(char *err, size_t len, const char *fmt, ...);

/* Load `path`: a JSON chain spec. Program paths are relative to the spec's
 * directory; a path ending in ".c" is compiled with `jark cc -O2` first.
 * @return 0, or -1 with the reason (naming the field) in err. */
int jk_spec_file_load(const char *path, jk_spec_file *out, char *err, size_t err_len);
void jk_spec_file_free(jk_spec_file *f);

/* `jark chain genesis SPEC`: print the genesis hash and state root. */
int jk_tool_chain(int argc, char **argv);

#endif
