/*
 * jark/image.h — image files (docs/image-format.md): one Image with its
 * initial state and endpoint names in a file, built from a JSON manifest,
 * and run one call at a time (`jark image build|run|show` call these).
 *
 * Layer: image sits on kernel (crypto → pvm → cap → kernel → image); the
 * spec layer and the tools use it.
 *
 * An image file holds one Image cap, optionally an initial-state CNode (what
 * `jark image run` gives a fresh instance by genesis), and optionally the
 * names of the Image's endpoints, as the content-addressed objects of
 * jark/cap.h. Reading one goes through jk_cap_load, so a loaded file is as
 * trustworthy as a value loaded from the store: every object is re-hashed,
 * strictly decoded and rebuilt by the ordinary constructors.
 *
 * Three files in src/image:
 *   file.c      the file format: jk_image_file_write / _read, and the same
 *               to and from a path.
 *   manifest.c  the manifest (JSON, json-c).
 *   run.c       running one call.
 */
#ifndef JARK_IMAGE_H
#define JARK_IMAGE_H

#include "jark/cap.h"
#include "jark/err.h"
#include "jark/kernel.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---------------------------------------------------------------------------
 * The file format (docs/image-format.md)
 * ------------------------------------------------------------------------- */

#define JK_IMAGE_FILE_MAGIC "JKIMG\0"           /* 6 bytes, NUL included */
#define JK_IMAGE_FILE_MAGIC_LEN 6
#define JK_IMAGE_FILE_VERSION 1
#define JK_IMAGE_FILE_MAX_OBJECTS (1u << 22)    /* objects in one file */
#define JK_IMAGE_FILE_MAX_OBJECT_LEN (1u << 24) /* bytes in one object */
#define JK_IMAGE_NAME_MAX 63                    /* as program files */

/* What an image file holds. A plain struct (about 16 KiB: keep it off small
 * stacks); the caps are owned by it: release them with jk_image_file_clear. */
typedef struct jk_image_file {
    jk_cap image;          /* an Image */
    jk_cap state;          /* a 256-slot CNode, or the null cap (none) */
    uint32_t name_count;   /* 0 (no names) or the Image's endpoint count */
    char names[JK_CAP_IMAGE_MAX_ENDPOINTS][JK_IMAGE_NAME_MAX + 1];
} jk_image_file;

/* Release the caps f holds and reset it to empty (null caps, no names). Safe
 * on a zeroed struct. */
void jk_image_file_clear(jk_image_file *f);

/* Encode f as an image file.
 * @param[in]  f        borrowed.
 * @param[out] out      malloc'd bytes the caller frees; on failure untouched.
 * @param[out] out_len  their length.
 * @param[out] diag     optional: the reason on failure.
 * @return JK_OK; JK_ERR_INVALID_ARG (image not an Image, state neither null
 *         nor a 256-slot CNode, name_count neither 0 nor the endpoint count,
 *         a name not 1..63 bytes of [A-Za-z0-9_] or repeated);
 *         JK_ERR_CAP_TOO_LARGE (more than JK_IMAGE_FILE_MAX_OBJECTS objects);
 *         JK_ERR_NOMEM. Deterministic: equal values and names give equal
 *         bytes. */
jk_err jk_image_file_write(const jk_image_file *f, uint8_t **out, size_t *out_len,
                           jk_diag *diag);

/* Decode an image file, strictly: the bytes must be exactly what
 * jk_image_file_write makes of the values they name.
 * @param[in]  bytes, len  the file; borrowed for the call only.
 * @param[out] out         filled on success (NEW references; clear it with
 *                         jk_image_file_clear); on failure left empty (null
 *                         caps, no names), whatever it held before is NOT
 *                         released: pass an empty struct.
 * @param[out] diag        optional: a one-line reason on failure.
 * @return JK_OK;
 *         JK_ERR_CAP_DECODE (bad magic or version, truncated, trailing
 *         bytes, a non-canonical natural, a bad endpoint name, an empty or
 *         duplicate object, an object nothing reaches, objects out of
 *         canonical order, a root of the wrong kind, names not matching the
 *         endpoint count);
 *         JK_ERR_CAP_TOO_LARGE (a count or length over the bounds above);
 *         whatever jk_cap_load returns for the objects (JK_ERR_CAP_MISSING
 *         when a named object is absent, e.g. after a changed byte;
 *         JK_ERR_CAP_CORRUPT, JK_ERR_CAP_IMAGE, ...);
 *         JK_ERR_CAP_PINNED (the state collides with a pinned slot);
 *         JK_ERR_NOMEM. Never crashes on any input (fuzzed:
 *         tests/fuzz/fuzz_image.c). */
jk_err jk_image_file_read(const uint8_t *bytes, size_t len, jk_image_file *out,
                          jk_diag *diag);

/* The index of the endpoint called `name`, or -1 (also when f has no names). */
int jk_image_file_find(const jk_image_file *f, const char *name);

/* jk_image_file_write / jk_image_file_read to and from a path, with the
 * same ownership (load: pass an empty struct, clear it after).
 * @return as those, plus JK_ERR_IO (with the path and errno's message). */
jk_err jk_image_file_save(const char *path, const jk_image_file *f, jk_diag *diag);
jk_err jk_image_file_load(const char *path, jk_image_file *out, jk_diag *diag);

/* ---------------------------------------------------------------------------
 * The manifest (manifest.c)
 * ------------------------------------------------------------------------- */

/* Build an image from a manifest (docs/image-format.md, "Manifest"): the
 * program, pins and state files are read relative to the manifest's folder.
 * @param[out] out   filled on success (pass an empty struct; clear it).
 * @param[out] diag  on failure, a reason that names the manifest field.
 * @return JK_OK; JK_ERR_IO (a file cannot be read); JK_ERR_PARSE (malformed
 *         JSON, an unknown key, a missing or mistyped field, a value out of
 *         range); JK_ERR_PVM_BLOB (a bad program file); JK_ERR_CAP_IMAGE /
 *         JK_ERR_CAP_PINNED / other cap errors (the Image or the state does
 *         not validate); JK_ERR_NOMEM. */
jk_err jk_image_manifest_build(const char *manifest_path, jk_image_file *out,
                               jk_diag *diag);

/* ---------------------------------------------------------------------------
 * Running (run.c)
 * ------------------------------------------------------------------------- */

/* One call on a fresh instance: genesis from f's Image and its state (or an
 * empty 256-slot CNode), then jk_kernel_call with a kernel whose debug stream
 * is `debug` (NULL discards it).
 * @param[in]  args   callee φ7..φ9 (NULL: zeros).
 * @param[in]  slot0  borrowed; moved into the callee's slot[0] (null: none).
 * @param[out] res    zeroed first; filled when JK_OK (clear it with
 *                    jk_kernel_result_clear).
 * @param[out] diag   optional: the reason on failure ("genesis: ...",
 *                    "call: ...").
 * @return JK_OK whenever the call ran, whatever its outcome (a guest fault is
 *         res->outcome, not an error);
 *         JK_ERR_INVALID_ARG (endpoint out of range, gas < 0);
 *         genesis refusing f (jk_cap_instance_genesis): JK_ERR_CAP_KIND,
 *         JK_ERR_CAP_INSTANCE (state not 256 slots), JK_ERR_CAP_PINNED (the
 *         state collides with a pinned slot), JK_ERR_CAP_TOO_DEEP;
 *         JK_ERR_NOMEM. */
jk_err jk_image_run(const jk_image_file *f, uint32_t endpoint, int64_t gas,
                    const uint64_t args[3], jk_cap slot0, FILE *debug,
                    jk_kernel_result *res, jk_diag *diag);

/* The line `jark image run` prints (without the newline):
 * outcome=<halt|fault|out-of-gas|yielded> r7=<n> gas_used=<n>
 * slot0=<none|data:<len>:<hex of up to 32 bytes>|cnode:<slots>|image|instance>
 * and, on a fault, ` fault="<message>"`. Truncated to fit buf (size > 0). */
void jk_image_run_line(const jk_kernel_result *res, char *buf, size_t size);

#endif
