/* test_proto: the WhatsApp wire protobufs (proto/wa_e2e, wa_adv,
 * wa_history) and the bounded unpacker (wa/pbsafe.h).
 *
 * - ADV pairing blobs from tests/vectors/protocol.json are produced byte for
 *   byte and parse back (docs/protocol.md §15.6), so are the poll vote plaintext
 *   (§15.8);
 * - hand-made bytes pin the field numbers of docs/protocol.md §7.6 (text, reply,
 *   mention, forward, media, poll, reaction, revoke, edit, device-sent,
 *   SKDM, ephemeral wrapper, history-sync notification, key share);
 * - unknown fields survive unpack + re-pack;
 * - the HistorySync required fields are enforced by unpack;
 * - wa_pb_check() / wa_pb_unpack() reject over-deep nesting and bad framing. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "wa/pbsafe.h"
#include "wa_adv.pb-c.h"
#include "wa_e2e.pb-c.h"
#include "wa_history.pb-c.h"
#include "wa_util.h"

static json_t *vectors;

static const char *vec(const char *sect, const char *key)
{
	return json_string_value(json_object_get(json_object_get(vectors, sect), key));
}

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = hex ? strlen(hex) / 2 : 0;

	if (n > cap || wa_hex_decode(hex, out, n) < 0)
		return 0;
	return n;
}

/* Pack m and compare with hex. */
static void packs_to(const ProtobufCMessage *m, const char *want, const char *name)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(n + 1);
	char *hex = malloc(2 * n + 1);

	protobuf_c_message_pack(m, buf);
	wa_hex_encode(buf, n, hex);
	is_str(hex, want, name);
	free(hex);
	free(buf);
}

static ProtobufCBinaryData bin(const uint8_t *p, size_t n)
{
	ProtobufCBinaryData b = { n, (uint8_t *)p };

	return b;
}

static void test_adv(void)
{
	uint8_t details[64], apub[32], asig[64], dsig[64], mac[32], blob[512];
	size_t dn, bn;
	WaAdv__ADVDeviceIdentity di = WA_ADV__ADVDEVICE_IDENTITY__INIT;
	WaAdv__ADVSignedDeviceIdentity sdi = WA_ADV__ADVSIGNED_DEVICE_IDENTITY__INIT;
	WaAdv__ADVSignedDeviceIdentityHMAC h = WA_ADV__ADVSIGNED_DEVICE_IDENTITY_HMAC__INIT;
	uint8_t sdibuf[256];
	size_t sdilen;

	di.has_rawid = 1;
	di.rawid = 123456;
	di.has_timestamp = 1;
	di.timestamp = 1700000000;
	di.has_keyindex = 1;
	di.keyindex = 7;
	packs_to(&di.base, vec("pairing", "adv_device_identity_details"), "ADVDeviceIdentity vector");

	dn = unhex(vec("pairing", "adv_device_identity_details"), details, sizeof details);
	unhex(vec("pairing", "primary_account_pub"), apub, sizeof apub);
	unhex(vec("pairing", "account_signature(random 0x44*64)"), asig, sizeof asig);
	unhex(vec("pairing", "device_signature(random 0x55*64)"), dsig, sizeof dsig);
	unhex(vec("pairing", "hmac_sha256(advSecret, signedDeviceIdentity)"), mac, sizeof mac);

	sdi.has_details = 1;
	sdi.details = bin(details, dn);
	sdi.has_accountsignaturekey = 1;
	sdi.accountsignaturekey = bin(apub, 32);
	sdi.has_accountsignature = 1;
	sdi.accountsignature = bin(asig, 64);
	packs_to(&sdi.base, vec("pairing", "adv_signed_device_identity"), "ADVSignedDeviceIdentity vector");
	sdilen = wa_adv__advsigned_device_identity__pack(&sdi, sdibuf);

	h.has_details = 1;
	h.details = bin(sdibuf, sdilen);
	h.has_hmac = 1;
	h.hmac = bin(mac, 32);
	packs_to(&h.base, vec("pairing", "pair_success_device_identity_blob(ADVSignedDeviceIdentityHMAC)"),
		 "ADVSignedDeviceIdentityHMAC vector");

	/* pair-device-sign content: without accountSignatureKey, with deviceSignature */
	sdi.has_accountsignaturekey = 0;
	sdi.has_devicesignature = 1;
	sdi.devicesignature = bin(dsig, 64);
	packs_to(&sdi.base, vec("pairing", "pair_device_sign_blob(no accountSignatureKey)"),
		 "pair-device-sign blob vector");

	/* parse the pair-success blob back down to ADVDeviceIdentity */
	bn = unhex(vec("pairing", "pair_success_device_identity_blob(ADVSignedDeviceIdentityHMAC)"), blob, sizeof blob);
	{
		WaAdv__ADVSignedDeviceIdentityHMAC *ph = wa_adv__advsigned_device_identity_hmac__unpack(NULL, bn, blob);
		WaAdv__ADVSignedDeviceIdentity *ps = NULL;
		WaAdv__ADVDeviceIdentity *pd = NULL;

		ok(ph && ph->has_details && ph->has_hmac && ph->hmac.len == 32 && !ph->has_accounttype,
		   "unpack ADVSignedDeviceIdentityHMAC");
		if (ph)
			ps = wa_adv__advsigned_device_identity__unpack(NULL, ph->details.len, ph->details.data);
		ok(ps && ps->accountsignaturekey.len == 32 && ps->accountsignature.len == 64 && !ps->has_devicesignature,
		   "unpack ADVSignedDeviceIdentity");
		if (ps)
			pd = wa_adv__advdevice_identity__unpack(NULL, ps->details.len, ps->details.data);
		ok(pd && pd->rawid == 123456 && pd->timestamp == 1700000000 && pd->keyindex == 7 &&
		   !pd->has_accounttype && !pd->has_devicetype, "unpack ADVDeviceIdentity");
		wa_adv__advdevice_identity__free_unpacked(pd, NULL);
		wa_adv__advsigned_device_identity__free_unpacked(ps, NULL);
		wa_adv__advsigned_device_identity_hmac__free_unpacked(ph, NULL);
	}
	{
		WaAdv__ADVKeyIndexList kl = WA_ADV__ADVKEY_INDEX_LIST__INIT;
		uint32_t idx[] = { 0, 3 };

		kl.has_rawid = 1;
		kl.rawid = 1;
		kl.n_validindexes = 2;
		kl.validindexes = idx;
		/* rawID=1, validIndexes packed: 22 02 00 03 */
		packs_to(&kl.base, "080122020003", "ADVKeyIndexList packed validIndexes");
	}
}

static void test_poll(void)
{
	uint8_t h[32];
	ProtobufCBinaryData opt;
	WaE2E__PollVoteMessage v = WA_E2_E__POLL_VOTE_MESSAGE__INIT;

	unhex(vec("poll_vote", "option_hash_sha256('Yes')"), h, sizeof h);
	opt = bin(h, 32);
	v.n_selectedoptions = 1;
	v.selectedoptions = &opt;
	packs_to(&v.base, vec("poll_vote", "vote_plaintext(PollVoteMessage)"), "PollVoteMessage vector");
}

/* Field numbers of docs/protocol.md §7.6, each checked against hand-made bytes. */
static void test_message_fields(void)
{
	WaE2E__Message m = WA_E2_E__MESSAGE__INIT, q = WA_E2_E__MESSAGE__INIT;
	WaE2E__ExtendedTextMessage et = WA_E2_E__EXTENDED_TEXT_MESSAGE__INIT;
	WaE2E__ContextInfo ci = WA_E2_E__CONTEXT_INFO__INIT;
	char *mentions[] = { "1@s.whatsapp.net" };

	m.conversation = "hi";
	packs_to(&m.base, "0a026869", "conversation = 1");

	/* reply + mention + forward */
	q.conversation = "q";
	ci.stanzaid = "ID";
	ci.participant = "p";
	ci.quotedmessage = &q;
	ci.n_mentionedjid = 1;
	ci.mentionedjid = mentions;
	ci.has_forwardingscore = 1;
	ci.forwardingscore = 2;
	ci.has_isforwarded = 1;
	ci.isforwarded = 1;
	ci.has_expiration = 1;
	ci.expiration = 86400;
	et.text = "t";
	et.contextinfo = &ci;
	m.conversation = NULL;
	m.extendedtextmessage = &et;
	/* 32 2f { 0a 01 't', 8a 01 29 { 0a 02 'ID', 12 01 'p', 1a 03 {0a 01 'q'},
	 *   7a 10 "1@s.whatsapp.net", a8 01 02, b0 01 01, c8 01 80 a3 05 } } */
	packs_to(&m.base,
		 "322f" "0a0174" "8a0129" "0a024944" "120170" "1a030a0171"
		 "7a10" "3140732e77686174736170702e6e6574" "a80102" "b00101" "c80180a305",
		 "extendedText text=1 contextInfo=17 {stanzaID 1, participant 2, quoted 3, mentionedJID 15, "
		 "forwardingScore 21, isForwarded 22, expiration 25}");

	/* image message fields */
	{
		WaE2E__ImageMessage im = WA_E2_E__IMAGE_MESSAGE__INIT;
		WaE2E__Message mm = WA_E2_E__MESSAGE__INIT;
		uint8_t k = 0xAA;

		im.url = "u";
		im.mimetype = "m";
		im.caption = "c";
		im.has_filesha256 = 1;
		im.filesha256 = bin(&k, 1);
		im.has_filelength = 1;
		im.filelength = 5;
		im.has_height = 1;
		im.height = 6;
		im.has_width = 1;
		im.width = 7;
		im.has_mediakey = 1;
		im.mediakey = bin(&k, 1);
		im.has_fileencsha256 = 1;
		im.fileencsha256 = bin(&k, 1);
		im.directpath = "d";
		im.has_mediakeytimestamp = 1;
		im.mediakeytimestamp = 12;
		im.has_jpegthumbnail = 1;
		im.jpegthumbnail = bin(&k, 1);
		im.has_viewonce = 1;
		im.viewonce = 1;
		mm.imagemessage = &im;
		packs_to(&mm.base,
			 "1a24" "0a0175" "12016d" "1a0163" "2201aa" "2805" "3006" "3807" "4201aa" "4a01aa"
			 "5a0164" "600c" "8201" "01aa" "c80101",
			 "imageMessage 3 {URL 1, mimetype 2, caption 3, fileSHA256 4, fileLength 5, height 6, "
			 "width 7, mediaKey 8, fileEncSHA256 9, directPath 11, mediaKeyTimestamp 12, "
			 "JPEGThumbnail 16, viewOnce 25}");
	}
	/* audio ptt, video/gif, document, sticker, location, contact(s) top-level numbers */
	{
		WaE2E__Message mm = WA_E2_E__MESSAGE__INIT;
		WaE2E__AudioMessage au = WA_E2_E__AUDIO_MESSAGE__INIT;
		WaE2E__VideoMessage vi = WA_E2_E__VIDEO_MESSAGE__INIT;
		WaE2E__DocumentMessage doc = WA_E2_E__DOCUMENT_MESSAGE__INIT;
		WaE2E__StickerMessage st = WA_E2_E__STICKER_MESSAGE__INIT;
		WaE2E__LocationMessage lo = WA_E2_E__LOCATION_MESSAGE__INIT;
		WaE2E__ContactMessage co = WA_E2_E__CONTACT_MESSAGE__INIT;
		WaE2E__ContactMessage *cos[1] = { &co };
		WaE2E__ContactsArrayMessage ca = WA_E2_E__CONTACTS_ARRAY_MESSAGE__INIT;

		au.has_ptt = 1;
		au.ptt = 1;
		au.has_seconds = 1;
		au.seconds = 5;
		mm.audiomessage = &au;
		packs_to(&mm.base, "42042805" "3001", "audioMessage 8 {seconds 5, PTT 6}");
		mm.audiomessage = NULL;
		vi.has_gifplayback = 1;
		vi.gifplayback = 1;
		vi.caption = "c";
		mm.videomessage = &vi;
		packs_to(&mm.base, "4a053a01634001", "videoMessage 9 {caption 7, gifPlayback 8}");
		mm.videomessage = NULL;
		mm.ptvmessage = &vi;
		packs_to(&mm.base, "92040" "53a01634001", "ptvMessage 66");
		mm.ptvmessage = NULL;
		doc.filename = "f";
		doc.has_pagecount = 1;
		doc.pagecount = 2;
		doc.caption = "c";
		mm.documentmessage = &doc;
		packs_to(&mm.base, "3a09" "3002" "420166" "a20101" "63",
			 "documentMessage 7 {pageCount 6, fileName 8, caption 20}");
		mm.documentmessage = NULL;
		st.has_isanimated = 1;
		st.isanimated = 1;
		st.mimetype = "image/webp";
		mm.stickermessage = &st;
		packs_to(&mm.base, "d2010e" "2a0a696d6167652f77656270" "6801",
			 "stickerMessage 26 {mimetype 5, isAnimated 13}");
		mm.stickermessage = NULL;
		lo.has_degreeslatitude = 1;
		lo.degreeslatitude = 1.0;
		lo.has_degreeslongitude = 1;
		lo.degreeslongitude = -1.0;
		lo.name = "n";
		mm.locationmessage = &lo;
		packs_to(&mm.base, "2a15" "09000000000000f03f" "11000000000000f0bf" "1a016e",
			 "locationMessage 5 {lat 1 double, long 2 double, name 3}");
		mm.locationmessage = NULL;
		co.displayname = "A";
		co.vcard = "V";
		mm.contactmessage = &co;
		packs_to(&mm.base, "2207" "0a0141" "820101" "56", "contactMessage 4 {displayName 1, vcard 16}");
		mm.contactmessage = NULL;
		ca.displayname = "2";
		ca.n_contacts = 1;
		ca.contacts = cos;
		mm.contactsarraymessage = &ca;
		packs_to(&mm.base, "6a0c" "0a0132" "1207" "0a0141" "820101" "56",
			 "contactsArrayMessage 13 {displayName 1, contacts 2}");
	}
	/* poll creation V1/V2/V3 + messageSecret, poll update, reaction */
	{
		WaE2E__Message mm = WA_E2_E__MESSAGE__INIT;
		WaE2E__PollCreationMessage pc = WA_E2_E__POLL_CREATION_MESSAGE__INIT;
		WaE2E__PollCreationMessage__Option o = WA_E2_E__POLL_CREATION_MESSAGE__OPTION__INIT;
		WaE2E__PollCreationMessage__Option *os[1] = { &o };
		WaE2E__MessageContextInfo mci = WA_E2_E__MESSAGE_CONTEXT_INFO__INIT;
		WaE2E__PollUpdateMessage pu = WA_E2_E__POLL_UPDATE_MESSAGE__INIT;
		WaE2E__PollEncValue pv = WA_E2_E__POLL_ENC_VALUE__INIT;
		WaE2E__MessageKey key = WA_E2_E__MESSAGE_KEY__INIT;
		WaE2E__ReactionMessage re = WA_E2_E__REACTION_MESSAGE__INIT;
		uint8_t s = 0x55;

		pc.name = "Q";
		o.optionname = "Yes";
		pc.n_options = 1;
		pc.options = os;
		pc.has_selectableoptionscount = 1;
		pc.selectableoptionscount = 1;
		mci.has_messagesecret = 1;
		mci.messagesecret = bin(&s, 1);
		mm.pollcreationmessage = &pc;
		mm.messagecontextinfo = &mci;
		packs_to(&mm.base, "9a0203" "1a0155" "8a030c" "120151" "1a050a03596573" "2001",
			 "pollCreationMessage 49 {name 2, options 3 {optionName 1}, selectable 4} + messageContextInfo 35 {messageSecret 3}");
		mm.pollcreationmessage = NULL;
		mm.pollcreationmessagev2 = &pc;
		mm.messagecontextinfo = NULL;
		packs_to(&mm.base, "e2030c" "120151" "1a050a03596573" "2001", "pollCreationMessageV2 60");
		mm.pollcreationmessagev2 = NULL;
		mm.pollcreationmessagev3 = &pc;
		packs_to(&mm.base, "82040c" "120151" "1a050a03596573" "2001", "pollCreationMessageV3 64");
		mm.pollcreationmessagev3 = NULL;

		key.remotejid = "g";
		key.has_fromme = 1;
		key.fromme = 1;
		key.id = "I";
		key.participant = "P";
		pv.has_encpayload = 1;
		pv.encpayload = bin(&s, 1);
		pv.has_enciv = 1;
		pv.enciv = bin(&s, 1);
		pu.pollcreationmessagekey = &key;
		pu.vote = &pv;
		pu.has_sendertimestampms = 1;
		pu.sendertimestampms = 1;
		mm.pollupdatemessage = &pu;
		packs_to(&mm.base, "920317" "0a0b" "0a0167" "1001" "1a0149" "220150" "1206" "0a0155" "120155" "2001",
			 "pollUpdateMessage 50 {key 1 {remoteJID 1, fromMe 2, ID 3, participant 4}, vote 2 {encPayload 1, encIV 2}, senderTimestampMS 4}");
		mm.pollupdatemessage = NULL;
		re.key = &key;
		re.text = "+";
		re.has_sendertimestampms = 1;
		re.sendertimestampms = 1;
		mm.reactionmessage = &re;
		packs_to(&mm.base, "f20212" "0a0b" "0a0167" "1001" "1a0149" "220150" "12012b" "2001",
			 "reactionMessage 46 {key 1, text 2, senderTimestampMS 4}");
	}
	/* revoke, edit (WM wrapper), ephemeral setting, history notification, key share */
	{
		WaE2E__Message mm = WA_E2_E__MESSAGE__INIT, newm = WA_E2_E__MESSAGE__INIT, wrapm = WA_E2_E__MESSAGE__INIT;
		WaE2E__ProtocolMessage pm = WA_E2_E__PROTOCOL_MESSAGE__INIT;
		WaE2E__FutureProofMessage fp = WA_E2_E__FUTURE_PROOF_MESSAGE__INIT;
		WaE2E__MessageKey key = WA_E2_E__MESSAGE_KEY__INIT;
		WaE2E__HistorySyncNotification hs = WA_E2_E__HISTORY_SYNC_NOTIFICATION__INIT;
		WaE2E__AppStateSyncKeyShare sh = WA_E2_E__APP_STATE_SYNC_KEY_SHARE__INIT;
		WaE2E__AppStateSyncKey k = WA_E2_E__APP_STATE_SYNC_KEY__INIT;
		WaE2E__AppStateSyncKey *ks[1] = { &k };
		WaE2E__AppStateSyncKeyId kid = WA_E2_E__APP_STATE_SYNC_KEY_ID__INIT;
		WaE2E__AppStateSyncKeyData kd = WA_E2_E__APP_STATE_SYNC_KEY_DATA__INIT;
		uint8_t b = 0x01;

		key.id = "I";
		pm.key = &key;
		pm.has_type = 1;
		pm.type = WA_E2_E__PROTOCOL_MESSAGE__TYPE__REVOKE;
		mm.protocolmessage = &pm;
		packs_to(&mm.base, "6207" "0a031a0149" "1000", "protocolMessage 12 REVOKE {key 1, type 2 = 0}");

		newm.conversation = "n";
		pm.type = WA_E2_E__PROTOCOL_MESSAGE__TYPE__MESSAGE_EDIT;
		pm.editedmessage = &newm;
		pm.has_timestampms = 1;
		pm.timestampms = 1;
		wrapm.protocolmessage = &pm;
		fp.message = &wrapm;
		mm.protocolmessage = NULL;
		mm.editedmessage = &fp;
		packs_to(&mm.base, "d20312" "0a10" "620e" "0a031a0149" "100e" "7203" "0a016e" "7801",
			 "editedMessage 58 = FutureProof{message 1 = {protocolMessage MESSAGE_EDIT 14, editedMessage 14, timestampMS 15}}");
		mm.editedmessage = NULL;

		memset(&pm, 0, sizeof pm);
		{
			WaE2E__ProtocolMessage init = WA_E2_E__PROTOCOL_MESSAGE__INIT;
			pm = init;
		}
		pm.has_type = 1;
		pm.type = WA_E2_E__PROTOCOL_MESSAGE__TYPE__EPHEMERAL_SETTING;
		pm.has_ephemeralexpiration = 1;
		pm.ephemeralexpiration = 604800;
		mm.protocolmessage = &pm;
		packs_to(&mm.base, "6206" "1003" "2080f524", "EPHEMERAL_SETTING 3 {ephemeralExpiration 4}");

		pm.has_ephemeralexpiration = 0;
		pm.type = WA_E2_E__PROTOCOL_MESSAGE__TYPE__HISTORY_SYNC_NOTIFICATION;
		hs.directpath = "d";
		hs.has_synctype = 1;
		hs.synctype = WA_E2_E__HISTORY_SYNC_TYPE__INITIAL_BOOTSTRAP;
		hs.has_chunkorder = 1;
		hs.chunkorder = 1;
		pm.historysyncnotification = &hs;
		packs_to(&mm.base, "620b" "1005" "3207" "2a0164" "3000" "3801",
			 "HISTORY_SYNC_NOTIFICATION 5 {historySyncNotification 6 {directPath 5, syncType 6, chunkOrder 7}}");
		pm.historysyncnotification = NULL;

		pm.type = WA_E2_E__PROTOCOL_MESSAGE__TYPE__APP_STATE_SYNC_KEY_SHARE;
		kid.has_keyid = 1;
		kid.keyid = bin(&b, 1);
		kd.has_keydata = 1;
		kd.keydata = bin(&b, 1);
		k.keyid = &kid;
		k.keydata = &kd;
		sh.n_keys = 1;
		sh.keys = ks;
		pm.appstatesynckeyshare = &sh;
		packs_to(&mm.base, "6210" "1006" "3a0c" "0a0a" "0a030a0101" "12030a0101",
			 "APP_STATE_SYNC_KEY_SHARE 6 {appStateSyncKeyShare 7 {keys 1 {keyID 1 {keyID 1}, keyData 2 {keyData 1}}}}");
	}
	/* device-sent wrapper, SKDM, ephemeral wrapper, view once V2 */
	{
		WaE2E__Message mm = WA_E2_E__MESSAGE__INIT, orig = WA_E2_E__MESSAGE__INIT;
		WaE2E__DeviceSentMessage ds = WA_E2_E__DEVICE_SENT_MESSAGE__INIT;
		WaE2E__SenderKeyDistributionMessage sk = WA_E2_E__SENDER_KEY_DISTRIBUTION_MESSAGE__INIT;
		WaE2E__FutureProofMessage fp = WA_E2_E__FUTURE_PROOF_MESSAGE__INIT;
		uint8_t b = 0x33;

		orig.conversation = "o";
		ds.destinationjid = "c";
		ds.message = &orig;
		mm.devicesentmessage = &ds;
		packs_to(&mm.base, "fa0108" "0a0163" "12030a016f", "deviceSentMessage 31 {destinationJID 1, message 2}");
		mm.devicesentmessage = NULL;
		sk.groupid = "g";
		sk.has_axolotlsenderkeydistributionmessage = 1;
		sk.axolotlsenderkeydistributionmessage = bin(&b, 1);
		mm.senderkeydistributionmessage = &sk;
		packs_to(&mm.base, "1206" "0a0167" "120133", "senderKeyDistributionMessage 2 {groupID 1, axolotl 2}");
		mm.senderkeydistributionmessage = NULL;
		fp.message = &orig;
		mm.ephemeralmessage = &fp;
		packs_to(&mm.base, "c20205" "0a030a016f", "ephemeralMessage 40 = FutureProof{message 1}");
		mm.ephemeralmessage = NULL;
		mm.viewoncemessagev2 = &fp;
		packs_to(&mm.base, "ba0305" "0a030a016f", "viewOnceMessageV2 55");
		mm.viewoncemessagev2 = NULL;
		mm.viewoncemessage = &fp;
		packs_to(&mm.base, "aa0205" "0a030a016f", "viewOnceMessage 37");
		mm.viewoncemessage = NULL;
		mm.documentwithcaptionmessage = &fp;
		packs_to(&mm.base, "aa0305" "0a030a016f", "documentWithCaptionMessage 53");
	}
}

static void test_unknown_fields(void)
{
	/* conversation "hi" + unknown field 200 (varint 5) + unknown len field 201 */
	static const char *hex = "0a026869" "c00c05" "ca0c026162";
	uint8_t in[32], out[32];
	size_t n = unhex(hex, in, sizeof in), on;
	WaE2E__Message *m = (WaE2E__Message *)wa_pb_unpack(&wa_e2_e__message__descriptor, in, n, WA_PB_MAX_DEPTH);

	ok(m && m->conversation && strcmp(m->conversation, "hi") == 0, "unpack with unknown fields");
	ok(m && m->base.n_unknown_fields == 2, "unknown fields kept");
	if (m) {
		on = wa_e2_e__message__pack(m, out);
		ok(on == n && memcmp(in, out, n) == 0, "unknown fields survive re-pack");
	}
	wa_e2_e__message__free_unpacked(m, NULL);
}

static void test_history(void)
{
	WaHistorySync__HistorySync hs = WA_HISTORY_SYNC__HISTORY_SYNC__INIT;
	WaHistorySync__Conversation c = WA_HISTORY_SYNC__CONVERSATION__INIT;
	WaHistorySync__Conversation *cs[1] = { &c };
	WaHistorySync__HistorySyncMsg hm = WA_HISTORY_SYNC__HISTORY_SYNC_MSG__INIT;
	WaHistorySync__HistorySyncMsg *hms[1] = { &hm };
	WaHistorySync__WebMessageInfo wi = WA_HISTORY_SYNC__WEB_MESSAGE_INFO__INIT;
	WaE2E__MessageKey key = WA_E2_E__MESSAGE_KEY__INIT;
	WaE2E__Message msg = WA_E2_E__MESSAGE__INIT;
	WaHistorySync__Pushname pn = WA_HISTORY_SYNC__PUSHNAME__INIT;
	WaHistorySync__Pushname *pns[1] = { &pn };
	uint8_t buf[256];
	size_t n;

	hs.synctype = WA_HISTORY_SYNC__HISTORY_SYNC__HISTORY_SYNC_TYPE__INITIAL_BOOTSTRAP;
	c.id = "c";
	key.remotejid = "c";
	key.id = "I";
	msg.conversation = "x";
	wi.key = &key;
	wi.message = &msg;
	wi.has_messagetimestamp = 1;
	wi.messagetimestamp = 1;
	hm.message = &wi;
	c.n_messages = 1;
	c.messages = hms;
	hs.n_conversations = 1;
	hs.conversations = cs;
	pn.id = "u";
	pn.pushname = "N";
	hs.n_pushnames = 1;
	hs.pushnames = pns;
	/* syncType 1 (required, packed even when 0), conversations 2 {ID 1,
	 * messages 2 {message 1 {key 1, message 2, messageTimestamp 3}}}, pushnames 7 */
	packs_to(&hs.base, "0800" "1216" "0a0163" "1211" "0a0f" "0a06" "0a0163" "1a0149" "1203" "0a0178" "1801"
			   "3a06" "0a0175" "12014e",
		 "HistorySync {syncType 1, conversations 2 {ID 1, messages 2 {WebMessageInfo 1}}, pushnames 7}");
	n = wa_history_sync__history_sync__pack(&hs, buf);
	{
		WaHistorySync__HistorySync *back = (WaHistorySync__HistorySync *)wa_pb_unpack(
			&wa_history_sync__history_sync__descriptor, buf, n, WA_PB_MAX_DEPTH);
		ok(back && back->n_conversations == 1 && strcmp(back->conversations[0]->id, "c") == 0 &&
		   back->conversations[0]->messages[0]->message->message &&
		   strcmp(back->conversations[0]->messages[0]->message->message->conversation, "x") == 0,
		   "HistorySync round trip");
		wa_history_sync__history_sync__free_unpacked(back, NULL);
	}
	/* required fields: a HistorySync without syncType, a Conversation without ID */
	{
		uint8_t no_sync[] = { 0x3a, 0x03, 0x0a, 0x01, 0x75 };
		uint8_t no_id[] = { 0x08, 0x00, 0x12, 0x02, 0x30, 0x01 };
		ok(wa_pb_unpack(&wa_history_sync__history_sync__descriptor, no_sync, sizeof no_sync, 32) == NULL,
		   "HistorySync without required syncType rejected");
		ok(wa_pb_unpack(&wa_history_sync__history_sync__descriptor, no_id, sizeof no_id, 32) == NULL,
		   "Conversation without required ID rejected");
	}
}

static void test_pbsafe(void)
{
	/* Message { ephemeralMessage 40 { message 1 { ephemeralMessage ... } } } nested d times */
	enum { D = 40 };
	uint8_t *buf = NULL;
	size_t len = 0;
	ProtobufCMessage *m;

	/* build inside-out: innermost conversation "x" */
	{
		uint8_t inner[] = { 0x0a, 0x01, 0x78 };
		buf = malloc(sizeof inner);
		memcpy(buf, inner, sizeof inner);
		len = sizeof inner;
		for (int i = 0; i < D; i++) {
			/* FutureProof { 0a len <Message> } inside Message { c2 02 len <FP> } */
			size_t fplen = 2 + len; /* len < 128 not guaranteed: use varint */
			uint8_t hdr[16];
			size_t h = 0, nl;
			uint8_t *nb;
			size_t v;

			/* FutureProofMessage: tag 0a + varint(len) + msg */
			hdr[h++] = 0x0a;
			for (v = len; v >= 0x80; v >>= 7)
				hdr[h++] = (uint8_t)(v | 0x80);
			hdr[h++] = (uint8_t)v;
			fplen = h + len;
			/* Message field 40: tag c2 02 + varint(fplen) */
			{
				uint8_t h2[16];
				size_t k = 0;
				h2[k++] = 0xc2;
				h2[k++] = 0x02;
				for (v = fplen; v >= 0x80; v >>= 7)
					h2[k++] = (uint8_t)(v | 0x80);
				h2[k++] = (uint8_t)v;
				nl = k + h + len;
				nb = malloc(nl);
				memcpy(nb, h2, k);
				memcpy(nb + k, hdr, h);
				memcpy(nb + k + h, buf, len);
			}
			free(buf);
			buf = nb;
			len = nl;
		}
	}
	/* depth = 1 + 2*D levels */
	is_int(wa_pb_check(&wa_e2_e__message__descriptor, buf, len, 2 * D + 1), 0, "nesting 81 within 81");
	is_int(wa_pb_check(&wa_e2_e__message__descriptor, buf, len, 2 * D), -1, "nesting 81 over 80");
	m = wa_pb_unpack(&wa_e2_e__message__descriptor, buf, len, WA_PB_MAX_DEPTH);
	ok(m == NULL, "wa_pb_unpack refuses over-deep message");
	m = wa_pb_unpack(&wa_e2_e__message__descriptor, buf, len, 2 * D + 1);
	ok(m != NULL, "wa_pb_unpack accepts it with a higher cap");
	protobuf_c_message_free_unpacked(m, NULL);
	free(buf);
	{
		uint8_t trunc[] = { 0x0a, 0x05, 0x68 };
		uint8_t group[] = { 0x0b, 0x0c };
		uint8_t badvar[] = { 0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
		uint8_t zero[] = { 0x00, 0x01 };
		ok(wa_pb_check(&wa_e2_e__message__descriptor, trunc, sizeof trunc, 32) < 0, "truncated length rejected");
		ok(wa_pb_check(&wa_e2_e__message__descriptor, group, sizeof group, 32) < 0, "groups rejected");
		ok(wa_pb_check(&wa_e2_e__message__descriptor, badvar, sizeof badvar, 32) < 0, "11-byte varint rejected");
		ok(wa_pb_check(&wa_e2_e__message__descriptor, zero, sizeof zero, 32) < 0, "field number 0 rejected");
		ok(wa_pb_check(&wa_e2_e__message__descriptor, NULL, 0, 32) == 0, "empty message ok");
	}
}

int main(void)
{
	const char *top = getenv("top_srcdir");
	char path[1024];
	json_error_t err;

	snprintf(path, sizeof path, "%s/tests/vectors/protocol.json", top ? top : ".");
	vectors = json_load_file(path, JSON_ALLOW_NUL, &err);
	if (vectors == NULL)
		tap_bail("tests/vectors/protocol.json not readable");
	test_adv();
	test_poll();
	test_message_fields();
	test_unknown_fields();
	test_history();
	test_pbsafe();
	json_decref(vectors);
	return tap_done();
}
