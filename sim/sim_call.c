/* sim_call: call offers from phones and their rejection (sim_call.h). */
#include "sim_call.h"
#include "sim.h"
#include "sim_msg.h"
#include "sim_store.h"
#include "wa/node.h"
#include "wa_log.h"
#include "wa_util.h"

#include <stdio.h>
#include <string.h>

struct call {
	char id[40];                    /* call-id: 32 upper-case hex digits */
	char caller[32], callee[32];    /* numbers */
	int video;
	int rejected;
	char rejected_by[64];
};

static struct call calls[SIM_CALLS];
static unsigned ncalls, next_call;

static struct call *find_call(const char *id)
{
	for (unsigned i = 0; i < ncalls; i++)
		if (strcmp(calls[i].id, id) == 0)
			return &calls[i];
	return NULL;
}

int sim_call_place(struct sim_server *s, struct sim_account *caller, const json_t *in, json_t **reply)
{
	const char *to = json_string_value(json_object_get(in, "to"));
	int video = json_is_true(json_object_get(in, "video"));
	struct sim_account *callee = to ? sim_store_account_find(s->store, to) : NULL;
	char from[64], t[24], sid[24];
	uint8_t rnd[16];
	struct call *c;
	unsigned sent = 0;

	if (!callee) {
		*reply = json_pack("{s:s}", "error", "body must be {\"to\": \"<number of a phone>\", \"video\": bool}");
		return 400;
	}
	if (sim_random(s, rnd, sizeof rnd) != 0)
		return 500;
	c = &calls[next_call++ % SIM_CALLS];
	if (ncalls < SIM_CALLS)
		ncalls++;
	memset(c, 0, sizeof *c);
	wa_hex_encode(rnd, sizeof rnd, c->id);
	for (char *p = c->id; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	snprintf(c->caller, sizeof c->caller, "%s", caller->number);
	snprintf(c->callee, sizeof c->callee, "%s", callee->number);
	c->video = video;
	snprintf(from, sizeof from, "%s@s.whatsapp.net", caller->number);
	snprintf(t, sizeof t, "%llu", (unsigned long long)(sim_now(s) / 1000));
	for (size_t i = 0; i < callee->ndevices; i++) {
		struct wa_node *n, *offer;

		snprintf(sid, sizeof sid, "%08X", (unsigned)(next_call * 131u + (unsigned)i));
		n = wa_node_new_attrs("call", "from", from, "id", sid, "t", t, "notify", caller->push_name, NULL);
		offer = n ? wa_node_add_new(n, "offer") : NULL;
		if (!offer || wa_node_set_attr(offer, "call-id", c->id) || wa_node_set_attr(offer, "call-creator", from) ||
		    !wa_node_add_new(offer, "audio") || (video && !wa_node_add_new(offer, "video"))) {
			wa_node_free(n);
			continue;
		}
		(void)wa_node_set_attr(wa_node_child(offer, "audio"), "enc", "opus");
		(void)wa_node_set_attr(wa_node_child(offer, "audio"), "rate", "16000");
		if (sim_deliver_to(s, callee, callee->devices[i].id, n) == 0)
			sent++;
		wa_node_free(n);
	}
	wa_info("sim: %s calls %s (%s): offer %s to %u companion(s)", caller->number, callee->number,
		video ? "video" : "voice", c->id, sent);
	*reply = json_pack("{s:s,s:i}", "callId", c->id, "devices", (int)sent);
	return 200;
}

int sim_call_list(struct sim_server *s, struct sim_account *caller, json_t **reply)
{
	json_t *arr = json_array();

	(void)s;
	for (unsigned i = 0; arr && i < ncalls; i++) {
		const struct call *c = &calls[(next_call - ncalls + i) % SIM_CALLS];

		if (strcmp(c->caller, caller->number) != 0)
			continue;
		json_array_append_new(arr, json_pack("{s:s,s:s,s:b,s:s,s:s?}", "callId", c->id, "to", c->callee, "video",
						     c->video, "status", c->rejected ? "rejected" : "ringing",
						     "rejectedBy", c->rejected ? c->rejected_by : NULL));
	}
	*reply = json_pack("{s:o}", "calls", arr ? arr : json_array());
	return 200;
}

int sim_node_call(struct sim_conn *c, struct wa_node *n)
{
	const struct wa_node *rej = wa_node_child(n, "reject");
	struct wa_node *ack = wa_node_new_attrs("ack", "id", wa_node_attr_or(n, "id", ""), "class", "call", "type",
						rej ? "reject" : NULL, NULL);

	if (ack)
		(void)sim_conn_send_node(c, ack);
	wa_node_free(ack);
	if (rej) {
		struct call *call = find_call(wa_node_attr_or(rej, "call-id", ""));

		if (call && !call->rejected && c->acc && strcmp(call->callee, c->acc->number) == 0) {
			call->rejected = 1;
			snprintf(call->rejected_by, sizeof call->rejected_by, "%s", c->jid);
			wa_info("sim: call %s rejected by %s", call->id, c->jid);
		}
	}
	return 0;
}
