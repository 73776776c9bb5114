/* Unit tests for wa/companion_reg: build hash vector, the ClientPayload
 * vector's field numbers, the login payload byte for byte against an
 * independent hand encoding (docs/protocol.md §2.2/§2.4 with whatsmeow's
 * values), and registration payloads round-tripping through the parser
 * that wa-sim uses, with a real signed pre-key signature. */
#include "tap.h"
#include "wa/buf.h"
#include "wa/companion_reg.h"
#include "wa/crypto.h"
#include "wa_handshake.pb-c.h"
#include "wa_util.h"

static int buf_hex_is(const struct wa_buf *b, const char *hex)
{
	uint8_t want[512];
	size_t n = strlen(hex) / 2;

	return n <= sizeof want && wa_hex_decode(hex, want, n) == 0 && b->len == n && memcmp(b->data, want, n) == 0;
}

static void test_build_hash(void)
{
	struct wa_client_info ci = { .version = { 2, 3000, 1035194821 } };
	uint8_t h[16], want[16];
	char s[48];

	wa_app_version_string(&ci, s, sizeof s);
	is_str(s, "2.3000.1035194821", "version string");
	wa_hex_decode("a2c9471eff910a9e1ae659890a28872d", want, 16);
	ok(wa_build_hash(&ci, h) == 0 && memcmp(h, want, 16) == 0, "buildHash = misc vector MD5(2.3000.1035194821)");
	wa_app_version_string(NULL, s, sizeof s);
	is_str(s, "2.3000.1045649367", "default version");
}

static void test_vector_fields(void)
{
	/* protocol.json client_payload_plaintext: username=15551234567,
	 * passive, connectType 1, connectReason 1, device 3, pull */
	WaWa6__ClientPayload p;
	uint8_t buf[64];
	size_t n;

	wa_wa6__client_payload__init(&p);
	p.has_username = 1;
	p.username = 15551234567ull;
	p.has_passive = p.passive = 1;
	p.has_connecttype = 1;
	p.connecttype = WA_WA6__CLIENT_PAYLOAD__CONNECT_TYPE__WIFI_UNKNOWN;
	p.has_connectreason = 1;
	p.connectreason = WA_WA6__CLIENT_PAYLOAD__CONNECT_REASON__USER_ACTIVATED;
	p.has_device = 1;
	p.device = 3;
	p.has_pull = p.pull = 1;
	n = wa_wa6__client_payload__pack(&p, buf);
	{
		struct wa_buf b = { buf, n, n, 0 };
		ok(buf_hex_is(&b, "088784b4f739180160016801900103880201"), "ClientPayload field numbers reproduce the vector");
	}
}

static void test_login(void)
{
	struct wa_buf out = WA_BUF_INIT;
	struct wa_client_payload_info info;

	ok(wa_client_payload_login(NULL, 15551234567ull, 3, &out) == 0, "login payload built");
	ok(buf_hex_is(&out, "088784b4f73918012a38080e120b080210b81718d7afcdf2031a0330303022033030302a03302e3132003a074465736b746f704203302e3150005a02656e620255533202200060016801900103c00101880201c80201"),
	   "login payload = independent encoding of whatsmeow's login payload");
	ok(wa_client_payload_parse(out.data, out.len, &info) == 0, "login payload parses");
	ok(!info.is_registration && info.username == 15551234567ull && info.device == 3 && info.passive && info.pull,
	   "login fields read back");
	ok(info.platform == 14 && info.version[0] == 2 && info.version[1] == 3000 && info.version[2] == 1045649367,
	   "user agent read back");
	is_int(wa_client_payload_login(NULL, 0, 0, &out), -1, "username 0 refused");
	wa_buf_free(&out);

	{
		struct wa_client_info ci = { .push_name = "Gateway" };
		ok(wa_client_payload_login(&ci, 1, 0, &out) == 0 && wa_client_payload_parse(out.data, out.len, &info) == 0 &&
		   strcmp(info.push_name, "Gateway") == 0, "pushName carried");
		wa_buf_free(&out);
	}
}

static void test_registration(void)
{
	struct wa_client_info ci = { .os = "WA-AKG test", .platform_type = WA_PLATFORM_CHROME };
	struct wa_reg_keys k;
	struct wa_buf out = WA_BUF_INIT;
	struct wa_client_payload_info info;
	uint8_t ident_priv[32], spk_priv[32], msg[33], hash[16];

	memset(&k, 0, sizeof k);
	k.registration_id = 0x01020304;
	k.signed_prekey_id = 1;
	wa_x25519_keypair(ident_priv, k.identity_pub);
	wa_x25519_keypair(spk_priv, k.signed_prekey_pub);
	msg[0] = 0x05;
	memcpy(msg + 1, k.signed_prekey_pub, 32);
	wa_xeddsa_sign(ident_priv, msg, 33, k.signed_prekey_sig);

	ok(wa_client_payload_registration(&ci, &k, &out) == 0, "registration payload built");
	ok(wa_client_payload_parse(out.data, out.len, &info) == 0, "registration payload parses");
	ok(info.is_registration && !info.passive && !info.pull && info.username == 0, "registration form");
	ok(info.keys.registration_id == 0x01020304 && info.keys.signed_prekey_id == 1, "regid (be4) and skey id (be3)");
	ok(memcmp(info.keys.identity_pub, k.identity_pub, 32) == 0 &&
	   memcmp(info.keys.signed_prekey_pub, k.signed_prekey_pub, 32) == 0, "keys carried");
	ok(wa_xeddsa_verify(info.keys.identity_pub, msg, 33, info.keys.signed_prekey_sig) == 0,
	   "signed pre-key signature verifies with the carried identity");
	ok(wa_build_hash(&ci, hash) == 0 && memcmp(hash, info.build_hash, 16) == 0, "buildHash carried");
	is_str(info.os, "WA-AKG test", "DeviceProps os decoded");
	is_int(info.platform_type, WA_PLATFORM_CHROME, "DeviceProps platform decoded");

	/* the wire bytes of devicePairingData (field 19 = 0x9a 0x01) */
	{
		static const uint8_t regid_field[] = { 0x0a, 0x04, 0x01, 0x02, 0x03, 0x04, 0x12, 0x01, 0x05 };
		int found = 0;
		for (size_t i = 0; i + sizeof regid_field <= out.len; i++)
			if (memcmp(out.data + i, regid_field, sizeof regid_field) == 0)
				found = 1;
		ok(found, "eRegid = 01020304, eKeytype = 05 on the wire");
	}
	k.signed_prekey_id = 1u << 24;
	is_int(wa_client_payload_registration(&ci, &k, &out), -1, "pre-key id over 24 bits refused");
	wa_buf_free(&out);

	/* parser rejects a registration with a short identity */
	{
		WaWa6__ClientPayload p;
		WaWa6__ClientPayload__DevicePairingRegistrationData d;
		uint8_t buf[256], b4[4] = { 0 }, kt = 5, b3[3] = { 0 }, b32[32] = { 0 }, b64[64] = { 0 }, b16[16] = { 0 };
		size_t n;

		wa_wa6__client_payload__init(&p);
		wa_wa6__client_payload__device_pairing_registration_data__init(&d);
		d.has_eregid = d.has_ekeytype = d.has_eident = d.has_eskeyid = d.has_eskeyval = d.has_eskeysig =
			d.has_buildhash = 1;
		d.eregid = (ProtobufCBinaryData){ 4, b4 };
		d.ekeytype = (ProtobufCBinaryData){ 1, &kt };
		d.eident = (ProtobufCBinaryData){ 31, b32 };
		d.eskeyid = (ProtobufCBinaryData){ 3, b3 };
		d.eskeyval = (ProtobufCBinaryData){ 32, b32 };
		d.eskeysig = (ProtobufCBinaryData){ 64, b64 };
		d.buildhash = (ProtobufCBinaryData){ 16, b16 };
		p.devicepairingdata = &d;
		n = wa_wa6__client_payload__pack(&p, buf);
		is_int(wa_client_payload_parse(buf, n, &info), -1, "31-byte identity rejected");
		d.eident.len = 32;
		n = wa_wa6__client_payload__pack(&p, buf);
		is_int(wa_client_payload_parse(buf, n, &info), 0, "32-byte identity accepted");
		kt = 6;
		n = wa_wa6__client_payload__pack(&p, buf);
		is_int(wa_client_payload_parse(buf, n, &info), -1, "key type other than 0x05 rejected");
	}
	is_int(wa_client_payload_parse((const uint8_t *)"\xff\xff\xff", 3, &info), -1, "garbage rejected");
}

int main(void)
{
	test_build_hash();
	test_vector_fields();
	test_login();
	test_registration();
	return tap_done();
}
