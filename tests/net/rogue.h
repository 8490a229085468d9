/*
 * rogue.h — a misbehaving peer for tests: it speaks the protocol (TLS 1.3,
 * a self-signed Ed25519 certificate, the chain's ALPN) and then sends whatever
 * bytes the test asks for: malformed frames, oversize frames, floods.
 *
 * It is non-blocking, so one test thread can drive it next to the jk_net it
 * attacks: call jk_rogue_pump between jk_net_step calls. Reused by the node's
 * tests.
 *
 * Over TLS/TCP it is its own TLS client (any server certificate accepted), so
 * it can also send what a jk_net never would before or around framing. Over
 * QUIC it is a jk_net whose streams it writes raw bytes into (a frame goes on
 * its kind's stream; raw bytes on the stream of the last frame, stream 0 at
 * first), with its own clock advancing 1 ms per pump.
 */
#ifndef JK_TEST_ROGUE_H
#define JK_TEST_ROGUE_H

#include "jark/net.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct jk_rogue jk_rogue;

/* Start connecting to 127.0.0.1:port (a node with key victim) as key sk
 * (64 bytes) on the chain with this genesis hash. NULL on failure. */
jk_rogue *jk_rogue_connect(jk_net_transport t, uint16_t port,
                           const uint8_t victim[JK_NET_KEY_SIZE],
                           const uint8_t sk[JK_NET_SECRET_SIZE], const uint8_t genesis[32]);

/* Progress the handshake, send queued bytes, read and drop what arrives.
 * @return 1 once the handshake is done and the connection open; 0 while in
 *         progress; -1 when the connection failed or was closed by the peer. */
int jk_rogue_pump(jk_rogue *r);

/* jk_rogue_pump n times, 250 µs apart (about n/4 ms against a running
 * node); false as soon as the connection failed or the peer closed it. */
bool jk_rogue_pump_for(jk_rogue *r, int n);

/* Queue raw plaintext bytes (sent inside TLS once the handshake is done). */
void jk_rogue_send_raw(jk_rogue *r, const void *data, size_t n);

/* Queue a frame whose header claims `claimed` bytes, followed by n payload
 * bytes (the payload is `fill` repeated). */
void jk_rogue_send_frame(jk_rogue *r, uint8_t kind, uint32_t claimed, size_t n, uint8_t fill);

/* Bytes not yet handed to the socket (TCP) or to QUIC. */
size_t jk_rogue_pending(const jk_rogue *r);

void jk_rogue_close(jk_rogue *r);

/* jk_rogue_connect over QUIC, then pump until the connection is open
 * (bounded: about 4 s of pumping). NULL when it failed or did not open. */
jk_rogue *jk_rogue_open(uint16_t port, const uint8_t victim[JK_NET_KEY_SIZE],
                        const uint8_t sk[JK_NET_SECRET_SIZE], const uint8_t genesis[32]);

#endif
