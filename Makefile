# comet_fdw: PGXS build.  `make`, `make install`, `make installcheck`.
# `make WERROR=1` turns warnings into errors (CI does).

MODULE_big = comet_fdw
OBJS = \
	src/comet_fdw.o \
	src/option.o \
	src/pushdown.o \
	src/scan.o \
	src/modify.o \
	src/endpoints.o \
	src/connection.o \
	src/http.o \
	src/convert.o \
	src/jsonrow.o \
	src/cache.o

EXTENSION = comet_fdw
DATA = comet_fdw--1.0.sql
PGFILEDESC = "comet_fdw - foreign-data wrapper for the Comet ML REST API"

REGRESS ?= setup options keys tables experiment_tables recorded import pushdown explain views seed grafana cache hostile errors write


CURL_CONFIG ?= curl-config
PKG_CONFIG ?= pkg-config
PG_CPPFLAGS = -Isrc \
	$(shell $(CURL_CONFIG) --cflags)
SHLIB_LINK = $(shell $(CURL_CONFIG) --libs)

ifdef WERROR
PG_CFLAGS += -Werror
endif

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)
