/*-------------------------------------------------------------------------
 *
 * option.c
 *		Options of comet_fdw: the validator, the merged server options and
 *		API-key resolution.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>
#include <pwd.h>
#include <unistd.h>

#include "access/reloptions.h"
#include "catalog/pg_authid_d.h"
#include "catalog/pg_foreign_data_wrapper.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_foreign_table.h"
#include "catalog/pg_user_mapping.h"
#include "catalog/pg_attribute.h"
#include "commands/defrem.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "comet_fdw.h"

typedef enum OptKind
{
	OPT_STRING,
	OPT_URL,
	OPT_INT,					/* > 0 */
	OPT_INT0,					/* >= 0 */
	OPT_SIZE,					/* bytes, units allowed */
	OPT_BOOL,
	OPT_KEY,
	OPT_ENDPOINT
} OptKind;

typedef struct CometOption
{
	const char *name;
	Oid			context;		/* catalog the option belongs to */
	OptKind		kind;
	int			max;			/* for ints: upper bound, 0 = INT_MAX */
	bool		superuser_only;
} CometOption;

static const CometOption comet_options[] = {
	{"url", ForeignServerRelationId, OPT_URL, 0, false},
	{"timeout_ms", ForeignServerRelationId, OPT_INT, 0, false},
	{"connect_timeout_ms", ForeignServerRelationId, OPT_INT, 0, false},
	{"max_retries", ForeignServerRelationId, OPT_INT0, 20, false},
	{"max_concurrency", ForeignServerRelationId, OPT_INT, 64, false},
	{"cache_ttl_s", ForeignServerRelationId, OPT_INT0, 0, false},
	{"max_response_bytes", ForeignServerRelationId, OPT_SIZE, 0, false},
	{"max_keys", ForeignServerRelationId, OPT_INT, 0, false},
	{"max_requests", ForeignServerRelationId, OPT_INT0, 0, false},
	{"max_requests", UserMappingRelationId, OPT_INT0, 0, false},
	{"ca_file", ForeignServerRelationId, OPT_STRING, 0, true},
	{"allow_key_file", ForeignServerRelationId, OPT_BOOL, 0, true},
	{"updatable", ForeignServerRelationId, OPT_BOOL, 0, false},
	{"batch_size", ForeignServerRelationId, OPT_INT, 1000, false},
	{"api_key", UserMappingRelationId, OPT_KEY, 0, false},
	{"endpoint", ForeignTableRelationId, OPT_ENDPOINT, 0, false},
	{"updatable", ForeignTableRelationId, OPT_BOOL, 0, false},
	{"batch_size", ForeignTableRelationId, OPT_INT, 1000, false},
	{"field", AttributeRelationId, OPT_STRING, 0, false},
};

static const char *
context_name(Oid context)
{
	switch (context)
	{
		case ForeignDataWrapperRelationId:
			return "foreign-data wrapper";
		case ForeignServerRelationId:
			return "server";
		case UserMappingRelationId:
			return "user mapping";
		case ForeignTableRelationId:
			return "foreign table";
		case AttributeRelationId:
			return "column";
	}
	return "object";
}

static char *
valid_options_list(Oid context)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < lengthof(comet_options); i++)
	{
		if (comet_options[i].context != context)
			continue;
		if (buf.len > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf, comet_options[i].name);
	}
	return buf.data;
}

static char *
endpoint_list(void)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < comet_endpoint_count(); i++)
	{
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf, comet_endpoint_at(i)->name);
	}
	return buf.data;
}

static bool
url_is_http(const char *url)
{
	const char *host;

	if (pg_strncasecmp(url, "http://", 7) == 0)
		host = url + 7;
	else if (pg_strncasecmp(url, "https://", 8) == 0)
		host = url + 8;
	else
		return false;
	/* a host is required, and no whitespace or control characters */
	if (*host == '\0' || *host == '/' || *host == ':')
		return false;
	for (; *url; url++)
		if (isspace((unsigned char) *url) || iscntrl((unsigned char) *url))
			return false;
	return true;
}

static int64
parse_size(const char *value, const char *name)
{
	Datum		d;
	const char *p = value;

	while (isspace((unsigned char) *p))
		p++;
	if (!isdigit((unsigned char) *p))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("invalid value for option \"%s\": \"%s\"", name, value),
				 errhint("Use a number of bytes or a size such as '256MB'.")));
	d = DirectFunctionCall1(pg_size_bytes, CStringGetTextDatum(value));
	if (DatumGetInt64(d) <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("option \"%s\" must be a positive size", name),
				 errhint("Use a number of bytes or a size such as '256MB'.")));
	return DatumGetInt64(d);
}

static int
parse_int_option(const char *value, const char *name, int min, int max)
{
	char	   *end;
	long		v;

	errno = 0;
	v = strtol(value, &end, 10);
	while (*end && isspace((unsigned char) *end))
		end++;
	if (end == value || *end != '\0' || errno != 0 || v < min || v > max)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("invalid value for option \"%s\": \"%s\"", name, value),
				 errhint("Use a whole number from %d to %d.", min, max)));
	return (int) v;
}

static void
validate_value(const CometOption *opt, DefElem *def)
{
	const char *value = defGetString(def);

	switch (opt->kind)
	{
		case OPT_URL:
			if (!url_is_http(value))
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
						 errmsg("invalid value for option \"url\": only http and https URLs are allowed"),
						 errhint("Use the REST base URL, for example '%s'.",
								 COMET_DEFAULT_URL)));
			break;
		case OPT_INT:
			(void) parse_int_option(value, opt->name, 1,
									opt->max ? opt->max : INT_MAX);
			break;
		case OPT_INT0:
			(void) parse_int_option(value, opt->name, 0,
									opt->max ? opt->max : INT_MAX);
			break;
		case OPT_SIZE:
			(void) parse_size(value, opt->name);
			break;
		case OPT_BOOL:
			{
				bool		b;

				if (!parse_bool(value, &b))
					ereport(ERROR,
							(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
							 errmsg("option \"%s\" requires a Boolean value",
									opt->name)));
				break;
			}
		case OPT_KEY:
			{
				const char *p;

				if (*value == '\0')
					ereport(ERROR,
							(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
							 errmsg("option \"api_key\" must not be empty")));
				/* a control character would end the header it is sent in */
				for (p = value; *p; p++)
					if (iscntrl((unsigned char) *p))
						ereport(ERROR,
								(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
								 errmsg("option \"api_key\" must not contain control characters")));
				break;
			}
		case OPT_ENDPOINT:
			if (comet_endpoint_lookup(value) == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
						 errmsg("unknown Comet endpoint \"%s\"", value),
						 errhint("Valid endpoints are: %s.", endpoint_list())));
			break;
		case OPT_STRING:
			if (*value == '\0')
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
						 errmsg("option \"%s\" must not be empty", opt->name)));
			break;
	}
}

PG_FUNCTION_INFO_V1(comet_fdw_validator);

Datum
comet_fdw_validator(PG_FUNCTION_ARGS)
{
	List	   *options = untransformRelOptions(PG_GETARG_DATUM(0));
	Oid			catalog = PG_GETARG_OID(1);
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);
		const CometOption *opt = NULL;
		const CometOption *elsewhere = NULL;
		ListCell   *lc2;
		int			i;

		for (i = 0; i < lengthof(comet_options); i++)
		{
			if (strcmp(comet_options[i].name, def->defname) != 0)
				continue;
			if (comet_options[i].context == catalog)
				opt = &comet_options[i];
			else
				elsewhere = &comet_options[i];
		}

		if (opt == NULL)
		{
			char	   *valid = valid_options_list(catalog);

			if (elsewhere != NULL)
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
						 errmsg("option \"%s\" is not allowed on a %s",
								def->defname, context_name(catalog)),
						 errdetail("\"%s\" belongs on a %s.", def->defname,
								   context_name(elsewhere->context)),
						 elsewhere->context == UserMappingRelationId ?
						 errhint("Store the key with CREATE USER MAPPING FOR CURRENT_USER SERVER ... OPTIONS (api_key '...'); user mapping options are visible only to their user and the server owner.") :
						 (*valid ? errhint("Valid options in this context are: %s.", valid) :
						  errhint("There are no valid options in this context."))));
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("invalid option \"%s\"", def->defname),
					 *valid ? errhint("Valid options in this context are: %s.", valid) :
					 errhint("There are no valid options in this context.")));
		}

		/* each option at most once */
		foreach(lc2, options)
		{
			DefElem    *other = (DefElem *) lfirst(lc2);

			if (other != def && strcmp(other->defname, def->defname) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_SYNTAX_ERROR),
						 errmsg("option \"%s\" is given more than once",
								def->defname)));
		}

		if (opt->superuser_only && !superuser())
		{
			bool		allowed = false;

			/* reading a CA file is what pg_read_server_files is for */
			if (strcmp(opt->name, "ca_file") == 0)
				allowed = has_privs_of_role(GetUserId(), ROLE_PG_READ_SERVER_FILES);
			if (!allowed)
				ereport(ERROR,
						(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
						 errmsg("only superusers can set option \"%s\"",
								opt->name)));
		}

		validate_value(opt, def);
	}

	PG_RETURN_VOID();
}

/*
 * Self-hosted users often know their "clientlib" URL; Comet's own clients
 * replace a trailing clientlib with api/rest/v2, and so do we.
 */
char *
comet_normalize_url(const char *url)
{
	char	   *u = pstrdup(url);
	size_t		len = strlen(u);

	while (len > 0 && u[len - 1] == '/')
		u[--len] = '\0';
	if (len >= 10 && pg_strcasecmp(u + len - 10, "/clientlib") == 0)
	{
		u[len - 10] = '\0';
		return psprintf("%s/api/rest/v2", u);
	}
	return u;
}

void
comet_server_options(ForeignServer *server, CometOptions *opts)
{
	ListCell   *lc;

	opts->url = pstrdup(COMET_DEFAULT_URL);
	opts->timeout_ms = 30000;
	opts->connect_timeout_ms = 10000;
	opts->max_retries = 3;
	opts->max_concurrency = 8;
	opts->cache_ttl_s = 60;
	opts->max_response_bytes = INT64CONST(256) * 1024 * 1024;
	opts->max_keys = 10000;
	opts->max_requests = 0;
	opts->ca_file = NULL;
	opts->allow_key_file = false;

	foreach(lc, server->options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);
		const char *v = defGetString(def);

		if (strcmp(def->defname, "url") == 0)
			opts->url = comet_normalize_url(v);
		else if (strcmp(def->defname, "timeout_ms") == 0)
			opts->timeout_ms = parse_int_option(v, def->defname, 1, INT_MAX);
		else if (strcmp(def->defname, "connect_timeout_ms") == 0)
			opts->connect_timeout_ms = parse_int_option(v, def->defname, 1, INT_MAX);
		else if (strcmp(def->defname, "max_retries") == 0)
			opts->max_retries = parse_int_option(v, def->defname, 0, 20);
		else if (strcmp(def->defname, "max_concurrency") == 0)
			opts->max_concurrency = parse_int_option(v, def->defname, 1, 64);
		else if (strcmp(def->defname, "cache_ttl_s") == 0)
			opts->cache_ttl_s = parse_int_option(v, def->defname, 0, INT_MAX);
		else if (strcmp(def->defname, "max_response_bytes") == 0)
			opts->max_response_bytes = parse_size(v, def->defname);
		else if (strcmp(def->defname, "max_keys") == 0)
			opts->max_keys = parse_int_option(v, def->defname, 1, INT_MAX);
		else if (strcmp(def->defname, "max_requests") == 0)
			opts->max_requests = parse_int_option(v, def->defname, 0, INT_MAX);
		else if (strcmp(def->defname, "ca_file") == 0)
			opts->ca_file = pstrdup(v);
		else if (strcmp(def->defname, "allow_key_file") == 0)
			opts->allow_key_file = defGetBoolean(def);
	}
}

/* The mapping for userid, else the PUBLIC one; InvalidOid if none. */
static Oid
find_user_mapping(Oid userid, Oid serverid, List **options, bool *is_public)
{
	HeapTuple	tp;
	Oid			umid;
	Datum		datum;
	bool		isnull;

	*is_public = false;
	tp = SearchSysCache2(USERMAPPINGUSERSERVER, ObjectIdGetDatum(userid),
						 ObjectIdGetDatum(serverid));
	if (!HeapTupleIsValid(tp))
	{
		tp = SearchSysCache2(USERMAPPINGUSERSERVER, ObjectIdGetDatum(InvalidOid),
							 ObjectIdGetDatum(serverid));
		*is_public = true;
	}
	if (!HeapTupleIsValid(tp))
		return InvalidOid;
	umid = ((Form_pg_user_mapping) GETSTRUCT(tp))->oid;
	datum = SysCacheGetAttr(USERMAPPINGUSERSERVER, tp,
							Anum_pg_user_mapping_umoptions, &isnull);
	*options = isnull ? NIL : untransformRelOptions(datum);
	ReleaseSysCache(tp);
	return umid;
}

/* The key file of the OS user running PostgreSQL, trimmed; NULL if none. */
static char *
read_key_file(char *path, size_t pathlen)
{
	const char *home = getenv("HOME");
	struct passwd *pw;
	FILE	   *f;
	char		buf[1024];
	size_t		n;
	char	   *s,
			   *e;

	if (home == NULL || home[0] == '\0')
	{
		pw = getpwuid(geteuid());
		home = pw ? pw->pw_dir : NULL;
	}
	if (home == NULL)
		return NULL;
	snprintf(path, pathlen, "%s/.comet_rest_key", home);
	f = AllocateFile(path, "r");
	if (f == NULL)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	FreeFile(f);
	buf[n] = '\0';
	for (s = buf; *s && isspace((unsigned char) *s); s++)
		;
	for (e = s + strlen(s); e > s && isspace((unsigned char) e[-1]); e--)
		;
	*e = '\0';
	if (*s == '\0')
		return NULL;
	for (e = s; *e; e++)
		if (iscntrl((unsigned char) *e))
			return NULL;
	s = pstrdup(s);
	explicit_bzero(buf, sizeof(buf));
	return s;
}

/*
 * The API key for userid on server: the user mapping's api_key, else the
 * key file (superusers, or anyone where allow_key_file is on).  *umid is the
 * mapping used, InvalidOid for the key file; responses are cached per umid.
 */
char *
comet_resolve_key(ForeignServer *server, Oid userid, CometOptions *opts,
				  Oid *umid)
{
	List	   *um_options = NIL;
	ListCell   *lc;
	char		path[MAXPGPATH];
	char	   *key;
	char	   *detail;
	bool		may_use_file;
	bool		have_mapping;
	bool		mapping_public;
	bool		server_trusted;

	*umid = find_user_mapping(userid, server->serverid, &um_options, &mapping_public);
	key = NULL;
	foreach(lc, um_options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, "api_key") == 0)
			key = pstrdup(defGetString(def));
		else if (strcmp(def->defname, "max_requests") == 0)
		{
			int			n = parse_int_option(defGetString(def), def->defname, 0, INT_MAX);

			/*
			 * A role may lower its own cap, never raise the server's: the
			 * server owner's limit is the one a dashboard role cannot lift.
			 */
			if (n > 0 && (opts->max_requests == 0 || n < opts->max_requests))
				opts->max_requests = n;
		}
	}
	if (key != NULL)
		return key;

	have_mapping = OidIsValid(*umid);
	*umid = InvalidOid;

	/*
	 * The key file holds the key of whoever runs PostgreSQL: it goes only to
	 * a url a superuser chose, i.e. on a server a superuser owns (a
	 * server's owner can change its url, and USAGE on the wrapper lets any
	 * role create servers).
	 */
	server_trusted = superuser_arg(server->owner);
	may_use_file = (superuser_arg(userid) || opts->allow_key_file) && server_trusted;
	path[0] = '\0';
	key = may_use_file ? read_key_file(path, sizeof(path)) : NULL;
	if (key != NULL)
		return key;

	if (!have_mapping)
		detail = psprintf("Role \"%s\" has no user mapping for server \"%s\" (nor has PUBLIC).",
						  GetUserNameFromId(userid, false), server->servername);
	else
		detail = pstrdup("The user mapping has no api_key.");
	if (may_use_file)
		detail = psprintf("%s The key file ~/.comet_rest_key of the PostgreSQL server's operating-system user is missing or empty.", detail);
	else if (!server_trusted && (superuser_arg(userid) || opts->allow_key_file))
		detail = psprintf("%s The key file ~/.comet_rest_key is used only on servers owned by a superuser, and server \"%s\" is not.",
						  detail, server->servername);
	else
		detail = psprintf("%s Only superusers may fall back to the server's ~/.comet_rest_key unless the server sets allow_key_file.", detail);

	ereport(ERROR,
			(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
			 errmsg("no Comet API key for role \"%s\" on server \"%s\"",
					GetUserNameFromId(userid, false), server->servername),
			 errdetail_internal("%s", detail),
			 have_mapping ?
			 errhint("ALTER USER MAPPING FOR %s SERVER %s OPTIONS (ADD api_key 'your-comet-api-key');",
					 mapping_public ? "PUBLIC" : "CURRENT_USER",
					 quote_identifier(server->servername)) :
			 errhint("CREATE USER MAPPING FOR CURRENT_USER SERVER %s OPTIONS (api_key 'your-comet-api-key');",
					 quote_identifier(server->servername))));
	return NULL;				/* keep compiler quiet */
}

/* The endpoint of a foreign table; the table name if it names one. */
const char *
comet_table_endpoint_name(Oid relid, bool missing_ok)
{
	ForeignTable *ft = GetForeignTable(relid);
	ListCell   *lc;
	char	   *relname;

	foreach(lc, ft->options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, "endpoint") == 0)
			return defGetString(def);
	}
	relname = get_rel_name(relid);
	if (relname != NULL && comet_endpoint_lookup(relname) != NULL)
		return relname;
	if (missing_ok)
		return NULL;
	/* the validator never sees the table's name: this is the first check */
	ereport(ERROR,
			(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
			 errmsg("foreign table \"%s\" has no \"endpoint\" option",
					relname ? relname : "?"),
			 errdetail("Without it a table reads the endpoint of its own name, and \"%s\" is not one.",
					   relname ? relname : "?"),
			 errhint("ALTER FOREIGN TABLE %s OPTIONS (ADD endpoint '...'); valid endpoints are: %s.",
					 quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
												relname ? relname : "?"),
					 endpoint_list())));
	return NULL;
}

char *
comet_column_field_option(Oid relid, AttrNumber attnum)
{
	ListCell   *lc;

	foreach(lc, GetForeignColumnOptions(relid, attnum))
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, "field") == 0)
			return pstrdup(defGetString(def));
	}
	return NULL;
}

/*
 * Whether a foreign table may be written to, and how many rows an INSERT
 * hands over at once: the table's options, else the server's, else true
 * and 100 (postgres_fdw's rule for updatable).
 */
void
comet_write_options(Oid relid, bool *updatable, int *batch_size)
{
	ForeignTable *ft = GetForeignTable(relid);
	ForeignServer *server = GetForeignServer(ft->serverid);
	List	   *lists[2] = {server->options, ft->options};
	int			i;
	ListCell   *lc;

	*updatable = true;
	*batch_size = 100;
	for (i = 0; i < 2; i++)
	{
		foreach(lc, lists[i])
		{
			DefElem    *def = (DefElem *) lfirst(lc);

			if (strcmp(def->defname, "updatable") == 0)
				*updatable = defGetBoolean(def);
			else if (strcmp(def->defname, "batch_size") == 0)
				*batch_size = parse_int_option(defGetString(def),
											   def->defname, 1, 1000);
		}
	}
}
