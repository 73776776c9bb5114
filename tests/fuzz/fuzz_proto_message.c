// fuzz-sources: common/wa_err.c wa/pbsafe.c proto/wa_e2e.pb-c.c proto/wa_adv.pb-c.c proto/wa_history.pb-c.c proto/wa_server_sync.pb-c.c
/* fuzz_proto_message: hostile plaintexts as waE2E.Message (what a decrypted
 * <enc> holds), and as the other WhatsApp protobufs we unpack from the
 * network (waHistorySync.HistorySync, the waAdv pairing messages: the
 * HMAC wrapper, the signed identity and its details, the key-index lists;
 * waServerSync.ExternalBlobReference, a snapshot/mutations blob pointer).
 * Unpacking goes through wa_pb_unpack() (depth-bounded). Property: once
 * unpacked, pack -> unpack -> pack is byte-stable (unknown fields included). */
#include "fuzz.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wa/pbsafe.h"
#include "wa_adv.pb-c.h"
#include "wa_e2e.pb-c.h"
#include "wa_history.pb-c.h"
#include "wa_server_sync.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void stable(const ProtobufCMessageDescriptor *d, const uint8_t *data, size_t size)
{
	ProtobufCMessage *m = wa_pb_unpack(d, data, size, WA_PB_MAX_DEPTH), *m2;
	uint8_t *a, *b;
	size_t na, nb;

	if (m == NULL)
		return;
	na = protobuf_c_message_get_packed_size(m);
	a = malloc(na + 1);
	if (a == NULL)
		abort();
	if (protobuf_c_message_pack(m, a) != na)
		abort();
	m2 = wa_pb_unpack(d, a, na, WA_PB_MAX_DEPTH);
	if (m2 == NULL)
		abort();
	nb = protobuf_c_message_get_packed_size(m2);
	b = malloc(nb + 1);
	if (b == NULL)
		abort();
	if (protobuf_c_message_pack(m2, b) != nb || nb != na || memcmp(a, b, na) != 0)
		abort();
	free(a);
	free(b);
	protobuf_c_message_free_unpacked(m2, NULL);
	protobuf_c_message_free_unpacked(m, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	stable(&wa_e2_e__message__descriptor, data, size);
	stable(&wa_history_sync__history_sync__descriptor, data, size);
	stable(&wa_adv__advsigned_device_identity_hmac__descriptor, data, size);
	stable(&wa_adv__advsigned_device_identity__descriptor, data, size);
	stable(&wa_adv__advdevice_identity__descriptor, data, size);
	stable(&wa_adv__advsigned_key_index_list__descriptor, data, size);
	stable(&wa_adv__advkey_index_list__descriptor, data, size);
	stable(&wa_server_sync__external_blob_reference__descriptor, data, size);
	return 0;
}
