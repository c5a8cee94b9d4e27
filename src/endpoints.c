/*-------------------------------------------------------------------------
 *
 * endpoints.c
 *		The endpoint catalogue: one declarative descriptor per Comet REST
 *		resource.  IMPORT FOREIGN SCHEMA, COMMENTs, pushdown, EXPLAIN and
 *		decoding are all driven from here; adding a table is adding an entry.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type_d.h"

#include "comet_fdw.h"
#include "jsonrow.h"

#define C_TEXT(n, f, c)		{n, f, TEXTOID, CONV_FIELD, -1, c}
#define C_INT8(n, f, c)		{n, f, INT8OID, CONV_FIELD, -1, c}
#define C_FLOAT8(n, f, c)	{n, f, FLOAT8OID, CONV_FIELD, -1, c}
#define C_BOOL(n, f, c)		{n, f, BOOLOID, CONV_FIELD, -1, c}
#define C_TIME(n, f, c)		{n, f, TIMESTAMPTZOID, CONV_FIELD, -1, c}
#define C_JSONB(n, f, c)	{n, f, JSONBOID, CONV_FIELD, -1, c}
#define C_TEXTS(n, f, c)	{n, f, TEXTARRAYOID, CONV_FIELD, -1, c}
/* a required key that is a parameter of the request (param: its name) */
#define C_PARAM(n, i, param, c)	{n, param, TEXTOID, CONV_SLOT, COMET_PARAM_SLOT(i), c, true}

/* The context columns every per-experiment table carries. */
#define EXPERIMENT_CONTEXT \
	{"experiment_key", NULL, TEXTOID, CONV_SLOT, SLOT_EXPERIMENT, \
	 "Comet experiment key (32 hex characters); filters on it are pushed down"}, \
	{"workspace_name", NULL, TEXTOID, CONV_SLOT, SLOT_WORKSPACE, \
	 "Workspace of the experiment; filters on it are pushed down"}, \
	{"project_name", NULL, TEXTOID, CONV_SLOT, SLOT_PROJECT_NAME, \
	 "Project of the experiment; filters on it are pushed down"}, \
	{"project_id", NULL, TEXTOID, CONV_SLOT, SLOT_PROJECT_ID, \
	 "Project id of the experiment; filters on it are pushed down"}

#define PROJECT_CONTEXT \
	{"project_id", NULL, TEXTOID, CONV_SLOT, SLOT_PROJECT_ID, \
	 "Comet project id; filters on it are pushed down"}, \
	{"workspace_name", NULL, TEXTOID, CONV_SLOT, SLOT_WORKSPACE, \
	 "Workspace of the project; filters on it are pushed down"}, \
	{"project_name", NULL, TEXTOID, CONV_SLOT, SLOT_PROJECT_NAME, \
	 "Project name; filters on it are pushed down"}

#define NCOLS(a) ((int) lengthof(a))

static const CometColumn workspace_cols[] = {
	{"workspace_name", NULL, TEXTOID, CONV_ELEMENT, SLOT_WORKSPACE,
	"Workspace name"},
};

static const CometColumn project_cols[] = {
	{"project_id", "projectId", TEXTOID, CONV_FIELD, SLOT_PROJECT_ID,
	"Project id (32 hex characters); filters on it are pushed down"},
	{"project_name", "projectName", TEXTOID, CONV_FIELD, SLOT_PROJECT_NAME,
	"Project name; filters on it are pushed down with workspace_name"},
	{"workspace_name", "workspaceName", TEXTOID, CONV_FIELD, SLOT_WORKSPACE,
	"Workspace of the project; filters on it are pushed down"},
	C_TEXT("owner_user_name", "ownerUserName", "User who owns the project"),
	C_TEXT("description", "projectDescription", "Project description"),
	C_INT8("num_experiments", "numberOfExperiments", "Number of experiments"),
	C_TIME("last_updated", "lastUpdated", "Last update of the project"),
	C_BOOL("is_public", "public|isPublic", "Whether the project is public"),
};

static const CometColumn experiment_cols[] = {
	{"experiment_key", "experimentKey", TEXTOID, CONV_FIELD, SLOT_EXPERIMENT,
	"Experiment key (32 hex characters); filters on it are pushed down"},
	C_TEXT("experiment_name", "experimentName",
		   "Experiment name; NULL for unnamed experiments"),
	{"project_id", "projectId", TEXTOID, CONV_FIELD, SLOT_PROJECT_ID,
	"Project id; filters on it are pushed down"},
	{"project_name", "projectName", TEXTOID, CONV_FIELD, SLOT_PROJECT_NAME,
	"Project name; filters on it are pushed down"},
	{"workspace_name", "workspaceName", TEXTOID, CONV_FIELD, SLOT_WORKSPACE,
	"Workspace name; filters on it are pushed down"},
	C_TEXT("user_name", "userName", "User who ran the experiment"),
	C_TEXT("file_name", "fileName", "Script file name"),
	C_TEXT("file_path", "filePath", "Script file path"),
	C_TEXT("optimization_id", "optimizationId", "Optimizer run id"),
	C_TIME("start_time", "startTimeMillis", "Start of the experiment"),
	C_TIME("end_time", "endTimeMillis", "End of the experiment; NULL while running"),
	{"duration_ms", NULL, INT8OID, CONV_DURATION, -1,
	"Milliseconds from start_time to end_time (to the start of the statement while running)"},
	{"running", "running", BOOLOID, CONV_RUNNING, -1,
	"Comet's running flag; where Comet sends none (lists), true when end_time is NULL"},
	{"archived", "archived", BOOLOID, CONV_FLAG, -1,
	"Whether the experiment is archived; filters on it are pushed down"},
};

static const CometColumn summary_cols[] = {
	EXPERIMENT_CONTEXT,
	{"metric_name", "name", TEXTOID, CONV_FIELD, SLOT_METRIC, "Metric name"},
	C_TEXT("value_current", "valueCurrent", "Last logged value, as Comet sends it"),
	C_TEXT("value_min", "valueMin", "Smallest value"),
	C_TEXT("value_max", "valueMax", "Largest value"),
	C_INT8("step_current", "stepCurrent", "Step of the last value"),
	C_INT8("step_min", "stepMin", "Step of the smallest value"),
	C_INT8("step_max", "stepMax", "Step of the largest value"),
	C_TIME("timestamp_current", "timestampCurrent", "Time of the last value"),
	C_TIME("timestamp_min", "timestampMin", "Time of the smallest value"),
	C_TIME("timestamp_max", "timestampMax", "Time of the largest value"),
	C_TEXT("run_context_current", "runContextCurrent", "Context of the last value"),
	C_TEXT("run_context_min", "runContextMin", "Context of the smallest value"),
	C_TEXT("run_context_max", "runContextMax", "Context of the largest value"),
};

static const CometColumn metric_cols[] = {
	EXPERIMENT_CONTEXT,
	{"metric_name", NULL, TEXTOID, CONV_SLOT, SLOT_METRIC,
	"Metric name; filters on it are pushed down"},
	C_TEXT("metric_value", "metricValue", "Value as Comet sends it (text)"),
	C_INT8("step", "step", "Step"),
	C_INT8("epoch", "epoch", "Epoch"),
	C_TIME("timestamp", "timestamp", "Time the value was logged"),
	C_TEXT("run_context", "runContext", "Context (train, test ...)"),
	C_INT8("offset", "offset", "Message sequence number within the experiment"),
};

/*
 * metric_chart: many experiments and metrics in one POST.  Comet's answer
 * (comet-rest-api.md 5.12) is keyed by experiment key; each metric is an
 * object of parallel arrays, one row per index.
 */
static const CometColumn chart_cols[] = {
	EXPERIMENT_CONTEXT,
	{"metric_name", "metricName", TEXTOID, CONV_FIELD, SLOT_METRIC,
	"Metric name; filters on it are pushed down (the names a request asks for)"},
	C_INT8("step", "steps", "Step; NULL where none was logged"),
	C_INT8("epoch", "epochs", "Epoch; NULL where none was logged"),
	C_TIME("timestamp", "timestamps", "Time the value was logged"),
	C_INT8("duration_ms", "durations",
		   "Milliseconds since the series' previous point, as Comet sends it (durations)"),
	{"value", "values", FLOAT8OID, CONV_VALUE, -1,
	"The value; NULL when Comet sends none or one that is no finite number (\"NaN\", text)"},
};

static const CometNested chart_nested = {
	SLOT_EXPERIMENT, "metrics",
	{"values", "steps", "epochs", "timestamps", "durations", NULL},
	"metricName"
};

/*
 * A request asks for at most 100 experiments and 25 series (experiment x
 * metric): a series holds up to 15,000 points, ~50 bytes each in this
 * answer, so a request stays under ~19 MB and the 2 x max_concurrency
 * answers a scan may hold at once (16 by default) under the default
 * max_response_bytes of 256 MB.  See README, Performance.
 */
static const CometPost chart_post = {
	"targetedExperiments", "metrics",
	"\"params\": [], \"independentMetrics\": true, \"fetchFull\": true",
	100, 25,
	"project_columns", {"source", "metrics"}
};

#define VALUE_COLS(what) \
	EXPERIMENT_CONTEXT, \
	C_TEXT("name", "name", what " name"), \
	C_TEXT("value_current", "valueCurrent", "Current value, as Comet sends it"), \
	C_TEXT("value_min", "valueMin", "Smallest value"), \
	C_TEXT("value_max", "valueMax", "Largest value"), \
	C_TIME("timestamp_current", "timestampCurrent", "Time of the current value"), \
	C_TIME("timestamp_min", "timestampMin", "Time of the smallest value"), \
	C_TIME("timestamp_max", "timestampMax", "Time of the largest value")

static const CometColumn param_cols[] = {VALUE_COLS("Parameter")};
static const CometColumn other_cols[] = {VALUE_COLS("Other")};

static const CometColumn tag_cols[] = {
	EXPERIMENT_CONTEXT,
	{"tag", NULL, TEXTOID, CONV_ELEMENT, -1, "Tag"},
};

static const CometColumn html_cols[] = {
	EXPERIMENT_CONTEXT, C_TEXT("html", "html", "HTML logged by the experiment")
};
static const CometColumn code_cols[] = {
	EXPERIMENT_CONTEXT, C_TEXT("code", "code", "Source code of the experiment")
};
static const CometColumn output_cols[] = {
	EXPERIMENT_CONTEXT, C_TEXT("output", "output", "Standard output and error")
};
static const CometColumn graph_cols[] = {
	EXPERIMENT_CONTEXT, C_TEXT("graph", "graph", "Model graph, as logged")
};

static const CometColumn system_cols[] = {
	EXPERIMENT_CONTEXT,
	C_TEXT("user", "user", "OS user"),
	C_TEXT("hostname", "hostname", "Host name"),
	C_TEXT("os", "os", "Operating system"),
	C_TEXT("os_type", "osType", "Operating system type"),
	C_TEXT("os_release", "osRelease", "Operating system release"),
	C_TEXT("machine", "machine", "Machine type"),
	C_TEXT("processor", "processor", "Processor"),
	C_TEXT("python_version", "pythonVersion", "Python version"),
	C_TEXT("executable", "executable", "Python executable"),
	C_TEXT("ip", "ip", "IP address"),
	C_INT8("pid", "pid", "Process id"),
	C_FLOAT8("total_ram", "totalRam", "Total RAM in bytes"),
	{"command", "command", TEXTARRAYOID, CONV_FIELD, -1, "Command line"},
	C_JSONB("gpus", "gpuStaticInfoList", "GPUs"),
	{"raw", NULL, JSONBOID, CONV_ROW, -1, "The whole system-details object"},
};

static const CometColumn package_cols[] = {
	EXPERIMENT_CONTEXT,
	{"package", NULL, TEXTOID, CONV_ELEMENT, -1, "Installed package (name==version)"},
};

static const CometColumn git_cols[] = {
	EXPERIMENT_CONTEXT,
	C_TEXT("user", "user", "Git user"),
	C_TEXT("root", "root", "Root commit"),
	C_TEXT("branch", "branch", "Branch"),
	C_TEXT("parent", "parent", "Parent commit"),
	C_TEXT("origin", "origin", "Origin URL"),
};

static const CometColumn asset_cols[] = {
	EXPERIMENT_CONTEXT,
	C_TEXT("asset_id", "assetId", "Asset id"),
	C_TEXT("file_name", "fileName", "File name"),
	C_INT8("file_size", "fileSize", "Size in bytes"),
	C_TEXT("type", "type", "Asset type (image, asset, ...); filters on it are pushed down"),
	C_TEXT("dir", "dir", "Directory"),
	C_TEXT("link", "link", "Download link"),
	C_INT8("step", "step", "Step"),
	C_TEXT("run_context", "runContext", "Context"),
	C_TIME("created_at", "createdAt", "Upload time"),
	C_BOOL("remote", "remote", "Whether the asset is a remote link"),
	C_TEXT("metadata", "metadata", "Metadata, a JSON document as text"),
};

static const CometColumn notes_cols[] = {
	{"project_id", NULL, TEXTOID, CONV_SLOT, SLOT_PROJECT_ID,
	"Project id; filters on it are pushed down"},
	C_TEXT("notes", "notes", "Project notes"),
};

static const CometColumn column_name_cols[] = {
	PROJECT_CONTEXT,
	C_TEXT("name", "name", "Column name"),
	C_TEXT("column_id", "id", "Column id (name--source)"),
	C_TEXT("type", "type", "string, boolean, double, datetime or timenumber"),
	C_TEXT("source", "source", "metadata, metrics, params, log_other, env_details or tag"),
};

static const CometColumn account_cols[] = {
	C_TEXT("user_name", "userName", "User the API key belongs to"),
	C_TEXT("default_workspace_name", "defaultWorkspaceName", "Default workspace"),
};

static const CometColumn registry_cols[] = {
	{"workspace_name", NULL, TEXTOID, CONV_SLOT, SLOT_WORKSPACE,
	"Workspace; filters on it are pushed down"},
	C_TEXT("registry_model_id", "registryModelId", "Registry model id"),
	C_TEXT("model_name", "modelName", "Model name"),
	C_TEXT("description", "description", "Description"),
	C_BOOL("is_public", "isPublic|public", "Whether the model is public"),
	C_INT8("num_versions", "numberOfVersions", "Number of versions"),
	C_TIME("created_at", "createdAt", "Creation time"),
	C_TIME("last_updated", "lastUpdated", "Last update"),
	C_TEXT("user_name", "userName", "Owner"),
	C_JSONB("latest_version", "latestVersion", "Latest version"),
};

/* ---- the endpoints of issue 12: models, artifacts, share links, bytes ---- */

static const CometColumn experiment_model_cols[] = {
	EXPERIMENT_CONTEXT,
	C_TEXT("experiment_model_id", "experimentModelId", "Id of the model the experiment logged"),
	C_TEXT("model_name", "modelName", "Name of the model"),
	C_JSONB("registry_records", "registryRecords",
			"Registry versions made from this model, as Comet sends them: [{registryModelId, registryModelItemId, registryModelName, version, createdAt}]; NULL if Comet sends none"),
};

/* the key columns of a registry model: its workspace and name */
#define REGISTRY_MODEL_KEYS \
	{"workspace_name", NULL, TEXTOID, CONV_SLOT, SLOT_WORKSPACE, \
	 "Workspace of the model; required: a filter = or IN (...) on it, or a join, is sent to Comet", true}, \
	C_PARAM("model_name", 0, "modelName", \
			"Name of the registry model; required: a filter = or IN (...) on it, or a join, is sent to Comet")

static const CometColumn registry_version_cols[] = {
	REGISTRY_MODEL_KEYS,
	{"registry_model_id", "registryModelId", TEXTOID, CONV_ROOT, -1,
	"Id of the registry model (from the model object around the versions)"},
	C_TEXT("registry_model_item_id", "registryModelItemId", "Id of this version"),
	C_TEXT("version", "version", "Version (semantic version string)"),
	C_TEXT("comment", "comment", "Comment of the version"),
	C_TEXTS("stages", "stages", "Stages of the version (production, staging ...)"),
	C_TEXT("user_name", "userName", "User who registered the version"),
	C_TIME("created_at", "createdAt", "When the version was registered"),
	C_TIME("last_updated", "lastUpdated", "Last update of the version"),
	C_TEXT("experiment_key", "experimentModel.experimentKey",
		   "Experiment the version's model was logged by (experimentModel.experimentKey)"),
	C_JSONB("experiment_model", "experimentModel",
			"The experiment model of the version: {experimentModelId, experimentModelName, experimentKey}"),
	C_JSONB("assets", "assets", "Files of the version, as Comet sends them; NULL if Comet sends none"),
};

static const CometColumn registry_notes_cols[] = {
	REGISTRY_MODEL_KEYS,
	C_TEXT("notes", "notes", "Notes of the registry model; NULL or empty when there are none"),
};

#define ARTIFACT_WORKSPACE(required, what) \
	{"workspace_name", NULL, TEXTOID, CONV_SLOT, SLOT_WORKSPACE, \
	 "Workspace of the artifact; " what, required}
#define ARTIFACT_NAME_KEY \
	C_PARAM("artifact_name", 0, "artifactName", \
			"Name of the artifact; required: a filter = or IN (...) on it, or a join, is sent to Comet")

static const CometColumn artifact_cols[] = {
	ARTIFACT_WORKSPACE(false, "filters on it are pushed down"),
	C_TEXT("artifact_id", "artifactId", "Artifact id"),
	C_TEXT("artifact_name", "name", "Artifact name"),
	C_TEXT("project_name", "project",
		   "Project the artifact belongs to (Comet's field \"project\", taken to be a project name); NULL if none"),
	C_TEXT("type", "type", "Artifact type (dataset, model ...); filters on it are pushed down"),
	C_TEXT("description", "description", "Description"),
	C_INT8("versions_count", "versionsCount", "Number of versions"),
	C_TEXTS("tags", "tags", "Tags of the artifact"),
	C_BOOL("is_public", "isPublic|public", "Whether the artifact is public"),
	C_TEXT("emoji", "emoji", "Emoji shown with the artifact"),
	C_INT8("size_in_bytes", "sizeInBytes", "Size of the artifact in bytes"),
};

static const CometColumn artifact_version_cols[] = {
	ARTIFACT_WORKSPACE(true, "required: a filter = or IN (...) on it, or a join, is sent to Comet"),
	ARTIFACT_NAME_KEY,
	{"artifact_id", "artifactId", TEXTOID, CONV_ROOT, -1,
	"Artifact id (from the artifact object around the versions)"},
	C_TEXT("artifact_version_id", "artifactVersionId", "Id of this version"),
	C_TEXT("version", "version", "Version (semantic version string)"),
	C_TEXT("owner", "owner", "User who logged the version"),
	C_TEXT("metadata", "metadata",
		   "Metadata as Comet sends it: a string as it is (taken to be JSON-encoded, like an asset's), any other JSON value as its JSON text"),
	C_TEXT("created_from", "createdFrom",
		   "What the version was logged from, as Comet sends it (an experiment key, in Comet's clients)"),
	C_INT8("size_in_bytes", "sizeInBytes", "Size of the version in bytes"),
	C_TEXT("state", "state", "State of the version, as Comet sends it"),
	C_TIME("added", "added", "When the version was added"),
	C_TEXTS("aliases", "alias", "Aliases of the version (Comet's field \"alias\")"),
	C_TEXTS("tags", "tags", "Tags of the version"),
};

static const CometColumn artifact_file_cols[] = {
	ARTIFACT_WORKSPACE(true, "required: a filter = or IN (...) on it, or a join, is sent to Comet"),
	ARTIFACT_NAME_KEY,
	C_PARAM("version", 1, "version",
			"Version of the artifact; required: a filter = or IN (...) on it, or a join, is sent to Comet"),
	C_TEXT("artifact_id", "artifactId", "Artifact id"),
	C_TEXT("artifact_version_id", "artifactVersionId", "Id of the artifact version"),
	C_TEXT("asset_id", "assetId", "Asset id of the file"),
	C_TEXT("file_name", "fileName", "File name"),
	C_INT8("file_size", "fileSize", "Size in bytes"),
	C_TEXT("link", "link", "Download link (for a remote file: its URI)"),
	C_TEXT("dir", "dir", "Directory"),
	C_TEXT("type", "type", "File type, as Comet sends it"),
	C_TEXT("metadata", "metadata",
		   "Metadata as Comet sends it: a string as it is (taken to be JSON-encoded, like an asset's), any other JSON value as its JSON text"),
	C_BOOL("remote", "remote", "Whether the file is a remote link"),
};

static const CometColumn share_link_cols[] = {
	PROJECT_CONTEXT,
	{"share_code", NULL, TEXTOID, CONV_ELEMENT, -1,
	"Share code of the project (an element of Comet's shareCodes, taken to be a string; another JSON value is given as its JSON text)"},
};

static const CometColumn git_patch_cols[] = {
	EXPERIMENT_CONTEXT,
	{"patch", NULL, BYTEAOID, CONV_BODY, -1,
	"The git patch as Comet sends it (a zip archive holding git_diff.patch); NULL when Comet answers that there is none ({\"msg\": ...})"},
};

static const CometColumn asset_content_cols[] = {
	{"experiment_key", NULL, TEXTOID, CONV_SLOT, SLOT_EXPERIMENT,
		"Comet experiment key; required: a filter = or IN (...) on it, or a join, is sent to Comet", true},
	{"workspace_name", NULL, TEXTOID, CONV_SLOT, SLOT_WORKSPACE, "Workspace of the experiment"},
	{"project_name", NULL, TEXTOID, CONV_SLOT, SLOT_PROJECT_NAME, "Project of the experiment"},
	{"project_id", NULL, TEXTOID, CONV_SLOT, SLOT_PROJECT_ID, "Project id of the experiment"},
	C_PARAM("asset_id", 0, "assetId",
			"Asset id (the assets table lists them); required: a filter = or IN (...) on it, or a join, is sent to Comet"),
	{"content", NULL, BYTEAOID, CONV_BODY, -1,
	"The asset's bytes, exactly as Comet sends them (at most max_response_bytes: a larger asset is an error); convert_from(content, 'UTF8') reads a text, CSV or JSON asset"},
};

static const CometVariant archived_variant = {
	"archived", "archived", 2, {"false", "true"}
};
static const CometVariant type_variant = {"type", "type", 1, {NULL, NULL}};

/* name = N AND value_current = V; tag = T */
static const CometSearch param_search = {"params", "name", "value_current", true};
static const CometSearch tag_search = {"tag", NULL, "tag", false};

/* POST project/query: the keys of the experiments that match (its body is the scan's) */
static const CometPost query_post = {NULL, NULL, NULL, 0, 0, NULL, {NULL, NULL}};

static const CometColumn query_cols[] = {
	{"experiment_key", NULL, TEXTOID, CONV_ELEMENT, SLOT_EXPERIMENT, "Experiment key"},
};

#define PER_EXPERIMENT(name, path, list, scalar, cols, rows, comment) \
	{name, path, NULL, list, scalar, false, LEVEL_EXPERIMENT, NULL, NULL, \
	 cols, NCOLS(cols), false, rows, comment}

static const CometEndpoint endpoints[] = {
	{"workspaces", "workspaces", NULL, "workspaceNames", true, false,
		LEVEL_NONE, NULL, NULL, workspace_cols, NCOLS(workspace_cols), false, 5,
	"Comet workspaces the API key can see"},
	{"projects", "projects", NULL, "projects", false, false,
		LEVEL_WORKSPACE, "project", NULL, project_cols, NCOLS(project_cols), false, 20,
	"Comet projects of every workspace the API key can see"},
	{"project", "project", NULL, NULL, false, false,
		LEVEL_PROJECT, NULL, NULL, project_cols, NCOLS(project_cols), true, 1,
	"One Comet project, by id or workspace and name"},
	{"experiments", "experiments", NULL, "experiments", false, false,
		LEVEL_PROJECT, "experiment_metadata", &archived_variant,
		experiment_cols, NCOLS(experiment_cols), false, 100,
	"Comet experiments, archived ones included, of every project the key can see"},
	{"experiment_metadata", "experiment/metadata", NULL, NULL, false, false,
		LEVEL_EXPERIMENT, NULL, NULL, experiment_cols, NCOLS(experiment_cols), true, 1,
	"One Comet experiment's metadata"},
	PER_EXPERIMENT("raw_metric_summaries", "experiment/metrics/summary", "values",
				   false, summary_cols, 10,
				   "Per metric of an experiment: last, min and max values as Comet sends them"),
	{"raw_metrics", "experiment/metrics/get-metric", NULL, "metrics", false, true,
		LEVEL_METRIC, NULL, NULL, metric_cols, NCOLS(metric_cols), false, 500,
	"Every logged point of a metric, ordered by offset within experiment and metric"},
	{.name = "raw_params", .path = "experiment/parameters", .list_key = "values",
		.level = LEVEL_EXPERIMENT, .cols = param_cols, .ncols = NCOLS(param_cols),
		.rows_per_request = 20,
		.comment = "Parameters of an experiment, values as Comet sends them",
	.search = &param_search},
	PER_EXPERIMENT("raw_others", "experiment/log-other", "values", false,
				   other_cols, 10, "Logged others of an experiment, values as Comet sends them"),
	{.name = "tags", .path = "experiment/tags", .list_key = "tags", .scalar_rows = true,
		.level = LEVEL_EXPERIMENT, .cols = tag_cols, .ncols = NCOLS(tag_cols),
		.rows_per_request = 3, .comment = "Tags of an experiment",
	.search = &tag_search},
	PER_EXPERIMENT("html", "experiment/html", NULL, false, html_cols, 1,
				   "HTML logged by an experiment"),
	PER_EXPERIMENT("code", "experiment/code", NULL, false, code_cols, 1,
				   "Source code of an experiment"),
	PER_EXPERIMENT("output", "experiment/output", NULL, false, output_cols, 1,
				   "Standard output of an experiment"),
	PER_EXPERIMENT("graph", "experiment/graph", NULL, false, graph_cols, 1,
				   "Model graph of an experiment"),
	PER_EXPERIMENT("system_details", "experiment/system-details", NULL, false,
				   system_cols, 1, "System details of an experiment"),
	{"installed_packages", "experiment/system-details", NULL,
		"installedPackages", true, false, LEVEL_EXPERIMENT, NULL, NULL,
		package_cols, NCOLS(package_cols), false, 50,
		"Python packages installed where an experiment ran",
	true},
	PER_EXPERIMENT("git_metadata", "experiment/git/metadata", NULL, false,
				   git_cols, 1, "Git metadata of an experiment"),
	{"assets", "experiment/asset/list", NULL, "assets", false, false,
		LEVEL_EXPERIMENT, NULL, &type_variant, asset_cols, NCOLS(asset_cols), false, 5,
	"Assets of an experiment"},
	{"images", "experiment/asset/list", "type=image", "assets", false, false,
		LEVEL_EXPERIMENT, NULL, NULL, asset_cols, NCOLS(asset_cols), false, 2,
	"Image assets of an experiment"},
	{"project_notes", "project/notes", NULL, NULL, false, false,
		LEVEL_PROJECT, NULL, NULL, notes_cols, NCOLS(notes_cols), false, 1,
	"Notes of a project"},
	{"project_columns", "project/column-names", NULL, "columns", false, false,
		LEVEL_PROJECT, NULL, NULL, column_name_cols, NCOLS(column_name_cols), false, 30,
	"Every column (metadata, metric, parameter, other, tag) of a project's experiments"},
	{"account", "account-details", NULL, NULL, false, false,
		LEVEL_NONE, NULL, NULL, account_cols, NCOLS(account_cols), false, 1,
	"The user the API key belongs to"},
	{"registry_models", "registry-model", NULL, "registryModels", false, false,
		LEVEL_WORKSPACE, NULL, NULL, registry_cols, NCOLS(registry_cols), false, 5,
	"Models in the model registry of each workspace"},
	{.name = "experiment_models", .path = "experiment/model", .list_key = "models",
		.level = LEVEL_EXPERIMENT, .cols = experiment_model_cols,
		.ncols = NCOLS(experiment_model_cols), .rows_per_request = 1,
	.comment = "Models an experiment logged, with the registry versions made from them"},
	{.name = "registry_model_versions", .path = "registry-model/details",
		.list_key = "versions", .list_optional = true, .level = LEVEL_WORKSPACE,
		.cols = registry_version_cols, .ncols = NCOLS(registry_version_cols),
		.rows_per_request = 3,
	.comment = "Versions of a registry model, one row each (workspace_name and model_name required; an answer without a versions list is taken as none)"},
	{.name = "registry_model_notes", .path = "registry-model/notes",
		.level = LEVEL_WORKSPACE, .cols = registry_notes_cols,
		.ncols = NCOLS(registry_notes_cols), .rows_per_request = 1,
	.comment = "Notes of a registry model (workspace_name and model_name required)"},
	{.name = "artifacts", .path = "artifacts/get-all", .list_key = "artifacts",
		.level = LEVEL_WORKSPACE, .slot_param = {[SLOT_WORKSPACE] = "workspace"},
		.variant = &type_variant, .cols = artifact_cols, .ncols = NCOLS(artifact_cols),
		.rows_per_request = 5,
	.comment = "Artifacts of each workspace"},
	{.name = "artifact_versions", .path = "artifacts/get", .list_key = "versions",
		.list_optional = true, .level = LEVEL_WORKSPACE,
		.slot_param = {[SLOT_WORKSPACE] = "workspace"},
		.cols = artifact_version_cols, .ncols = NCOLS(artifact_version_cols),
		.rows_per_request = 3,
	.comment = "Versions of an artifact, one row each (workspace_name and artifact_name required; an answer without a versions list is taken as none)"},
	{.name = "artifact_files", .path = "artifacts/version/files", .list_key = "files",
		.level = LEVEL_WORKSPACE, .slot_param = {[SLOT_WORKSPACE] = "workspace"},
		.cols = artifact_file_cols, .ncols = NCOLS(artifact_file_cols),
		.rows_per_request = 5,
	.comment = "Files of an artifact version (workspace_name, artifact_name and version required)"},
	{.name = "project_share_links", .path = "project/get-project-share-links",
		.list_key = "shareCodes", .scalar_rows = true, .level = LEVEL_PROJECT,
		.cols = share_link_cols, .ncols = NCOLS(share_link_cols), .rows_per_request = 1,
	.comment = "Share codes of a project"},
	{.name = "git_patch", .path = "experiment/git/patch", .level = LEVEL_EXPERIMENT,
		.raw_body = true, .none_field = "msg", .cols = git_patch_cols,
		.ncols = NCOLS(git_patch_cols), .rows_per_request = 1,
	.comment = "Git patch of an experiment, one row per experiment (NULL patch: none)"},
	{.name = "asset_content", .path = "experiment/asset/get-asset",
		.level = LEVEL_EXPERIMENT, .raw_body = true, .cols = asset_content_cols,
		.ncols = NCOLS(asset_content_cols), .rows_per_request = 1,
	.comment = "The bytes of an asset (experiment_key and asset_id required)"},
	{.name = "project_query", .path = "project/query", .list_key = "experimentKeys",
		.scalar_rows = true, .level = LEVEL_PROJECT, .cols = query_cols,
		.ncols = NCOLS(query_cols), .internal = true, .rows_per_request = 10,
		.comment = "The experiments of a project that a search finds",
	.post = &query_post},
	{.name = "metric_chart", .path = "experiments/multi-metric-chart",
		.list_key = "experiments", .level = LEVEL_METRIC, .cols = chart_cols,
		.ncols = NCOLS(chart_cols), .rows_per_request = 500,
		.comment = "Every logged point of many experiments' metrics, many series per request (no run_context, no offset)",
	.nested = &chart_nested, .post = &chart_post},
};

const CometEndpoint *
comet_endpoint_lookup(const char *name)
{
	int			i;

	for (i = 0; i < lengthof(endpoints); i++)
		if (strcmp(endpoints[i].name, name) == 0)
			return &endpoints[i];
	return NULL;
}

int
comet_endpoint_count(void)
{
	return lengthof(endpoints);
}

const CometEndpoint *
comet_endpoint_at(int i)
{
	Assert(i >= 0 && i < lengthof(endpoints));
	return &endpoints[i];
}

bool
comet_endpoint_is_table(const CometEndpoint *ep)
{
	return !ep->internal;
}

const CometColumn *
comet_endpoint_column(const CometEndpoint *ep, const char *name)
{
	int			i;

	for (i = 0; i < ep->ncols; i++)
		if (strcmp(ep->cols[i].name, name) == 0)
			return &ep->cols[i];
	return NULL;
}

const char *
comet_slot_column(int slot)
{
	static const char *const names[COMET_NSLOTS] = {
		"workspace_name", "project_name", "project_id", "experiment_key",
		"metric_name"
	};

	return names[slot];
}

/* The level of the tree a slot belongs to; a request's own parameter, none. */
CometLevel
comet_slot_level(int slot)
{
	if (COMET_IS_PARAM_SLOT(slot))
		return LEVEL_NONE;
	switch (slot)
	{
		case SLOT_WORKSPACE:
			return LEVEL_WORKSPACE;
		case SLOT_PROJECT_NAME:
		case SLOT_PROJECT_ID:
			return LEVEL_PROJECT;
		case SLOT_EXPERIMENT:
			return LEVEL_EXPERIMENT;
		default:
			return LEVEL_METRIC;
	}
}

/* The key column of a parameter slot of an endpoint, or NULL. */
const CometColumn *
comet_param_column(const CometEndpoint *ep, int slot)
{
	int			i;

	for (i = 0; i < ep->ncols; i++)
		if (ep->cols[i].conv == CONV_SLOT && ep->cols[i].slot == slot)
			return &ep->cols[i];
	return NULL;
}

/* The column a key of a scan of ep is on (-1: the variant's). */
const char *
comet_key_column(const CometEndpoint *ep, int slot)
{
	if (slot < 0)
		return ep->variant ? ep->variant->column : "?";
	if (COMET_IS_PARAM_SLOT(slot))
	{
		const CometColumn *col = comet_param_column(ep, slot);

		return col ? col->name : "?";
	}
	return comet_slot_column(slot);
}

/* The query parameter that carries a slot's value in a request to ep. */
const char *
comet_slot_param(const CometEndpoint *ep, int slot)
{
	static const char *const params[COMET_NSLOTS] = {
		"workspaceName", "projectName", "projectId", "experimentKey", "metricName"
	};

	if (COMET_IS_PARAM_SLOT(slot))
	{
		const CometColumn *col = comet_param_column(ep, slot);

		return col ? col->field : NULL;
	}
	return ep->slot_param[slot] ? ep->slot_param[slot] : params[slot];
}

/* How jsonrow.c reads a value for a column of this type (a jr_kind). */
int
comet_type_kind(Oid type)
{
	switch (type)
	{
		case TEXTOID:
			return JR_TEXT;
		case INT8OID:
			return JR_INT8;
		case FLOAT8OID:
			return JR_FLOAT8;
		case BOOLOID:
			return JR_BOOL;
		case TIMESTAMPTZOID:
		case TIMESTAMPOID:
			return JR_EPOCH_MS;
		case JSONBOID:
		case JSONOID:
			return JR_JSON;
		case TEXTARRAYOID:
			return JR_TEXT_ARRAY;
	}
	return JR_INPUT;
}

/*
 * The object tree: who lists the contexts one level down from a context,
 * and who fills in a context that was given by key only.
 */
const CometEndpoint *
comet_lister_for(CometLevel level)
{
	switch (level)
	{
		case LEVEL_NONE:
			return comet_endpoint_lookup("workspaces");
		case LEVEL_WORKSPACE:
			return comet_endpoint_lookup("projects");
		case LEVEL_PROJECT:
			return comet_endpoint_lookup("experiments");
		case LEVEL_EXPERIMENT:
			return comet_endpoint_lookup("raw_metric_summaries");
		default:
			return NULL;
	}
}

const CometEndpoint *
comet_enricher_for(CometLevel level)
{
	switch (level)
	{
		case LEVEL_PROJECT:
			return comet_endpoint_lookup("project");
		case LEVEL_EXPERIMENT:
			return comet_endpoint_lookup("experiment_metadata");
		default:
			return NULL;
	}
}
