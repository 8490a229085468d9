/*
 * keys.c — Ed25519 key files (docs/keys.md): three lines of text, written
 * with mode 0600 and never over an existing file.
 */
#include "jark/bytes.h"
#include "jark/crypto.h"
#include "jark/spec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

static const char jk_key_magic[] = "jark-ed25519-key v1\n";

static jk_err jk_key_from_seed(const uint8_t seed[JK_ED25519_SEED_SIZE], jk_spec_key *out)
{
    jk_err err = jk_crypto_init();
    if (err == JK_OK)
        err = jk_crypto_ed25519_keypair_from_seed(seed, out->public_key, out->secret);
    return err;
}

jk_err jk_spec_key_generate(jk_spec_key *out)
{
    uint8_t seed[JK_ED25519_SEED_SIZE];
    size_t got = 0;
    while (got < sizeof seed) {
        ssize_t n = getrandom(seed + got, sizeof seed - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return JK_ERR_CRYPTO_INIT;
        got += (size_t)n;
    }
    jk_err err = jk_key_from_seed(seed, out);
    jk_crypto_wipe(seed, sizeof seed);
    return err;
}

void jk_spec_key_format(const jk_spec_key *k, char out[JK_SPEC_KEY_TEXT_LEN + 1])
{
    char *p = out;
    memcpy(p, jk_key_magic, 20);
    p += 20;
    memcpy(p, "seed ", 5);
    jk_hex_encode(k->secret, JK_ED25519_SEED_SIZE, p + 5);
    p[69] = '\n';
    p += 70;
    memcpy(p, "public ", 7);
    jk_hex_encode(k->public_key, JK_ED25519_PUBLIC_SIZE, p + 7);
    p[71] = '\n';
    p[72] = 0;
}

/* Exactly 64 lower-case hex digits at text into 32 bytes. */
static bool jk_hex_get(const uint8_t *text, uint8_t out[32])
{
    for (int i = 0; i < 64; i++) {
        uint8_t c = text[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0)
            return false;
        if (i % 2 == 0)
            out[i / 2] = (uint8_t)(v << 4);
        else
            out[i / 2] |= (uint8_t)v;
    }
    return true;
}

jk_err jk_spec_key_parse(const uint8_t *text, size_t len, jk_spec_key *out, jk_diag *diag)
{
    uint8_t seed[32], pub[32];
    if (len < 20 || memcmp(text, jk_key_magic, 20) != 0)
        return jk_diag_set(diag, JK_ERR_PARSE, "line 1: not 'jark-ed25519-key v1' (not a jark key file)");
    if (len < 90 || memcmp(text + 20, "seed ", 5) != 0 || !jk_hex_get(text + 25, seed) || text[89] != '\n') {
        jk_crypto_wipe(seed, sizeof seed); /* a bad digit late in the line leaves most of the seed */
        return jk_diag_set(diag, JK_ERR_PARSE, "line 2: not 'seed <64 lower-case hex digits>'");
    }
    if (len < 162 || memcmp(text + 90, "public ", 7) != 0 || !jk_hex_get(text + 97, pub) || text[161] != '\n') {
        jk_crypto_wipe(seed, sizeof seed);
        return jk_diag_set(diag, JK_ERR_PARSE, "line 3: not 'public <64 lower-case hex digits>'");
    }
    if (len != JK_SPEC_KEY_TEXT_LEN) {
        jk_crypto_wipe(seed, sizeof seed);
        return jk_diag_set(diag, JK_ERR_PARSE, "text after line 3");
    }
    jk_err err = jk_key_from_seed(seed, out);
    jk_crypto_wipe(seed, sizeof seed);
    if (err != JK_OK)
        return jk_diag_set(diag, err, "%s", jk_strerror(err));
    if (memcmp(pub, out->public_key, 32) != 0) {
        jk_crypto_wipe(out, sizeof *out);
        return jk_diag_set(diag, JK_ERR_PARSE, "line 3: the public key is not the seed's");
    }
    return JK_OK;
}

jk_err jk_spec_key_save(const char *path, const jk_spec_key *k, jk_diag *diag)
{
    char text[JK_SPEC_KEY_TEXT_LEN + 1];
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        return jk_diag_set(diag, JK_ERR_IO, "%s: %s%s", path, strerror(errno),
                           errno == EEXIST ? " (a key file is never overwritten)" : "");
    jk_spec_key_format(k, text);
    bool ok = write(fd, text, JK_SPEC_KEY_TEXT_LEN) == (ssize_t)JK_SPEC_KEY_TEXT_LEN;
    jk_crypto_wipe(text, sizeof text);
    if (close(fd) != 0)
        ok = false;
    if (!ok) {
        unlink(path);
        return jk_diag_set(diag, JK_ERR_IO, "cannot write %s", path);
    }
    return JK_OK;
}

jk_err jk_spec_key_load(const char *path, jk_spec_key *out, jk_diag *diag)
{
    uint8_t *text;
    size_t len;
    jk_err err = jk_read_file(path, &text, &len, diag);
    if (err != JK_OK)
        return err;
    jk_diag d = {{0}};
    err = jk_spec_key_parse(text, len, out, &d);
    jk_crypto_wipe(text, len);
    free(text);
    if (err != JK_OK)
        jk_diag_set(diag, err, "%s: %s", path, d.msg);
    return err;
}
