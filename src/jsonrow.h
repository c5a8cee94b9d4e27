/*-------------------------------------------------------------------------
 *
 * jsonrow.h
 *		Comet response bodies as rows and typed values, with json-c only.
 *
 * No PostgreSQL header here either: this layer parses, walks and
 * classifies JSON and reports problems as status codes, so that it can run
 * under a fuzzer outside the server.  convert.c turns its results into
 * Datums and errors.
 *
 *-------------------------------------------------------------------------
 */
#ifndef COMET_JSONROW_H
#define COMET_JSONROW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

#define JR_MAX_DEPTH 64

typedef enum jr_error
{
	JR_OK = 0,
	JR_PARSE,					/* not JSON, or JSON followed by garbage */
	JR_INCOMPLETE,				/* the document ends early */
	JR_NOT_OBJECT,				/* the top level is not an object */
	JR_NO_LIST,					/* the list key is missing */
	JR_NOT_LIST,				/* the list key holds no array */
	JR_OOM
} jr_error;

typedef struct jr_doc
{
	struct json_object *root;
	struct json_object *rows;	/* NULL: root is the only row (or none) */
	int			nrows;
	int		   *order;			/* malloc'd sorted order, or NULL */
	/* on error */
	size_t		where;			/* byte offset of a parse error */
	const char *what;			/* json-c's description, or a type name */
} jr_doc;

/* Parses body and finds the rows (list_key NULL: the object is the row). */
extern jr_error jr_parse(const char *body, size_t len, const char *list_key,
						 jr_doc *doc);
extern void jr_free(jr_doc *doc);

/* Row i in output order; NULL if the list holds a JSON null there. */
extern struct json_object *jr_row(const jr_doc *doc, int i);

/* A field of an object row, else alt; NULL when absent or not an object. */
extern struct json_object *jr_field(struct json_object *row, const char *field,
									const char *alt);

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
	JR_INPUT_ARRAY				/* another array type: JSON arrays allowed */
} jr_kind;

typedef enum jr_status
{
	JR_VALUE = 0,				/* out holds the value */
	JR_NULL,					/* JSON null or absent */
	JR_STRING,					/* out.str is text for the type's input function */
	JR_WRONG_KIND,				/* e.g. an object where a number belongs */
	JR_RANGE,					/* a number the type cannot hold */
	JR_HAS_NUL					/* a string with \u0000 */
} jr_status;

typedef struct jr_value
{
	const char *str;			/* owned by the json object */
	size_t		len;
	int64_t		i;
	double		d;
	bool		b;
	struct json_object *arr;
} jr_value;

extern jr_status jr_convert(struct json_object *v, jr_kind kind, jr_value *out);
extern const char *jr_type_name(struct json_object *v);
extern const char *jr_json_text(struct json_object *v, size_t *len);

#endif							/* COMET_JSONROW_H */
