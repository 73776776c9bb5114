// fuzz-sources: common/wa_err.c wa/binary.c wa/node.c wa/nodeprint.c wa/tokens.c wa/jid.c wa/buf.c
/* fuzz_node: the binary node decoder on hostile frame plaintexts.
 *
 * Input = a decrypted frame (flag byte + node, zlib when flag & 2). A tree
 * that decodes must print in both modes, and encode; the encoding must
 * decode again and re-encode to the same bytes (the codec is stable after
 * one pass). The only allowed exception is whatsmeow's tag "0" quirk, which
 * encodes to an undecodable F8 00. Caps are kept small so the fuzzer
 * explores them. */
#include "fuzz.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wa/binary.h"
#include "wa/node.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The string form of a decoded JID parses back to the same JID (interop
 * JIDs excepted: their integrator has no string form). */
static void check_jids(const struct wa_node *n)
{
	struct wa_jid j;

	for (size_t i = 0; i < n->nattrs; i++) {
		const struct wa_attr *a = &n->attrs[i];

		if (a->jid == NULL || strcmp(a->jid->server, WA_SERVER_INTEROP) == 0)
			continue;
		if (wa_jid_parse(a->val, &j, NULL) != 0 || !wa_jid_equal(&j, a->jid))
			abort();
	}
	for (size_t i = 0; i < n->nchildren; i++)
		check_jids(n->children[i]);
}

static int has_zero_tag(const struct wa_node *n)
{
	if (strcmp(n->tag, "0") == 0)
		return 1;
	for (size_t i = 0; i < n->nchildren; i++)
		if (has_zero_tag(n->children[i]))
			return 1;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wa_binary_limits lim;
	struct wa_node *n = NULL, *n2 = NULL;
	struct wa_buf e1 = WA_BUF_INIT, e2 = WA_BUF_INIT;
	char *s;

	wa_binary_limits_default(&lim);
	lim.max_depth = 32;
	lim.max_nodes = 5000;
	lim.max_bytes = 1u << 20;
	lim.max_inflated = 1u << 20;
	if (wa_binary_unmarshal(data, size, &lim, &n) != 0)
		return 0;
	check_jids(n);
	s = wa_node_to_string(n, WA_NODE_PRINT_DEFAULT);
	free(s);
	s = wa_node_to_string(n, WA_NODE_PRINT_FULL | WA_NODE_PRINT_INDENT);
	free(s);
	if (wa_binary_encode(n, &e1) != 0)
		abort();
	if (wa_binary_decode(e1.data, e1.len, &lim, &n2) != 0) {
		if (!has_zero_tag(n))
			abort();
	} else {
		if (wa_binary_encode(n2, &e2) != 0 || e1.len != e2.len ||
		    memcmp(e1.data, e2.data, e1.len) != 0)
			abort();
	}
	wa_node_free(n2);
	wa_node_free(n);
	wa_buf_free(&e1);
	wa_buf_free(&e2);
	return 0;
}
