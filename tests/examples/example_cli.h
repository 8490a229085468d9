/* example_cli.h — an example chain driven through the `jark` commands, as
 * its README drives it: a copy of its folder with the validator's key in the
 * spec, key files of fixed seeds, events signed with `jark event sign`, and
 * `jark devnet` on a given engine. For tests that run an example on both
 * engines (test_auction.c, test_multisig.c). Each helper records a test
 * failure and returns false (or -1) when a step fails. */
#ifndef JK_TESTS_EXAMPLE_CLI_H
#define JK_TESTS_EXAMPLE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A key file (docs/keys.md) DIR/NAME for the key of seed byte `s`
 * (jk_ex_key_of(s)); its public key in hex to pub_hex (optional). */
bool jk_ex_write_key(const char *dir, const char *name, uint8_t s, char pub_hex[65]);

/* Copy examples/EXAMPLE/FILES[i] into DIR; in the file named `spec`, the
 * validator placeholder (64 zeros) becomes the public key of seed byte
 * `validator_seed`, whose key file is DIR/validator.key. */
bool jk_ex_copy_example(const char *dir, const char *example, const char *const *files, size_t n,
                        const char *spec, uint8_t validator_seed);

/* `jark chain genesis DIR/SPEC`: the genesis hash into g. */
bool jk_ex_genesis_hex(const char *dir, const char *spec, char g[65]);

/* `jark event sign --genesis G --key DIR/KEYS[0] [--attest DIR/KEYS[i]:DIR/BLOB]...
 * --endpoint EP --blob DIR/BLOB -o DIR/events --append`: one event, signed
 * by every key given (at most 8), appended to DIR/events. */
bool jk_ex_sign(const char *dir, const char *g, const char *const *keys, size_t nkeys, const char *endpoint,
                const char *blob);

/* `jark devnet --engine ENGINE --spec DIR/SPEC --validator-key
 * DIR/validator.key --events DIR/events --events-per-block 2 --blocks BLOCKS
 * --dir DIR/net-ENGINE`: its exit status (-1 when the output has no final
 * state root); the root's hex into root, the output into out. */
int jk_ex_devnet_root(const char *dir, const char *spec, const char *engine, const char *blocks, char root[65],
                      char *out, size_t cap);

#endif
