# mk/ext.mk: the _ferret CPython extension (src/ext), built for every interpreter that
# tools/pyext/pythons.sh finds (each pyenv 3.9-3.13 and the system python3; override with
# PYTHONS="..."), into a self-contained library tree next to the ferret binary:
#   build/lib/ferret/                 release (build/san/lib/ferret/: sanitizer build)
#     python/ferret/*.py              the `import ferret` package
#     python/ferret/_ext/<tag>/_ferret<EXT_SUFFIX>, python.txt    one per interpreter
#     inject/sitecustomize.py         the shim `ferret trace` puts first on PYTHONPATH
# `ferret` looks for it at <its dir>/lib/ferret, then <its dir>/../lib/ferret (installed).
# `make install PREFIX=/usr/local` copies build/ferret and build/lib/ferret there.

EXT_SRC := $(wildcard src/ext/*.c)
PY_PKG_SRC := $(wildcard python/ferret/*.py)
INJECT_SRC := $(wildcard python/inject/*.py)
EXT_CFG := $(BUILD)/ext/pythons.mk

$(EXT_CFG): tools/pyext/pythons.sh
	tools/pyext/pythons.sh $@
-include $(EXT_CFG)

# $(call ext_build,VARIANT,LIBDIR,FLAGS_VAR,TAG): one interpreter's extension in one variant
# (FLAGS_VAR names the flags: their value has commas, which call would split).
define ext_build
$(1)_EXT_OBJ_$(4) := $$(patsubst %.c,$(BUILD)/obj/ext-$(1)/$(4)/%.o,$$(EXT_SRC))
$(BUILD)/obj/ext-$(1)/$(4)/%.o: %.c $(EXT_CFG)
	@mkdir -p $$(@D)
	$$(CC) $$(CPPFLAGS) -isystem $$(EXT_INC_$(4)) $$(WARN) $$($(3)) -c $$< -o $$@
$(2)/python/ferret/_ext/$(4)/_ferret$$(EXT_SUFFIX_$(4)): $$($(1)_EXT_OBJ_$(4)) $(BUILD)/$(1)/libferret.a
	@mkdir -p $$(@D)
	$$(CC) $$($(3)) -shared -Wl,--exclude-libs,ALL -o $$@.tmp $$($(1)_EXT_OBJ_$(4)) \
	  $(BUILD)/$(1)/libferret.a -lz -lm -lpthread
	@test "$$$$(nm -D --defined-only $$@.tmp | awk '$$$$2 == "T" {print $$$$3}')" = PyInit__ferret || \
	  { echo "ext.mk: $$@ must export only PyInit__ferret" >&2; rm -f $$@.tmp; exit 1; }
	mv $$@.tmp $$@
	echo "$$(EXT_VERSION_$(4)) $$(EXT_EXE_$(4))" > $$(@D)/python.txt
-include $$($(1)_EXT_OBJ_$(4):.o=.d)
$(1)_EXT_LIBS += $(2)/python/ferret/_ext/$(4)/_ferret$$(EXT_SUFFIX_$(4))
endef

# $(call ext_tree,VARIANT,LIBDIR,FLAGS_VAR): every interpreter plus the Python files.
define ext_tree
$$(foreach tag,$$(EXT_TAGS),$$(eval $$(call ext_build,$(1),$(2),$(3),$$(tag))))
$(1)_PY_FILES := $$(patsubst python/%,$(2)/python/%,$$(PY_PKG_SRC)) \
                 $$(patsubst python/inject/%,$(2)/inject/%,$$(INJECT_SRC))
$(2)/python/ferret/%.py: python/ferret/%.py
	@mkdir -p $$(@D)
	cp $$< $$@
$(2)/inject/%.py: python/inject/%.py
	@mkdir -p $$(@D)
	cp $$< $$@
ext-$(1): $$($(1)_EXT_LIBS) $$($(1)_PY_FILES)
endef

$(eval $(call ext_tree,rel,$(BUILD)/lib/ferret,REL_FLAGS))
$(eval $(call ext_tree,san,$(BUILD)/san/lib/ferret,SAN_FLAGS))

.PHONY: ext-rel ext-san install
all: ext-rel
san: ext-san
E2E_DEPS += ext-san

PREFIX ?= /usr/local
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/ferret
	install -m 755 $(BUILD)/ferret $(DESTDIR)$(PREFIX)/bin/ferret
	cp -R $(BUILD)/lib/ferret/. $(DESTDIR)$(PREFIX)/lib/ferret/

# tests/unit/test_tracer.c and test_inject.c compile the code they test into themselves
# (the extension's Python-free core; cli/inject.c): rebuild them when it changes.
-include $(BUILD)/san/tests/test_tracer.d $(BUILD)/san/tests/test_inject.d
