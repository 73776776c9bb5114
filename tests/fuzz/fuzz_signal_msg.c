// fuzz-sources: common/wa_err.c wa/signal.c wa/sigstore.c wa/sigstore_mem.c wa/crypto.c common/wa_util.c
/* fuzz_signal_msg: hostile bytes into wa/signal's entry points that parse
 * peer data, i.e. libsignal's pre_key_signal_message / signal_message /
 * sender_key_message / sender_key_distribution_message deserialisers and the
 * decrypt paths behind them, plus the bundle, padding and address parsers.
 *
 * Input: byte 0 picks the target (mod 7), the rest is the payload:
 *   0 pkmsg from a known peer   1 msg from a peer we have a session with
 *   2 skmsg from a group member whose SKDM we processed
 *   3 SKDM from a new member    4 bundle fields (4|1|32|3|32|64|3|32 bytes) + process
 *   5 unpad                     6 address from a JID string
 * A fixed local party (identity, signed pre-key, pre-keys, one session, one
 * sender key) is built on first use; the in-memory store is bounded so
 * accepted inputs cannot grow it without limit. */
#include "fuzz.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wa/signal.h"
#include "wa/sigstore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *GROUP = "120363000000000001@g.us";

static struct {
	int ready;
	wa_sigstore *st, *pst;
	wa_sig *me, *peer;
	wa_sig_addr me_addr, peer_addr, new_addr;
} F;

/* me <- peer: a session (peer sent a pkmsg, me answered) and peer's sender key */
static int setup(void)
{
	wa_sig_prekey pks[4];
	wa_sig_bundle b;
	enum wa_sig_msg_type t;
	uint8_t *ct = NULL, *pt = NULL;
	size_t cl = 0, pl = 0;
	int rc = -1;

	F.st = wa_sigstore_mem_new(20000, 64u * 1024 * 1024);
	F.pst = wa_sigstore_mem_new(0, 0);
	if (!F.st || !F.pst || wa_sig_new(F.st, &F.me) || wa_sig_new(F.pst, &F.peer) ||
	    wa_sig_addr_from_jid("15550000001:1@s.whatsapp.net", &F.me_addr) ||
	    wa_sig_addr_from_jid("15550000002:3@s.whatsapp.net", &F.peer_addr) ||
	    wa_sig_addr_from_jid("100000000000009@lid", &F.new_addr) ||
	    wa_sig_identity_generate(F.me) || wa_sig_identity_generate(F.peer) ||
	    wa_sig_signed_prekey_generate(F.me, 1, NULL) || wa_sig_prekeys_generate(F.me, 1, 4, pks, NULL) ||
	    wa_sig_bundle_own(F.me, 1, 1, &b) || wa_sig_bundle_process(F.peer, &F.me_addr, &b) ||
	    wa_sig_encrypt(F.peer, &F.me_addr, (const uint8_t *)"hi\1", 3, &t, &ct, &cl) ||
	    wa_sig_decrypt(F.me, &F.peer_addr, t, ct, cl, &pt, &pl))
		goto out;
	free(ct);
	ct = NULL;
	if (wa_sig_group_skdm(F.peer, GROUP, &F.peer_addr, &ct, &cl) ||
	    wa_sig_group_process_skdm(F.me, GROUP, &F.peer_addr, ct, cl))
		goto out;
	rc = 0;
out:
	free(ct);
	wa_sig_buf_free(pt, pl);
	return rc;
}

static void fuzz_bundle(const uint8_t *p, size_t n)
{
	static const size_t lens[8] = { 4, 1, 32, 3, 32, 64, 3, 32 };
	wa_sig_bytes f[8];
	wa_sig_bundle_wire w;
	wa_sig_bundle b;
	size_t i, off = 0;

	for (i = 0; i < 8; i++) {
		/* a short tail leaves the remaining fields absent or short */
		size_t take = n - off < lens[i] ? n - off : lens[i];

		f[i].data = take ? p + off : NULL;
		f[i].len = take;
		off += take;
	}
	w.registration = f[0];
	w.type = f[1];
	w.identity = f[2];
	w.skey_id = f[3];
	w.skey_value = f[4];
	w.skey_signature = f[5];
	w.key_id = f[6];
	w.key_value = f[7];
	if (wa_sig_bundle_from_wire(&w, &b) == 0)
		(void)wa_sig_bundle_process(F.me, &F.new_addr, &b); /* result does not matter */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *out = NULL;
	size_t outlen = 0;
	const uint8_t *p = data + 1;
	size_t n;

	if (!F.ready) {
		if (setup() != 0)
			abort(); /* the harness itself is broken: fail loudly */
		F.ready = 1;
	}
	if (size < 1)
		return 0;
	n = size - 1;
	switch (data[0] % 7) {
	case 0:
		if (wa_sig_decrypt(F.me, &F.new_addr, WA_SIG_PKMSG, p, n, &out, &outlen) == 0)
			wa_sig_buf_free(out, outlen);
		break;
	case 1:
		if (wa_sig_decrypt(F.me, &F.peer_addr, WA_SIG_MSG, p, n, &out, &outlen) == 0)
			wa_sig_buf_free(out, outlen);
		break;
	case 2:
		if (wa_sig_group_decrypt(F.me, GROUP, &F.peer_addr, p, n, &out, &outlen) == 0)
			wa_sig_buf_free(out, outlen);
		break;
	case 3:
		(void)wa_sig_group_process_skdm(F.me, "120363000000000002@g.us", &F.new_addr, p, n);
		break;
	case 4:
		fuzz_bundle(p, n);
		break;
	case 5:
		(void)wa_sig_unpad(p, n, &outlen);
		break;
	case 6: {
		char jid[160];
		wa_sig_addr a;
		size_t k = n < sizeof jid - 1 ? n : sizeof jid - 1;

		memcpy(jid, p, k);
		jid[k] = 0;
		(void)wa_sig_addr_from_jid(jid, &a);
		break;
	}
	}
	return 0;
}
