/* wa/companion_reg: the ClientPayload a companion device sends inside the
 * Noise ClientFinish (docs/protocol.md §2), in its two forms:
 *   - registration (no stored device JID yet): base + passive=false,
 *     pull=false + devicePairingData (Signal registration id, identity key,
 *     signed pre-key, build hash, DeviceProps);
 *   - login (paired device): base + username, device, passive=true,
 *     pull=true, lidDbMigrated=true, lc=1.
 * Values follow whatsmeow (store/clientpayload.go); the app version,
 * DeviceProps os name and platform are the caller's (configuration).
 *
 * And, for wa-sim, a parser that turns received ClientPayload bytes into a
 * flat summary.
 *
 * Pure functions, no global state; thread-safe. Outputs are appended to a
 * caller-owned struct wa_buf. */
#ifndef WA_COMPANION_REG_H
#define WA_COMPANION_REG_H

#include <stddef.h>
#include <stdint.h>

#include "wa/buf.h"

/* WhatsApp Web app version sent in the user agent (whatsmeow's current
 * value; real servers refuse outdated versions with <failure reason=405>). */
#define WA_APP_VERSION_PRIMARY 2u
#define WA_APP_VERSION_SECONDARY 3000u
#define WA_APP_VERSION_TERTIARY 1045649367u

/* DeviceProps.PlatformType values used here (full list in the .proto). */
enum wa_platform_type {
	WA_PLATFORM_UNKNOWN = 0,
	WA_PLATFORM_CHROME = 1,
	WA_PLATFORM_FIREFOX = 2,
	WA_PLATFORM_SAFARI = 5,
	WA_PLATFORM_EDGE = 6,
	WA_PLATFORM_DESKTOP = 7,
};

struct wa_client_info {
	uint32_t version[3];       /* app version; all 0 = WA_APP_VERSION_* */
	const char *os;            /* DeviceProps.os: the name the phone lists; NULL = "WA-AKG" */
	uint32_t os_version[3];    /* DeviceProps.version; all 0 = 0.1.0 */
	int platform_type;         /* enum wa_platform_type */
	int require_full_sync;     /* DeviceProps.requireFullSync */
	const char *push_name;     /* optional ClientPayload.pushName, NULL = absent */
};

/* Registration material (Signal keys of the new companion). */
struct wa_reg_keys {
	uint32_t registration_id;
	uint8_t identity_pub[32];  /* without the 0x05 prefix */
	uint32_t signed_prekey_id; /* < 2^24 */
	uint8_t signed_prekey_pub[32];
	uint8_t signed_prekey_sig[64]; /* XEdDSA by the identity key over 0x05 || signed_prekey_pub */
};

/* "P.S.T" of the version into out (at least 40 bytes). */
void wa_app_version_string(const struct wa_client_info *ci, char *out, size_t outlen);

/* buildHash: MD5 of the version string. 0 / -1. */
int wa_build_hash(const struct wa_client_info *ci, uint8_t out[16]);

/* Serialized DeviceProps (os, version, platformType, requireFullSync,
 * historySyncConfig as whatsmeow sends it). Appends to out. 0 / -1. */
int wa_device_props_encode(const struct wa_client_info *ci, struct wa_buf *out);

/* Serialized registration ClientPayload. Appends to out. 0 / -1 (bad
 * argument, pre-key id >= 2^24, out of memory). */
int wa_client_payload_registration(const struct wa_client_info *ci, const struct wa_reg_keys *keys,
				   struct wa_buf *out);

/* Serialized login ClientPayload for device `device` of phone number
 * `username`. Appends to out. 0 / -1. */
int wa_client_payload_login(const struct wa_client_info *ci, uint64_t username, uint32_t device,
			    struct wa_buf *out);

/* What wa-sim needs from a received ClientPayload. */
struct wa_client_payload_info {
	int is_registration;       /* devicePairingData present */
	uint64_t username;         /* login */
	uint32_t device;           /* login */
	int passive, pull;
	uint32_t platform;         /* userAgent.platform */
	uint32_t version[3];       /* userAgent.appVersion */
	char push_name[128];       /* truncated, NUL-terminated; "" if absent */
	/* registration */
	struct wa_reg_keys keys;
	uint8_t build_hash[16];
	char os[64];               /* DeviceProps.os, truncated; "" if absent */
	int platform_type;
};

/* Decode ClientPayload bytes (<= 64 KiB). Registration payloads must carry
 * every devicePairingData field with the sizes of §2.3 (eRegid 4, eKeytype
 * 0x05, eIdent 32, eSkeyID 3, eSkeyVal 32, eSkeySig 64, buildHash 16);
 * DeviceProps is decoded best effort. Returns 0, or -1 on malformed input. */
int wa_client_payload_parse(const uint8_t *data, size_t len, struct wa_client_payload_info *info);

#endif
