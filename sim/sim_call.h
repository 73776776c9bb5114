/* sim_call.h: voice and video call offers (docs/protocol.md §11.11): a
 * phone calls an account, every linked companion of it gets the offer; a
 * companion that rejects it sends <call><reject/></call>, which wa-sim
 * acks and records on the call, so a test sees what the caller's phone
 * would show ("rejected").
 *
 *   POST /admin/phones/{caller}/call   {"to": "<number>", "video": false}
 *        -> {"callId"}: the offer delivered to each companion of `to`
 *   GET  /admin/phones/{caller}/calls  -> {"calls": [{"callId", "to",
 *        "video", "status": "ringing" | "rejected", "rejectedBy"}]}
 *
 * The last SIM_CALLS calls are kept, in memory. Threads: the lws service
 * thread only (admin and connections). */
#ifndef SIM_CALL_H
#define SIM_CALL_H

#include <jansson.h>

#define SIM_CALLS 256

struct sim_server;
struct sim_account;
struct sim_conn;
struct wa_node;

/* The admin routes (reply set; HTTP status returned). */
int sim_call_place(struct sim_server *s, struct sim_account *caller, const json_t *in, json_t **reply);
int sim_call_list(struct sim_server *s, struct sim_account *caller, json_t **reply);

/* <call> from a logged-in companion: acked; a <reject> marks the call. */
int sim_node_call(struct sim_conn *c, struct wa_node *n);

#endif
