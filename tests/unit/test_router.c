/* Unit tests for fcgi/router: the route table covers every row of the API
 * reference's routes.tsv, literal segments win over parameters, parameters
 * are decoded after splitting, and unknown paths / wrong methods are told
 * apart (404 vs 405 with Allow). */
#include "tap.h"
#include "fcgi/router.h"

#include <stdlib.h>

/* Handlers are not called here; the table only needs the symbols. */
static const struct wa_route *match(const char *m, const char *p, char **params, int *n, enum wa_match *res,
				    char *allow, size_t alen)
{
	const struct wa_route *rt = NULL;

	*res = wa_router_match(m, p, &rt, params, n, allow, alen);
	return rt;
}

static void free_params(char **p, int n)
{
	for (int i = 0; i < n; i++)
		free(p[i]);
}

/* Fill a pattern's {params} with sample values: "{x}" -> "x-val". */
static void instantiate(const char *pattern, char *out, size_t len)
{
	size_t o = 0;

	for (const char *p = pattern; *p && o + 16 < len; p++) {
		if (*p == '{') {
			const char *e = strchr(p, '}');

			o += (size_t)snprintf(out + o, len - o, "%.*s-val", (int)(e - p - 1), p + 1);
			p = e;
		} else {
			out[o++] = *p;
		}
	}
	out[o] = '\0';
}

static void test_table_matches_reference(void)
{
	const char *shared = getenv("shared_dir");
	char path[1024], line[1024];
	FILE *f;
	int rows = 0, found = 0, self = 0;

	snprintf(path, sizeof path, "%s/spec/routes.tsv", shared ? shared : "../shared");
	f = fopen(path, "r");
	if (!f) {
		/* no ../shared beside the clone: our copy (test_openapi.py checks it equals the spec) */
		const char *top = getenv("top_srcdir");

		snprintf(path, sizeof path, "%s/tests/api/routes.tsv", top ? top : ".");
		f = fopen(path, "r");
	}
	ok(f != NULL, "routes.tsv readable (../shared/spec or tests/api)");
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		char *method = strtok(line, "\t"), *rpath = strtok(NULL, "\t"), full[512];

		if (!method || !rpath || strcmp(method, "method") == 0)
			continue;
		rows++;
		snprintf(full, sizeof full, "%s%s", strncmp(rpath, "/api", 4) ? "/api" : "", rpath);
		for (size_t i = 0; i < wa_nroutes; i++)
			if (!strcmp(wa_routes[i].method, method) && !strcmp(wa_routes[i].pattern, full)) {
				char inst[512], *params[WA_MAX_PARAMS], allow[128];
				int n = 0;
				enum wa_match res;
				const struct wa_route *rt;

				found++;
				/* a concrete path of this pattern must resolve to this very row */
				instantiate(full, inst, sizeof inst);
				rt = match(method, inst, params, &n, &res, allow, sizeof allow);
				if (res == WA_MATCH_OK && rt == &wa_routes[i])
					self++;
				else
					printf("# %s %s resolved elsewhere\n", method, inst);
				free_params(params, n);
				break;
			}
	}
	fclose(f);
	is_int(rows, 109, "routes.tsv has the 109 operations");
	is_int(found, rows, "every routes.tsv operation is in the route table");
	is_int(self, rows, "a concrete path of every operation resolves to its own row");
}

static void test_precedence(void)
{
	char *params[WA_MAX_PARAMS], allow[128];
	int n;
	enum wa_match res;
	const struct wa_route *rt;

	rt = match("POST", "/api/sessions/abc/bot-config", params, &n, &res, allow, sizeof allow);
	ok(res == WA_MATCH_OK && !strcmp(rt->pattern, "/api/sessions/{id}/bot-config"), "literal bot-config beats {action}");
	free_params(params, n);
	rt = match("POST", "/api/sessions/abc/start", params, &n, &res, allow, sizeof allow);
	ok(res == WA_MATCH_OK && !strcmp(rt->pattern, "/api/sessions/{id}/{action}"), "start goes to {action}");
	is_str(n == 2 ? params[1] : "", "start", "action parameter captured");
	free_params(params, n);
	rt = match("POST", "/api/sessions/abc/access", params, &n, &res, allow, sizeof allow);
	ok(res == WA_MATCH_OK && !strcmp(rt->pattern, "/api/sessions/{sessionId}/access"), "access beats {action}");
	free_params(params, n);
	rt = match("POST", "/api/groups/s1/invite/accept", params, &n, &res, allow, sizeof allow);
	ok(res == WA_MATCH_OK && !strcmp(rt->pattern, "/api/groups/{sessionId}/invite/accept"), "invite/accept literal");
	free_params(params, n);
	rt = match("PUT", "/api/groups/120363@g.us/subject", params, &n, &res, allow, sizeof allow);
	ok(res == WA_MATCH_OK && !strcmp(rt->pattern, "/api/groups/{jid}/subject"), "3-segment subject route");
	free_params(params, n);
	rt = match("DELETE", "/api/webhooks/7", params, &n, &res, allow, sizeof allow);
	ok(res == WA_MATCH_OK && !strcmp(rt->pattern, "/api/webhooks/{id}"), "DELETE /webhooks/{id}");
	free_params(params, n);
	rt = match("GET", "/api/webhooks/s1", params, &n, &res, allow, sizeof allow);
	ok(res == WA_MATCH_OK && !strcmp(rt->pattern, "/api/webhooks/{sessionId}"), "GET /webhooks/{sessionId}");
	free_params(params, n);
	rt = match("GET", "/api/messages/s1/download/ABC/media", params, &n, &res, allow, sizeof allow);
	ok(res == WA_MATCH_OK && rt->handler != NULL && !strcmp(rt->pattern, "/api/messages/{sessionId}/download/{messageId}/media"),
	   "download route");
	free_params(params, n);
}

static void test_params_and_errors(void)
{
	char *params[WA_MAX_PARAMS], allow[128];
	int n;
	enum wa_match res;
	const struct wa_route *rt;

	rt = match("POST", "/api/messages/s1/628123%40s.whatsapp.net/send", params, &n, &res, allow, sizeof allow);
	ok(res == WA_MATCH_OK && n == 2, "encoded JID matches");
	is_str(n == 2 ? params[1] : "", "628123@s.whatsapp.net", "parameter percent-decoded");
	free_params(params, n);
	rt = match("GET", "/api/media/a%2Fb", params, &n, &res, allow, sizeof allow);
	ok(res == WA_MATCH_OK && rt && n == 1 && !strcmp(params[0], "a/b"), "encoded slash stays inside the parameter");
	free_params(params, n);
	match("GET", "/api/media/a%zz", params, &n, &res, allow, sizeof allow);
	ok(res == WA_MATCH_BAD_PATH, "bad escape is a bad path");
	match("GET", "/api/nothing/here", params, &n, &res, allow, sizeof allow);
	ok(res == WA_MATCH_NOT_FOUND, "unknown path is not found");
	match("GET", "/api/sessions//qr", params, &n, &res, allow, sizeof allow);
	ok(res == WA_MATCH_NOT_FOUND, "empty parameter does not match");
	match("PUT", "/api/sessions", params, &n, &res, allow, sizeof allow);
	ok(res == WA_MATCH_BAD_METHOD, "known path, wrong method");
	ok(strstr(allow, "GET") && strstr(allow, "POST"), "Allow lists GET and POST");
	match("GET", "/api/sessions/", params, &n, &res, allow, sizeof allow);
	ok(res == WA_MATCH_OK, "trailing slash tolerated");
	free_params(params, n);
	match("GET", "relative", params, &n, &res, allow, sizeof allow);
	ok(res == WA_MATCH_NOT_FOUND, "relative path refused");
}

int main(void)
{
	ok(wa_router_init() == 0, "route table compiles");
	test_table_matches_reference();
	test_precedence();
	test_params_and_errors();
	return tap_done();
}
