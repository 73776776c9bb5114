/* wa_config_keys: every configuration key, its default and its documentation.
 * docs/configuration.md is generated from this table (wa-akg-config --doc)
 * and a unit test keeps the two in step. */
#include "wa_config.h"

const struct wa_config_key wa_config_keys[] = {
	/* [general] */
	{ "general.state_dir", "/var/lib/wa-akg",
	  "Directory for runtime state: sockets, pid files and the engine's local files." },
	{ "general.log_level", "info",
	  "Minimum log level of every process: debug, info, warn or error." },
	{ "general.public_base_url", "http://127.0.0.1:8080",
	  "Base URL under which clients reach nginx; used to build absolute media URLs and in the OpenAPI servers list." },

	/* [db] */
	{ "db.host", "127.0.0.1", "MariaDB host name or address (ignored when db.socket is set)." },
	{ "db.port", "3306", "MariaDB TCP port." },
	{ "db.socket", "", "MariaDB unix socket path; when set it is used instead of host and port." },
	{ "db.user", "wa_akg", "MariaDB user." },
	{ "db.password", "", "MariaDB password." },
	{ "db.name", "wa_akg", "MariaDB database (schema) name." },
	{ "db.connect_timeout", "5", "Seconds to wait for a MariaDB connection before giving up." },

	/* [http] */
	{ "http.listen", "127.0.0.1:8080",
	  "Address nginx listens on for the API and dashboard (dev stack and generated nginx config)." },
	{ "http.max_body", "64m",
	  "Largest request body accepted (nginx client_max_body_size and the workers' own limit); larger bodies get 413." },

	/* [fcgi] */
	{ "fcgi.listen", "unix:/var/lib/wa-akg/fcgi.sock",
	  "FastCGI socket the workers accept on: unix:/path or host:port. nginx's upstream points here." },
	{ "fcgi.workers", "2", "Number of worker processes forked by wa-akg-fcgi (1-64)." },
	{ "fcgi.threads", "4", "Accept threads per worker process, each with its own MariaDB connection (1-64)." },

	/* [engine] */
	{ "engine.command_url", "tcp://127.0.0.1:7701",
	  "nng REQ/REP address the engine's command socket listens on (tcp://host:port; ipc:// works but nng 1.5.2's ipc listener can wedge after a peer hangs up mid-handshake, see docs/engine.md). The engine writes it into the engines table, where workers find the owner of each session; with several engines, give each its own." },
	{ "engine.event_url", "tcp://127.0.0.1:7702",
	  "nng PUB/SUB address on which the engine publishes events (topic '<sessionId>.<event>', a NUL, then a waipc.Event); registered in the engines table like command_url." },
	{ "engine.timeout_ms", "15000",
	  "Deadline for one command to the engine; a worker answers 504 when it passes." },
	{ "engine.media_timeout_ms", "55000",
	  "Deadline for one command that sends media (the file is fetched, converted, encrypted and uploaded before the message goes; 100-3600000): used instead of engine.timeout_ms for /media, /sticker and a /send with a media part. Keep it under nginx's fastcgi_read_timeout (60 s in the shipped config)." },
	{ "engine.id", "",
	  "This engine's name in the engines table (at most 63 characters); empty: the host name. Two engines on one host need distinct ids. Keep it across restarts: an engine takes back the sessions its id owned." },
	{ "engine.db_threads", "2",
	  "MariaDB threads of the engine (1-32), each with its own connection; a session's database work always runs on the same one, in order." },
	{ "engine.media_threads", "2",
	  "Media threads of the engine (1-16): outgoing media is fetched, converted (stickers, thumbnails), encrypted and uploaded there, never on the event loop or a database thread; at most this many files move at once, the rest wait in a queue of 256 (past that a send answers 503)." },
	{ "engine.db_batch", "64",
	  "Most queued jobs of one database thread committed together (1-1000; 1 = a commit per job): one log flush makes a whole batch durable, and nothing is answered before that. A deadlock or a lost connection voids the batch, whose jobs then run again one by one." },
	{ "engine.heartbeat_ms", "2000",
	  "How often the engine refreshes its engines row, renews its lease (which covers every session it owns) and takes up sessions waiting to run (100-600000)." },
	{ "engine.lease_ms", "15000",
	  "How long a session lease lasts without renewal (at least twice engine.heartbeat_ms): after an engine dies, another takes its sessions over once their leases expire." },
	{ "engine.claim_batch", "500",
	  "Most sessions one heartbeat takes up at once (1-100000), so that several engines starting together share the sessions." },

	/* [whatsapp] */
	{ "whatsapp.url", "wss://web.whatsapp.com/ws/chat",
	  "WebSocket URL of the WhatsApp chat server (point it at wa-sim for the sandbox)." },
	{ "whatsapp.root_key", "142375574d0a587166aae71ebe516437c4a28b73e3695c6ce1f7f9545da8ee6b",
	  "Hex Curve25519 public key that must have signed the server's certificate chain (WhatsApp's own root by default; wa-sim prints its own)." },
	{ "whatsapp.root_serial", "0",
	  "Issuer serial the intermediate certificate must name (0 for WhatsApp)." },
	{ "whatsapp.device_name", "WA-AKG",
	  "Name the phone shows for a linked session under Linked devices (DeviceProps.os, at most 40 characters)." },
	{ "whatsapp.media_host", "mmg.whatsapp.net",
	  "Media host for blobs that a message names by direct path only (history sync, app-state snapshots), as host or host:port; WhatsApp's default host. The dev stack points it at wa-sim's media server." },
	{ "whatsapp.connect_timeout_ms", "20000",
	  "How long one connection attempt may take, from the TCP connect to the server's answer to the login (1000-120000); then the attempt counts as failed and the back-off applies." },
	{ "whatsapp.qr_first_timeout_ms", "60000",
	  "How long a session waiting for a scan shows the first QR ref the server sent (1000-600000; WhatsApp's clients: 60 s)." },
	{ "whatsapp.qr_next_timeout_ms", "20000",
	  "How long it shows each later ref (1000-600000; WhatsApp's clients: 20 s); after the last one the session stops waiting (STOPPED). The workers read both keys too: GET /api/sessions/{id}/qr shows a stored QR for at most the longer of the two plus 5 s." },
	{ "whatsapp.media_ca", "",
	  "CA file (PEM) that media hosts' HTTPS certificates are checked against; empty: the system's trust store (right for WhatsApp). For wa-sim: its STATE/media-cert.pem." },

	/* [media] */
	{ "media.dir", "/var/lib/wa-akg/media",
	  "Directory where received and uploaded media files are stored; served by nginx through X-Accel-Redirect." },
	{ "media.accel_prefix", "/_wa_media/",
	  "nginx internal location that maps to media.dir (X-Accel-Redirect target)." },
	{ "media.fetch_max_bytes", "64m",
	  "Largest body fetched from a URL a client gives (media sent by URL), with optional k/m/g suffix (powers of 1024); a larger Content-Length is refused before the body, a longer stream as soon as it passes the limit. The body is streamed to a file, never held in memory. See docs/fetch.md." },
	{ "media.fetch_timeout_ms", "60000",
	  "Deadline for one whole fetch of a client's URL, every redirect hop and the transfer included (100-86400000); keep it under nginx's fastcgi_read_timeout when the fetch runs inside a request." },
	{ "media.fetch_connect_timeout_ms", "10000",
	  "Deadline for each connection attempt of a fetch of a client's URL (100-600000)." },
	{ "media.fetch_max_redirects", "3",
	  "Most redirects followed when fetching a client's URL (0-20; 0 refuses any redirect). Every target is checked like the first URL." },
	{ "media.fetch_allow_loopback", "false",
	  "Allow fetching client URLs from loopback addresses (127.0.0.0/8, ::1, localhost). For the dev stack and tests only: on a server it lets any API client read services bound to localhost." },
	{ "media.fetch_allow_private", "false",
	  "Allow fetching client URLs from private addresses (10/8, 172.16/12, 192.168/16, fc00::/7, fec0::/10) and shared CGNAT space (100.64/10), e.g. a media server in a lab network. Link-local and cloud metadata addresses stay refused." },
	{ "media.fetch_allow_nets", "",
	  "Comma-separated networks (CIDR, e.g. '10.1.2.0/24, fd00::5') that fetches of client URLs may reach whatever their class: a narrower alternative to fetch_allow_private. Unspecified, multicast and broadcast addresses are never allowed." },
	{ "media.fetch_allow_hosts", "",
	  "Comma-separated host names whose addresses fetches of client URLs may reach whatever their class (e.g. 'media.lab' for a media server on the LAN; '.lab.example' for every name under lab.example). Checked on the URL's host at connect time, so a redirect from a listed host to another one is judged on its own. Unspecified, multicast and broadcast addresses are never allowed." },
	{ "media.upload_timeout_ms", "300000",
	  "Deadline for one upload of an encrypted media file to WhatsApp's media host (1000-86400000); a 64 MB video on a slow uplink needs minutes." },

	/* [hooks] */
	{ "hooks.poll_ms", "1000",
	  "How often wa-akg-hooks looks at the events outbox and the due retries when no engine event woke it up (10-600000); events published on an engine's event socket wake it at once." },
	{ "hooks.engines_refresh_ms", "10000",
	  "How often wa-akg-hooks re-reads the engines table to subscribe to new engines' event sockets (100-3600000)." },
	{ "hooks.batch", "200",
	  "Most outbox events fanned out in one transaction, and most deliveries attempted in one pass (1-10000)." },
	{ "hooks.parallel", "16",
	  "Most delivery attempts wa-akg-hooks has in flight at once (1-256), each to a different queue (webhook and session): a slow or unreachable receiver holds up only its own events." },
	{ "hooks.keep_days", "7",
	  "Days the delivery log (webhook_deliveries) and published outbox events are kept (0-3650; 0 keeps them forever); older ones are deleted hourly in batches, but never an event with a delivery still pending." },
	{ "hooks.timeout_ms", "10000",
	  "Deadline of one delivery attempt, connect to last byte of the answer (100-600000); a receiver slower than that counts as failed and is retried." },
	{ "hooks.connect_timeout_ms", "5000",
	  "Deadline of the TCP (and TLS) connect of one delivery attempt (100-600000)." },
	{ "hooks.retry_first_ms", "5000",
	  "Back-off after a delivery's first failed attempt (10-86400000); it doubles after each further failure up to hooks.retry_max_ms, and each wait is drawn at random between half of it and all of it (jitter)." },
	{ "hooks.retry_max_ms", "3600000",
	  "Longest back-off between two attempts of one delivery (at least hooks.retry_first_ms)." },
	{ "hooks.give_up_hours", "72",
	  "A delivery still failing this many hours after its event is given up (state FAILED) and the webhook's next event goes (1-8760)." },
	{ "hooks.pause_after_hours", "24",
	  "A webhook whose oldest pending event has been failing this many hours is paused (isActive false) and its owner gets a notification (1-8760); its pending deliveries resume when it is set active again." },
	{ "hooks.allow_loopback", "false",
	  "Whether webhook URLs may reach loopback addresses (127.0.0.0/8, ::1, localhost). Only for the dev stack and tests (deploy/dev sets it for their local receivers). The workers apply the same rule when a webhook is saved." },
	{ "hooks.allow_private", "false",
	  "Whether webhook URLs may reach private and CGNAT addresses (10/8, 172.16/12, 192.168/16, fc00::/7, 100.64/10), e.g. a receiver on the LAN." },
	{ "hooks.allow_nets", "",
	  "Comma-separated CIDR networks webhook URLs may reach whatever their class (like media.fetch_allow_nets)." },
	{ "hooks.allow_hosts", "",
	  "Comma-separated host names webhook URLs may reach whatever their addresses' class ('.name' for every name under it; like media.fetch_allow_hosts)." },

	/* [autoreply] */
	{ "autoreply.per_chat_per_minute", "5",
	  "Most auto-replies one chat gets per minute (0: none): two gateways whose rules answer each other stop there instead of looping." },

	/* [bot] */
	{ "bot.removebg_url", "https://api.remove.bg/v1.0/removebg",
	  "remove.bg's API endpoint the bot's removebg command POSTs an image to (multipart image_file, size=auto, the session's removeBgApiKey as X-Api-Key); the PNG it answers is sent back. Tests point it at a local fake." },

	/* [scheduler] */
	{ "scheduler.poll_ms", "1000",
	  "How often each engine looks for scheduled messages that are due (milliseconds): a message goes out at most this long after its sendAt." },
	{ "scheduler.settle_ms", "120000",
	  "A scheduled message left SENDING this long (its engine stopped before WhatsApp confirmed it) is settled from what became of its message: SENT when WhatsApp acked or a receipt came, else FAILED as unconfirmed. It is never sent a second time." },
	{ "scheduler.timezone", "UTC",
	  "Time zone of the cron expressions of recurring scheduled messages, a tz database name (e.g. 'Asia/Jakarta'); sendAt itself is an absolute time. An unknown name is logged and UTC is used." },

	/* [limits] */
	{ "limits.broadcast_max_recipients", "1000", "Most recipients one broadcast request may name." },
	{ "limits.spam_max_count", "100", "Most messages one spam request may send." },
	{ "limits.spam_min_delay_ms", "250",
	  "Shortest pause between two messages of a spam request: a smaller 'delay' is raised to it." },
	{ "limits.broadcast_delay_min_ms", "10000",
	  "Shortest pause between two recipients of a broadcast (POST /api/messages/{sessionId}/broadcast): each pause is random between this and limits.broadcast_delay_max_ms, as anti-ban spacing; the request's 'delay' is not used, as in the reference." },
	{ "limits.broadcast_delay_max_ms", "20000", "Longest pause between two recipients of a broadcast." },
	{ "limits.rate_per_minute", "6000",
	  "Requests per minute allowed per credential: each API key (X-API-Key or Authorization: Bearer) and each web login session has its own budget (nginx limit_req); a burst of ten seconds' worth (at least 20) passes at once. Beyond it nginx answers 429 with Retry-After." },
	{ "limits.address_rate_per_minute", "",
	  "Requests per minute and client address allowed for requests that carry no credentials (nginx limit_req; burst as for limits.rate_per_minute); empty: the same as limits.rate_per_minute. Such requests reach only the public routes or get 401 without a database lookup; sign-in and registration have their own strict limits below." },
	{ "limits.signin_failures_per_minute", "5",
	  "Failed sign-ins (POST /api/auth/callback/credentials) per minute and client address, counted by the workers in the database across all workers and hosts; once limits.signin_burst failures are used up, every sign-in from that address gets 429 with Retry-After, whatever the account." },
	{ "limits.signin_burst", "10", "Failed sign-ins one address may make at once before limits.signin_failures_per_minute applies." },
	{ "limits.register_per_minute", "5",
	  "Registration attempts (POST /api/auth/register) per minute and client address, counted by the workers in the database; beyond limits.register_burst, 429 with Retry-After." },
	{ "limits.register_burst", "10", "Registration attempts one address may make at once before limits.register_per_minute applies." },

	/* [auth] */
	{ "auth.session_days", "30", "Lifetime of a web login session (cookie) in days." },
	{ "auth.cookie_secure", "false",
	  "Mark the login cookie Secure (set true when nginx terminates TLS)." },

	/* [updates] */
	{ "updates.feed_url", "https://api.github.com/repos/wa-akg/wa-akg/releases/latest",
	  "Release feed that POST /api/system/check-updates reads (JSON with tag_name, html_url, body)." },
	{ "updates.timeout_ms", "5000", "Deadline for the release feed request." },

	{ NULL, NULL, NULL }
};
