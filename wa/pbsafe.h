/* pbsafe: bounded unpacking of untrusted protobuf bytes (protobuf-c).
 *
 * protobuf-c's unpack recurses once per nested message with no limit, and
 * WhatsApp's Message type nests itself (quoted messages, FutureProof
 * wrappers, edits, device-sent copies), so a small hostile payload could
 * exhaust the stack. wa_pb_check() walks the wire format guided by the
 * message descriptor - without allocating - and rejects nesting deeper than
 * max_depth and broken framing; wa_pb_unpack() runs it before unpacking.
 *
 * Pure functions, thread-safe. Results of wa_pb_unpack() are freed with
 * protobuf_c_message_free_unpacked(msg, NULL) (or the typed
 * <type>__free_unpacked). */
#ifndef WA_PBSAFE_H
#define WA_PBSAFE_H

#include <stddef.h>
#include <stdint.h>
#include <protobuf-c/protobuf-c.h>

/* Comfortably above real traffic (a device-sent, ephemeral, quoted reply is
 * about a dozen levels). */
#define WA_PB_MAX_DEPTH 32

/* 0 if data is well-framed protobuf whose message-typed fields nest at most
 * max_depth levels (the top message is level 1); -1 otherwise. Groups
 * (wire types 3/4) are rejected, as protobuf-c does. */
int wa_pb_check(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
		unsigned max_depth);

/* wa_pb_check() then protobuf_c_message_unpack(); NULL on any failure
 * (including out of memory or missing required fields). */
ProtobufCMessage *wa_pb_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *data,
			       size_t len, unsigned max_depth);

#endif
