/* router: route pattern compilation and matching (see router.h). */
#include "fcgi/router.h"
#include "wa_log.h"
#include "wa_util.h"

#include <stdlib.h>
#include <string.h>

int wa_router_init(void)
{
	for (size_t i = 0; i < wa_nroutes; i++) {
		struct wa_route *rt = &wa_routes[i];
		char *p = rt->seg_store;

		if (strlen(rt->pattern) >= sizeof rt->seg_store || rt->pattern[0] != '/') {
			wa_error("route pattern too long or not absolute: %s", rt->pattern);
			return -1;
		}
		memcpy(rt->seg_store, rt->pattern + 1, strlen(rt->pattern));
		rt->nsegs = rt->nparams = 0;
		rt->literal_mask = 0;
		while (p && *p) {
			char *slash = strchr(p, '/');

			if (slash)
				*slash = '\0';
			if (rt->nsegs >= WA_MAX_SEGS) {
				wa_error("route has too many segments: %s", rt->pattern);
				return -1;
			}
			if (p[0] == '{') {
				size_t l = strlen(p);

				if (l < 3 || p[l - 1] != '}' || rt->nparams >= WA_MAX_PARAMS) {
					wa_error("bad parameter in route %s", rt->pattern);
					return -1;
				}
				p[l - 1] = '\0';
				rt->param_names[rt->nparams++] = p + 1;
				rt->segs[rt->nsegs++] = NULL;
			} else {
				rt->segs[rt->nsegs++] = p;
			}
			p = slash ? slash + 1 : NULL;
		}
		for (int s = 0; s < rt->nsegs; s++)
			if (rt->segs[s])
				rt->literal_mask |= 1u << (rt->nsegs - 1 - s);
	}
	return 0;
}

/* Split a raw path into at most WA_MAX_SEGS segments (pointers into buf). */
static int split_path(const char *path, char *buf, size_t buflen, char **segs, int *nsegs)
{
	size_t len = strlen(path);
	char *p;

	if (len == 0 || path[0] != '/' || len >= buflen)
		return -1;
	memcpy(buf, path + 1, len);
	/* a trailing slash is not a separate empty segment */
	if (len > 1 && buf[len - 2] == '/')
		buf[len - 2] = '\0';
	*nsegs = 0;
	p = buf;
	for (;;) {
		char *slash = strchr(p, '/');

		if (*nsegs >= WA_MAX_SEGS)
			return -1;
		if (slash)
			*slash = '\0';
		segs[(*nsegs)++] = p;
		if (!slash)
			break;
		p = slash + 1;
	}
	return 0;
}

static int pattern_matches(const struct wa_route *rt, char **segs, int nsegs)
{
	if (rt->nsegs != nsegs)
		return 0;
	for (int i = 0; i < nsegs; i++) {
		if (rt->segs[i] ? strcmp(rt->segs[i], segs[i]) != 0 : segs[i][0] == '\0')
			return 0;
	}
	return 1;
}

enum wa_match wa_router_match(const char *method, const char *path,
			      const struct wa_route **out, char **params, int *nparams,
			      char *allow, size_t allowlen)
{
	char buf[WA_PATH_MAX];
	char *segs[WA_MAX_SEGS];
	int nsegs = 0, any = 0;
	const struct wa_route *best = NULL;
	size_t alen = 0;

	*out = NULL;
	*nparams = 0;
	if (allowlen)
		allow[0] = '\0';
	if (split_path(path, buf, sizeof buf, segs, &nsegs) < 0)
		return WA_MATCH_NOT_FOUND;
	for (size_t i = 0; i < wa_nroutes; i++) {
		const struct wa_route *rt = &wa_routes[i];

		if (!pattern_matches(rt, segs, nsegs))
			continue;
		any = 1;
		if (strcmp(rt->method, method) == 0) {
			if (!best || rt->literal_mask > best->literal_mask)
				best = rt;
		} else if (!strstr(allow, rt->method) && alen + strlen(rt->method) + 3 < allowlen) {
			alen += (size_t)snprintf(allow + alen, allowlen - alen, "%s%s", alen ? ", " : "",
						 rt->method);
		}
	}
	if (!best)
		return any ? WA_MATCH_BAD_METHOD : WA_MATCH_NOT_FOUND;
	for (int s = 0, k = 0; s < nsegs; s++) {
		size_t l;

		if (best->segs[s])
			continue;
		l = strlen(segs[s]);
		params[k] = malloc(l + 1);
		if (!params[k] || wa_url_decode(segs[s], l, params[k], l + 1, 0) < 0) {
			for (int j = 0; j <= k; j++) {
				free(params[j]);
				params[j] = NULL;
			}
			return WA_MATCH_BAD_PATH;
		}
		k++;
		*nparams = k;
	}
	*out = best;
	return WA_MATCH_OK;
}
