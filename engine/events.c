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
	/* the wake-up socket (events.h): wa-akg-hooks' cue */
	nng_socket wake;
	int has_wake;
	uint64_t outboxed, woken; /* events with an outbox row; that many at the last wake-up */
	char wake_url[288];
};

/* The wake-up address for url when none is configured: the same host on
 * a free port (tcp), the path + ".wake" (ipc); "" for other transports. */
static void default_wake_url(const char *url, char *out, size_t len)
{
	const char *colon = strrchr(url, ':'), *rb = strrchr(url, ']');

	out[0] = '\0';
	if (strncmp(url, "ipc://", 6) == 0)
		snprintf(out, len, "%s.wake", url);
	else if (strncmp(url, "tcp", 3) == 0 && colon && colon > strstr(url, "://") + 2 && (!rb || colon > rb))
		snprintf(out, len, "%.*s:0", (int)(colon - url), url);
}

static void open_wake(struct wa_events *ev, const char *url, const char *wake_url)
{
	char want[288];
	nng_listener l;
	int rv, port = 0;

	if (wake_url && *wake_url)
		snprintf(want, sizeof want, "%s", wake_url);
	else
		default_wake_url(url, want, sizeof want);
	if (!*want)
		return;
	if ((rv = nng_pub0_open(&ev->wake)) != 0 || (rv = nng_listen(ev->wake, want, &l, 0)) != 0) {
		if (rv != 0 && nng_socket_id(ev->wake) > 0)
			nng_close(ev->wake);
		wa_warn("wake-up socket: cannot listen on %s: %s (wa-akg-hooks takes the event socket instead)", want,
			nng_strerror(rv));
		return;
	}
	ev->has_wake = 1;
	snprintf(ev->wake_url, sizeof ev->wake_url, "%s", want);
	if (strncmp(want, "tcp", 3) == 0 && nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port) == 0 && port > 0)
		snprintf(ev->wake_url, sizeof ev->wake_url, "%.*s:%d", (int)(strrchr(want, ':') - want), want, port);
}

struct wa_events *wa_events_new(const char *url, const char *wake_url)
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
	open_wake(ev, url, wake_url);
	return ev;
}

const char *wa_events_wake_url(const struct wa_events *ev)
{
	return ev && ev->has_wake ? ev->wake_url : "";
}

void wa_events_flush(struct wa_events *ev)
{
	char body[40];
	int n;

	if (!ev || !ev->has_wake || ev->outboxed == ev->woken)
		return;
	ev->woken = ev->outboxed;
	n = snprintf(body, sizeof body, "outbox%c%llu", '\0', (unsigned long long)ev->outboxed);
	/* a full queue drops: the subscriber's next read takes everything */
	nng_send(ev->wake, body, (size_t)n, NNG_FLAG_NONBLOCK);
}

int wa_events_publish_text(struct wa_events *ev, const char *session_id, const char *event, const char *json,
			   uint64_t outbox_id, uint64_t timestamp_ms)
{
	Waipc__Event e = WAIPC__EVENT__INIT;
	size_t slen = strlen(session_id), tlen = slen + 1 + strlen(event), plen;
	nng_msg *m;
	uint8_t *p;
	int rv;

	ev->outboxed += outbox_id != 0; /* the wake-up is owed even if PUB drops it */
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
	if (ev->has_wake)
		nng_close(ev->wake);
	free(ev);
}
