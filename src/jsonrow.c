/*-------------------------------------------------------------------------
 *
 * jsonrow.c
 *		A strict, allocation-light JSON parser for Comet responses, and the
 *		classification of its values for PostgreSQL columns.
 *
 * One pass builds an array of nodes that point into the body; strings are
 * validated (UTF-8, escapes, surrogates) while parsing but unescaped only
 * when a column reads them.  No PostgreSQL header: see jsonrow.h.
 *
 *-------------------------------------------------------------------------
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "jsonrow.h"

/* epoch milliseconds that timestamptz can hold, with room for the µs math */
#define JR_MAX_EPOCH_MS INT64_C(9000000000000)
#define JR_F_NUL		0x04	/* a string holding \u0000 */

struct jr_scratch
{
	struct jr_scratch *next;
	size_t		used;
	size_t		size;
	char		data[];
};

typedef struct parser
{
	const char *base;
	const char *p;
	const char *end;
	jr_doc	   *doc;
	int			depth;
	jr_error	err;
	const char *what;
	int32_t		max_nodes;		/* from jr_options.max_bytes */
	int			(*abort_check) (void);
} parser;

/* how many nodes between two polls of the abort check (a few ms of work) */
#define JR_POLL_NODES 65536

/* ---- parsing ---- */

static jr_ref
fail(parser *ps, jr_error err, const char *what)
{
	if (ps->err == JR_OK)
	{
		ps->err = err;
		ps->what = what;
		ps->doc->where = (size_t) (ps->p - ps->base);
	}
	return -1;
}

static jr_ref
ends_early(parser *ps)
{
	ps->p = ps->end;
	return fail(ps, JR_INCOMPLETE, "the document ends early");
}

/* A new node's fields, but for its length (and flags), set once known. */
static inline jr_ref
init_node(jr_doc *doc, jr_type type, uint32_t off)
{
	jr_node    *n = &doc->nodes[doc->nnodes];

	n->off = off;
	n->len = 0;
	n->next = -1;
	n->parent = -1;
	n->first = -1;
	n->count = 0;
	n->type = (uint8_t) type;
	n->flags = 0;
	return doc->nnodes++;
}

/* new_node() when the array is full or the abort check is due */
static jr_ref
new_node_slow(parser *ps, jr_type type, const char *start)
{
	jr_doc	   *doc = ps->doc;

	if ((doc->nnodes & (JR_POLL_NODES - 1)) == 0 && doc->nnodes > 0 &&
		ps->abort_check != NULL && ps->abort_check())
		return fail(ps, JR_ABORTED, "aborted");
	if (doc->nnodes == doc->cap)
	{
		int32_t		cap = doc->cap ? doc->cap * 2 : 256;
		jr_node    *nodes;

		if (doc->nnodes >= ps->max_nodes)
			return fail(ps, JR_TOO_BIG, "too many values");
		if (cap > ps->max_nodes)
			cap = ps->max_nodes;
		nodes = realloc(doc->nodes, sizeof(jr_node) * (size_t) cap);
		if (nodes == NULL)
			return fail(ps, JR_OOM, "out of memory");
		doc->nodes = nodes;
		doc->cap = cap;
	}
	return init_node(doc, type, (uint32_t) (start - ps->base));
}

static inline jr_ref
new_node(parser *ps, jr_type type, const char *start)
{
	jr_doc	   *doc = ps->doc;

	if ((doc->nnodes & (JR_POLL_NODES - 1)) == 0 || doc->nnodes == doc->cap)
		return new_node_slow(ps, type, start);
	return init_node(doc, type, (uint32_t) (start - ps->base));
}

static inline void
skip_ws(parser *ps)
{
	while (ps->p < ps->end &&
		   (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t'))
		ps->p++;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Reads \uXXXX at p (after the backslash-u); -1 if malformed, -2 if short. */
static long
read_u4(const char *p, const char *end)
{
	long		v = 0;
	int			i;

	for (i = 0; i < 4; i++)
	{
		int			h;

		if (p + i >= end)
			return -2;
		h = hexval(p[i]);
		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* Length of a valid UTF-8 sequence at p, 0 if invalid, -1 if cut short. */
static int
utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned char c = p[0];
	int			n,
				i;
	uint32_t	cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
	{
		n = 2;
		cp = c & 0x1F;
	}
	else if (c >= 0xE0 && c <= 0xEF)
	{
		n = 3;
		cp = c & 0x0F;
	}
	else if (c >= 0xF0 && c <= 0xF4)
	{
		n = 4;
		cp = c & 0x07;
	}
	else
		return 0;
	for (i = 1; i < n; i++)
	{
		if (p + i >= end)
			return -1;
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	/* no overlong forms, no surrogates, nothing past U+10FFFF */
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
		(cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
		return 0;
	return n;
}

/* bytes that end a run of plain string text: controls, ", \ and non-ASCII */
static const unsigned char plain_byte[256] = {
#define R16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
	R16(0), R16(0),				/* 0x00-0x1f: control characters */
	1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,	/* 0x20-0x2f: '"' */
	R16(1), R16(1),				/* 0x30-0x4f */
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,	/* 0x50-0x5f: '\\' */
	R16(1), R16(1),				/* 0x60-0x7f */
	R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0), R16(0)
#undef R16
};

static jr_ref
parse_string(parser *ps)
{
	const char *start = ps->p + 1;
	jr_ref		ref = new_node(ps, JR_T_STRING, start);
	uint8_t		flags = 0;
	const char *p = start;
	const char *end = ps->end;

	if (ref < 0)
		return -1;
	for (;;)
	{
		unsigned char c;

		/* the common case: plain ASCII */
		while (p + 4 <= end && plain_byte[(unsigned char) p[0]] &&
			   plain_byte[(unsigned char) p[1]] && plain_byte[(unsigned char) p[2]] &&
			   plain_byte[(unsigned char) p[3]])
			p += 4;
		while (p < end && plain_byte[(unsigned char) *p])
			p++;
		if (p >= end)
			return ends_early(ps);
		c = (unsigned char) *p;
		if (c == '"')
			break;
		if (c == '\\')
		{
			flags |= JR_F_ESCAPED;
			if (p + 1 >= end)
				return ends_early(ps);
			switch (p[1])
			{
				case '"':
				case '\\':
				case '/':
				case 'b':
				case 'f':
				case 'n':
				case 'r':
				case 't':
					p += 2;
					break;
				case 'u':
					{
						long		u = read_u4(p + 2, end);

						if (u == -2)
							return ends_early(ps);
						ps->p = p;
						if (u < 0)
							return fail(ps, JR_PARSE, "invalid \\u escape");
						if (u == 0)
							flags |= JR_F_NUL;
						p += 6;
						if (u >= 0xDC00 && u <= 0xDFFF)
							return fail(ps, JR_PARSE, "lone low surrogate in \\u escape");
						if (u >= 0xD800 && u <= 0xDBFF)
						{
							long		lo;

							if (p + 1 < end && (p[0] != '\\' || p[1] != 'u'))
								return fail(ps, JR_PARSE, "lone high surrogate in \\u escape");
							if (p + 1 >= end)
								return ends_early(ps);
							lo = read_u4(p + 2, end);
							if (lo == -2)
								return ends_early(ps);
							if (lo < 0xDC00 || lo > 0xDFFF)
								return fail(ps, JR_PARSE, "lone high surrogate in \\u escape");
							p += 6;
						}
						break;
					}
				default:
					ps->p = p;
					return fail(ps, JR_PARSE, "invalid escape in string");
			}
			continue;
		}
		if (c < 0x20)
		{
			ps->p = p;
			return fail(ps, JR_PARSE, "control character in string");
		}
		{
			int			n = utf8_len((const unsigned char *) p, (const unsigned char *) end);

			if (n < 0)
				return ends_early(ps);
			if (n == 0)
			{
				ps->p = p;
				return fail(ps, JR_PARSE, "invalid UTF-8 in string");
			}
			p += n;
		}
	}
	ps->doc->nodes[ref].len = (uint32_t) (p - start);
	ps->doc->nodes[ref].flags = flags;
	ps->p = p + 1;
	return ref;
}

/* Whether the eight bytes of x are all ASCII digits. */
static inline bool
all_digits8(uint64_t x)
{
	return ((x & UINT64_C(0xF0F0F0F0F0F0F0F0)) |
			(((x + UINT64_C(0x0606060606060606)) & UINT64_C(0xF0F0F0F0F0F0F0F0)) >> 4)) ==
		UINT64_C(0x3333333333333333);
}

/* Past the digits from p on: eight at a time where it can. */
static inline const char *
skip_digits(const char *p, const char *end)
{
	uint64_t	x;

	while (p + 8 <= end)
	{
		memcpy(&x, p, 8);
		if (!all_digits8(x))
			break;
		p += 8;
	}
	while (p < end && (unsigned) (*p - '0') < 10)
		p++;
	return p;
}

/* One or more digits (of a fraction or an exponent); NULL on error. */
static const char *
digits(parser *ps, const char *p)
{
	if (p >= ps->end)
	{
		ends_early(ps);
		return NULL;
	}
	if (*p < '0' || *p > '9')
	{
		ps->p = p;
		fail(ps, JR_PARSE, "invalid number");
		return NULL;
	}
	return skip_digits(p + 1, ps->end);
}

static inline jr_ref
parse_number(parser *ps)
{
	const char *p = ps->p;
	const char *end = ps->end;
	jr_ref		ref = new_node(ps, JR_T_NUMBER, p);
	uint8_t		flags = JR_F_INTEGER;

	if (ref < 0)
		return -1;
	if (*p == '-')
		p++;
	if (p >= end)
		return ends_early(ps);
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		p = skip_digits(p + 1, end);
	else
	{
		ps->p = p;
		return fail(ps, JR_PARSE, "invalid number");
	}
	if (p < end && *p == '.')
	{
		flags = 0;
		p = digits(ps, p + 1);
	}
	if (p != NULL && p < end && (*p == 'e' || *p == 'E'))
	{
		flags = 0;
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		p = digits(ps, p);
	}
	if (p == NULL)
		return -1;
	ps->doc->nodes[ref].len = (uint32_t) (p - ps->p);
	ps->doc->nodes[ref].flags = flags;
	ps->p = p;
	return ref;
}

static jr_ref
parse_literal(parser *ps, const char *word, jr_type type)
{
	size_t		n = strlen(word);
	size_t		have = (size_t) (ps->end - ps->p);
	jr_ref		ref;

	if (have < n)
	{
		if (memcmp(ps->p, word, have) == 0)
			return ends_early(ps);
		return fail(ps, JR_PARSE, "unexpected character");
	}
	if (memcmp(ps->p, word, n) != 0)
		return fail(ps, JR_PARSE, "unexpected character");
	ref = new_node(ps, type, ps->p);
	if (ref < 0)
		return -1;
	ps->doc->nodes[ref].len = (uint32_t) n;
	ps->p += n;
	return ref;
}

static jr_ref parse_value(parser *ps);

static jr_ref
parse_container(parser *ps, bool object)
{
	jr_ref		ref = new_node(ps, object ? JR_T_OBJECT : JR_T_ARRAY, ps->p);
	jr_ref		last = -1;
	uint32_t	count = 0;
	char		close = object ? '}' : ']';

	if (ref < 0)
		return -1;
	if (++ps->depth > JR_MAX_DEPTH)
		return fail(ps, JR_TOO_DEEP, "nesting too deep");
	ps->p++;
	skip_ws(ps);
	if (ps->p >= ps->end)
		return ends_early(ps);
	if (*ps->p != close)
	{
		for (;;)
		{
			jr_ref		item;

			if (object)
			{
				jr_ref		key;

				skip_ws(ps);
				if (ps->p >= ps->end)
					return ends_early(ps);
				if (*ps->p != '"')
					return fail(ps, JR_PARSE, "expected a string key");
				key = parse_string(ps);
				if (key < 0)
					return -1;
				ps->doc->nodes[key].parent = ref;
				if (last < 0)
					ps->doc->nodes[ref].first = key;
				else
					ps->doc->nodes[last].next = key;
				last = key;
				skip_ws(ps);
				if (ps->p >= ps->end)
					return ends_early(ps);
				if (*ps->p != ':')
					return fail(ps, JR_PARSE, "expected ':'");
				ps->p++;
			}
			/* most values of a Comet answer are numbers in arrays */
			skip_ws(ps);
			if (ps->p < ps->end && ((unsigned) (*ps->p - '0') < 10 || *ps->p == '-'))
				item = parse_number(ps);
			else
				item = parse_value(ps);
			if (item < 0)
				return -1;
			ps->doc->nodes[item].parent = ref;
			if (last < 0)
				ps->doc->nodes[ref].first = item;
			else
				ps->doc->nodes[last].next = item;
			last = item;
			count++;
			skip_ws(ps);
			if (ps->p >= ps->end)
				return ends_early(ps);
			if (*ps->p == ',')
			{
				ps->p++;
				continue;
			}
			if (*ps->p == close)
				break;
			return fail(ps, JR_PARSE, object ? "expected ',' or '}'" : "expected ',' or ']'");
		}
	}
	ps->p++;
	ps->depth--;
	ps->doc->nodes[ref].count = count;
	ps->doc->nodes[ref].len = (uint32_t) ((ps->p - ps->base) - ps->doc->nodes[ref].off);
	return ref;
}

static jr_ref
parse_value(parser *ps)
{
	skip_ws(ps);
	if (ps->p >= ps->end)
		return ends_early(ps);
	switch (*ps->p)
	{
		case '{':
			return parse_container(ps, true);
		case '[':
			return parse_container(ps, false);
		case '"':
			return parse_string(ps);
		case 't':
			return parse_literal(ps, "true", JR_T_TRUE);
		case 'f':
			return parse_literal(ps, "false", JR_T_FALSE);
		case 'n':
			return parse_literal(ps, "null", JR_T_NULL);
		default:
			if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
				return parse_number(ps);
			return fail(ps, JR_PARSE, "unexpected character");
	}
}

/* ---- rows nested in keyed members ---- */

static inline bool
is_null_or_absent(const jr_doc *doc, jr_ref v)
{
	return v < 0 || doc->nodes[v].type == JR_T_NULL;
}

/* An array whose elements are all scalars: its elements are consecutive nodes. */
static bool
flat_array(const jr_doc *doc, jr_ref arr)
{
	const jr_node *a = &doc->nodes[arr];
	jr_ref		last;

	if (a->count == 0)
		return true;
	last = a->first + (jr_ref) a->count - 1;
	return last < doc->nnodes && doc->nodes[last].parent == arr &&
		doc->nodes[last].next < 0;
}

static jr_error
nesting_error(jr_doc *doc, jr_ref key, int element, const char *field,
			  const char *what)
{
	doc->err_member = key;
	doc->err_element = element;
	doc->err_field[0] = field;
	doc->what = what;
	return JR_BAD_NESTING;
}

/*
 * The rows of one list element: 1, or the common length of its parallel
 * arrays (-1 with the error set when they disagree or are no arrays).
 */
static int64_t
element_rows(jr_doc *doc, const jr_options *opts, jr_ref key, int element,
			 jr_ref obj, jr_error *err)
{
	const char *const *p;
	const char *first = NULL;
	int64_t		n = -1;

	if (opts->parallel == NULL)
		return 1;
	for (p = opts->parallel; *p != NULL; p++)
	{
		jr_ref		arr = jr_field(doc, obj, *p, NULL);

		if (is_null_or_absent(doc, arr))
			continue;
		if (doc->nodes[arr].type != JR_T_ARRAY)
		{
			*err = nesting_error(doc, key, element, *p, "a parallel field is no array");
			return -1;
		}
		if (!flat_array(doc, arr))
		{
			*err = nesting_error(doc, key, element, *p,
								 "a parallel array holds an array or an object");
			return -1;
		}
		else
		{
			/* consecutive elements may still be empty containers */
			jr_ref		e = doc->nodes[arr].first;
			jr_ref		last = e + (jr_ref) doc->nodes[arr].count;

			for (; e < last; e++)
				if (doc->nodes[e].type == JR_T_ARRAY || doc->nodes[e].type == JR_T_OBJECT)
				{
					*err = nesting_error(doc, key, element, *p,
										 "a parallel array holds an array or an object");
					return -1;
				}
		}
		if (n < 0)
		{
			n = doc->nodes[arr].count;
			first = *p;
		}
		else if (n != (int64_t) doc->nodes[arr].count)
		{
			doc->err_member = key;
			doc->err_element = element;
			doc->err_field[0] = first;
			doc->err_len[0] = (int) n;
			doc->err_field[1] = *p;
			doc->err_len[1] = (int) doc->nodes[arr].count;
			doc->what = "parallel arrays of unequal length";
			*err = JR_UNEQUAL;
			return -1;
		}
	}
	return n < 0 ? 0 : n;
}

/*
 * Walks the members twice: first checking shapes and counting rows, then
 * filling them in, so that the row arrays are allocated once.
 */
static jr_error
member_rows(jr_doc *doc, const jr_options *opts, int32_t max_nodes)
{
	jr_ref		list = jr_field(doc, doc->root, opts->list_key, NULL);
	int			pass;
	int64_t		total = 0;

	if (is_null_or_absent(doc, list))
	{
		if (opts->list_optional)
			return JR_OK;
		doc->what = list < 0 ? "object" : "null";
		return list < 0 ? JR_NO_LIST : JR_NOT_MEMBERS;
	}
	if (doc->nodes[list].type != JR_T_OBJECT)
	{
		doc->what = jr_type_name(doc, list);
		return JR_NOT_MEMBERS;
	}
	doc->members = list;
	for (pass = 0; pass < 2; pass++)
	{
		jr_ref		key;
		int64_t		r = 0;

		for (key = doc->nodes[list].first; key >= 0;
			 key = doc->nodes[doc->nodes[key].next].next)
		{
			jr_ref		member = doc->nodes[key].next;
			jr_ref		elems,
						e;
			int			element = 0;

			if (doc->nodes[member].type == JR_T_NULL)
				continue;
			if (doc->nodes[member].type != JR_T_OBJECT)
				return nesting_error(doc, key, -1, NULL, "a member is no object");
			elems = jr_field(doc, member, opts->member_list, NULL);
			if (is_null_or_absent(doc, elems))
				continue;
			if (doc->nodes[elems].type != JR_T_ARRAY)
				return nesting_error(doc, key, -1, opts->member_list,
									 "a member's list is no array");
			for (e = doc->nodes[elems].first; e >= 0; e = doc->nodes[e].next, element++)
			{
				jr_error	err = JR_OK;
				int64_t		n,
							k;

				if (doc->nodes[e].type == JR_T_NULL)
					continue;
				if (doc->nodes[e].type != JR_T_OBJECT)
					return nesting_error(doc, key, element, NULL,
										 "an element of a member's list is no object");
				n = element_rows(doc, opts, key, element, e, &err);
				if (n < 0)
					return err;
				if (pass == 0)
				{
					total += n;
					continue;
				}
				for (k = 0; k < n; k++, r++)
				{
					doc->rows[r] = e;
					doc->row_member[r] = key;
					if (doc->row_index)
						doc->row_index[r] = (int32_t) k;
				}
			}
		}
		if (pass == 0)
		{
			size_t		per_row = sizeof(jr_ref) * 2 +
				(opts->parallel ? sizeof(int32_t) : 0);

			/* the rows count against the parse's memory like its nodes */
			if (total > INT32_MAX / 2 ||
				(uint64_t) total * per_row / sizeof(jr_node) +
				(uint64_t) doc->nnodes > (uint64_t) max_nodes)
			{
				doc->what = "too many rows";
				return JR_TOO_BIG;
			}
			doc->rows = malloc(sizeof(jr_ref) * (size_t) (total > 0 ? total : 1));
			doc->row_member = malloc(sizeof(jr_ref) * (size_t) (total > 0 ? total : 1));
			if (opts->parallel)
				doc->row_index = malloc(sizeof(int32_t) * (size_t) (total > 0 ? total : 1));
			if (doc->rows == NULL || doc->row_member == NULL ||
				(opts->parallel && doc->row_index == NULL))
				return JR_OOM;
		}
		else
			doc->nrows = (int) r;
	}
	return JR_OK;
}

jr_error
jr_parse(const char *body, size_t len, const char *list_key, jr_doc *doc)
{
	jr_options	opts;

	memset(&opts, 0, sizeof(opts));
	opts.list_key = list_key;
	return jr_parse_opts(body, len, &opts, doc);
}

jr_error
jr_parse_opts(const char *body, size_t len, const jr_options *opts,
			  jr_doc *doc)
{
	const char *list_key = opts->list_key;
	parser		ps;
	jr_ref		list;
	jr_ref		item;
	int			i;

	memset(doc, 0, sizeof(*doc));
	doc->body = body;
	doc->len = len;
	doc->root = -1;
	doc->members = -1;
	doc->err_member = -1;
	doc->err_element = -1;
	if (len >= (size_t) UINT32_MAX / 2)
	{
		doc->what = "document too large";
		return JR_PARSE;
	}
	memset(&ps, 0, sizeof(ps));
	ps.base = ps.p = body;
	ps.end = body + len;
	ps.doc = doc;
	ps.abort_check = opts->abort_check;
	ps.max_nodes = INT32_MAX / 2;
	if (opts->max_bytes > 0 && opts->max_bytes / sizeof(jr_node) < (size_t) ps.max_nodes)
		ps.max_nodes = (int32_t) (opts->max_bytes / sizeof(jr_node));
	if (ps.max_nodes < 16)
		ps.max_nodes = 16;
	/*
	 * about one value per 12 bytes of a Comet list, 10 of a metric series:
	 * one allocation, mostly (pages never written are never memory)
	 */
	doc->cap = (int32_t) (len / 8 + 16);
	if (doc->cap > ps.max_nodes)
		doc->cap = ps.max_nodes;
	doc->nodes = malloc(sizeof(jr_node) * (size_t) doc->cap);
	if (doc->nodes == NULL)
	{
		doc->cap = 0;
		return JR_OOM;
	}

	doc->root = parse_value(&ps);
	if (doc->root >= 0)
	{
		skip_ws(&ps);
		if (ps.p < ps.end)
			fail(&ps, JR_PARSE, "unexpected data after the document");
	}
	if (ps.err != JR_OK)
	{
		doc->what = ps.what;
		doc->root = -1;
		return ps.err;
	}

	if (doc->nodes[doc->root].type != JR_T_OBJECT)
	{
		doc->what = jr_type_name(doc, doc->root);
		return JR_NOT_OBJECT;
	}
	if (opts->members)
		return member_rows(doc, opts, ps.max_nodes);
	if (list_key == NULL)
		list = doc->root;
	else
	{
		list = jr_field(doc, doc->root, list_key, NULL);
		if (list < 0 || doc->nodes[list].type == JR_T_NULL)
		{
			/* a list that is an optional part of an object: none is none */
			if (opts->list_optional)
				return JR_OK;
			doc->what = list < 0 ? "object" : "null";
			return list < 0 ? JR_NO_LIST : JR_NOT_LIST;
		}
		if (doc->nodes[list].type != JR_T_ARRAY)
		{
			doc->what = jr_type_name(doc, list);
			return JR_NOT_LIST;
		}
	}

	doc->nrows = list_key == NULL ? 1 : (int) doc->nodes[list].count;
	doc->rows = malloc(sizeof(jr_ref) * (size_t) (doc->nrows > 0 ? doc->nrows : 1));
	if (doc->rows == NULL)
	{
		doc->nrows = 0;
		return JR_OOM;
	}
	/* a null element carries no object, and an empty object no field */
	i = 0;
	if (list_key == NULL)
	{
		if (doc->nodes[doc->root].count > 0)
			doc->rows[i++] = doc->root;
	}
	else
		for (item = doc->nodes[list].first; item >= 0; item = doc->nodes[item].next)
			if (doc->nodes[item].type != JR_T_NULL)
				doc->rows[i++] = item;
	doc->nrows = i;
	return JR_OK;
}

void
jr_free(jr_doc *doc)
{
	jr_scratch *s = doc->scratch;

	while (s)
	{
		jr_scratch *next = s->next;

		free(s);
		s = next;
	}
	free(doc->nodes);
	free(doc->rows);
	free(doc->row_member);
	free(doc->row_index);
	free(doc->owned_body);
	free(doc->pre);
	free(doc->pre_status);
	memset(doc, 0, sizeof(*doc));
	doc->root = -1;
	doc->members = -1;
}

/* ---- navigation ---- */

jr_ref
jr_row(const jr_doc *doc, int i)
{
	if (i < 0 || i >= doc->nrows)
		return -1;
	return doc->rows[i];
}

jr_ref
jr_row_member(const jr_doc *doc, int i)
{
	if (doc->row_member == NULL || i < 0 || i >= doc->nrows)
		return -1;
	return doc->row_member[i];
}

int
jr_row_index(const jr_doc *doc, int i)
{
	if (doc->row_index == NULL || i < 0 || i >= doc->nrows)
		return -1;
	return doc->row_index[i];
}

jr_ref
jr_element(const jr_doc *doc, jr_ref arr, int i)
{
	jr_ref		e;

	if (arr < 0 || doc->nodes[arr].type != JR_T_ARRAY || i < 0 ||
		(uint32_t) i >= doc->nodes[arr].count)
		return -1;
	if (flat_array(doc, arr))
		return doc->nodes[arr].first + i;
	for (e = doc->nodes[arr].first; e >= 0 && i > 0; e = doc->nodes[e].next)
		i--;
	return e;
}

jr_type
jr_type_of(const jr_doc *doc, jr_ref v)
{
	return v < 0 ? JR_T_NULL : (jr_type) doc->nodes[v].type;
}

const char *
jr_type_name(const jr_doc *doc, jr_ref v)
{
	static const char *const names[] = {
		"null", "boolean", "boolean", "number", "string", "array", "object"
	};

	return names[jr_type_of(doc, v)];
}

jr_ref
jr_first(const jr_doc *doc, jr_ref c)
{
	return c < 0 ? -1 : doc->nodes[c].first;
}

jr_ref
jr_next(const jr_doc *doc, jr_ref v)
{
	return v < 0 ? -1 : doc->nodes[v].next;
}

int
jr_count(const jr_doc *doc, jr_ref c)
{
	return c < 0 ? 0 : (int) doc->nodes[c].count;
}

const char *
jr_json_text(const jr_doc *doc, jr_ref v, size_t *len)
{
	const jr_node *n;

	if (v < 0)
	{
		*len = 4;
		return "null";
	}
	n = &doc->nodes[v];
	if (n->type == JR_T_STRING)
	{
		/* with its quotes: the escapes are still JSON's */
		*len = n->len + 2;
		return doc->body + n->off - 1;
	}
	*len = n->len;
	return doc->body + n->off;
}

/* Room for unescaped text, freed with the document. */
static char *
scratch_alloc(jr_doc *doc, size_t size)
{
	jr_scratch *s = doc->scratch;

	if (s == NULL || s->size - s->used < size)
	{
		size_t		chunk = size > 65536 ? size : 65536;

		s = malloc(sizeof(jr_scratch) + chunk);
		if (s == NULL)
			return NULL;
		s->next = doc->scratch;
		s->used = 0;
		s->size = chunk;
		doc->scratch = s;
	}
	s->used += size;
	return s->data + s->used - size;
}

static size_t
put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80)
	{
		o[0] = (char) cp;
		return 1;
	}
	if (cp < 0x800)
	{
		o[0] = (char) (0xC0 | (cp >> 6));
		o[1] = (char) (0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000)
	{
		o[0] = (char) (0xE0 | (cp >> 12));
		o[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
		o[2] = (char) (0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (char) (0xF0 | (cp >> 18));
	o[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
	o[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
	o[3] = (char) (0x80 | (cp & 0x3F));
	return 4;
}

/* A string's text; escapes were validated by the parser. */
static const char *
string_text(jr_doc *doc, const jr_node *n, size_t *len)
{
	const char *s = doc->body + n->off;
	const char *end = s + n->len;
	char	   *out,
			   *o;

	if (!(n->flags & JR_F_ESCAPED))
	{
		*len = n->len;
		return s;
	}
	/* unescaped text is never longer than its escaped form */
	out = o = scratch_alloc(doc, n->len + 1);
	if (out == NULL)
		return NULL;
	while (s < end)
	{
		if (*s != '\\')
		{
			*o++ = *s++;
			continue;
		}
		switch (s[1])
		{
			case 'b':
				*o++ = '\b';
				break;
			case 'f':
				*o++ = '\f';
				break;
			case 'n':
				*o++ = '\n';
				break;
			case 'r':
				*o++ = '\r';
				break;
			case 't':
				*o++ = '\t';
				break;
			case 'u':
				{
					uint32_t	cp = (uint32_t) read_u4(s + 2, end);

					if (cp >= 0xD800 && cp <= 0xDBFF)
					{
						uint32_t	lo = (uint32_t) read_u4(s + 8, end);

						cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
						s += 6;
					}
					o += put_utf8(o, cp);
					s += 6;
					continue;
				}
			default:			/* " \ / */
				*o++ = s[1];
				break;
		}
		s += 2;
	}
	*o = '\0';
	*len = (size_t) (o - out);
	return out;
}

static inline bool
key_is(jr_doc *doc, jr_ref key, const char *name, size_t namelen)
{
	const jr_node *n = &doc->nodes[key];
	const char *s;
	size_t		len;

	if (!(n->flags & JR_F_ESCAPED))
		return n->len == namelen && memcmp(doc->body + n->off, name, namelen) == 0;
	s = string_text(doc, n, &len);
	return s != NULL && len == namelen && memcmp(s, name, namelen) == 0;
}

static jr_ref
find_field(const jr_doc *cdoc, jr_ref obj, const char *name)
{
	jr_doc	   *doc = (jr_doc *) cdoc;	/* unescaping may use scratch */
	size_t		namelen = strlen(name);
	jr_ref		found = -1;
	jr_ref		key;

	/* of duplicate keys (not valid Comet), the first is read */
	for (key = doc->nodes[obj].first; key >= 0; key = doc->nodes[doc->nodes[key].next].next)
		if (key_is(doc, key, name, namelen))
			return doc->nodes[key].next;
	return found;
}

jr_ref
jr_member(const jr_doc *cdoc, const char *name, size_t namelen)
{
	jr_doc	   *doc = (jr_doc *) cdoc;	/* unescaping may use scratch */
	jr_ref		key;

	if (doc->members < 0)
		return -1;
	for (key = doc->nodes[doc->members].first; key >= 0;
		 key = doc->nodes[doc->nodes[key].next].next)
		if (key_is(doc, key, name, namelen))
			return doc->nodes[key].next;
	return -1;
}

const char *
jr_string(jr_doc *doc, jr_ref v, size_t *len)
{
	if (v < 0 || doc->nodes[v].type != JR_T_STRING)
		return NULL;
	return string_text(doc, &doc->nodes[v], len);
}

jr_ref
jr_field_hinted(const jr_doc *cdoc, jr_ref obj, const char *field,
				const char *alt, int32_t *hint)
{
	jr_doc	   *doc = (jr_doc *) cdoc;
	size_t		flen;
	jr_ref		key;
	jr_ref		v;

	if (obj < 0 || doc->nodes[obj].type != JR_T_OBJECT || field == NULL)
		return jr_field(cdoc, obj, field, alt);
	flen = strlen(field);
	/* rows of one shape keep a key at the same distance from their object */
	key = obj + *hint;
	if (*hint > 0 && key < doc->nnodes && doc->nodes[key].parent == obj &&
		doc->nodes[key].type == JR_T_STRING &&
		doc->nodes[key].next >= 0 && doc->nodes[doc->nodes[key].next].parent == obj &&
		key_is(doc, key, field, flen))
	{
		v = doc->nodes[key].next;
		if (alt == NULL || doc->nodes[v].type != JR_T_NULL)
			return v;
	}
	v = jr_field(cdoc, obj, field, alt);
	if (v >= 0 && doc->nodes[v].parent == obj)
	{
		/* remember where this row kept the key: just before its value */
		for (key = doc->nodes[obj].first; key >= 0; key = doc->nodes[doc->nodes[key].next].next)
			if (doc->nodes[key].next == v)
			{
				*hint = key - obj;
				break;
			}
	}
	return v;
}

jr_ref
jr_field(const jr_doc *doc, jr_ref obj, const char *field, const char *alt)
{
	jr_ref		v = -1;

	if (obj < 0 || doc->nodes[obj].type != JR_T_OBJECT)
		return -1;
	if (field)
		v = find_field(doc, obj, field);
	if (v >= 0 && doc->nodes[v].type != JR_T_NULL)
		return v;
	if (alt)
	{
		jr_ref		a = find_field(doc, obj, alt);

		if (a >= 0)
			return a;
	}
	return v;
}

/* ---- numbers ---- */

/* An integer token (-?digits) as int64; false on overflow. */
static bool
int_value(const char *s, size_t len, int64_t *out)
{
	bool		neg = (len > 0 && s[0] == '-');
	uint64_t	acc = 0;
	size_t		i;

	i = neg ? 1 : 0;
	/* 19 digits cannot pass UINT64_MAX: no check (nor division) per digit */
	if (len - i <= 19)
		for (; i < len; i++)
			acc = acc * 10 + (unsigned) (s[i] - '0');
	for (; i < len; i++)
	{
		unsigned	d = (unsigned) (s[i] - '0');

		if (acc > (UINT64_MAX - d) / 10)
			return false;
		acc = acc * 10 + d;
	}
	if (neg)
	{
		if (acc > (uint64_t) INT64_MAX + 1)
			return false;
		*out = acc == (uint64_t) INT64_MAX + 1 ? INT64_MIN : -(int64_t) acc;
	}
	else
	{
		if (acc > (uint64_t) INT64_MAX)
			return false;
		*out = (int64_t) acc;
	}
	return true;
}

/*
 * Exact fast paths, false for anything else (strtod() then reads it):
 *
 * Clinger's: at most 15 significant digits and a decimal exponent within
 * 22 make m * 10^e (or m / 10^-e) with both operands exact doubles, so one
 * IEEE operation rounds it exactly as strtod() would.
 *
 * Metric values are mostly full-precision doubles (17 digits).  Where long
 * double has a 64-bit significand (x86-64), up to 19 digits (m < 2^64) and
 * an exponent within 27 (10^27 = 2^27 * 5^27, exact) make one correctly
 * rounded extended operation; rounding that to double is then correct
 * unless the extended result sits at a halfway point between two doubles
 * (its 11 bits below the double's are 10000000000, give or take one),
 * which goes to strtod().  Beyond 27 the power of ten is itself rounded
 * (an error of at most half an extended ulp more): a wider guard.
 */
#if defined(__x86_64__) && defined(__LDBL_MANT_DIG__) && __LDBL_MANT_DIG__ == 64
#define JR_EXTENDED_PATH 1
#endif

/*
 * Eight ASCII digits at p as their value, or false if they are not all
 * digits: the eight at once, in a few multiplications (little-endian).
 */
static inline bool
eight_digits(const char *p, uint64_t *value)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t	x;

	memcpy(&x, p, 8);
	if (!all_digits8(x))
		return false;
	x -= UINT64_C(0x3030303030303030);
	x = (x * 10) + (x >> 8);
	x = (((x & UINT64_C(0x000000FF000000FF)) * (100 + (UINT64_C(1000000) << 32))) +
		 (((x >> 16) & UINT64_C(0x000000FF000000FF)) * (1 + (UINT64_C(10000) << 32)))) >> 32;
	*value = x;
	return true;
#else
	(void) p;
	(void) value;
	return false;
#endif
}

/* Digits from p on into *m (wrapping past 19 digits); where they end. */
static inline const char *
accumulate(const char *p, const char *end, uint64_t *m)
{
	uint64_t	v;

	while (p + 8 <= end && eight_digits(p, &v))
	{
		*m = *m * 100000000 + v;
		p += 8;
	}
	for (; p < end && (unsigned) (*p - '0') < 10; p++)
		*m = *m * 10 + (uint64_t) (*p - '0');
	return p;
}

static bool
fast_float(const char *s, size_t len, double *out)
{
	static const double pow10[] = {
		1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
		1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
	};
	const char *p = s;
	const char *q;
	const char *end = s + len;
	uint64_t	m = 0;
	int			sig;
	int			exp10 = 0;
	bool		neg = false;

	if (p < end && *p == '-')
	{
		neg = true;
		p++;
	}
	/*
	 * The significant digits: leading zeros skipped first, so that the
	 * loops only accumulate (more than 19 wrap m, but then the count says
	 * so and strtod() reads the number)
	 */
	while (p < end && *p == '0')
		p++;
	q = p;
	p = accumulate(p, end, &m);
	sig = (int) (p - q);
	if (p < end && *p == '.')
	{
		const char *f = ++p;

		if (sig == 0)
			while (p < end && *p == '0')
				p++;
		q = p;
		p = accumulate(p, end, &m);
		if (p - q > 19)
			return false;
		sig += (int) (p - q);
		exp10 = -(int) (p - f);
	}
	if (sig > 19)
		return false;
	if (p < end && (*p == 'e' || *p == 'E'))
	{
		int			e = 0;
		bool		eneg = false;

		p++;
		if (p < end && (*p == '+' || *p == '-'))
			eneg = (*p++ == '-');
		for (; p < end && *p >= '0' && *p <= '9'; p++)
		{
			if (e > 1000)
				return false;
			e = e * 10 + (*p - '0');
		}
		exp10 += eneg ? -e : e;
	}
	if (p != end)
		return false;
	if (sig <= 15 && exp10 >= -22 && exp10 <= 22)
		*out = exp10 < 0 ? (double) m / pow10[-exp10] : (double) m * pow10[exp10];
#ifdef JR_EXTENDED_PATH
	else if (m == 0)
		*out = 0.0;
	else if (exp10 >= -308 && exp10 <= 308)
	{
		/*
		 * 10^0 .. 10^308, each the extended value nearest to it (exact up
		 * to 10^27 = 2^27 * 5^27, as 5^27 < 2^64)
		 */
		static const long double lpow10[309] = {
		1e0L, 1e1L, 1e2L, 1e3L, 1e4L, 1e5L, 1e6L, 1e7L, 1e8L, 1e9L, 1e10L, 1e11L,
		1e12L, 1e13L, 1e14L, 1e15L, 1e16L, 1e17L, 1e18L, 1e19L, 1e20L, 1e21L,
		1e22L, 1e23L, 1e24L, 1e25L, 1e26L, 1e27L, 1e28L, 1e29L, 1e30L, 1e31L,
		1e32L, 1e33L, 1e34L, 1e35L, 1e36L, 1e37L, 1e38L, 1e39L, 1e40L, 1e41L,
		1e42L, 1e43L, 1e44L, 1e45L, 1e46L, 1e47L, 1e48L, 1e49L, 1e50L, 1e51L,
		1e52L, 1e53L, 1e54L, 1e55L, 1e56L, 1e57L, 1e58L, 1e59L, 1e60L, 1e61L,
		1e62L, 1e63L, 1e64L, 1e65L, 1e66L, 1e67L, 1e68L, 1e69L, 1e70L, 1e71L,
		1e72L, 1e73L, 1e74L, 1e75L, 1e76L, 1e77L, 1e78L, 1e79L, 1e80L, 1e81L,
		1e82L, 1e83L, 1e84L, 1e85L, 1e86L, 1e87L, 1e88L, 1e89L, 1e90L, 1e91L,
		1e92L, 1e93L, 1e94L, 1e95L, 1e96L, 1e97L, 1e98L, 1e99L, 1e100L, 1e101L,
		1e102L, 1e103L, 1e104L, 1e105L, 1e106L, 1e107L, 1e108L, 1e109L, 1e110L,
		1e111L, 1e112L, 1e113L, 1e114L, 1e115L, 1e116L, 1e117L, 1e118L, 1e119L,
		1e120L, 1e121L, 1e122L, 1e123L, 1e124L, 1e125L, 1e126L, 1e127L, 1e128L,
		1e129L, 1e130L, 1e131L, 1e132L, 1e133L, 1e134L, 1e135L, 1e136L, 1e137L,
		1e138L, 1e139L, 1e140L, 1e141L, 1e142L, 1e143L, 1e144L, 1e145L, 1e146L,
		1e147L, 1e148L, 1e149L, 1e150L, 1e151L, 1e152L, 1e153L, 1e154L, 1e155L,
		1e156L, 1e157L, 1e158L, 1e159L, 1e160L, 1e161L, 1e162L, 1e163L, 1e164L,
		1e165L, 1e166L, 1e167L, 1e168L, 1e169L, 1e170L, 1e171L, 1e172L, 1e173L,
		1e174L, 1e175L, 1e176L, 1e177L, 1e178L, 1e179L, 1e180L, 1e181L, 1e182L,
		1e183L, 1e184L, 1e185L, 1e186L, 1e187L, 1e188L, 1e189L, 1e190L, 1e191L,
		1e192L, 1e193L, 1e194L, 1e195L, 1e196L, 1e197L, 1e198L, 1e199L, 1e200L,
		1e201L, 1e202L, 1e203L, 1e204L, 1e205L, 1e206L, 1e207L, 1e208L, 1e209L,
		1e210L, 1e211L, 1e212L, 1e213L, 1e214L, 1e215L, 1e216L, 1e217L, 1e218L,
		1e219L, 1e220L, 1e221L, 1e222L, 1e223L, 1e224L, 1e225L, 1e226L, 1e227L,
		1e228L, 1e229L, 1e230L, 1e231L, 1e232L, 1e233L, 1e234L, 1e235L, 1e236L,
		1e237L, 1e238L, 1e239L, 1e240L, 1e241L, 1e242L, 1e243L, 1e244L, 1e245L,
		1e246L, 1e247L, 1e248L, 1e249L, 1e250L, 1e251L, 1e252L, 1e253L, 1e254L,
		1e255L, 1e256L, 1e257L, 1e258L, 1e259L, 1e260L, 1e261L, 1e262L, 1e263L,
		1e264L, 1e265L, 1e266L, 1e267L, 1e268L, 1e269L, 1e270L, 1e271L, 1e272L,
		1e273L, 1e274L, 1e275L, 1e276L, 1e277L, 1e278L, 1e279L, 1e280L, 1e281L,
		1e282L, 1e283L, 1e284L, 1e285L, 1e286L, 1e287L, 1e288L, 1e289L, 1e290L,
		1e291L, 1e292L, 1e293L, 1e294L, 1e295L, 1e296L, 1e297L, 1e298L, 1e299L,
		1e300L, 1e301L, 1e302L, 1e303L, 1e304L, 1e305L, 1e306L, 1e307L, 1e308L
		};
		int			e = exp10 < 0 ? -exp10 : exp10;
		long double x;
		uint64_t	bits;
		unsigned	low;

		x = exp10 < 0 ? (long double) m / lpow10[e] : (long double) m * lpow10[e];
		/* a double below DBL_MIN has fewer bits: the guard is not for it */
		if (!(x >= (long double) DBL_MIN && x <= (long double) DBL_MAX))
			return false;
		memcpy(&bits, &x, sizeof(bits));	/* the 64-bit significand */
		low = (unsigned) (bits & 0x7FF);

		/*
		 * Beyond 10^27 the power is rounded too: within two extended ulps
		 * in all, so the guard widens (with room to spare).
		 */
		if (e <= 27 ? (low >= 0x3FF && low <= 0x401) : (low >= 0x3FB && low <= 0x405))
			return false;
		*out = (double) x;
	}
#endif
	else
		return false;
	if (neg)
		*out = -*out;
	return true;
}

static double
float_value(const char *s, size_t len)
{
	char		buf[128];
	char	   *copy = buf;
	double		d;

	if (fast_float(s, len, &d))
		return d;
	if (len >= sizeof(buf))
	{
		copy = malloc(len + 1);
		if (copy == NULL)
			return NAN;
	}
	memcpy(copy, s, len);
	copy[len] = '\0';
	d = strtod(copy, NULL);
	if (copy != buf)
		free(copy);
	return d;
}

/*
 * A string as a finite number, the way comet_fdw_to_float8() reads metric
 * values: white space around it allowed, no hexadecimal, no NaN or
 * infinity; false if it is none.
 */
static bool
lenient_number(const char *s, size_t len, double *out)
{
	char		buf[128];
	char	   *end;
	size_t		i = 0;

	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r'))
		i++;
	while (len > i && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
					   s[len - 1] == '\n' || s[len - 1] == '\r'))
		len--;
	if (len - i == 0 || len - i >= sizeof(buf) ||
		memchr(s + i, 'x', len - i) || memchr(s + i, 'X', len - i))
		return false;
	memcpy(buf, s + i, len - i);
	buf[len - i] = '\0';
	errno = 0;
	*out = strtod(buf, &end);
	return end != buf && *end == '\0' && !isnan(*out) && !isinf(*out);
}

/* A number node as int64 when it is a whole number within range. */
static jr_status
number_int(const jr_doc *doc, const jr_node *n, int64_t *out)
{
	const char *s = doc->body + n->off;

	if (n->flags & JR_F_INTEGER)
		return int_value(s, n->len, out) ? JR_VALUE : JR_RANGE;
	{
		double		d = float_value(s, n->len);

		if (isnan(d) || d != floor(d) || d >= 9223372036854775808.0 ||
			d < -9223372036854775808.0)
			return JR_RANGE;
		*out = (int64_t) d;
		return JR_VALUE;
	}
}

/* ---- metric point order ---- */

typedef struct jr_point
{
	int64_t		key[3];			/* offset, step, timestamp */
	int			idx;
	jr_ref		ref;
	unsigned char nulls;		/* bit k: key[k] is NULL */
} jr_point;

static int
point_cmp(const void *a, const void *b)
{
	const jr_point *x = a;
	const jr_point *y = b;
	int			k;

	for (k = 0; k < 3; k++)
	{
		int			xn = (x->nulls >> k) & 1;
		int			yn = (y->nulls >> k) & 1;

		if (xn != yn)
			return xn - yn;		/* NULLs last */
		if (!xn && x->key[k] != y->key[k])
			return x->key[k] < y->key[k] ? -1 : 1;
	}
	return (x->idx > y->idx) - (x->idx < y->idx);
}

int
jr_sort_points(jr_doc *doc)
{
	static const char *const fields[3] = {"offset", "step", "timestamp"};
	jr_point   *pts;
	int			i,
				k;
	bool		sorted = true;
	int32_t		hints[3] = {0, 0, 0};

	if (doc->nrows < 2)
		return 0;
	pts = malloc(sizeof(jr_point) * (size_t) doc->nrows);
	if (pts == NULL)
		return -1;
	for (i = 0; i < doc->nrows; i++)
	{
		pts[i].idx = i;
		pts[i].ref = doc->rows[i];
		pts[i].nulls = 0;
		for (k = 0; k < 3; k++)
		{
			jr_ref		v = jr_field_hinted(doc, doc->rows[i], fields[k], NULL, &hints[k]);

			if (v < 0 || doc->nodes[v].type != JR_T_NUMBER ||
				number_int(doc, &doc->nodes[v], &pts[i].key[k]) != JR_VALUE)
			{
				pts[i].key[k] = 0;
				pts[i].nulls |= (unsigned char) (1 << k);
			}
		}
		if (i > 0 && sorted && point_cmp(&pts[i - 1], &pts[i]) > 0)
			sorted = false;
	}
	if (!sorted)
	{
		qsort(pts, (size_t) doc->nrows, sizeof(jr_point), point_cmp);
		for (i = 0; i < doc->nrows; i++)
			doc->rows[i] = pts[i].ref;
	}
	free(pts);
	return 0;
}

/* ---- values ---- */

static jr_status
epoch_ms(int64_t ms, jr_value *out)
{
	if (ms > JR_MAX_EPOCH_MS || ms < -JR_MAX_EPOCH_MS)
		return JR_RANGE;
	out->i = ms;
	return JR_VALUE;
}

static jr_status
from_string(jr_doc *doc, jr_ref v, jr_kind kind, jr_value *out)
{
	const jr_node *n = &doc->nodes[v];
	size_t		i;
	bool		digits;

	if (n->flags & JR_F_NUL)
		return kind == JR_FLOAT8_LENIENT ? JR_NULL : JR_HAS_NUL;
	if (kind == JR_JSON)
	{
		/* a string stays a JSON string */
		out->str = jr_json_text(doc, v, &out->len);
		return JR_VALUE;
	}
	out->str = string_text(doc, n, &out->len);
	if (out->str == NULL)
		return JR_NO_MEMORY;
	switch (kind)
	{
		case JR_TEXT:
			return JR_VALUE;
		case JR_EPOCH_MS:
			/* some servers send epoch milliseconds as strings */
			digits = out->len > 0 && out->len < 19;
			for (i = 0; i < out->len && digits; i++)
				if (!(out->str[i] >= '0' && out->str[i] <= '9') &&
					!(i == 0 && out->str[i] == '-' && out->len > 1))
					digits = false;
			if (digits)
			{
				int64_t		ms;

				if (!int_value(out->str, out->len, &ms))
					return JR_RANGE;
				return epoch_ms(ms, out);
			}
			return JR_STRING;
		case JR_FLOAT8_LENIENT:
			return lenient_number(out->str, out->len, &out->d) ? JR_VALUE : JR_NULL;
		default:
			return JR_STRING;
	}
}

jr_status
jr_convert(jr_doc *doc, jr_ref v, jr_kind kind, jr_value *out)
{
	const jr_node *n;
	jr_type		t;

	memset(out, 0, sizeof(*out));
	out->arr = -1;
	t = jr_type_of(doc, v);
	if (t == JR_T_NULL)
		return JR_NULL;
	if (t == JR_T_STRING)
		return from_string(doc, v, kind, out);
	n = &doc->nodes[v];

	switch (kind)
	{
		case JR_TEXT:
		case JR_JSON:
			out->str = jr_json_text(doc, v, &out->len);
			return JR_VALUE;
		case JR_INT8:
			if (t != JR_T_NUMBER)
				return JR_WRONG_KIND;
			return number_int(doc, n, &out->i);
		case JR_FLOAT8:
			if (t != JR_T_NUMBER)
				return JR_WRONG_KIND;
			out->d = float_value(doc->body + n->off, n->len);
			if (isinf(out->d) || isnan(out->d))
				return JR_RANGE;
			return JR_VALUE;
		case JR_FLOAT8_LENIENT:
			if (t != JR_T_NUMBER)
				return JR_WRONG_KIND;
			out->d = float_value(doc->body + n->off, n->len);
			/* 1e999: no finite number, like "Infinity" */
			if (isinf(out->d) || isnan(out->d))
				return JR_NULL;
			return JR_VALUE;
		case JR_BOOL:
			if (t != JR_T_TRUE && t != JR_T_FALSE)
				return JR_WRONG_KIND;
			out->b = (t == JR_T_TRUE);
			return JR_VALUE;
		case JR_EPOCH_MS:
			if (t != JR_T_NUMBER)
				return JR_WRONG_KIND;
			if (number_int(doc, n, &out->i) != JR_VALUE)
			{
				double		d = float_value(doc->body + n->off, n->len);

				/* a fraction of a millisecond is dropped, not an error */
				if (isnan(d) || d > (double) JR_MAX_EPOCH_MS || d < -(double) JR_MAX_EPOCH_MS)
					return JR_RANGE;
				out->i = (int64_t) d;
			}
			return epoch_ms(out->i, out);
		case JR_TEXT_ARRAY:
			if (t != JR_T_ARRAY)
				return JR_WRONG_KIND;
			out->arr = v;
			return JR_VALUE;
		case JR_INPUT:
			if (t == JR_T_OBJECT || t == JR_T_ARRAY)
				return JR_WRONG_KIND;
			out->str = jr_json_text(doc, v, &out->len);
			return JR_STRING;
		case JR_INPUT_ARRAY:
			if (t == JR_T_ARRAY)
			{
				out->arr = v;
				return JR_VALUE;
			}
			if (t == JR_T_OBJECT)
				return JR_WRONG_KIND;
			out->str = jr_json_text(doc, v, &out->len);
			return JR_STRING;
	}
	return JR_WRONG_KIND;
}

/* An integer token of at most 18 digits: no overflow to check. */
static inline int64_t
short_int(const char *s, size_t len)
{
	bool		neg = (*s == '-');
	int64_t		acc = 0;
	size_t		i;

	for (i = neg ? 1 : 0; i < len; i++)
		acc = acc * 10 + (s[i] - '0');
	return neg ? -acc : acc;
}

bool
jr_convert_run(jr_doc *doc, jr_ref first, int count, jr_kind kind,
			   jr_scalar *out, uint8_t *st)
{
	const jr_node *n = doc->nodes + first;
	jr_value	v;
	int			j;

	if (kind != JR_INT8 && kind != JR_FLOAT8 && kind != JR_FLOAT8_LENIENT &&
		kind != JR_EPOCH_MS && kind != JR_BOOL)
		return false;
	for (j = 0; j < count; j++, n++)
	{
		const char *s = doc->body + n->off;

		/* the common cases inline; anything else as jr_convert has it */
		if (n->type == JR_T_NUMBER)
		{
			if ((kind == JR_INT8 || kind == JR_EPOCH_MS) &&
				(n->flags & JR_F_INTEGER) && n->len <= 18)
			{
				out[j].i = short_int(s, n->len);
				if (kind == JR_EPOCH_MS &&
					(out[j].i > JR_MAX_EPOCH_MS || out[j].i < -JR_MAX_EPOCH_MS))
					st[j] = JR_RANGE;
				else
					st[j] = JR_VALUE;
				continue;
			}
			if (kind == JR_FLOAT8 || kind == JR_FLOAT8_LENIENT)
			{
				double		d = float_value(s, n->len);

				if (isinf(d) || isnan(d))
					st[j] = kind == JR_FLOAT8 ? JR_RANGE : JR_NULL;
				else
				{
					out[j].d = d;
					st[j] = JR_VALUE;
				}
				continue;
			}
		}
		else if (n->type == JR_T_NULL)
		{
			st[j] = JR_NULL;
			continue;
		}
		st[j] = (uint8_t) jr_convert(doc, first + j, kind, &v);
		if (kind == JR_FLOAT8 || kind == JR_FLOAT8_LENIENT)
			out[j].d = v.d;
		else if (kind == JR_BOOL)
			out[j].b = v.b;
		else
			out[j].i = v.i;
	}
	return true;
}

/* ---- parsing in the background ---- */

/*
 * The parallel arrays of every element, converted as opts asks (a failure
 * to allocate just leaves them to the reader).
 */
static void
pre_convert(jr_doc *doc, const jr_options *opts, const bool *stop)
{
	int			np = 0;
	int			p,
				r;
	jr_ref		last = -1;

	if (opts->parallel == NULL || opts->parallel_kinds == NULL || doc->row_index == NULL)
		return;
	/* within the parse's memory budget, nodes and converted values together */
	if (opts->max_bytes > 0 &&
		(size_t) doc->nnodes * (sizeof(jr_node) + sizeof(jr_scalar) + 1) > opts->max_bytes)
		return;
	while (opts->parallel[np] != NULL && np < 8)
		np++;
	doc->pre = malloc(sizeof(jr_scalar) * (size_t) (doc->nnodes > 0 ? doc->nnodes : 1));
	doc->pre_status = malloc((size_t) (doc->nnodes > 0 ? doc->nnodes : 1));
	if (doc->pre == NULL || doc->pre_status == NULL)
	{
		free(doc->pre);
		free(doc->pre_status);
		doc->pre = NULL;
		doc->pre_status = NULL;
		return;
	}
	memset(doc->pre_status, 0xFF, (size_t) doc->nnodes);
	for (p = 0; p < 8; p++)
		doc->pre_kind[p] = p < np ? opts->parallel_kinds[p] : -1;
	for (r = 0; r < doc->nrows; r++)
	{
		jr_ref		obj = doc->rows[r];

		if (obj == last || doc->row_index[r] < 0)
			continue;
		last = obj;

		/*
		 * The caller is waiting (it reads rows faster than this thread
		 * parses): the rest is converted as it is read, by the caller.
		 */
		if (__atomic_load_n(stop, __ATOMIC_RELAXED))
			break;
		for (p = 0; p < np; p++)
		{
			jr_ref		arr;

			if (doc->pre_kind[p] < 0)
				continue;
			arr = jr_field(doc, obj, opts->parallel[p], NULL);
			if (arr < 0 || doc->nodes[arr].type != JR_T_ARRAY || doc->nodes[arr].count == 0)
				continue;
			(void) jr_convert_run(doc, doc->nodes[arr].first, (int) doc->nodes[arr].count,
								  (jr_kind) doc->pre_kind[p],
								  doc->pre + doc->nodes[arr].first,
								  doc->pre_status + doc->nodes[arr].first);
		}
	}
}

typedef enum jr_job_state
{
	JOB_QUEUED,
	JOB_RUNNING,
	JOB_DONE
} jr_job_state;

struct jr_job
{
	char	   *body;			/* the copy; the doc's once waited for */
	size_t		len;
	jr_options	opts;
	int			kinds[8];		/* opts.parallel_kinds points here */
	jr_doc		doc;
	jr_error	err;
	jr_job_state state;			/* under job_mu */
	bool		abandoned;		/* under job_mu; also polled unlocked */
	bool		awaited;		/* the caller waits: hand the doc over */
};

static pthread_mutex_t job_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t job_cv = PTHREAD_COND_INITIALIZER;
static jr_job *job_slot;		/* the one job, until waited for or freed */
static bool worker_started;
static bool worker_failed;
static jr_job *worker_job;		/* the worker thread's own */

static void
job_free(jr_job *job)
{
	jr_free(&job->doc);
	free(job->body);
	free(job);
}

/* the worker's abort check: the job was abandoned */
static int
job_abandoned(void)
{
	return __atomic_load_n(&worker_job->abandoned, __ATOMIC_RELAXED);
}

static void *
job_worker(void *arg)
{
	(void) arg;
	pthread_mutex_lock(&job_mu);
	for (;;)
	{
		jr_job	   *job;

		while (job_slot == NULL || job_slot->state != JOB_QUEUED)
			pthread_cond_wait(&job_cv, &job_mu);
		job = job_slot;
		job->state = JOB_RUNNING;
		pthread_mutex_unlock(&job_mu);

		worker_job = job;
		if (__atomic_load_n(&job->abandoned, __ATOMIC_RELAXED))
			job->err = JR_ABORTED;
		else
		{
			job->err = jr_parse_opts(job->body, job->len, &job->opts, &job->doc);
			if (job->err == JR_OK)
				pre_convert(&job->doc, &job->opts, &job->awaited);
		}

		pthread_mutex_lock(&job_mu);
		job->state = JOB_DONE;
		if (job->abandoned)
		{
			job_slot = NULL;
			job_free(job);
		}
		pthread_cond_broadcast(&job_cv);
	}
	return NULL;
}

static bool
job_worker_running(void)
{
	sigset_t	all,
				old;
	pthread_attr_t attr;
	pthread_t	tid;
	int			rc;

	if (worker_started || worker_failed)
		return worker_started;
	/* the thread inherits this mask: no signal handler ever runs on it */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_attr_init(&attr);
	if (rc == 0)
	{
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		rc = pthread_create(&tid, &attr, job_worker, NULL);
		pthread_attr_destroy(&attr);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	worker_started = (rc == 0);
	worker_failed = !worker_started;
	return worker_started;
}

jr_job *
jr_job_start(const char *body, size_t len, const jr_options *opts)
{
	jr_job	   *job;
	bool		busy;

	if (!job_worker_running())
		return NULL;
	pthread_mutex_lock(&job_mu);
	busy = job_slot != NULL;
	pthread_mutex_unlock(&job_mu);
	if (busy)
		return NULL;
	job = calloc(1, sizeof(jr_job));
	if (job == NULL)
		return NULL;
	job->body = malloc(len + 1);
	if (job->body == NULL)
	{
		free(job);
		return NULL;
	}
	memcpy(job->body, body, len);
	job->body[len] = '\0';
	job->len = len;
	job->opts = *opts;
	job->opts.abort_check = job_abandoned;
	if (opts->parallel_kinds != NULL && opts->parallel != NULL)
	{
		int			p;

		for (p = 0; p < 8; p++)
			job->kinds[p] = -1;
		for (p = 0; p < 8 && opts->parallel[p] != NULL; p++)
			job->kinds[p] = opts->parallel_kinds[p];
		job->opts.parallel_kinds = job->kinds;
	}
	job->doc.root = -1;
	job->state = JOB_QUEUED;

	pthread_mutex_lock(&job_mu);
	if (job_slot != NULL)
	{
		/* (only one thread starts jobs: cannot happen, but never two) */
		pthread_mutex_unlock(&job_mu);
		free(job->body);
		free(job);
		return NULL;
	}
	job_slot = job;
	pthread_cond_broadcast(&job_cv);
	pthread_mutex_unlock(&job_mu);
	return job;
}

jr_error
jr_job_wait(jr_job *job, jr_doc *doc, int (*abort_check) (void))
{
	jr_error	err;

	pthread_mutex_lock(&job_mu);
	if (job->state != JOB_DONE)
		__atomic_store_n(&job->awaited, true, __ATOMIC_RELAXED);
	while (job->state != JOB_DONE)
	{
		struct timespec until;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 10 * 1000 * 1000;	/* polls abort_check every 10 ms */
		if (until.tv_nsec >= 1000000000L)
		{
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&job_cv, &job_mu, &until);
		if (job->state != JOB_DONE && abort_check != NULL && abort_check())
		{
			__atomic_store_n(&job->abandoned, true, __ATOMIC_RELAXED);
			pthread_mutex_unlock(&job_mu);
			memset(doc, 0, sizeof(*doc));
			doc->root = -1;
			doc->members = -1;
			return JR_ABORTED;
		}
	}
	job_slot = NULL;
	pthread_mutex_unlock(&job_mu);

	*doc = job->doc;
	doc->owned_body = job->body;
	err = job->err;
	free(job);
	return err;
}

void
jr_job_abandon(jr_job *job)
{
	pthread_mutex_lock(&job_mu);
	if (job->state == JOB_DONE)
	{
		job_slot = NULL;
		job_free(job);
	}
	else
		__atomic_store_n(&job->abandoned, true, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&job_mu);
}
