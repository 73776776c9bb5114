/* wa_err: strings, class folding and HTTP statuses for the common codes.
 * See wa_err.h for the contract and the layout of module-specific codes. */
#include "common/wa_err.h"

/* Indexed by -code. Designated initialisers so a reordering of the enum
 * cannot silently shift a string; test_err checks every slot is filled
 * (an empty one would still give "unknown error", never NULL). */
static const char *const common_str[] = {
	[-WA_OK] = "ok",
	[-WA_EFAIL] = "failed",
	[-WA_ENOMEM] = "out of memory",
	[-WA_EINVAL] = "invalid argument",
	[-WA_ETOOBIG] = "too big",
	[-WA_EPROTO] = "protocol violation",
	[-WA_ECRYPTO] = "cryptographic failure",
	[-WA_ENOTFOUND] = "not found",
	[-WA_ECONFLICT] = "conflict",
	[-WA_ESTORAGE] = "storage failure",
	[-WA_ETIMEDOUT] = "timed out",
	[-WA_EUNAVAIL] = "unavailable",
	[-WA_EFULL] = "capacity exhausted",
	[-WA_EIO] = "i/o error",
	[-WA_ECLOSED] = "closed",
	[-WA_EDENIED] = "permission denied",
	[-WA_EAUTH] = "not authenticated",
	[-WA_ESTATE] = "invalid state",
	[-WA_ENOTSUP] = "not supported",
	[-WA_EINTERNAL] = "internal error",
};

_Static_assert(sizeof common_str / sizeof common_str[0] == 1 - WA_ERR_COMMON_MIN,
	       "common_str must cover every common code");

static int is_common(int err)
{
	return err <= 0 && err >= WA_ERR_COMMON_MIN;
}

/* The class carried by a module-specific code, or WA_OK when err is not a
 * well-formed module code (reserved range, module id out of range, class
 * digits that name no common code). */
static int module_class(int err)
{
	/* Bound before negating: -INT_MIN would overflow. */
	if (err > -10000 || err < -(WA_ERR_MODULE_MAX * 10000 + 9999))
		return WA_OK;
	int cls = -((-err / 100) % 100);
	return is_common(cls) ? cls : WA_OK;
}

int wa_err_class(int err)
{
	if (err >= 0)
		return WA_OK;
	if (is_common(err))
		return err;
	int cls = module_class(err);
	return cls != WA_OK ? cls : WA_EFAIL;
}

int wa_err_module(int err)
{
	return module_class(err) != WA_OK ? -err / 10000 : 0;
}

const char *wa_strerror(int err)
{
	if (err > 0)
		return "not an error";
	int cls = is_common(err) ? err : module_class(err);

	/* cls == WA_OK here only for WA_OK itself or a malformed code. */
	if (cls == WA_OK && err != WA_OK)
		return "unknown error";
	return common_str[-cls] ? common_str[-cls] : "unknown error";
}

int wa_err_http_status(int err)
{
	switch (wa_err_class(err)) {
	case WA_OK:        return 200;
	case WA_EINVAL:    return 400;
	case WA_EAUTH:     return 401;
	case WA_EDENIED:   return 403;
	case WA_ENOTFOUND: return 404;
	case WA_ECONFLICT: return 409;
	case WA_ETOOBIG:   return 413;
	case WA_ENOTSUP:   return 501;
	case WA_EPROTO:
	case WA_ECRYPTO:
	case WA_EIO:       return 502;
	case WA_ESTORAGE:
	case WA_EUNAVAIL:
	case WA_EFULL:
	case WA_ECLOSED:   return 503;
	case WA_ETIMEDOUT: return 504;
	default:           return 500; /* EFAIL, ENOMEM, ESTATE, EINTERNAL */
	}
}
