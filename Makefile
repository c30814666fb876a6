# Makefile: ferret's one front door.
#   make            release build: build/ferret
#   make test       sanitizer build, C unit tests, fuzz-corpus replay and a short fuzz run,
#                   the layouts check, end-to-end tests
#   make unit | e2e | san | fuzz | layouts | layouts-check | format | bench | clean
# Why make: the tree is plain C with a handful of generated headers and per-interpreter
# extension builds; make expresses that directly, is on every fresh machine, and needs no
# configure step. Fragments in mk/*.mk add the Python extension and the memory hooks.

CC       ?= gcc
CLANG    ?= clang
PYTEST   ?= /usr/bin/python3 -m pytest
BUILD    := build

WARN     := -std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Wformat=2 -Wvla -Werror
CPPFLAGS := -D_GNU_SOURCE -Isrc -MMD -MP
REL_FLAGS := -O2 -g -D_FORTIFY_SOURCE=3 -fPIC -fvisibility=hidden
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
             -fno-omit-frame-pointer -fPIC -fvisibility=hidden
LDLIBS   := -lsqlite3 -lz -lm -lpthread

CORE_DIRS := src/util src/layouts src/sampler src/profile src/report src/bench
CORE_SRC  := $(foreach d,$(CORE_DIRS),$(wildcard $(d)/*.c))
CLI_SRC   := $(wildcard src/cli/*.c)
UNIT_SRC  := $(wildcard tests/unit/test_*.c)
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)

.PHONY: all san test unit e2e e2e-parallel fuzz fuzz-short fuzz-replay layouts layouts-check format bench bench-tools clean demo
.DEFAULT_GOAL := all

# $(call variant,NAME,FLAGS): objects under build/obj/NAME, libferret.a and the ferret binary.
define variant
$(1)_OBJ := $$(patsubst %.c,$(BUILD)/obj/$(1)/%.o,$$(CORE_SRC))
$(1)_CLI_OBJ := $$(patsubst %.c,$(BUILD)/obj/$(1)/%.o,$$(CLI_SRC))
$(BUILD)/obj/$(1)/%.o: %.c
	@mkdir -p $$(@D)
	$$(CC) $$(CPPFLAGS) $$(WARN) $(2) -c $$< -o $$@
$(BUILD)/$(1)/libferret.a: $$($(1)_OBJ)
	@mkdir -p $$(@D)
	rm -f $$@ && ar rcs $$@ $$^
-include $$($(1)_OBJ:.o=.d) $$($(1)_CLI_OBJ:.o=.d)
endef
$(eval $(call variant,rel,$(REL_FLAGS)))
$(eval $(call variant,san,$(SAN_FLAGS)))

all: $(BUILD)/ferret

$(BUILD)/ferret: $(rel_CLI_OBJ) $(BUILD)/rel/libferret.a
	$(CC) $(REL_FLAGS) -o $@ $^ $(LDLIBS)

san: $(BUILD)/san/ferret

$(BUILD)/san/ferret: $(san_CLI_OBJ) $(BUILD)/san/libferret.a
	$(CC) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)

# Unit tests: one program per module, built with the sanitizers.
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/san/tests/%,$(UNIT_SRC))
$(BUILD)/san/tests/%: tests/unit/%.c tests/unit/check.h $(BUILD)/san/libferret.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests/unit $(WARN) $(SAN_FLAGS) -o $@ $< $(BUILD)/san/libferret.a $(LDLIBS)

# Fuzz targets replay their corpus as ordinary tests (gcc, sanitizers, no libFuzzer).
FUZZ_REPLAY_BIN := $(patsubst tests/fuzz/%.c,$(BUILD)/san/fuzz/%,$(FUZZ_SRC))
$(BUILD)/san/fuzz/%: tests/fuzz/%.c tests/fuzz/replay.c $(BUILD)/san/libferret.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(WARN) $(SAN_FLAGS) -o $@ $< tests/fuzz/replay.c $(BUILD)/san/libferret.a $(LDLIBS)

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "unit: $$t"; ASAN_OPTIONS=detect_leaks=1 $$t; done

fuzz-replay: $(FUZZ_REPLAY_BIN)
	@set -e; for t in $(FUZZ_REPLAY_BIN); do n=$$(basename $$t); n=$${n#fuzz_}; \
	  echo "fuzz-replay: $$n"; $$t tests/fuzz/corpus/$$n; done

# libFuzzer runs (clang): the library is compiled once with the fuzzing instrumentation, each
# target links it. `make fuzz` runs every target FUZZ_SECONDS (default 60, the longer run
# docs/FUZZING.md describes); `make test` runs each briefly (fuzz-short). New crashes are
# written into the target's corpus directory, so the replay keeps them as regression tests.
FUZZ_SECONDS ?= 60
FUZZ_SHORT_SECONDS ?= 8
FUZZ_SHORT_SEED ?= 1
FUZZ_FLAGS := -O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
FUZZ_LINK := -fsanitize=fuzzer,address,undefined
fuzz_OBJ := $(patsubst %.c,$(BUILD)/obj/fuzz/%.o,$(CORE_SRC))
$(BUILD)/obj/fuzz/%.o: %.c
	@mkdir -p $(@D)
	$(CLANG) $(CPPFLAGS) -std=c11 $(FUZZ_FLAGS) -c $< -o $@
$(BUILD)/fuzz/libferret.a: $(fuzz_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^
$(BUILD)/fuzz/%: tests/fuzz/fuzz_%.c $(BUILD)/fuzz/libferret.a
	$(CLANG) $(CPPFLAGS) -std=c11 $(FUZZ_FLAGS) $(FUZZ_LINK) -o $@ $< $(BUILD)/fuzz/libferret.a $(LDLIBS)
-include $(fuzz_OBJ:.o=.d)
FUZZ_BIN := $(patsubst tests/fuzz/fuzz_%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))

define run_fuzzers
	@set -e; for b in $(FUZZ_BIN); do n=$$(basename $$b); echo "fuzz: $$n ($(1)s)"; \
	  mkdir -p tests/fuzz/corpus/$$n $(BUILD)/fuzz/new-$$n; \
	  $$b -max_total_time=$(1) $(2) -print_final_stats=0 -artifact_prefix=tests/fuzz/corpus/$$n/ \
	    $(BUILD)/fuzz/new-$$n tests/fuzz/corpus/$$n 2>$(BUILD)/fuzz/$$n.log || \
	    { tail -40 $(BUILD)/fuzz/$$n.log; exit 1; }; \
	  grep -h "^Done" $(BUILD)/fuzz/$$n.log || true; done
endef
fuzz: $(FUZZ_BIN)
	$(call run_fuzzers,$(FUZZ_SECONDS))
# CI's short run starts from a fixed seed, so a failure there comes from a change, not
# from luck; `make fuzz` explores from a new seed every time.
fuzz-short: $(FUZZ_BIN)
	$(call run_fuzzers,$(FUZZ_SHORT_SECONDS),-seed=$(FUZZ_SHORT_SEED))

# Test-only: a library that reads its host interpreter's stack through pyself.h.
$(BUILD)/pyself_probe.so: tests/targets/pyself_probe.c $(BUILD)/rel/libferret.a
	$(CC) $(CPPFLAGS) $(WARN) $(REL_FLAGS) -shared -o $@ $< $(BUILD)/rel/libferret.a -ldl
E2E_DEPS += $(BUILD)/pyself_probe.so
# Test-only: a process holding a libpython as the dynamic loader first maps it.
$(BUILD)/half_loaded: tests/targets/half_loaded.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(WARN) -O1 -g -o $@ $<
E2E_DEPS += $(BUILD)/half_loaded

-include mk/*.mk

# End-to-end tests in two phases: the tests not marked `timing` first, E2E_JOBS at a time
# (pytest-xdist: most of their time is spent waiting for the programs they start), then the
# `timing` ones, which count samples or measure time, one at a time with nothing beside them
# (tests/e2e/conftest.py). E2E_JOBS=1 runs the first phase without xdist. pytest's status 5
# (nothing selected) is no failure: PYTEST_ARGS="-k NAME" may leave one phase empty.
E2E_JOBS ?= 3
E2E_PYTEST = FERRET=$(abspath $(BUILD)/san/ferret) $(PYTEST) -q tests/e2e $(PYTEST_ARGS)
E2E_TIMING = $(E2E_PYTEST) -m timing || [ $$? = 5 ]
e2e-parallel: $(BUILD)/san/ferret $(E2E_DEPS)
ifneq ($(filter-out 0 1,$(E2E_JOBS)),)
	@$(PYTEST) -p xdist --version >/dev/null 2>&1 || \
	  { echo "e2e: pytest-xdist is missing: run .ci/deps, or make E2E_JOBS=1" >&2; exit 1; }
	$(E2E_PYTEST) -m "not timing" -n $(E2E_JOBS) || [ $$? = 5 ]
else
	$(E2E_PYTEST) -m "not timing" || [ $$? = 5 ]
endif

e2e: e2e-parallel
	$(E2E_TIMING)

# The checks that time nothing run side by side, TEST_JOBS make jobs at a time (the builds
# too; `make -jN test` gives its own N), each one's output kept together; then the timing
# tests, alone. The longest, the first e2e phase, is named first so that it starts first;
# bench-tools only shows that the C programs of bench/ still build.
TEST_JOBS ?= 2
test:
	+$(MAKE) $(if $(filter --jobserver%,$(MAKEFLAGS)),,-j$(TEST_JOBS)) --output-sync=target \
	  --no-print-directory e2e-parallel unit fuzz-replay fuzz-short layouts-check bench-tools
	$(E2E_TIMING)

# Per-CPython layouts, generated from each installed interpreter's own headers.
layouts:
	tools/genlayout/genlayout.sh src/layouts

layouts-check:
	@tools/genlayout/genlayout.sh $(BUILD)/layouts-check >/dev/null && \
	  for f in $(BUILD)/layouts-check/py3_*.h; do diff -u src/layouts/$$(basename $$f) $$f; done && \
	  echo "layouts-check: generated layouts match the committed ones"

demo: $(BUILD)/ferret
	$(BUILD)/ferret run -- python3 examples/hotspots.py

# Programs the benchmark scripts in bench/ use (release build).
BENCH_TOOLS := $(BUILD)/bench/sample_cost $(BUILD)/bench/waker $(BUILD)/bench/syscall_cost
$(BUILD)/bench/%: bench/%.c $(BUILD)/rel/libferret.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(WARN) $(REL_FLAGS) -o $@ $< $(BUILD)/rel/libferret.a $(LDLIBS)
bench-tools: $(BENCH_TOOLS)

bench: $(BUILD)/ferret bench-tools
	@echo "see bench/README.md: each script there prints its own table"

format:
	clang-format -i $$(git ls-files 'src/*.c' 'src/*.h' 'tests/*.c' 'tests/*.h' 'tools/*.c')

clean:
	rm -rf $(BUILD)
