/* wa/companion_reg: build and parse the Noise ClientPayload (see
 * companion_reg.h). */
#include "wa/companion_reg.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "wa_companion_reg.pb-c.h"
#include "wa_handshake.pb-c.h"

#define PAYLOAD_MAX (64u * 1024)

typedef WaWa6__ClientPayload ClientPayload;
typedef WaWa6__ClientPayload__UserAgent UserAgent;
typedef WaWa6__ClientPayload__UserAgent__AppVersion AppVersion;
typedef WaWa6__ClientPayload__WebInfo WebInfo;
typedef WaCompanionReg__DeviceProps DeviceProps;

static void version_of(const struct wa_client_info *ci, uint32_t v[3])
{
	if (ci && (ci->version[0] || ci->version[1] || ci->version[2])) {
		memcpy(v, ci->version, 3 * sizeof v[0]);
	} else {
		v[0] = WA_APP_VERSION_PRIMARY;
		v[1] = WA_APP_VERSION_SECONDARY;
		v[2] = WA_APP_VERSION_TERTIARY;
	}
}

void wa_app_version_string(const struct wa_client_info *ci, char *out, size_t outlen)
{
	uint32_t v[3];

	version_of(ci, v);
	snprintf(out, outlen, "%u.%u.%u", v[0], v[1], v[2]);
}

int wa_build_hash(const struct wa_client_info *ci, uint8_t out[16])
{
	char s[48];
	unsigned int n = 0;

	wa_app_version_string(ci, s, sizeof s);
	if (EVP_Digest(s, strlen(s), out, &n, EVP_md5(), NULL) != 1 || n != 16)
		return -1;
	return 0;
}

static int pack_append(const ProtobufCMessage *m, struct wa_buf *out)
{
	size_t n = protobuf_c_message_get_packed_size(m);

	if (wa_buf_reserve(out, n) != 0)
		return -1;
	if (protobuf_c_message_pack(m, out->data + out->len) != n)
		return -1;
	out->len += n;
	return 0;
}

int wa_device_props_encode(const struct wa_client_info *ci, struct wa_buf *out)
{
	DeviceProps dp;
	WaCompanionReg__DeviceProps__AppVersion v;
	WaCompanionReg__DeviceProps__HistorySyncConfig h;

	if (!out)
		return -1;
	wa_companion_reg__device_props__init(&dp);
	wa_companion_reg__device_props__app_version__init(&v);
	wa_companion_reg__device_props__history_sync_config__init(&h);

	dp.os = (char *)(ci && ci->os ? ci->os : "WA-AKG");
	v.has_primary = v.has_secondary = v.has_tertiary = 1;
	if (ci && (ci->os_version[0] || ci->os_version[1] || ci->os_version[2])) {
		v.primary = ci->os_version[0];
		v.secondary = ci->os_version[1];
		v.tertiary = ci->os_version[2];
	} else {
		v.primary = 0;
		v.secondary = 1;
		v.tertiary = 0;
	}
	dp.version = &v;
	dp.has_platformtype = 1;
	dp.platformtype = (WaCompanionReg__DeviceProps__PlatformType)(ci ? ci->platform_type : 0);
	dp.has_requirefullsync = 1;
	dp.requirefullsync = ci ? !!ci->require_full_sync : 0;

	/* whatsmeow's history sync capabilities */
	h.has_storagequotamb = 1;
	h.storagequotamb = 10240;
	h.has_inlineinitialpayloadine2eemsg = 1;
	h.inlineinitialpayloadine2eemsg = 1;
	h.has_supportcallloghistory = h.supportcallloghistory = 1;
	h.has_supportbotuseragentchathistory = h.supportbotuseragentchathistory = 1;
	h.has_supportcagreactionsandpolls = h.supportcagreactionsandpolls = 1;
	h.has_supportbizhostedmsg = h.supportbizhostedmsg = 1;
	h.has_supportrecentsyncchunkmessagecounttuning = h.supportrecentsyncchunkmessagecounttuning = 1;
	h.has_supporthostedgroupmsg = h.supporthostedgroupmsg = 1;
	h.has_supportfbidbotchathistory = h.supportfbidbotchathistory = 1;
	h.has_supportmessageassociation = h.supportmessageassociation = 1;
	h.has_supportgrouphistory = h.supportgrouphistory = 1;
	h.has_thumbnailsyncdayslimit = 1;
	h.thumbnailsyncdayslimit = 60;
	h.has_supportmanushistory = h.supportmanushistory = 1;
	h.has_supporthatchhistory = h.supporthatchhistory = 1;
	dp.historysyncconfig = &h;
	return pack_append(&dp.base, out);
}

/* The base every payload shares (docs/protocol.md §2.2, whatsmeow's values).
 * The pointed-to parts live in the caller's frame. */
struct base {
	ClientPayload p;
	UserAgent ua;
	AppVersion av;
	WebInfo wi;
};

static void base_init(struct base *b, const struct wa_client_info *ci)
{
	uint32_t v[3];

	wa_wa6__client_payload__init(&b->p);
	wa_wa6__client_payload__user_agent__init(&b->ua);
	wa_wa6__client_payload__user_agent__app_version__init(&b->av);
	wa_wa6__client_payload__web_info__init(&b->wi);

	version_of(ci, v);
	b->av.has_primary = b->av.has_secondary = b->av.has_tertiary = 1;
	b->av.primary = v[0];
	b->av.secondary = v[1];
	b->av.tertiary = v[2];

	b->ua.has_platform = 1;
	b->ua.platform = WA_WA6__CLIENT_PAYLOAD__USER_AGENT__PLATFORM__WEB;
	b->ua.has_releasechannel = 1;
	b->ua.releasechannel = WA_WA6__CLIENT_PAYLOAD__USER_AGENT__RELEASE_CHANNEL__RELEASE;
	b->ua.appversion = &b->av;
	b->ua.mcc = (char *)"000";
	b->ua.mnc = (char *)"000";
	b->ua.osversion = (char *)"0.1";
	b->ua.manufacturer = (char *)"";
	b->ua.device = (char *)"Desktop";
	b->ua.osbuildnumber = (char *)"0.1";
	b->ua.localelanguageiso6391 = (char *)"en";
	b->ua.localecountryiso31661alpha2 = (char *)"US";

	b->wi.has_websubplatform = 1;
	b->wi.websubplatform = WA_WA6__CLIENT_PAYLOAD__WEB_INFO__WEB_SUB_PLATFORM__WEB_BROWSER;

	b->p.useragent = &b->ua;
	b->p.webinfo = &b->wi;
	b->p.has_connecttype = 1;
	b->p.connecttype = WA_WA6__CLIENT_PAYLOAD__CONNECT_TYPE__WIFI_UNKNOWN;
	b->p.has_connectreason = 1;
	b->p.connectreason = WA_WA6__CLIENT_PAYLOAD__CONNECT_REASON__USER_ACTIVATED;
	if (ci && ci->push_name)
		b->p.pushname = (char *)ci->push_name;
}

int wa_client_payload_registration(const struct wa_client_info *ci, const struct wa_reg_keys *keys,
				   struct wa_buf *out)
{
	struct base b;
	WaWa6__ClientPayload__DevicePairingRegistrationData d;
	struct wa_buf props = WA_BUF_INIT;
	uint8_t regid[4], keytype = 0x05, skid[3], hash[16];
	int rc = -1;

	if (!keys || !out || keys->signed_prekey_id > 0xFFFFFFu)
		return -1;
	if (wa_build_hash(ci, hash) != 0 || wa_device_props_encode(ci, &props) != 0)
		goto out;
	base_init(&b, ci);
	regid[0] = (uint8_t)(keys->registration_id >> 24);
	regid[1] = (uint8_t)(keys->registration_id >> 16);
	regid[2] = (uint8_t)(keys->registration_id >> 8);
	regid[3] = (uint8_t)keys->registration_id;
	skid[0] = (uint8_t)(keys->signed_prekey_id >> 16);
	skid[1] = (uint8_t)(keys->signed_prekey_id >> 8);
	skid[2] = (uint8_t)keys->signed_prekey_id;

	wa_wa6__client_payload__device_pairing_registration_data__init(&d);
	d.has_eregid = d.has_ekeytype = d.has_eident = d.has_eskeyid = 1;
	d.has_eskeyval = d.has_eskeysig = d.has_buildhash = d.has_deviceprops = 1;
	d.eregid.data = regid;
	d.eregid.len = 4;
	d.ekeytype.data = &keytype;
	d.ekeytype.len = 1;
	d.eident.data = (uint8_t *)keys->identity_pub;
	d.eident.len = 32;
	d.eskeyid.data = skid;
	d.eskeyid.len = 3;
	d.eskeyval.data = (uint8_t *)keys->signed_prekey_pub;
	d.eskeyval.len = 32;
	d.eskeysig.data = (uint8_t *)keys->signed_prekey_sig;
	d.eskeysig.len = 64;
	d.buildhash.data = hash;
	d.buildhash.len = 16;
	d.deviceprops.data = props.data;
	d.deviceprops.len = props.len;

	b.p.devicepairingdata = &d;
	b.p.has_passive = 1;
	b.p.passive = 0;
	b.p.has_pull = 1;
	b.p.pull = 0;
	rc = pack_append(&b.p.base, out);
out:
	wa_buf_free(&props);
	return rc;
}

int wa_client_payload_login(const struct wa_client_info *ci, uint64_t username, uint32_t device,
			    struct wa_buf *out)
{
	struct base b;

	if (!out || username == 0)
		return -1;
	base_init(&b, ci);
	b.p.has_username = 1;
	b.p.username = username;
	b.p.has_device = 1;
	b.p.device = device;
	b.p.has_passive = 1;
	b.p.passive = 1;
	b.p.has_pull = 1;
	b.p.pull = 1;
	b.p.has_liddbmigrated = 1;
	b.p.liddbmigrated = 1;
	b.p.has_lc = 1;
	b.p.lc = 1;
	return pack_append(&b.p.base, out);
}

static void copy_str(char *dst, size_t cap, const char *src)
{
	size_t n;

	if (!src) {
		dst[0] = '\0';
		return;
	}
	n = strnlen(src, cap - 1);
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static int bytes_is(const ProtobufCBinaryData *b, int has, size_t len)
{
	return has && b->len == len && b->data;
}

int wa_client_payload_parse(const uint8_t *data, size_t len, struct wa_client_payload_info *info)
{
	ClientPayload *p;
	int rc = -1;

	if (!info || !data || len == 0 || len > PAYLOAD_MAX)
		return -1;
	memset(info, 0, sizeof *info);
	p = wa_wa6__client_payload__unpack(NULL, len, data);
	if (!p)
		return -1;
	info->username = p->has_username ? p->username : 0;
	info->device = p->has_device ? p->device : 0;
	info->passive = p->has_passive && p->passive;
	info->pull = p->has_pull && p->pull;
	copy_str(info->push_name, sizeof info->push_name, p->pushname);
	if (p->useragent) {
		info->platform = p->useragent->has_platform ? (uint32_t)p->useragent->platform : 0;
		if (p->useragent->appversion) {
			info->version[0] = p->useragent->appversion->primary;
			info->version[1] = p->useragent->appversion->secondary;
			info->version[2] = p->useragent->appversion->tertiary;
		}
	}
	if (p->devicepairingdata) {
		const WaWa6__ClientPayload__DevicePairingRegistrationData *d = p->devicepairingdata;
		DeviceProps *dp;

		if (!bytes_is(&d->eregid, d->has_eregid, 4) || !bytes_is(&d->ekeytype, d->has_ekeytype, 1) ||
		    d->ekeytype.data[0] != 0x05 || !bytes_is(&d->eident, d->has_eident, 32) ||
		    !bytes_is(&d->eskeyid, d->has_eskeyid, 3) || !bytes_is(&d->eskeyval, d->has_eskeyval, 32) ||
		    !bytes_is(&d->eskeysig, d->has_eskeysig, 64) || !bytes_is(&d->buildhash, d->has_buildhash, 16))
			goto out;
		info->is_registration = 1;
		info->keys.registration_id = ((uint32_t)d->eregid.data[0] << 24) | ((uint32_t)d->eregid.data[1] << 16) |
					     ((uint32_t)d->eregid.data[2] << 8) | d->eregid.data[3];
		memcpy(info->keys.identity_pub, d->eident.data, 32);
		info->keys.signed_prekey_id = ((uint32_t)d->eskeyid.data[0] << 16) |
					      ((uint32_t)d->eskeyid.data[1] << 8) | d->eskeyid.data[2];
		memcpy(info->keys.signed_prekey_pub, d->eskeyval.data, 32);
		memcpy(info->keys.signed_prekey_sig, d->eskeysig.data, 64);
		memcpy(info->build_hash, d->buildhash.data, 16);
		if (d->has_deviceprops && d->deviceprops.len > 0 &&
		    (dp = wa_companion_reg__device_props__unpack(NULL, d->deviceprops.len, d->deviceprops.data))) {
			copy_str(info->os, sizeof info->os, dp->os);
			info->platform_type = dp->has_platformtype ? (int)dp->platformtype : 0;
			wa_companion_reg__device_props__free_unpacked(dp, NULL);
		}
	}
	rc = 0;
out:
	wa_wa6__client_payload__free_unpacked(p, NULL);
	return rc;
}
