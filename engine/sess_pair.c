/* sess_pair: linking a session to a phone (docs/protocol.md §4): the QR
 * refs and their rotation, pairing by phone-number code, and pair-success,
 * whose result is stored before the phone is answered, so a crash cannot
 * leave a phone that lists a device the gateway has no keys for. The
 * protocol itself is wa/pairing's; this file only drives it. */
#include "engine/cmd.h"
#include "engine/engine.h"
#include "engine/session_int.h"
#include "wa_err.h"
#include "wa_log.h"
#include "wa_util.h"

#include <stdlib.h>
#include <string.h>

/* Shown to the phone as the linking browser for code pairing. */
#define CODE_DISPLAY "Chrome (Linux)"

static void keys_of(const struct wa_session *s, struct wa_pair_keys *k)
{
	memcpy(k->noise_pub, s->cr->noise_pub, 32);
	memcpy(k->identity_priv, s->cr->identity_priv, 32);
	memcpy(k->identity_pub, s->cr->identity_pub, 32);
	memcpy(k->adv_secret, s->cr->adv_secret, 32);
	k->platform_id = '7'; /* ELECTRON: DeviceProps says DESKTOP (§4.2) */
}

void pair_reset(struct wa_session *s)
{
	lws_sul_cancel(&s->t_qr);
	s->qr_refs.n = 0;
	s->qr_index = -1;
	s->qr[0] = '\0';
	if (s->pc) {
		explicit_bzero(s->pc, sizeof *s->pc);
		free(s->pc);
		s->pc = NULL;
	}
	s->pairing_code[0] = '\0';
	s->pairing_saved = 0;
	if (s->pair_reply) {
		wa_node_free(s->pair_reply);
		s->pair_reply = NULL;
	}
}

/* ---- QR ---- */

static void on_qr_timer(lws_sorted_usec_list_t *sul);

static void show_ref(struct wa_session *s)
{
	struct wa_pair_keys k;
	int rc;

	keys_of(s, &k);
	rc = wa_pair_qr_string(&k, s->qr_refs.ref[s->qr_index], s->qr, sizeof s->qr);
	explicit_bzero(&k, sizeof k);
	if (rc != 0) {
		sess_disconnect(s, "cannot build the QR string");
		return;
	}
	wa_info("session %s: QR code %d of %d ready for scanning", s->id, s->qr_index + 1, s->qr_refs.n);
	sess_set_status(s, WA_SST_QR, NULL);
	lws_sul_schedule(s->e->lws, 0, &s->t_qr, on_qr_timer,
			 (lws_usec_t)sess_qr_timeout_ms(s, s->qr_index == 0) * LWS_US_PER_MS);
}

static void on_qr_timer(lws_sorted_usec_list_t *sul)
{
	struct wa_session *s = lws_container_of(sul, struct wa_session, t_qr);

	if (s->pairing_saved)
		return;
	if (s->qr_index + 1 >= s->qr_refs.n) {
		sess_end(s, WA_SST_STOPPED, "the QR code was not scanned in time: start the session again for a new one",
			 0);
		return;
	}
	s->qr_index++;
	show_ref(s);
}

/* ---- pairing code (§4.5) ---- */

static void hello_done(void *ctx, const struct wa_node *reply, int err)
{
	struct wa_session *s = ctx;
	struct wa_cmd *cmd = s->pair_cmd;
	char code[10];

	s->pair_cmd = NULL;
	if (err || !wa_node_attr_is(reply, "type", "result") || !s->pc || wa_pair_code_ref(s->pc, reply) != 0 ||
	    wa_pair_code_display(s->pc, code) != 0) {
		wa_warn("session %s: the server refused the pairing-code request (%s)", s->id,
			err ? wa_strerror(err) : "error answer");
		if (s->pc) {
			explicit_bzero(s->pc, sizeof *s->pc);
			free(s->pc);
			s->pc = NULL;
		}
		if (cmd)
			wa_cmd_reply_error(cmd, 502, "WhatsApp refused the pairing-code request for this number",
					   "pairing_refused");
		return;
	}
	snprintf(s->pairing_code, sizeof s->pairing_code, "%s", code);
	wa_info("session %s: pairing code ready for %s", s->id, s->pc->phone);
	sess_set_status(s, WA_SST_QR, NULL);
	if (cmd)
		wa_cmd_reply(cmd, 200, json_pack("{s:s,s:s}", "sessionId", s->id, "pairingCode", code));
}

static void send_hello(struct wa_session *s)
{
	struct wa_pair_keys k;
	struct wa_node *iq = NULL;
	int rc;

	if (!s->pc)
		s->pc = calloc(1, sizeof *s->pc);
	if (!s->pc) {
		rc = WA_ENOMEM;
		goto fail;
	}
	keys_of(s, &k);
	rc = wa_pair_code_hello(s->pc, s->pair_phone, &k, CODE_DISPLAY, NULL, &iq);
	explicit_bzero(&k, sizeof k);
	s->pair_phone[0] = '\0';
	if (rc == 0)
		rc = sess_iq(s, iq, 15000, hello_done);
	wa_node_free(iq);
	if (rc == 0)
		return;
fail:
	if (s->pair_cmd) {
		wa_cmd_reply_error(s->pair_cmd, rc == WA_EINVAL ? 400 : 503, rc == WA_EINVAL ?
				   "'phoneNumber' must be the full number in international form, digits only" :
				   "Cannot request a pairing code now; try again", rc == WA_EINVAL ?
				   "validation_error" : "session_not_ready");
		s->pair_cmd = NULL;
	}
}

/* Digits of a number typed as "+49 151-234 567", 6 to 15 of them. */
void wa_session_pair_code(struct wa_session *s, struct wa_cmd *cmd)
{
	const char *phone = json_string_value(json_object_get(cmd->args, "phoneNumber"));
	char digits[WA_PHONE_MAX];

	if (!phone || wa_phone_digits(phone, digits) != 0) {
		wa_cmd_reply_error(cmd, 400, "'phoneNumber' must be the account's full number in international form "
				   "(6 to 15 digits, e.g. \"491512345678\")", "validation_error");
		return;
	}
	if (s->phase == PH_READY || (s->cr && s->cr->paired)) {
		wa_cmd_reply_error(cmd, 400, "Session is already paired", "already_connected");
		return;
	}
	if (s->phase == PH_ENDED) {
		wa_cmd_reply_error(cmd, 409, "The session stopped waiting for pairing: start it again first",
				   "session_stopped");
		return;
	}
	if (s->pair_cmd) {
		wa_cmd_reply_error(cmd, 409, "A pairing code is already being requested for this session", "conflict");
		return;
	}
	snprintf(s->pair_phone, sizeof s->pair_phone, "%s", digits);
	s->pair_cmd = cmd;
	if (s->phase == PH_REGISTERING && s->qr_refs.n > 0)
		send_hello(s); /* otherwise when the server's pair-device arrives */
}

static void on_link_code(struct wa_session *s, const struct wa_node *n)
{
	struct wa_node *ack = NULL, *iq = NULL;
	struct wa_pair_keys k;
	int rc;

	if (!s->pc || !s->pc->ref[0]) {
		sess_ack(s, n);
		wa_warn("session %s: link-code notification without a code pairing in progress", s->id);
		return;
	}
	keys_of(s, &k);
	rc = wa_pair_code_finish(s->pc, n, &k, &ack, &iq);
	if (ack)
		(void)sess_send(s, ack); /* acked whatever its content (§8.6) */
	if (rc == 0) {
		memcpy(s->cr->adv_secret, k.adv_secret, 32); /* pair-success is authenticated with it */
		if (sess_iq(s, iq, 0, NULL) != 0)
			sess_disconnect(s, "cannot send companion_finish");
		else
			wa_info("session %s: the code was entered on the phone; finishing the pairing", s->id);
	} else {
		wa_warn("session %s: the phone's link-code answer does not verify (%s)", s->id, wa_strerror(rc));
	}
	explicit_bzero(&k, sizeof k);
	wa_node_free(ack);
	wa_node_free(iq);
}

/* ---- pair-success (§4.3, §4.4) ---- */

static void paired_saved(struct wa_session *s, int rc)
{
	if (rc != 0 || !s->pair_reply) {
		wa_error("session %s: the pairing result could not be stored (%s): not confirming it to the phone",
			 s->id, wa_strerror(rc));
		s->cr->paired = 0;
		sess_disconnect(s, "pairing not stored");
		return;
	}
	if (sess_send(s, s->pair_reply) != 0) {
		wa_warn("session %s: pairing stored but the connection is gone; logging in with it", s->id);
	}
	wa_node_free(s->pair_reply);
	s->pair_reply = NULL;
	wa_info("session %s: paired as %s device %u (%s); waiting for the server's restart", s->id, s->cr->phone,
		s->cr->device, s->cr->platform[0] ? s->cr->platform : "unknown platform");
}

static void on_pair_success(struct wa_session *s, const struct wa_node *iq)
{
	struct wa_pair_result res;
	struct wa_pair_keys k;
	struct wa_node *reply = NULL;
	int rc;

	keys_of(s, &k);
	rc = wa_pair_success(iq, &k, &res, &reply);
	explicit_bzero(&k, sizeof k);
	if (rc != 0 || res.account_len > sizeof s->cr->account) {
		wa_error("session %s: pair-success does not verify (%s): refused", s->id, wa_strerror(rc));
		if (reply)
			(void)sess_send(s, reply);
		wa_node_free(reply);
		explicit_bzero(&res, sizeof res);
		return;
	}
	memcpy(s->cr->account, res.account, res.account_len);
	s->cr->account_len = res.account_len;
	memcpy(s->cr->primary_identity, res.primary_identity, 32);
	snprintf(s->cr->phone, sizeof s->cr->phone, "%s", res.phone);
	s->cr->device = res.device;
	snprintf(s->cr->lid, sizeof s->cr->lid, "%s", res.lid);
	snprintf(s->cr->platform, sizeof s->cr->platform, "%s", res.platform);
	snprintf(s->cr->business_name, sizeof s->cr->business_name, "%s", res.business_name);
	s->cr->key_index = res.key_index;
	s->cr->paired = 1;
	explicit_bzero(&res, sizeof res);
	lws_sul_cancel(&s->t_qr);
	s->pairing_saved = 1;
	wa_node_free(s->pair_reply);
	s->pair_reply = reply;
	db_save_paired(s, paired_saved);
}

int pair_on_node(struct wa_session *s, const struct wa_node *n)
{
	struct wa_node *ack;

	switch (wa_pair_classify(n)) {
	case 1: /* pair-device */
		ack = wa_pair_ack(n);
		if (ack)
			(void)sess_send(s, ack);
		wa_node_free(ack);
		if (s->phase != PH_REGISTERING || s->qr_refs.n > 0)
			return 1;
		if (wa_pair_parse_refs(n, &s->qr_refs) != 0) {
			sess_disconnect(s, "pair-device without usable refs");
			return 1;
		}
		lws_sul_cancel(&s->t_login);
		s->qr_index = 0;
		show_ref(s);
		if (s->pair_cmd && s->pair_phone[0])
			send_hello(s);
		return 1;
	case 2: /* pair-success */
		if (s->phase == PH_REGISTERING && !s->pairing_saved)
			on_pair_success(s, n);
		return 1;
	case 3:
		on_link_code(s, n);
		return 1;
	default:
		return 0;
	}
}
