/* sim_phone: the simulated phone of an account as a real Signal client
 * (docs/protocol.md §7, §8): its identity is the account identity key (the one
 * that signs companions' ADV identities), its pre-keys sit in the server
 * table like any device's, and it encrypts to / decrypts from companions
 * with libsignal through wa/signal. Messages it receives are unpadded,
 * parsed as waE2E.Message and kept in a bounded inbox; what it sends is kept
 * in a bounded outbox whose status follows the receipts. */
#include "sim_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "sim_media.h"
#include "sim_state.h"
#include "wa/crypto.h"
#include "wa/mediacrypto.h"
#include "wa/pbsafe.h"
#include "wa/signal_node.h"
#include "wa/sigstore.h"
#include "wa_log.h"
#include "wa_e2e.pb-c.h"
#include "wa_util.h"

#define PHONE_SPK_ID 1

struct sim_phone {
	struct sim_account *acc;
	wa_sigstore *store;
	wa_sig *sig;
	struct sim_devkeys keys;           /* what the server hands out for device 0 */
	uint32_t next_prekey;
	char about[560];                 /* 139 characters of UTF-8 (§11.9) */
	unsigned drop_next;                /* fault injection */
	char drop_from[SIM_NUMBER_MAX + 1]; /* ... of messages from this number only ("" any) */
	struct sim_msgrec *inbox;          /* oldest first */
	size_t ninbox;
	struct sim_msgrec *outbox;
	size_t noutbox;
};

const char *sim_msg_status_name(int st)
{
	static const char *const names[] = { "pending", "server", "delivered", "read", "played", "error" };

	return st >= 0 && st <= SIM_ST_ERROR ? names[st] : "unknown";
}

static void rec_release(struct sim_msgrec *r)
{
	free(r->text);
	free(r->extra);
	if (r->plain)
		wa_sig_buf_free(r->plain, r->plain_len);
	memset(r, 0, sizeof *r);
}

void sim_phone_free(struct sim_phone *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->ninbox; i++)
		rec_release(&p->inbox[i]);
	for (i = 0; i < p->noutbox; i++)
		rec_release(&p->outbox[i]);
	free(p->inbox);
	free(p->outbox);
	free(p->keys.keys);
	wa_sig_free(p->sig);
	wa_sigstore_free(p->store);
	free(p);
}

/* Top up the phone's one-time pre-keys on the server (the phone is always
 * online, so it never runs dry). */
static int phone_refill(struct sim_phone *p)
{
	size_t want = SIM_PHONE_PREKEYS - p->keys.nkeys;
	wa_sig_prekey *nk;

	if (p->keys.nkeys >= SIM_PREKEY_LOW)
		return 0;
	if (p->keys.cap < SIM_PHONE_PREKEYS) {
		nk = realloc(p->keys.keys, SIM_PHONE_PREKEYS * sizeof *nk);
		if (nk == NULL)
			return -1;
		p->keys.keys = nk;
		p->keys.cap = SIM_PHONE_PREKEYS;
	}
	if (wa_sig_prekeys_generate(p->sig, p->next_prekey, want, p->keys.keys + p->keys.nkeys,
				    &p->next_prekey) != WA_SIG_OK)
		return -1;
	p->keys.nkeys += want;
	return 0;
}

struct sim_phone *sim_phone_get(struct sim_server *s, struct sim_account *a)
{
	struct sim_phone *p;
	uint32_t regid;
	uint8_t priv[32];

	(void)s;
	if (a == NULL)
		return NULL;
	if (a->phone != NULL)
		return a->phone;
	p = calloc(1, sizeof *p);
	if (p == NULL)
		return NULL;
	p->acc = a;
	p->next_prekey = 1;
	p->store = wa_sigstore_mem_new(0, 0);
	/* registration id 1..16380 (libsignal's range), stable per identity */
	regid = ((uint32_t)a->identity_pub[0] << 8 | a->identity_pub[1]) % 16380 + 1;
	/* libsignal wants the clamped form of the X25519 scalar (same public key) */
	memcpy(priv, a->identity_priv, 32);
	priv[0] &= 248;
	priv[31] = (uint8_t)((priv[31] & 127) | 64);
	if (p->store == NULL || wa_sig_new(p->store, &p->sig) != WA_SIG_OK ||
	    wa_sig_identity_set(p->sig, a->identity_pub, priv, regid) != WA_SIG_OK ||
	    wa_sig_signed_prekey_generate(p->sig, PHONE_SPK_ID, NULL) != WA_SIG_OK ||
	    wa_sig_bundle_own(p->sig, PHONE_SPK_ID, 0, &p->keys.base) != WA_SIG_OK || phone_refill(p) != 0) {
		wa_error("sim: cannot set up the Signal state of a phone");
		memset(priv, 0, sizeof priv);
		sim_phone_free(p);
		return NULL;
	}
	memset(priv, 0, sizeof priv);
	p->keys.has_base = 1;
	a->phone = p;
	return p;
}

int sim_phone_reinstall(struct sim_server *s, struct sim_account *a)
{
	struct sim_phone *old = a->phone, *p;
	uint8_t priv[32], pub[32], keep_priv[32], keep_pub[32];

	if (a->devices != NULL)
		return -2; /* its companions' signatures name the old identity */
	if (wa_random(priv, sizeof priv) != 0 || wa_x25519_public(priv, pub) != 0)
		return -1;
	memcpy(keep_priv, a->identity_priv, 32);
	memcpy(keep_pub, a->identity_pub, 32);
	memcpy(a->identity_priv, priv, 32);
	memcpy(a->identity_pub, pub, 32);
	a->phone = NULL;
	p = sim_phone_get(s, a);
	if (p == NULL) {
		memcpy(a->identity_priv, keep_priv, 32);
		memcpy(a->identity_pub, keep_pub, 32);
		a->phone = old;
		memset(priv, 0, sizeof priv);
		return -1;
	}
	if (old != NULL) {
		/* what the phone shows stays; its Signal state is new */
		p->inbox = old->inbox;
		p->ninbox = old->ninbox;
		p->outbox = old->outbox;
		p->noutbox = old->noutbox;
		memcpy(p->about, old->about, sizeof p->about);
		old->inbox = old->outbox = NULL;
		old->ninbox = old->noutbox = 0;
		sim_phone_free(old);
	}
	memset(priv, 0, sizeof priv);
	memset(keep_priv, 0, sizeof keep_priv);
	if (s->store != NULL)
		(void)sim_store_save(s->store);
	return 0;
}

struct sim_devkeys *sim_phone_keys(struct sim_phone *p)
{
	(void)phone_refill(p); /* best effort: an empty stock still gives a bundle */
	return &p->keys;
}

void sim_phone_drop_set(struct sim_phone *p, unsigned n)
{
	p->drop_next = n;
}

unsigned sim_phone_drop_get(struct sim_phone *p)
{
	return p->drop_next;
}

void sim_phone_drop_from(struct sim_phone *p, const char *number)
{
	snprintf(p->drop_from, sizeof p->drop_from, "%s", number ? number : "");
}

int sim_phone_drop_matches(struct sim_phone *p, const char *sender)
{
	size_t n;

	if (p == NULL || p->drop_next == 0)
		return 0;
	if (!p->drop_from[0])
		return 1;
	n = strlen(p->drop_from);
	return sender != NULL && strncmp(sender, p->drop_from, n) == 0 && (sender[n] == ':' || sender[n] == '@');
}

int sim_phone_drop_take(struct sim_phone *p)
{
	if (p == NULL || p->drop_next == 0)
		return 0;
	p->drop_next--;
	return 1;
}

wa_sig *sim_phone_sig(struct sim_phone *p)
{
	return p->sig;
}

const char *sim_phone_about(struct sim_phone *p)
{
	return p->about[0] ? p->about : "Hey there! I am using WhatsApp.";
}

int sim_phone_set_about(struct sim_phone *p, const char *about)
{
	if (about == NULL || strlen(about) >= sizeof p->about)
		return -1;
	snprintf(p->about, sizeof p->about, "%s", about);
	return 0;
}

size_t sim_phone_inbox(struct sim_phone *p, const struct sim_msgrec **out)
{
	*out = p->inbox;
	return p->ninbox;
}

size_t sim_phone_outbox(struct sim_phone *p, const struct sim_msgrec **out)
{
	*out = p->outbox;
	return p->noutbox;
}

static struct sim_msgrec *find_rec(struct sim_msgrec *v, size_t n, const char *id)
{
	size_t i;

	for (i = n; i > 0; i--)
		if (strcmp(v[i - 1].id, id) == 0)
			return &v[i - 1];
	return NULL;
}

int sim_phone_record(struct sim_phone *p, int outbox, const struct sim_msgrec *r)
{
	struct sim_msgrec **vp = outbox ? &p->outbox : &p->inbox, *slot;
	size_t *np = outbox ? &p->noutbox : &p->ninbox, max = outbox ? SIM_OUTBOX_MAX : SIM_INBOX_MAX;
	struct sim_msgrec copy = *r;

	copy.text = r->text ? strdup(r->text) : NULL;
	copy.extra = r->extra ? strdup(r->extra) : NULL;
	copy.plain = NULL;
	copy.plain_len = 0;
	if (r->plain && r->plain_len) {
		copy.plain = malloc(r->plain_len);
		if (copy.plain) {
			memcpy(copy.plain, r->plain, r->plain_len);
			copy.plain_len = r->plain_len;
		}
	}
	if ((r->text && !copy.text) || (r->extra && !copy.extra) || (r->plain_len && !copy.plain)) {
		rec_release(&copy);
		return -1;
	}
	if (*vp == NULL) {
		*vp = calloc(max, sizeof **vp);
		if (*vp == NULL) {
			rec_release(&copy);
			return -1;
		}
	}
	if (*np == max) { /* drop the oldest */
		rec_release(&(*vp)[0]);
		memmove(*vp, *vp + 1, (max - 1) * sizeof **vp);
		(*np)--;
	}
	slot = &(*vp)[(*np)++];
	*slot = copy;
	return 0;
}

/* ---- reading a Message ---- */

static char *dup_s(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* What a phone sees of a media part: the message's fields, and the file
 * itself downloaded from wa-sim's media host and decrypted with the HKDF
 * info of its kind (mediaOk, mediaSize, mediaSha256 = SHA-256 of the
 * plaintext in hex; a few leading bytes as mediaHead for format checks;
 * for a WebP its EXIF chunk as mediaExif). */
static void media_summary(json_t *extra, enum wa_media_type type, const char *mimetype, const char *directpath,
			  const char *url, int has_len, uint64_t filelength, const ProtobufCBinaryData *key,
			  const ProtobufCBinaryData *encsha, const ProtobufCBinaryData *sha)
{
	char hex[65];
	const uint8_t *enc;
	size_t elen, plen = 0;
	uint8_t *plain = NULL, digest[32];
	struct wa_media_info info;
	int rc;

	if (mimetype)
		json_object_set_new(extra, "mimetype", json_string(mimetype));
	if (directpath)
		json_object_set_new(extra, "directPath", json_string(directpath));
	if (url)
		json_object_set_new(extra, "url", json_string(url));
	if (has_len)
		json_object_set_new(extra, "fileLength", json_integer((json_int_t)filelength));
	if (key && key->len == 32) {
		wa_hex_encode(key->data, 32, hex);
		json_object_set_new(extra, "mediaKey", json_string(hex));
	}
	if (sha && sha->len == 32) {
		wa_hex_encode(sha->data, 32, hex);
		json_object_set_new(extra, "fileSha256", json_string(hex));
	}
	if (encsha && encsha->len == 32) {
		wa_hex_encode(encsha->data, 32, hex);
		json_object_set_new(extra, "fileEncSha256", json_string(hex));
	}
	if (!directpath || !key || key->len != 32)
		return;
	rc = sim_media_get(directpath, &enc, &elen) != 0 ? -100
	     : wa_media_decrypt(type, key->data, enc, elen, encsha && encsha->len == 32 ? encsha->data : NULL,
				sha && sha->len == 32 ? sha->data : NULL, &plain, &plen, &info);
	json_object_set_new(extra, "mediaOk", json_boolean(rc == 0));
	if (rc == 0) {
		size_t hl = plen < 16 ? plen : 16;

		json_object_set_new(extra, "mediaSize", json_integer((json_int_t)plen));
		wa_sha256(plain, plen, digest);
		wa_hex_encode(digest, 32, hex);
		json_object_set_new(extra, "mediaSha256", json_string(hex));
		wa_hex_encode(plain, hl, hex);
		json_object_set_new(extra, "mediaHead", json_string(hex));
		if (plen > 30 && memcmp(plain, "RIFF", 4) == 0 && memcmp(plain + 8, "WEBP", 4) == 0) {
			size_t off = 12;

			while (off + 8 <= plen) {
				uint32_t cl = (uint32_t)plain[off + 4] | (uint32_t)plain[off + 5] << 8 |
					      (uint32_t)plain[off + 6] << 16 | (uint32_t)plain[off + 7] << 24;

				if (cl > plen - off - 8)
					break;
				if (memcmp(plain + off, "VP8X", 4) == 0 && cl >= 10) {
					json_object_set_new(extra, "webpWidth", json_integer(1 + ((json_int_t)plain[off + 12] | (json_int_t)plain[off + 13] << 8 | (json_int_t)plain[off + 14] << 16)));
					json_object_set_new(extra, "webpHeight", json_integer(1 + ((json_int_t)plain[off + 15] | (json_int_t)plain[off + 16] << 8 | (json_int_t)plain[off + 17] << 16)));
				}
				if (memcmp(plain + off, "EXIF", 4) == 0 && cl > 22)
					json_object_set_new(extra, "mediaExif",
							    json_stringn((const char *)plain + off + 8 + 22, cl - 22));
				off += 8 + cl + (cl & 1);
			}
		}
	} else {
		json_object_set_new(extra, "mediaError",
				    json_string(rc == -100 ? "not on the media host" : wa_media_strerror(rc)));
	}
	free(plain);
}

/* A bytes field as base64 (jpegThumbnail, waveform), when it is small. */
static void set_b64(json_t *extra, const char *name, const ProtobufCBinaryData *b)
{
	char *t;

	if (!b->len || b->len > 256 * 1024 || !(t = malloc(4 * ((b->len + 2) / 3) + 1)))
		return;
	wa_base64_encode(b->data, b->len, t);
	json_object_set_new(extra, name, json_string(t));
	free(t);
}

#define MEDIA_FIELDS(extra, x, type) \
	media_summary((extra), (type), (x)->mimetype, (x)->directpath, (x)->url, (x)->has_filelength, \
		      (x)->filelength, (x)->has_mediakey ? &(x)->mediakey : NULL, \
		      (x)->has_fileencsha256 ? &(x)->fileencsha256 : NULL, (x)->has_filesha256 ? &(x)->filesha256 : NULL)

static const WaE2E__ContextInfo *summarize(const WaE2E__Message *m, struct sim_msgrec *r, json_t *extra)
{
	const WaE2E__ContextInfo *ci = NULL;

	if (m->conversation) {
		snprintf(r->type, sizeof r->type, "text");
		r->text = dup_s(m->conversation);
	} else if (m->extendedtextmessage) {
		snprintf(r->type, sizeof r->type, "text");
		r->text = dup_s(m->extendedtextmessage->text);
		ci = m->extendedtextmessage->contextinfo;
		/* a text status's look (§7.8) */
		if (m->extendedtextmessage->has_backgroundargb)
			json_object_set_new(extra, "backgroundArgb",
					    json_integer((json_int_t)m->extendedtextmessage->backgroundargb));
		if (m->extendedtextmessage->has_textargb)
			json_object_set_new(extra, "textArgb", json_integer((json_int_t)m->extendedtextmessage->textargb));
		if (m->extendedtextmessage->has_font)
			json_object_set_new(extra, "font", json_integer(m->extendedtextmessage->font));
	} else if (m->imagemessage) {
		const WaE2E__ImageMessage *im = m->imagemessage;

		snprintf(r->type, sizeof r->type, "image");
		r->text = dup_s(im->caption);
		ci = im->contextinfo;
		MEDIA_FIELDS(extra, im, WA_MEDIA_IMAGE);
		if (im->has_width)
			json_object_set_new(extra, "width", json_integer(im->width));
		if (im->has_height)
			json_object_set_new(extra, "height", json_integer(im->height));
		if (im->has_jpegthumbnail) {
			json_object_set_new(extra, "thumbnailSize", json_integer((json_int_t)im->jpegthumbnail.len));
			set_b64(extra, "jpegThumbnail", &im->jpegthumbnail);
		}
	} else if (m->videomessage) {
		snprintf(r->type, sizeof r->type, "video");
		r->text = dup_s(m->videomessage->caption);
		ci = m->videomessage->contextinfo;
		MEDIA_FIELDS(extra, m->videomessage, WA_MEDIA_VIDEO);
		if (m->videomessage->has_seconds)
			json_object_set_new(extra, "seconds", json_integer(m->videomessage->seconds));
		if (m->videomessage->has_width)
			json_object_set_new(extra, "width", json_integer(m->videomessage->width));
		if (m->videomessage->has_height)
			json_object_set_new(extra, "height", json_integer(m->videomessage->height));
		if (m->videomessage->has_jpegthumbnail) {
			json_object_set_new(extra, "thumbnailSize",
					    json_integer((json_int_t)m->videomessage->jpegthumbnail.len));
			set_b64(extra, "jpegThumbnail", &m->videomessage->jpegthumbnail);
		}
		if (m->videomessage->has_gifplayback)
			json_object_set_new(extra, "gifPlayback", json_boolean(m->videomessage->gifplayback));
	} else if (m->audiomessage) {
		snprintf(r->type, sizeof r->type, m->audiomessage->ptt ? "ptt" : "audio");
		ci = m->audiomessage->contextinfo;
		MEDIA_FIELDS(extra, m->audiomessage, m->audiomessage->ptt ? WA_MEDIA_PTT : WA_MEDIA_AUDIO);
		if (m->audiomessage->has_seconds)
			json_object_set_new(extra, "seconds", json_integer(m->audiomessage->seconds));
		if (m->audiomessage->has_waveform)
			set_b64(extra, "waveform", &m->audiomessage->waveform);
	} else if (m->documentmessage) {
		snprintf(r->type, sizeof r->type, "document");
		r->text = dup_s(m->documentmessage->caption ? m->documentmessage->caption
							    : m->documentmessage->filename);
		ci = m->documentmessage->contextinfo;
		MEDIA_FIELDS(extra, m->documentmessage, WA_MEDIA_DOCUMENT);
		if (m->documentmessage->filename)
			json_object_set_new(extra, "fileName", json_string(m->documentmessage->filename));
		if (m->documentmessage->has_pagecount)
			json_object_set_new(extra, "pageCount", json_integer(m->documentmessage->pagecount));
	} else if (m->stickermessage) {
		snprintf(r->type, sizeof r->type, "sticker");
		ci = m->stickermessage->contextinfo;
		MEDIA_FIELDS(extra, m->stickermessage, WA_MEDIA_STICKER);
		if (m->stickermessage->has_width)
			json_object_set_new(extra, "width", json_integer(m->stickermessage->width));
		if (m->stickermessage->has_height)
			json_object_set_new(extra, "height", json_integer(m->stickermessage->height));
		if (m->stickermessage->has_isanimated)
			json_object_set_new(extra, "isAnimated", json_boolean(m->stickermessage->isanimated));
	} else if (m->locationmessage) {
		snprintf(r->type, sizeof r->type, "location");
		r->lat = m->locationmessage->degreeslatitude;
		r->lng = m->locationmessage->degreeslongitude;
		r->text = dup_s(m->locationmessage->name);
		ci = m->locationmessage->contextinfo;
	} else if (m->contactmessage) {
		snprintf(r->type, sizeof r->type, "contact");
		r->text = dup_s(m->contactmessage->displayname);
		if (m->contactmessage->vcard)
			json_object_set_new(extra, "vcard", json_string(m->contactmessage->vcard));
		ci = m->contactmessage->contextinfo;
	} else if (m->contactsarraymessage) {
		json_t *cards = json_array();

		snprintf(r->type, sizeof r->type, "contacts");
		r->text = dup_s(m->contactsarraymessage->displayname);
		for (size_t i = 0; cards && i < m->contactsarraymessage->n_contacts; i++)
			json_array_append_new(cards, json_pack("{s:s,s:s}", "displayName",
							       m->contactsarraymessage->contacts[i]->displayname ?: "",
							       "vcard", m->contactsarraymessage->contacts[i]->vcard ?: ""));
		json_object_set_new(extra, "contacts", cards);
		ci = m->contactsarraymessage->contextinfo;
	} else if (m->reactionmessage) {
		snprintf(r->type, sizeof r->type, "reaction");
		r->text = dup_s(m->reactionmessage->text);
		if (m->reactionmessage->key && m->reactionmessage->key->id)
			snprintf(r->quoted_id, sizeof r->quoted_id, "%s", m->reactionmessage->key->id);
	} else if (m->pollcreationmessage || m->pollcreationmessagev2 || m->pollcreationmessagev3) {
		const WaE2E__PollCreationMessage *pc = m->pollcreationmessage ? m->pollcreationmessage
						       : m->pollcreationmessagev2 ? m->pollcreationmessagev2
										   : m->pollcreationmessagev3;
		json_t *opts = json_array();

		snprintf(r->type, sizeof r->type, "poll");
		r->text = dup_s(pc->name);
		for (size_t i = 0; opts && i < pc->n_options; i++)
			json_array_append_new(opts, json_string(pc->options[i]->optionname ? pc->options[i]->optionname : ""));
		json_object_set_new(extra, "options", opts);
		json_object_set_new(extra, "selectableCount", json_integer(pc->selectableoptionscount));
		json_object_set_new(extra, "pollVersion", json_integer(m->pollcreationmessage ? 1 : m->pollcreationmessagev2 ? 2 : 3));
	} else if (m->pollupdatemessage) {
		snprintf(r->type, sizeof r->type, "poll_vote");
		if (m->pollupdatemessage->pollcreationmessagekey && m->pollupdatemessage->pollcreationmessagekey->id)
			snprintf(r->quoted_id, sizeof r->quoted_id, "%s", m->pollupdatemessage->pollcreationmessagekey->id);
	} else if (m->protocolmessage) {
		snprintf(r->type, sizeof r->type, "protocol");
		json_object_set_new(extra, "protocolType", json_integer(m->protocolmessage->type));
		if (m->protocolmessage->editedmessage && m->protocolmessage->editedmessage->conversation)
			json_object_set_new(extra, "editedText", json_string(m->protocolmessage->editedmessage->conversation));
		if (m->protocolmessage->key && m->protocolmessage->key->id)
			snprintf(r->quoted_id, sizeof r->quoted_id, "%s", m->protocolmessage->key->id);
	} else if (m->groupinvitemessage) {
		snprintf(r->type, sizeof r->type, "group_invite");
		r->text = dup_s(m->groupinvitemessage->caption);
	} else if (m->senderkeydistributionmessage) {
		snprintf(r->type, sizeof r->type, "skdm");
	} else {
		snprintf(r->type, sizeof r->type, "unknown");
	}
	if (ci && ci->stanzaid)
		snprintf(r->quoted_id, sizeof r->quoted_id, "%s", ci->stanzaid);
	if (ci && extra) {
		/* what a phone shows of a reply and of mentions */
		if (ci->participant)
			json_object_set_new(extra, "quotedParticipant", json_string(ci->participant));
		if (ci->remotejid)
			json_object_set_new(extra, "quotedChat", json_string(ci->remotejid));
		if (ci->quotedmessage && ci->quotedmessage->conversation)
			json_object_set_new(extra, "quotedText", json_string(ci->quotedmessage->conversation));
		if (ci->has_isforwarded && ci->isforwarded) {
			json_object_set_new(extra, "forwarded", json_true());
			json_object_set_new(extra, "forwardingScore", json_integer(ci->forwardingscore));
		}
		if (ci->n_mentionedjid) {
			json_t *mj = json_array();

			for (size_t i = 0; mj && i < ci->n_mentionedjid; i++)
				json_array_append_new(mj, json_string(ci->mentionedjid[i]));
			json_object_set_new(extra, "mentions", mj);
		}
	}
	return ci;
}

/* Unwrap the FutureProof wrappers (ephemeral, view once, ...). */
static const WaE2E__Message *unwrap(const WaE2E__Message *m)
{
	for (int i = 0; i < 4 && m; i++) {
		const WaE2E__FutureProofMessage *fp = m->ephemeralmessage ? m->ephemeralmessage
						       : m->viewoncemessage ? m->viewoncemessage
						       : m->viewoncemessagev2 ? m->viewoncemessagev2
						       : m->documentwithcaptionmessage ? m->documentwithcaptionmessage
										  : NULL;
		if (fp == NULL || fp->message == NULL)
			break;
		m = fp->message;
	}
	return m;
}

/* Signal address of a sender device as the phone names it: always the PN
 * user of the account (so a peer addressed by LID or PN is one session). */
static int sender_addr(struct sim_server *s, const char *jid, wa_sig_addr *out, struct sim_account **acc)
{
	struct wa_jid j;
	struct sim_account *a;
	uint16_t dev = 0;

	if (jid == NULL || wa_jid_parse(jid, &j, NULL) != 0)
		return -1;
	a = sim_resolve_user(s, &j, &dev);
	if (acc)
		*acc = a;
	if (a != NULL)
		return wa_sig_addr_set(out, a->number, 0, dev) == WA_SIG_OK ? 0 : -1;
	return wa_sig_addr_from_jid(jid, out) == WA_SIG_OK ? 0 : -1;
}

int sim_phone_forget_session(struct sim_phone *p, const char *jid)
{
	wa_sig_addr addr;
	int had;

	if (wa_sig_addr_from_jid(jid, &addr) != WA_SIG_OK)
		return -1;
	had = wa_sig_has_session(p->sig, &addr) == 1;
	if (had && wa_sig_session_delete(p->sig, &addr) != WA_SIG_OK)
		return -1;
	return had;
}

/* <receipt id to [participant] type="retry"><retry count id t v/><registration/><keys/></receipt> */
static void send_retry(struct sim_server *s, struct sim_account *a, struct sim_phone *p, const struct wa_node *msg)
{
	struct wa_node *r = wa_node_new("receipt"), *rt, *keys;
	wa_sig_prekey pk;
	int have_pk = 0;

	if (r == NULL)
		return;
	if (p->keys.nkeys > 0) { /* hand out a fresh one-time key directly */
		pk = p->keys.keys[p->keys.nkeys - 1];
		p->keys.nkeys--;
		have_pk = 1;
	}
	if (wa_node_set_attr(r, "id", wa_node_attr(msg, "id")) || wa_node_set_attr(r, "to", wa_node_attr(msg, "from")) ||
	    wa_node_set_attr(r, "participant", wa_node_attr(msg, "participant")) ||
	    wa_node_set_attr(r, "type", "retry") || (rt = wa_node_add_new(r, "retry")) == NULL ||
	    wa_node_set_attr(rt, "count", "1") || wa_node_set_attr(rt, "id", wa_node_attr(msg, "id")) ||
	    wa_node_set_attr(rt, "t", wa_node_attr(msg, "t")) || wa_node_set_attr(rt, "v", "1") ||
	    wa_sig_add_registration(p->sig, r) != WA_SIG_OK ||
	    (keys = wa_sig_retry_keys_node(p->sig, PHONE_SPK_ID, have_pk ? &pk : NULL, NULL, 0)) == NULL) {
		wa_node_free(r);
		return;
	}
	if (wa_node_add_child(r, keys) != 0) {
		wa_node_free(keys);
		wa_node_free(r);
		return;
	}
	(void)sim_receipt_relay(s, a, 0, r);
	wa_node_free(r);
}

static void send_delivery(struct sim_server *s, struct sim_account *a, const struct wa_node *msg)
{
	struct wa_node *r = wa_node_new("receipt");

	if (r && !wa_node_set_attr(r, "id", wa_node_attr(msg, "id")) &&
	    !wa_node_set_attr(r, "to", wa_node_attr(msg, "from")) &&
	    !wa_node_set_attr(r, "participant", wa_node_attr(msg, "participant")))
		(void)sim_receipt_relay(s, a, 0, r);
	wa_node_free(r);
}

int sim_phone_receive(struct sim_server *s, struct sim_account *a, struct wa_node *msg)
{
	struct sim_phone *p = sim_phone_get(s, a);
	const char *from = wa_node_attr(msg, "from"), *participant = wa_node_attr(msg, "participant");
	const char *id = wa_node_attr(msg, "id");
	int is_group = 0, failed = 0, got = 0, own = 0;
	struct sim_account *sacc = NULL;
	wa_sig_addr addr;
	struct wa_jid fj;
	struct wa_node *enc = NULL;
	WaE2E__Message *content = NULL;
	struct sim_msgrec r;
	json_t *extra = NULL;

	if (p == NULL || from == NULL || id == NULL || wa_jid_parse(from, &fj, NULL) != 0)
		return -1;
	is_group = wa_jid_is_group(&fj) || wa_jid_is_broadcast(&fj);
	if (sender_addr(s, is_group ? participant : from, &addr, &sacc) != 0)
		return -1;
	own = sacc == a;
	while ((enc = wa_node_next(msg, "enc", enc)) != NULL) {
		enum wa_sig_msg_type t;
		const uint8_t *ct;
		size_t ctlen = 0, ulen;
		uint8_t *pt = NULL;
		size_t ptlen = 0;
		int rc;
		WaE2E__Message *m;

		ct = wa_node_content(enc, &ctlen);
		if (ct == NULL || wa_sig_msg_type_parse(wa_node_attr(enc, "type"), &t) != 0) {
			failed = 1;
			continue;
		}
		if (t == WA_SIG_SKMSG)
			rc = wa_sig_group_decrypt(p->sig, from, &addr, ct, ctlen, &pt, &ptlen);
		else
			rc = wa_sig_decrypt(p->sig, &addr, t, ct, ctlen, &pt, &ptlen);
		if (rc == WA_SIG_UNTRUSTED) { /* the peer re-paired: accept its new identity */
			wa_sig_identity_forget(p->sig, &addr);
			rc = wa_sig_decrypt(p->sig, &addr, t, ct, ctlen, &pt, &ptlen);
		}
		if (rc != WA_SIG_OK) {
			wa_info("sim: phone cannot decrypt %s %s: %s", wa_node_attr(enc, "type"), id, wa_sig_strerror(rc));
			if (rc != WA_SIG_DUPLICATE)
				failed = 1;
			continue;
		}
		if (wa_sig_unpad(pt, ptlen, &ulen) != WA_SIG_OK ||
		    (m = (WaE2E__Message *)wa_pb_unpack(&wa_e2_e__message__descriptor, pt, ulen, WA_PB_MAX_DEPTH)) == NULL) {
			wa_sig_buf_free(pt, ptlen);
			failed = 1;
			continue;
		}
		wa_sig_buf_free(pt, ptlen);
		got = 1;
		if (m->senderkeydistributionmessage && m->senderkeydistributionmessage->groupid &&
		    m->senderkeydistributionmessage->has_axolotlsenderkeydistributionmessage) {
			const WaE2E__SenderKeyDistributionMessage *sk = m->senderkeydistributionmessage;

			if (wa_sig_group_process_skdm(p->sig, sk->groupid, &addr, sk->axolotlsenderkeydistributionmessage.data,
						      sk->axolotlsenderkeydistributionmessage.len) != WA_SIG_OK)
				wa_info("sim: phone: bad SKDM in %s", id);
		}
		/* keep the message with content (skmsg beats a bare SKDM) */
		if (content == NULL || content->senderkeydistributionmessage) {
			if (content)
				wa_e2_e__message__free_unpacked(content, NULL);
			content = m;
		} else {
			wa_e2_e__message__free_unpacked(m, NULL);
		}
	}
	memset(&r, 0, sizeof r);
	snprintf(r.id, sizeof r.id, "%s", id);
	snprintf(r.sender, sizeof r.sender, "%s", is_group ? participant : from);
	{
		struct wa_jid cj = fj;

		wa_jid_to_non_ad(&cj);
		if (!is_group && sacc)
			wa_jid_make(&cj, sacc->number, WA_SERVER_USER);
		wa_jid_format(&cj, r.chat, sizeof r.chat);
	}
	r.t = sim_now(s);
	r.status = SIM_ST_DELIVERED;
	extra = json_object();
	/* the stanza as it came (§7.4: its type, edit and poll meta) */
	if (extra && wa_node_attr(msg, "type"))
		json_object_set_new(extra, "stanzaType", json_string(wa_node_attr(msg, "type")));
	if (extra && wa_node_attr(msg, "edit"))
		json_object_set_new(extra, "edit", json_string(wa_node_attr(msg, "edit")));
	if (extra && wa_node_child(msg, "meta") && wa_node_attr(wa_node_child(msg, "meta"), "polltype"))
		json_object_set_new(extra, "polltype", json_string(wa_node_attr(wa_node_child(msg, "meta"), "polltype")));
	if (content != NULL) {
		const WaE2E__Message *m = unwrap(content);

		if (content->messagecontextinfo && content->messagecontextinfo->has_messagesecret &&
		    content->messagecontextinfo->messagesecret.len == 32) {
			memcpy(r.secret, content->messagecontextinfo->messagesecret.data, 32);
			r.has_secret = 1;
		}

		if (m->devicesentmessage && m->devicesentmessage->message) {
			r.from_me = 1;
			if (m->devicesentmessage->destinationjid)
				snprintf(r.chat, sizeof r.chat, "%s", m->devicesentmessage->destinationjid);
			m = unwrap(m->devicesentmessage->message);
		} else if (own) {
			r.from_me = 1;
			if (wa_node_attr(msg, "recipient"))
				snprintf(r.chat, sizeof r.chat, "%s", wa_node_attr(msg, "recipient"));
		}
		summarize(m, &r, extra);
	} else {
		snprintf(r.type, sizeof r.type, "undecryptable");
		r.status = SIM_ST_ERROR;
	}
	if (extra && json_object_size(extra) > 0)
		r.extra = json_dumps(extra, JSON_COMPACT);
	json_decref(extra);
	/* peer messages (key requests, history requests) are not chat messages */
	/* peer protocol messages from the own companions (key requests; simstate) */
	if (own && content != NULL && content->protocolmessage != NULL)
		sim_state_on_peer_protocol(s, a, (uint16_t)addr.device, content->protocolmessage);
	if (strcmp(r.type, "skdm") != 0 && !wa_node_attr_is(msg, "category", "peer") && (got || failed)) {
		/* a re-sent message (retry, duplicate delivery) replaces a failed copy, never doubles */
		struct sim_msgrec *old = find_rec(p->inbox, p->ninbox, r.id);

		if (old && strcmp(old->sender, r.sender) == 0) {
			if (old->status == SIM_ST_ERROR && got) {
				rec_release(old);
				*old = r;
				r.text = r.extra = NULL; /* moved into the record */
			}
		} else {
			(void)sim_phone_record(p, 0, &r);
		}
	}
	free(r.text);
	free(r.extra);
	if (content)
		wa_e2_e__message__free_unpacked(content, NULL);
	if (failed && !got)
		send_retry(s, a, p, msg);
	else if (!own && got)
		send_delivery(s, a, msg);
	return 0;
}

/* ---- sending ---- */

/* Make sure the phone has a session with device (acc, dev): fetch its
 * bundle from the server table (consuming a one-time key) when there is
 * none, or always when fresh is set. */
static int ensure_session(struct sim_server *s, struct sim_phone *p, struct sim_account *acc, uint16_t dev,
			  const wa_sig_bundle *given, int fresh)
{
	wa_sig_addr addr;
	wa_sig_bundle b;
	int rc;

	if (wa_sig_addr_set(&addr, acc->number, 0, dev) != WA_SIG_OK)
		return -1;
	if (!fresh && given == NULL && wa_sig_has_session(p->sig, &addr) == 1)
		return 0;
	if (given)
		b = *given;
	else if (sim_prekeys_fetch(s, acc, dev, &b) != 0)
		return -1;
	wa_sig_session_delete(p->sig, &addr);
	rc = wa_sig_bundle_process(p->sig, &addr, &b);
	if (rc == WA_SIG_UNTRUSTED) {
		wa_sig_identity_forget(p->sig, &addr);
		rc = wa_sig_bundle_process(p->sig, &addr, &b);
	}
	return rc == WA_SIG_OK ? 0 : -1;
}

/* <enc v="2" type="pkmsg|msg">Signal(pad(plain))</enc> for (acc, dev). */
static struct wa_node *encrypt_for(struct sim_phone *p, struct sim_account *acc, uint16_t dev,
				   const uint8_t *plain, size_t len, const char *mediatype)
{
	wa_sig_addr addr;
	uint8_t *padded = NULL, *ct = NULL;
	size_t plen = 0, ctlen = 0;
	enum wa_sig_msg_type t;
	struct wa_node *enc = NULL;

	if (wa_sig_addr_set(&addr, acc->number, 0, dev) != WA_SIG_OK ||
	    wa_sig_pad(plain, len, 0, &padded, &plen) != WA_SIG_OK)
		return NULL;
	if (wa_sig_encrypt(p->sig, &addr, padded, plen, &t, &ct, &ctlen) == WA_SIG_OK) {
		enc = wa_node_new_attrs("enc", "v", "2", "type", wa_sig_msg_type_name(t), "mediatype", mediatype, NULL);
		if (enc && wa_node_set_bytes(enc, ct, ctlen) != 0) {
			wa_node_free(enc);
			enc = NULL;
		}
	}
	wa_sig_buf_free(padded, plen);
	free(ct);
	return enc;
}

/* Message{deviceSentMessage{destinationJID, message}, messageContextInfo} (§7.3) */
static int wrap_dsm(const char *chat, const uint8_t *msg, size_t len, uint8_t **out, size_t *outlen)
{
	WaE2E__Message *orig = (WaE2E__Message *)wa_pb_unpack(&wa_e2_e__message__descriptor, msg, len, WA_PB_MAX_DEPTH);
	WaE2E__Message outer = WA_E2_E__MESSAGE__INIT;
	WaE2E__DeviceSentMessage dsm = WA_E2_E__DEVICE_SENT_MESSAGE__INIT;
	size_t n;

	if (orig == NULL)
		return -1;
	dsm.destinationjid = (char *)chat;
	dsm.message = orig;
	outer.devicesentmessage = &dsm;
	outer.messagecontextinfo = orig->messagecontextinfo;
	n = wa_e2_e__message__get_packed_size(&outer);
	*out = malloc(n ? n : 1);
	if (*out == NULL) {
		wa_e2_e__message__free_unpacked(orig, NULL);
		return -1;
	}
	*outlen = wa_e2_e__message__pack(&outer, *out);
	wa_e2_e__message__free_unpacked(orig, NULL);
	return 0;
}

/* Add <to jid=(acc,dev)><enc/></to> to participants. */
static int add_to(struct sim_server *s, struct sim_phone *p, struct wa_node *parts, struct sim_account *acc,
		  uint16_t dev, const uint8_t *plain, size_t len, const char *mediatype)
{
	char jid[WA_JID_STR_MAX];
	struct wa_node *to, *enc;

	if (ensure_session(s, p, acc, dev, NULL, 0) != 0) {
		wa_info("sim: phone has no session with %s:%u; skipped", acc->number, dev);
		return 0;
	}
	enc = encrypt_for(p, acc, dev, plain, len, mediatype);
	if (enc == NULL)
		return -1;
	sim_device_jid(acc, dev, jid, sizeof jid);
	to = wa_node_new_attrs("to", "jid", jid, NULL);
	if (to == NULL || wa_node_add_child(to, enc) != 0) {
		wa_node_free(enc);
		wa_node_free(to);
		return -1;
	}
	if (wa_node_add_child(parts, to) != 0) {
		wa_node_free(to);
		return -1;
	}
	return 0;
}

/* A peer message (category="peer") from the phone to its own companion
 * dev: app-state key shares, history-sync notifications (simstate). */
int sim_phone_send_peer(struct sim_server *s, struct sim_account *a, uint16_t dev, const uint8_t *msg, size_t len)
{
	struct sim_phone *p = sim_phone_get(s, a);
	char to[WA_JID_STR_MAX], id[WA_MSGID_MAX + 1];
	struct wa_node *m = NULL, *enc;
	const char *err = NULL;
	int rc = -1;

	if (p == NULL || dev == 0 || !sim_device_exists(a, dev) || ensure_session(s, p, a, dev, NULL, 0) != 0 ||
	    wa_msgid_generate(id, a->number, (time_t)sim_now(s)) != 0)
		return -1;
	enc = encrypt_for(p, a, dev, msg, len, NULL);
	sim_device_jid(a, dev, to, sizeof to);
	m = wa_node_new_attrs("message", "to", to, "id", id, "type", "text", "category", "peer", "push_priority",
			      "high_force", NULL);
	if (enc == NULL || m == NULL || wa_node_add_child(m, enc) != 0) {
		wa_node_free(enc);
		goto out;
	}
	rc = sim_relay_message(s, a, 0, m, &err);
	if (rc != 0)
		wa_info("sim: phone peer message not relayed (%s)", err ? err : "-");
out:
	wa_node_free(m);
	return rc;
}

static const char *media_type_of(const uint8_t *msg, size_t len)
{
	WaE2E__Message *m = (WaE2E__Message *)wa_pb_unpack(&wa_e2_e__message__descriptor, msg, len, WA_PB_MAX_DEPTH);
	const char *t = NULL;

	if (m == NULL)
		return NULL;
	if (m->imagemessage)
		t = "image";
	else if (m->videomessage)
		t = "video";
	else if (m->audiomessage)
		t = m->audiomessage->ptt ? "ptt" : "audio";
	else if (m->documentmessage)
		t = "document";
	else if (m->stickermessage)
		t = "sticker";
	else if (m->contactmessage)
		t = "vcard";
	wa_e2_e__message__free_unpacked(m, NULL);
	return t;
}

/* The stanza's edit attribute for the content (7.6): "1" an edit, "7" a
 * revoke of one's own message, "8" an admin's revoke of another's; NULL
 * for the rest. */
static const char *edit_attr_of(const uint8_t *msg, size_t len)
{
	WaE2E__Message *m = (WaE2E__Message *)wa_pb_unpack(&wa_e2_e__message__descriptor, msg, len, WA_PB_MAX_DEPTH);
	const WaE2E__ProtocolMessage *pm;
	const char *e = NULL;

	if (m == NULL)
		return NULL;
	pm = m->protocolmessage;
	if (pm == NULL && m->editedmessage && m->editedmessage->message)
		pm = m->editedmessage->message->protocolmessage;
	if (pm && pm->has_type && pm->type == WA_E2_E__PROTOCOL_MESSAGE__TYPE__MESSAGE_EDIT)
		e = "1";
	else if (pm && pm->has_type && pm->type == WA_E2_E__PROTOCOL_MESSAGE__TYPE__REVOKE && pm->key)
		e = pm->key->fromme ? "7" : "8";
	wa_e2_e__message__free_unpacked(m, NULL);
	return e;
}

static int phone_send(struct sim_server *s, struct sim_account *a, const char *chat, struct sim_account *const *aud,
		      int naud, const uint8_t *msg, size_t len, const char *stanza_type, const struct sim_msgrec *summary,
		      char *id_out, size_t id_cap, const char **why);

int sim_phone_send(struct sim_server *s, struct sim_account *a, const char *chat, const uint8_t *msg,
		   size_t len, const char *stanza_type, const struct sim_msgrec *summary, char *id_out,
		   size_t id_cap, const char **why)
{
	return phone_send(s, a, chat, NULL, 0, msg, len, stanza_type, summary, id_out, id_cap, why);
}

int sim_phone_send_status(struct sim_server *s, struct sim_account *a, struct sim_account *const *audience, int n,
			  const uint8_t *msg, size_t len, const char *stanza_type, const struct sim_msgrec *summary,
			  char *id_out, size_t id_cap, const char **why)
{
	if (n < 0 || n >= SIM_GROUP_MEMBERS_MAX) {
		*why = "audience too large";
		return -1;
	}
	return phone_send(s, a, "status@broadcast", audience, n, msg, len, stanza_type, summary, id_out, id_cap, why);
}

/* chat a user or group JID, or status@broadcast with the audience aud
 * (naud accounts; the phone's own companions are added) */
static int phone_send(struct sim_server *s, struct sim_account *a, const char *chat, struct sim_account *const *aud,
		      int naud, const uint8_t *msg, size_t len, const char *stanza_type, const struct sim_msgrec *summary,
		      char *id_out, size_t id_cap, const char **why)
{
	struct sim_phone *p = sim_phone_get(s, a);
	struct wa_jid cj;
	struct sim_account *peer = NULL, *members[SIM_GROUP_MEMBERS_MAX];
	struct wa_node *n = NULL, *parts;
	uint8_t *dsm = NULL;
	size_t dsmlen = 0;
	const char *mediatype, *err = NULL;
	char id[WA_MSGID_LEN + 1], chatjid[WA_JID_STR_MAX];
	struct sim_msgrec rec;
	struct sim_device *d;
	int rc = -1, nm = 0;

	*why = "internal error";
	if (p == NULL)
		return -1;
	if (chat == NULL || wa_jid_parse(chat, &cj, NULL) != 0) {
		*why = "bad chat jid";
		return -1;
	}
	wa_jid_normalize(&cj);
	wa_jid_to_non_ad(&cj);
	wa_jid_format(&cj, chatjid, sizeof chatjid);
	if (aud != NULL || wa_jid_is_status(&cj)) {
		/* status@broadcast (§7.8): the audience and our own devices */
		for (int i = 0; i < naud; i++)
			if (aud[i] != a)
				members[nm++] = aud[i];
		members[nm++] = a;
	} else if (wa_jid_is_group(&cj)) {
		nm = sim_group_members(s, chatjid, members, SIM_GROUP_MEMBERS_MAX);
		if (nm < 0) {
			*why = "no such group";
			return -1;
		}
	} else if ((peer = sim_resolve_user(s, &cj, NULL)) == NULL) {
		*why = "no such account";
		return -1;
	}
	mediatype = media_type_of(msg, len);
	if (wa_msgid_generate(id, a->number, (time_t)sim_now(s)) != 0)
		return -1;
	n = wa_node_new_attrs("message", "id", id, "to", chatjid, "type", stanza_type, "edit", edit_attr_of(msg, len),
			      NULL);
	/* phones send only votes of type poll (7.4: <meta polltype="vote"/>) */
	if (n && strcmp(stanza_type, "poll") == 0 && wa_node_set_attr(wa_node_add_new(n, "meta"), "polltype", "vote") != 0)
		goto out;
	parts = n ? wa_node_add_new(n, "participants") : NULL;
	if (parts == NULL || wa_node_set_empty_list(parts) != 0)
		goto out;
	if (peer != NULL) {
		if (peer != a) {
			if (add_to(s, p, parts, peer, 0, msg, len, mediatype) != 0)
				goto out;
			for (d = peer->devices; d; d = d->next)
				if (add_to(s, p, parts, peer, d->id, msg, len, mediatype) != 0)
					goto out;
		}
		if (a->devices && wrap_dsm(chatjid, msg, len, &dsm, &dsmlen) != 0)
			goto out;
		for (d = a->devices; d; d = d->next)
			if (add_to(s, p, parts, a, d->id, dsm, dsmlen, mediatype) != 0)
				goto out;
	} else {
		/* group: SKDM to every member device, then one skmsg (§7.4, §7.5) */
		wa_sig_addr self;
		uint8_t *skdm = NULL, *sk_plain = NULL, *padded = NULL, *ct = NULL;
		size_t skdmlen = 0, sk_plain_len = 0, plen = 0, ctlen = 0;
		WaE2E__Message outer = WA_E2_E__MESSAGE__INIT;
		WaE2E__SenderKeyDistributionMessage sk = WA_E2_E__SENDER_KEY_DISTRIBUTION_MESSAGE__INIT;
		struct wa_node *enc;
		int ok = 0;

		if (wa_sig_addr_set(&self, a->number, 0, 0) != WA_SIG_OK ||
		    wa_sig_group_skdm(p->sig, chatjid, &self, &skdm, &skdmlen) != WA_SIG_OK)
			goto out;
		sk.groupid = chatjid;
		sk.has_axolotlsenderkeydistributionmessage = 1;
		sk.axolotlsenderkeydistributionmessage.data = skdm;
		sk.axolotlsenderkeydistributionmessage.len = skdmlen;
		outer.senderkeydistributionmessage = &sk;
		sk_plain_len = wa_e2_e__message__get_packed_size(&outer);
		sk_plain = malloc(sk_plain_len);
		if (sk_plain != NULL) {
			wa_e2_e__message__pack(&outer, sk_plain);
			ok = 1;
			for (int i = 0; ok && i < nm; i++) {
				if (members[i] != a && add_to(s, p, parts, members[i], 0, sk_plain, sk_plain_len, NULL) != 0)
					ok = 0;
				for (d = members[i]->devices; ok && d; d = d->next)
					if (add_to(s, p, parts, members[i], d->id, sk_plain, sk_plain_len, NULL) != 0)
						ok = 0;
			}
		}
		if (ok && wa_sig_pad(msg, len, 0, &padded, &plen) == WA_SIG_OK &&
		    wa_sig_group_encrypt(p->sig, chatjid, &self, padded, plen, &ct, &ctlen) == WA_SIG_OK) {
			enc = wa_node_new_attrs("enc", "v", "2", "type", "skmsg", "mediatype", mediatype, NULL);
			if (enc == NULL || wa_node_set_bytes(enc, ct, ctlen) != 0 || wa_node_add_child(n, enc) != 0) {
				wa_node_free(enc);
				ok = 0;
			}
		} else {
			ok = 0;
		}
		free(skdm);
		free(sk_plain);
		free(ct);
		wa_sig_buf_free(padded, plen);
		if (!ok)
			goto out;
	}
	/* record first: deliveries may answer with receipts right away */
	memset(&rec, 0, sizeof rec);
	if (summary)
		rec = *summary;
	snprintf(rec.id, sizeof rec.id, "%s", id);
	snprintf(rec.chat, sizeof rec.chat, "%s", chatjid);
	snprintf(rec.sender, sizeof rec.sender, "%s@s.whatsapp.net", a->number);
	snprintf(rec.stanza_type, sizeof rec.stanza_type, "%s", stanza_type);
	rec.from_me = 1;
	rec.t = sim_now(s);
	rec.status = SIM_ST_SERVER;
	rec.plain = (uint8_t *)msg;
	rec.plain_len = len;
	if (sim_phone_record(p, 1, &rec) != 0)
		goto out;
	if (sim_relay_message(s, a, 0, n, &err) != 0) {
		*why = err ? err : "relay failed";
		goto out;
	}
	snprintf(id_out, id_cap, "%s", id);
	rc = 0;
out:
	free(dsm);
	wa_node_free(n);
	return rc;
}

/* ---- receipts ---- */

static int status_of(const char *type)
{
	if (type == NULL || strcmp(type, "inactive") == 0)
		return SIM_ST_DELIVERED;
	if (strcmp(type, "read") == 0 || strcmp(type, "read-self") == 0)
		return SIM_ST_READ;
	if (strcmp(type, "played") == 0 || strcmp(type, "played-self") == 0)
		return SIM_ST_PLAYED;
	return -1;
}

/* Send rec (an outbox message of the phone of a) again to the one device
 * (racc, dev), under its id and time, as a 1:1 message (a device-sent copy
 * for the phone's own companions): over a fresh session from b (or a
 * fetched bundle) when fresh is set, else over the session there is.
 * count ("" none) goes on the enc (retries, §8.4). */
static int send_one_again(struct sim_server *s, struct sim_account *a, struct sim_phone *p, struct sim_msgrec *rec,
			  struct sim_account *racc, uint16_t dev, const wa_sig_bundle *b, int fresh, const char *count)
{
	struct wa_node *m = NULL, *enc;
	uint8_t *plain = rec->plain, *dsm = NULL;
	size_t plen = rec->plain_len, dsmlen = 0;
	char myjid[WA_JID_STR_MAX];
	int rc = -1;

	if (plain == NULL || ensure_session(s, p, racc, dev, b, fresh) != 0)
		return -1;
	if (racc == a) {
		if (wrap_dsm(rec->chat, plain, plen, &dsm, &dsmlen) != 0)
			return -1;
		plain = dsm;
		plen = dsmlen;
	}
	enc = encrypt_for(p, racc, dev, plain, plen, media_type_of(rec->plain, rec->plain_len));
	sim_device_jid(a, 0, myjid, sizeof myjid);
	m = wa_node_new_attrs("message", "from", myjid, "id", rec->id, "type", rec->stanza_type, "edit",
			      edit_attr_of(rec->plain, rec->plain_len), NULL);
	if (enc == NULL || m == NULL || (count[0] && wa_node_set_attr(enc, "count", count)) ||
	    wa_node_set_attr_uint(m, "t", rec->t) || wa_node_set_attr(m, "notify", a->push_name) ||
	    (racc == a && wa_node_set_attr(m, "recipient", rec->chat)) || wa_node_add_child(m, enc) != 0) {
		wa_node_free(enc);
		goto out;
	}
	rc = sim_deliver_to(s, racc, dev, m);
out:
	wa_node_free(m);
	free(dsm);
	return rc;
}

/* Answer a retry receipt: fresh session with the requester (from its
 * <keys> when given, else a fetched bundle), re-encrypt, re-send (§8.4). */
static int phone_retry(struct sim_server *s, struct sim_account *a, struct sim_phone *p, struct wa_node *rcpt,
		       struct sim_msgrec *rec)
{
	const char *from = wa_node_attr(rcpt, "from");
	struct wa_node *rt = wa_node_child(rcpt, "retry");
	struct sim_account *racc = NULL;
	struct wa_jid fj;
	uint16_t dev = 0;
	wa_sig_bundle b;
	int have_b;
	char count[12];

	if (from == NULL || wa_jid_parse(from, &fj, NULL) != 0 || (racc = sim_resolve_user(s, &fj, &dev)) == NULL ||
	    rec->plain == NULL)
		return -1;
	if (++rec->retries > 5)
		return 0; /* as the clients do, stop after 5 */
	have_b = wa_sig_bundle_from_node(rcpt, &b) == WA_SIG_OK;
	snprintf(count, sizeof count, "%s", wa_node_attr_or(rt, "count", "1"));
	return send_one_again(s, a, p, rec, racc, dev, have_b ? &b : NULL, 1, count);
}

int sim_phone_resend(struct sim_server *s, struct sim_account *a, const char *id)
{
	struct sim_phone *p = sim_phone_get(s, a);
	struct sim_msgrec *rec = p ? find_rec(p->outbox, p->noutbox, id) : NULL;
	struct sim_account *peer;
	struct sim_device *d;
	struct wa_jid cj;
	int n = 0;

	if (rec == NULL || wa_jid_parse(rec->chat, &cj, NULL) != 0 || wa_jid_is_group(&cj) ||
	    (peer = sim_resolve_user(s, &cj, NULL)) == NULL)
		return -1;
	if (peer != a) {
		n += send_one_again(s, a, p, rec, peer, 0, NULL, 0, "") == 0;
		for (d = peer->devices; d; d = d->next)
			n += send_one_again(s, a, p, rec, peer, d->id, NULL, 0, "") == 0;
	}
	for (d = a->devices; d; d = d->next)
		n += send_one_again(s, a, p, rec, a, d->id, NULL, 0, "") == 0;
	return n;
}

int sim_phone_on_receipt(struct sim_server *s, struct sim_account *a, struct wa_node *rcpt)
{
	struct sim_phone *p = sim_phone_get(s, a);
	const char *type = wa_node_attr(rcpt, "type"), *id = wa_node_attr(rcpt, "id");
	struct wa_node *list = wa_node_child(rcpt, "list"), *it = NULL;
	struct sim_msgrec *rec;
	int st;

	if (p == NULL || id == NULL)
		return -1;
	if (type && strcmp(type, "retry") == 0) {
		rec = find_rec(p->outbox, p->noutbox, id);
		return rec ? phone_retry(s, a, p, rcpt, rec) : 0;
	}
	st = status_of(type);
	if (st < 0)
		return 0;
	{
		/* an own companion read something: mark the phone's inbox copy */
		struct wa_jid fj;
		uint16_t fdev = 0;

		if (st >= SIM_ST_READ && wa_node_attr_jid(rcpt, "from", &fj) == 0 &&
		    sim_resolve_user(s, &fj, &fdev) == a && fdev != 0) {
			for (;;) {
				rec = find_rec(p->inbox, p->ninbox, id);
				if (rec && rec->status < st)
					rec->status = st;
				it = wa_node_next(list, "item", it);
				if (it == NULL || (id = wa_node_attr(it, "id")) == NULL)
					break;
			}
			return 0;
		}
	}
	for (;;) {
		rec = find_rec(p->outbox, p->noutbox, id);
		if (rec && rec->status < st)
			rec->status = st;
		it = wa_node_next(list, "item", it);
		if (it == NULL || (id = wa_node_attr(it, "id")) == NULL)
			break;
	}
	return 0;
}

int sim_phone_read(struct sim_server *s, struct sim_account *a, const char *const *ids, size_t n,
		   const char *type)
{
	struct sim_phone *p = sim_phone_get(s, a);
	unsigned char *done;
	int found = 0;
	size_t i, k;

	if (p == NULL || n == 0)
		return 0;
	done = calloc(n, 1);
	if (done == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		struct sim_msgrec *r = done[i] ? NULL : find_rec(p->inbox, p->ninbox, ids[i]);
		struct wa_node *rc, *list = NULL;
		struct wa_jid cj;
		int group;

		if (r == NULL || r->from_me)
			continue;
		/* one receipt per (chat, sender): the first id on top, the rest listed */
		rc = wa_node_new_attrs("receipt", "id", r->id, "to", r->chat, "type", type, NULL);
		if (rc == NULL)
			break;
		group = wa_jid_parse(r->chat, &cj, NULL) == 0 && (wa_jid_is_group(&cj) || wa_jid_is_broadcast(&cj));
		if (group)
			wa_node_set_attr(rc, "participant", r->sender);
		wa_node_set_attr_uint(rc, "t", sim_now(s));
		if (r->status < SIM_ST_READ)
			r->status = strcmp(type, "played") == 0 ? SIM_ST_PLAYED : SIM_ST_READ;
		done[i] = 1;
		found++;
		for (k = i + 1; k < n; k++) {
			struct sim_msgrec *o = done[k] ? NULL : find_rec(p->inbox, p->ninbox, ids[k]);
			struct wa_node *item;

			if (o == NULL || o->from_me || strcmp(o->chat, r->chat) != 0 || strcmp(o->sender, r->sender) != 0)
				continue;
			if (list == NULL && (list = wa_node_add_new(rc, "list")) == NULL)
				break;
			item = wa_node_add_new(list, "item");
			if (item == NULL || wa_node_set_attr(item, "id", o->id) != 0)
				break;
			if (o->status < SIM_ST_READ)
				o->status = strcmp(type, "played") == 0 ? SIM_ST_PLAYED : SIM_ST_READ;
			done[k] = 1;
			found++;
		}
		(void)sim_receipt_relay(s, a, 0, rc);
		wa_node_free(rc);
	}
	free(done);
	return found;
}
