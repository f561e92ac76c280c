# tongyuan — top-level Makefile.
#   make            build/libtongyuan.a and build/tongyuan
#   make test       unit tests, CLI golden tests, error-handling tests (then again under ASan+UBSan: make test-asan)
#   make eval       dev-set score (pairwise) with ../shared/score.py
#   make bench      benchmarks; figures to bench/results.csv and bench/last.txt
#   make fuzz       short libFuzzer runs (clang); FUZZ_SECONDS per target
#   make asan / ubsan / tsan   sanitizer builds into build/<name>/
#   make lint       clang-format check

CC      ?= cc
BUILD   ?= build
PKGS    := libutf8proc
GENPKGS := libutf8proc opencc
OPT     ?= -O2 -g
CFLAGS  ?= $(OPT)
WARN    := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-function
CPPFLAGS_ALL := -Iinclude -Isrc -I$(BUILD)/gen $(shell pkg-config --cflags $(PKGS))
LIBS    := $(shell pkg-config --libs $(PKGS)) -lpthread -lm
SHARED  ?= ../shared

LIB_SRC := src/util.c src/normalize.c src/doc.c src/sketch.c src/align.c
CLI_SRC := cli/main.c cli/common.c cli/compare.c cli/diffview.c cli/html.c
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: demo check all test test-unit test-cli eval bench fuzz asan ubsan tsan test-asan lint clean deps

all: $(BUILD)/tongyuan

# The README's first command: install dependencies, build, run on the bundled example.
demo:
	sh scripts/deps.sh
	$(MAKE) all
	$(BUILD)/tongyuan compare examples/original.txt examples/spun.txt; test $$? -le 1

# The README's second command (and CI's): dependencies, tests, tests under ASan+UBSan,
# the dev-set score, short fuzz runs, and a clang -Werror build.
check:
	sh scripts/deps.sh
	$(MAKE) all
	$(MAKE) test
	$(MAKE) test-asan
	$(MAKE) CC=clang BUILD=build/clang all
	EVAL_REQUIRE=1 $(MAKE) eval
	FUZZ_SECONDS=$${FUZZ_SECONDS:-20} $(MAKE) fuzz

$(BUILD)/gen/mknormtab: tools/mknormtab.c src/classify.h
	@mkdir -p $(@D)
	$(CC) -O2 $(WARN) -o $@ $< $(shell pkg-config --cflags --libs $(GENPKGS))

$(BUILD)/gen/normtab.inc: $(BUILD)/gen/mknormtab
	$< > $@.tmp && mv $@.tmp $@

$(BUILD)/src/normalize.o: $(BUILD)/gen/normtab.inc

$(BUILD)/%.o: %.c include/tongyuan.h src/internal.h src/classify.h cli/common.h cli/diffview.h cli/html.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WARN) $(CPPFLAGS_ALL) -c -o $@ $<

$(BUILD)/libtongyuan.a: $(LIB_OBJ)
	ar rcs $@ $^

$(BUILD)/tongyuan: $(CLI_OBJ) $(BUILD)/libtongyuan.a
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/check.h $(BUILD)/libtongyuan.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(WARN) $(CPPFLAGS_ALL) -o $@ $< $(BUILD)/libtongyuan.a $(LIBS)

test: all $(UNIT_BIN)
	@SHARED=$(SHARED) BUILD=$(BUILD) sh tests/run.sh

eval: all
	@sh scripts/eval.sh $(BUILD)/tongyuan $(SHARED)

bench: all
	@sh bench/run.sh $(BUILD)/tongyuan $(SHARED)

asan:
	$(MAKE) BUILD=build/asan OPT="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" LDFLAGS=-fsanitize=address,undefined all
ubsan: asan
tsan:
	$(MAKE) BUILD=build/tsan OPT="-O1 -g -fsanitize=thread" all

test-asan:
	$(MAKE) BUILD=build/asan OPT="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" test

fuzz:
	@sh fuzz/run.sh

lint:
	clang-format --dry-run -Werror include/*.h src/*.c src/*.h cli/*.c cli/*.h

clean:
	rm -rf build
