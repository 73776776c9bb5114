/* events: topic-prefixed waipc.Event messages on nng PUB (see events.h). */
#include "engine/events.h"
#include "wa_ipc.pb-c.h"
#include "wa_log.h"

#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>

struct wa_events {
	nng_socket sock;
	uint64_t published;
};

struct wa_events *wa_events_new(const char *url)
{
	struct wa_events *ev = calloc(1, sizeof *ev);
	int rv;

	if (!ev)
		return NULL;
	if ((rv = nng_pub0_open(&ev->sock)) != 0) {
		wa_error("event socket: %s", nng_strerror(rv));
		free(ev);
		return NULL;
	}
	if ((rv = nng_listen(ev->sock, url, NULL, 0)) != 0) {
		wa_error("event socket: cannot listen on %s: %s", url, nng_strerror(rv));
		nng_close(ev->sock);
		free(ev);
		return NULL;
	}
	return ev;
}

int wa_events_publish_text(struct wa_events *ev, const char *session_id, const char *event, const char *json,
			   uint64_t outbox_id, uint64_t timestamp_ms)
{
	Waipc__Event e = WAIPC__EVENT__INIT;
	size_t slen = strlen(session_id), tlen = slen + 1 + strlen(event), plen;
	nng_msg *m;
	uint8_t *p;
	int rv;

	e.session_id = (char *)session_id;
	e.event = (char *)event;
	e.data.data = (uint8_t *)json;
	e.data.len = strlen(json);
	e.has_outbox_id = outbox_id != 0;
	e.outbox_id = outbox_id;
	e.has_timestamp_ms = 1;
	e.timestamp_ms = timestamp_ms;
	plen = waipc__event__get_packed_size(&e);
	if (nng_msg_alloc(&m, tlen + 1 + plen) != 0)
		return -1;
	p = nng_msg_body(m);
	memcpy(p, session_id, slen);
	p[slen] = '.';
	memcpy(p + slen + 1, event, strlen(event));
	p[tlen] = '\0';
	waipc__event__pack(&e, p + tlen + 1);
	if ((rv = nng_sendmsg(ev->sock, m, NNG_FLAG_NONBLOCK)) != 0) {
		nng_msg_free(m);
		wa_debug("event %s.%s not published: %s", session_id, event, nng_strerror(rv));
		return 0;
	}
	ev->published++;
	return 0;
}

int wa_events_publish(struct wa_events *ev, const char *session_id, const char *event, const json_t *data,
		      uint64_t outbox_id, uint64_t timestamp_ms)
{
	char *json = json_dumps(data ? data : json_null(), JSON_COMPACT | JSON_ENCODE_ANY);
	int rc;

	if (!json)
		return -1;
	rc = wa_events_publish_text(ev, session_id, event, json, outbox_id, timestamp_ms);
	free(json);
	return rc;
}

uint64_t wa_events_count(const struct wa_events *ev)
{
	return ev ? ev->published : 0;
}

void wa_events_free(struct wa_events *ev)
{
	if (!ev)
		return;
	nng_close(ev->sock);
	free(ev);
}
