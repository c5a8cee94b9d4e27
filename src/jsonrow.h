/*-------------------------------------------------------------------------
 *
 * jsonrow.h
 *		Comet response bodies as rows and typed values.
 *
 * A strict JSON parser (RFC 8259, UTF-8 validated, nesting limited) that
 * builds one flat array of nodes per document, each pointing into the
 * body: no allocation per value, strings unescaped only when read.  It
 * decodes several times faster than a general-purpose DOM (json-c spends
 * most of its time in malloc), which is what a million metric points ask
 * for.  No PostgreSQL header here: problems are status codes, so this
 * layer also runs under a fuzzer; convert.c turns results into Datums.
 *
 *-------------------------------------------------------------------------
 */
#ifndef COMET_JSONROW_H
#define COMET_JSONROW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JR_MAX_DEPTH 64

typedef enum jr_type
{
	JR_T_NULL = 0,
	JR_T_FALSE,
	JR_T_TRUE,
	JR_T_NUMBER,
	JR_T_STRING,
	JR_T_ARRAY,
	JR_T_OBJECT
} jr_type;

/* A value of a parsed document: an index into its nodes, -1 for none. */
typedef int32_t jr_ref;

typedef struct jr_node
{
	uint32_t	off;			/* first byte in the body (strings: after ") */
	uint32_t	len;			/* bytes (strings: between the quotes) */
	int32_t		next;			/* next sibling (in objects: key, value, key...) */
	int32_t		parent;			/* the container, -1 at the top */
	int32_t		first;			/* containers: first child */
	uint32_t	count;			/* containers: children (objects: pairs) */
	uint8_t		type;			/* jr_type */
	uint8_t		flags;			/* JR_F_* */
} jr_node;

#define JR_F_ESCAPED	0x01	/* string with backslash escapes */
#define JR_F_INTEGER	0x02	/* number without fraction or exponent */

typedef enum jr_error
{
	JR_OK = 0,
	JR_PARSE,					/* not JSON, or JSON followed by more */
	JR_INCOMPLETE,				/* the document ends early */
	JR_TOO_DEEP,				/* nesting beyond JR_MAX_DEPTH */
	JR_NOT_OBJECT,				/* the top level is not an object */
	JR_NO_LIST,					/* the list key is missing */
	JR_NOT_LIST,				/* the list key holds no array */
	JR_OOM,
	JR_TOO_BIG,					/* the parse would pass opts->max_bytes */
	JR_ABORTED,					/* opts->abort_check asked to stop */
	JR_NOT_MEMBERS,				/* members: the list key holds no object */
	JR_BAD_NESTING,				/* members: a member, list, element or
								 * parallel array of the wrong JSON type */
	JR_UNEQUAL					/* members: parallel arrays of unequal length */
} jr_error;

typedef struct jr_scratch jr_scratch;
union jr_scalar;

typedef struct jr_doc
{
	const char *body;
	size_t		len;
	jr_node    *nodes;			/* malloc'd */
	int32_t		nnodes;
	int32_t		cap;
	jr_ref		root;
	jr_ref	   *rows;			/* malloc'd: the list's elements, in output order */
	int			nrows;
	jr_scratch *scratch;		/* unescaped strings, malloc'd */
	/* on error */
	size_t		where;			/* byte offset */
	const char *what;			/* what went wrong, or a type name */
	/* rows nested in members (jr_options.members), else NULL */
	jr_ref		members;		/* the object of members */
	jr_ref	   *row_member;		/* per row: the key node of its member */
	int32_t    *row_index;		/* per row: its index in the parallel arrays */
	/* on JR_BAD_NESTING and JR_UNEQUAL: where */
	jr_ref		err_member;		/* key node of the member, or -1 */
	int			err_element;	/* element of its list, or -1 */
	const char *err_field[2];	/* the arrays (JR_UNEQUAL) or the field */
	int			err_len[2];		/* their lengths */
	char	   *owned_body;		/* a copy of body that jr_free frees, or NULL */
	/* jr_options.parallel_kinds: per node, its converted value and status
	 * (0xFF: not converted); the kind each parallel array was read as */
	union jr_scalar *pre;
	uint8_t    *pre_status;
	int			pre_kind[8];
} jr_doc;

/*
 * How a document becomes rows.  The rows are the elements of the list under
 * list_key (NULL: the top-level object is the one row).  A JSON null
 * element is no row; a top-level object with no field at all is no row.
 * A missing or null list is an error (JR_NO_LIST, JR_NOT_LIST) unless
 * list_optional: then it is no rows.
 */
typedef struct jr_options
{
	const char *list_key;
	bool		list_optional;
	size_t		max_bytes;		/* memory the parse's nodes may take; 0: any */
	int			(*abort_check) (void);	/* polled while parsing; nonzero: stop */

	/*
	 * Rows nested in keyed members (answers about many objects at once):
	 * list_key then names an object whose members are keyed by the objects'
	 * keys.  Each member's value is an object holding the list member_list
	 * (absent or null: no rows), whose elements are the row objects; with
	 * parallel (names, NULL-terminated), each element instead gives one row
	 * per index of those arrays: row i reads element i of each.  A parallel
	 * array that is absent or null reads as NULL; the others must be arrays
	 * of scalars, all of one length (else JR_UNEQUAL: never a shorter
	 * series in silence).  A null member or element gives no rows.
	 */
	bool		members;
	const char *member_list;
	const char *const *parallel;

	/*
	 * With parallel: how to convert each array (a jr_kind per name, -1 for
	 * none), at once after the parse, into doc->pre (jr_convert_run); NULL:
	 * none is.  What a background parse does while the caller is busy.
	 */
	const int  *parallel_kinds;
} jr_options;

/* Parses body (which must outlive doc) and finds its rows. */
extern jr_error jr_parse_opts(const char *body, size_t len,
							  const jr_options *opts, jr_doc *doc);
/* The same with a required list and no limits. */
extern jr_error jr_parse(const char *body, size_t len, const char *list_key,
						 jr_doc *doc);
extern void jr_free(jr_doc *doc);

extern jr_ref jr_row(const jr_doc *doc, int i);
/* Nested rows: the key (a string node) of row i's member, -1 if none; its
 * index in the parallel arrays, -1 if none; a member's value by key. */
extern jr_ref jr_row_member(const jr_doc *doc, int i);
extern int	jr_row_index(const jr_doc *doc, int i);
extern jr_ref jr_member(const jr_doc *doc, const char *key, size_t keylen);
/* Element i of an array (O(1) for arrays of scalars); -1 if none. */
extern jr_ref jr_element(const jr_doc *doc, jr_ref arr, int i);
/* The text of a string node (unescaped), NULL if not a string or no memory. */
extern const char *jr_string(jr_doc *doc, jr_ref v, size_t *len);
extern jr_type jr_type_of(const jr_doc *doc, jr_ref v);
extern const char *jr_type_name(const jr_doc *doc, jr_ref v);
/* A field of an object, else alt; -1 if none.  Of duplicate keys (not
 * valid Comet JSON) one is read: the first, unless a hint points at another. */
extern jr_ref jr_field(const jr_doc *doc, jr_ref obj, const char *field,
					   const char *alt);
/*
 * The same, for reading one field from many rows of the same shape: *hint
 * remembers where the key sat in the last row, so that usually only one
 * key is compared.  Start with *hint = 0.
 */
extern jr_ref jr_field_hinted(const jr_doc *doc, jr_ref obj, const char *field,
							  const char *alt, int32_t *hint);
extern jr_ref jr_first(const jr_doc *doc, jr_ref container);
extern jr_ref jr_next(const jr_doc *doc, jr_ref v);
extern int	jr_count(const jr_doc *doc, jr_ref container);
/* The value's JSON text as sent. */
extern const char *jr_json_text(const jr_doc *doc, jr_ref v, size_t *len);

/* Orders metric points by offset, step, timestamp (NULLs last); -1 on OOM. */
extern int	jr_sort_points(jr_doc *doc);

/* How a column wants its value. */
typedef enum jr_kind
{
	JR_TEXT,					/* strings as they are, other values as JSON */
	JR_INT8,
	JR_FLOAT8,
	JR_BOOL,
	JR_EPOCH_MS,				/* numbers are epoch milliseconds */
	JR_JSON,					/* any value, as JSON text */
	JR_TEXT_ARRAY,				/* a JSON array */
	JR_INPUT,					/* another type: its input function decides */
	JR_INPUT_ARRAY,				/* another array type: JSON arrays allowed */
	JR_FLOAT8_LENIENT			/* a value Comet may send as a number or a
								 * string: finite numbers; strings that are
								 * no finite number ("NaN", "adam") are NULL */
} jr_kind;

typedef enum jr_status
{
	JR_VALUE = 0,				/* out holds the value */
	JR_NULL,					/* JSON null or absent */
	JR_STRING,					/* out.str is text for the type's input function */
	JR_WRONG_KIND,				/* e.g. an object where a number belongs */
	JR_RANGE,					/* a number the type cannot hold */
	JR_HAS_NUL,					/* a string with \u0000 */
	JR_NO_MEMORY
} jr_status;

typedef struct jr_value
{
	const char *str;			/* valid while the doc lives */
	size_t		len;
	int64_t		i;
	double		d;
	bool		b;
	jr_ref		arr;
} jr_value;

extern jr_status jr_convert(jr_doc *doc, jr_ref v, jr_kind kind, jr_value *out);

/*
 * Parsing in the background: one thread per process (started on first use,
 * with every signal blocked, so that only the caller's thread ever sees
 * one) parses a copy of a body while the caller does other work, such as
 * returning the rows of the last one.  The thread runs jr_parse_opts() and
 * nothing else.  One job at a time.
 *
 * jr_job_start: NULL when the thread is busy or cannot be had (the caller
 * parses the body itself).  opts' strings must outlive the job; its
 * abort_check is replaced by the job's own.
 * jr_job_wait: the job's result; the doc owns the copy (jr_free frees it).
 * abort_check is polled while waiting: nonzero abandons the job and gives
 * JR_ABORTED.  Either way the job is gone.
 * jr_job_abandon: the job is not wanted; the thread frees what it made.
 */
typedef struct jr_job jr_job;

extern jr_job *jr_job_start(const char *body, size_t len, const jr_options *opts);
extern jr_error jr_job_wait(jr_job *job, jr_doc *doc, int (*abort_check) (void));
extern void jr_job_abandon(jr_job *job);

/*
 * A run of values: jr_convert of the count consecutive nodes from first (the
 * elements of an array of scalars) as kind, for a column of numbers, times
 * or flags (JR_INT8, JR_FLOAT8, JR_FLOAT8_LENIENT, JR_EPOCH_MS, JR_BOOL);
 * false for another kind.  st[j] is the status, out[j] the value (i, d or
 * b as jr_value has it) when JR_VALUE.  One tight loop for the thousands
 * of points of a series instead of a call per value.
 */
typedef union jr_scalar
{
	int64_t		i;
	double		d;
	bool		b;
} jr_scalar;

extern bool jr_convert_run(jr_doc *doc, jr_ref first, int count, jr_kind kind,
						   jr_scalar *out, uint8_t *st);

#endif							/* COMET_JSONROW_H */
