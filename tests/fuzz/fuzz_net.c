/*
 * fuzz_net.c — fuzz target over the net layer's frame parser
 * (jk_net_frame_parse), the one decoder of untrusted bytes in src/net, and
 * its token bucket.
 *
 * Input: 12 bytes of per-kind bounds (three u32 LE, each clamped to
 * JK_NET_MAX_FRAME), then a receive stream. The stream is walked frame by
 * frame as a connection would. Rules:
 *   - a whole frame has a known kind, a length within its bound, fits in the
 *     stream, and its header re-encodes to the same 5 bytes;
 *   - INCOMPLETE happens only when the rest of the stream is shorter than
 *     the frame; a refusal carries a message and a documented code;
 *   - every prefix of a frame gives INCOMPLETE or the very same refusal (a
 *     refusal never needs more than the header: an oversize frame is refused
 *     before its payload arrives).
 * Then the stream's bytes drive a token bucket: it never holds more than its
 * burst, and take never succeeds without the tokens. And the stream's first
 * bytes, as text, go to the peer parser (jk_net_peer_parse): what it accepts
 * prints back to the same text (hex digits aside, in lowercase), what it
 * refuses it refuses with a message.
 */
#include "fuzz_targets.h"

#include "jark/net.h"
#include "../../src/net/internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void jk_fuzz_fail(const char *what, const char *detail)
{
    fprintf(stderr, "fuzz_net: %s: %s\n", what, detail ? detail : "");
    abort();
}

static uint32_t jk_fuzz_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void jk_fuzz_frames(const uint32_t max[JK_NET_KINDS], const uint8_t *s, size_t n)
{
    size_t off = 0;
    while (off < n) {
        jk_net_kind kind;
        uint32_t len;
        jk_diag diag = {{0}};
        jk_err err = jk_net_frame_parse(s + off, n - off, max, &kind, &len, &diag);
        /* Every shorter view of the same bytes agrees (checked on a bounded
         * number of prefixes to keep the target fast). */
        size_t whole = err == JK_OK ? JK_NET_FRAME_HEADER + (size_t)len : n - off;
        size_t limit = whole < 64 ? whole : 64;
        for (size_t k = 0; k < limit; k++) {
            jk_net_kind k2;
            uint32_t l2;
            jk_err e2 = jk_net_frame_parse(s + off, k, max, &k2, &l2, NULL);
            if (e2 == JK_OK)
                jk_fuzz_fail("a prefix parses as a whole frame", NULL);
            if (e2 != JK_ERR_NET_INCOMPLETE && e2 != err)
                jk_fuzz_fail("a prefix is refused differently", jk_strerror(e2));
        }
        if (err == JK_ERR_NET_INCOMPLETE) {
            if (n - off >= JK_NET_FRAME_HEADER &&
                n - off - JK_NET_FRAME_HEADER >= jk_fuzz_u32(s + off + 1))
                jk_fuzz_fail("incomplete although the frame is whole", NULL);
            return;
        }
        if (err != JK_OK) {
            if (!diag.msg[0])
                jk_fuzz_fail("refusal without a message", jk_strerror(err));
            if (err != JK_ERR_NET_FRAME && err != JK_ERR_NET_TOO_LARGE)
                jk_fuzz_fail("refusal with an undocumented code", jk_strerror(err));
            if (err == JK_ERR_NET_FRAME && s[off] < JK_NET_KINDS)
                jk_fuzz_fail("a known kind refused as malformed", diag.msg);
            return; /* the connection would be dropped here */
        }
        if ((unsigned)kind >= JK_NET_KINDS || len > max[kind] ||
            n - off - JK_NET_FRAME_HEADER < len)
            jk_fuzz_fail("an accepted frame breaks a bound", NULL);
        uint8_t hdr[JK_NET_FRAME_HEADER];
        jk_net_frame_header(kind, len, hdr);
        if (memcmp(hdr, s + off, sizeof hdr) != 0)
            jk_fuzz_fail("the header does not re-encode", NULL);
        off += JK_NET_FRAME_HEADER + (size_t)len;
    }
}

static void jk_fuzz_bucket(const uint8_t *s, size_t n)
{
    if (n < 8)
        return;
    uint32_t rate = jk_fuzz_u32(s);
    uint64_t burst = jk_fuzz_u32(s + 4) % 100000 + 1;
    jk_net_bucket b;
    jk_net_bucket_init(&b, burst, 0);
    uint64_t now = 0;
    for (size_t i = 8; i + 4 <= n && i < 1024; i += 4) {
        uint32_t v = jk_fuzz_u32(s + i);
        if (v & 1) {
            now += v >> 8; /* also huge jumps */
            jk_net_bucket_refill(&b, rate, burst, (v & 2) ? now : now / 2);
        } else {
            uint64_t want = (v >> 1) % (burst + 2);
            bool had = jk_net_bucket_has(&b, want);
            uint64_t before = b.milli;
            if (jk_net_bucket_take(&b, want) != had)
                jk_fuzz_fail("take disagrees with has", NULL);
            if (had && before - b.milli != want * 1000)
                jk_fuzz_fail("take removed the wrong amount", NULL);
        }
        if (b.milli > burst * 1000)
            jk_fuzz_fail("bucket over its burst", NULL);
    }
}

static void jk_fuzz_peer(const uint8_t *s, size_t n)
{
    char text[160], host[16], back[200];
    size_t len = n < sizeof text - 1 ? n : sizeof text - 1;
    memcpy(text, s, len);
    text[len] = '\0';
    jk_net_peer_config pc;
    jk_diag diag = {{0}};
    jk_err err = jk_net_peer_parse(text, &pc, host, &diag);
    if (err != JK_OK) {
        if (err != JK_ERR_PARSE || !diag.msg[0])
            jk_fuzz_fail("peer refused without JK_ERR_PARSE and a message", jk_strerror(err));
        return;
    }
    struct in_addr a;
    char canon[INET_ADDRSTRLEN];
    if (pc.host != host || pc.port == 0 || inet_pton(AF_INET, host, &a) != 1 ||
        !inet_ntop(AF_INET, &a, canon, sizeof canon) || strcmp(canon, host) != 0)
        jk_fuzz_fail("an accepted peer has a bad address or port", text);
    int k = snprintf(back, sizeof back, "%s:%u", host, pc.port);
    if (!pc.any_key) {
        back[k++] = '@';
        for (size_t i = 0; i < JK_NET_KEY_SIZE; i++)
            k += snprintf(back + k, sizeof back - (size_t)k, "%02x", pc.key[i]);
    }
    for (char *c = text; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    if (strcmp(back, text) != 0)
        jk_fuzz_fail("an accepted peer does not print back to its text", text);
}

int jk_fuzz_net(const uint8_t *data, size_t size)
{
    uint32_t max[JK_NET_KINDS] = {0, 0, 0};
    size_t head = 4 * JK_NET_KINDS;
    if (size < head)
        return 0;
    for (int k = 0; k < JK_NET_KINDS; k++) {
        max[k] = jk_fuzz_u32(data + 4 * k);
        if (max[k] > JK_NET_MAX_FRAME)
            max[k] %= JK_NET_MAX_FRAME + 1;
    }
    jk_fuzz_frames(max, data + head, size - head);
    jk_fuzz_bucket(data + head, size - head);
    jk_fuzz_peer(data + head, size - head);
    return 0;
}

#ifdef JK_FUZZ_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return jk_fuzz_net(data, size);
}
#endif
