// fuzz-sources: common/wa_err.c wa/linkcode.c sim/sim_core.c sim/sim_store.c sim/sim_keys.c sim/sim_conn.c sim/sim_handlers.c sim/sim_pair.c wa/node.c wa/nodeprint.c wa/binary.c wa/tokens.c wa/jid.c wa/msgid.c wa/buf.c wa/noise.c wa/cert.c wa/crypto.c wa/frame.c wa/noise_conn.c wa/companion_reg.c proto/wa_handshake.pb-c.c proto/wa_cert.pb-c.c proto/wa_companion_reg.pb-c.c proto/wa_adv.pb-c.c common/wa_util.c common/wa_log.c sim/sim_prekeys.c sim/sim_phone.c sim/sim_usync.c sim/sim_msg.c sim/sim_groups.c wa/signal.c wa/signal_node.c wa/sigstore.c wa/sigstore_mem.c wa/pbsafe.c proto/wa_e2e.pb-c.c sim/sim_media.c wa/mediacrypto.c sim/sim_appstate.c sim/sim_presence.c sim/sim_call.c wa/appstate.c wa/syncaction.c proto/wa_server_sync.pb-c.c proto/wa_sync_action.pb-c.c proto/wa_history.pb-c.c
/* fuzz_sim_payload: wa-sim's handling of what a client sends after the
 * Noise handshake, without sockets. The first byte picks the entry point:
 *   0  ClientPayload bytes (registration / login decision)
 *   1  a frame plaintext (flag + node) on a registration connection that
 *      has refs out and a pair-success pending (pair-device-sign path)
 *   2  a frame plaintext on a logged-in connection (IQ / node dispatch)
 *   3  a QR string scanned by a phone (QR parser + pair-success builder)
 * Every run builds a fresh in-memory world and frees it, so leaks show. */
#include "fuzz.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wa/crypto.h"
#include "wa_log.h"
#include "sim/sim.h"

/* sim_ws.c is not linked: no socket to wake or time out. */
void sim_conn_wake(struct sim_conn *c)
{
	(void)c;
}

void sim_conn_set_timeout(struct sim_conn *c, unsigned secs)
{
	(void)c;
	(void)secs;
}

static void setup_server(struct sim_server *s)
{
	memset(s, 0, sizeof *s);
	s->seeded = 1;
	s->seed = 7;
	s->ref_first_secs = 60;
	s->ref_next_secs = 20;
	sim_derive(7, "server-static", s->keys.static_priv);
	s->keys.static_priv[0] &= 248;
	s->keys.static_priv[31] = (uint8_t)((s->keys.static_priv[31] & 127) | 64);
	(void)wa_x25519_public(s->keys.static_priv, s->keys.static_pub);
	s->store = sim_store_new(NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	struct sim_server s;
	struct sim_conn *c;
	struct sim_account *a = NULL;
	struct sim_device *d = NULL;
	uint8_t priv[32];
	char jid[64];
	const char *why;

	if (!inited) {
		wa_log_init("fuzz", WA_LOG_ERROR);
		inited = 1;
	}
	if (size < 1)
		return 0;
	setup_server(&s);
	if (s.store == NULL)
		return 0;
	sim_derive(7, "phone", priv);
	if (sim_store_account_add(s.store, "15551234567", "Alice", priv, "123456789012345", 1, &a) != 0)
		goto out;
	c = sim_conn_new(&s, NULL);
	if (c == NULL)
		goto out;
	if (sim_conn_test_open(c) != 0) /* READY, transport keys all zero: sending works */
		goto free_conn;
	switch (data[0] % 4) {
	case 0:
		(void)sim_conn_on_client_payload(c, data + 1, size - 1);
		break;
	case 1:
		c->is_registration = 1;
		(void)sim_pair_send_refs(c);
		c->pair.active = 1;
		snprintf(c->pair.iq_id, sizeof c->pair.iq_id, "1");
		snprintf(c->pair.number, sizeof c->pair.number, "15551234567");
		c->pair.device_id = 1;
		c->pair.key_index = 1;
		c->pair.details_len = 4;
		memcpy(c->pair.details, "\x08\x01\x10\x02", 4);
		(void)sim_conn_on_plaintext(c, data + 1, size - 1);
		break;
	case 2:
		if (sim_account_device_add(a, 1, &d) != 0)
			break;
		(void)sim_conn_login(c, a, d);
		(void)sim_conn_on_plaintext(c, data + 1, size - 1);
		break;
	default:
		c->is_registration = 1;
		(void)sim_pair_send_refs(c);
		{
			/* make the first ref the fuzzer's text up to the first ',' */
			const uint8_t *comma = memchr(data + 1, ',', size - 1);
			size_t rl = comma ? (size_t)(comma - data - 1) : 0;

			if (rl > 0 && rl < SIM_REF_MAX) {
				memcpy(c->refs[0], data + 1, rl);
				c->refs[0][rl] = '\0';
			}
		}
		(void)sim_pair_scan(&s, a, (const char *)data + 1, size - 1, jid, sizeof jid, &why);
		break;
	}
free_conn:
	sim_conn_free(c);
out:
	sim_store_free(s.store);
	return 0;
}
