/* fuzz_targets.h — the fuzz targets' entry points. Each is a libFuzzer target
 * (built by `make fuzz` with clang's -fsanitize=fuzzer) and is also called by
 * the unit tests on every file of its corpus (tests/fuzz/corpus/<name>/), so
 * `make test` replays every input that was ever interesting. */
#ifndef JK_FUZZ_TARGETS_H
#define JK_FUZZ_TARGETS_H

#include <stddef.h>
#include <stdint.h>

/* PVM: blob decoding, then execution with a small gas limit on both back
 * ends, which must agree exactly. */
int jk_fuzz_pvm(const uint8_t *data, size_t size);

/* Assembler on arbitrary text; and disassembly of arbitrary blobs, which must
 * assemble back to the same bytes. */
int jk_fuzz_asm(const uint8_t *data, size_t size);

/* SDK: program files, standard programs, and ELF files through the linker. */
int jk_fuzz_sdk(const uint8_t *data, size_t size);

/* Chain: block decoding (a block that decodes must re-encode to the same
 * bytes), the trace codec, key sets. */
int jk_fuzz_block(const uint8_t *data, size_t size);

/* Image files (src/image/file.c): an accepted file must write back to the
 * same bytes. */
int jk_fuzz_image(const uint8_t *data, size_t size);

/* Chain specs (src/spec/parse.c), then genesis from what parses. */
int jk_fuzz_spec(const uint8_t *data, size_t size);

/* Image manifests (src/image/manifest.c), over a folder of real files. */
int jk_fuzz_manifest(const uint8_t *data, size_t size);

/* PVM recompiler against the interpreter: random programs, memory maps,
 * gas and host calls; every observable must agree. */
int jk_fuzz_jit(const uint8_t *data, size_t size);
/* Events files and key files (src/spec/events.c, keys.c): an accepted input
 * must encode back to the same bytes. */
int jk_fuzz_events(const uint8_t *data, size_t size);
/* Example chains (examples/names, sdk/template): events through verify,
 * process and apply; admitted events have their documented shape, and
 * every block imports with the producer's root. */
int jk_fuzz_examples(const uint8_t *data, size_t size);
/* Builds the five chains now (libFuzzer: LLVMFuzzerInitialize), so that no
 * input pays for compiling them. The counters, for the tests: chains built
 * (by the init or by an input), events handled and blocks imported. */
void jk_fuzz_examples_init(void);
extern uint64_t jk_fuzz_examples_builds, jk_fuzz_examples_events, jk_fuzz_examples_blocks;
/* Net: the frame parser over a receive stream, and the token bucket. */
int jk_fuzz_net(const uint8_t *data, size_t size);
/* JSON-RPC bodies (jk_rpc_parse), then answers from a fake node
 * (jk_rpc_answer), which must be JSON and the same bytes twice. */
int jk_fuzz_rpc(const uint8_t *data, size_t size);

/* Server replies as the RPC client decodes them (jk_rpc_reply_decode). */
int jk_fuzz_rpc_reply(const uint8_t *data, size_t size);
/* Node: the LMDB meta-page check of a validator store's data.mdb. */
int jk_fuzz_store(const uint8_t *data, size_t size);
/* Cap: the store's CNode group records (jk_cap_load_grouped). */
int jk_fuzz_cap_groups(const uint8_t *data, size_t size);
/* Node: the signed-vote log's decoder (jk_node_votelog_decode). */
int jk_fuzz_votelog(const uint8_t *data, size_t size);
/* Chain: the dispatch-queue record's decoder (jk_chain_queue_decode). */
int jk_fuzz_queue(const uint8_t *data, size_t size);
/* Consensus: message, certificate and record decoders (accepted bytes must
 * re-encode identically), then a state machine fed a message sequence. */
int jk_fuzz_consensus(const uint8_t *data, size_t size);
/* Kernel: random host-call programs on a state in memory and the same state
 * reloaded from its objects; the kernel never fails and both decide alike. */
int jk_fuzz_kernel(const uint8_t *data, size_t size);

/* The BLAKE2b implementations against libsodium: one-shots, four lanes cut
 * from the input, the streaming hasher (tests/fuzz/fuzz_blake2b.c). */
int jk_fuzz_blake2b(const uint8_t *data, size_t size);

#endif
