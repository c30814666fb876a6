# mk/mem.mk: `ferret mem`'s preload library and the unit tests of its pieces.
#   build/libferret_mem.so   loaded into the target with LD_PRELOAD (release flags only: a
#                            sanitizer runtime cannot be preloaded into an arbitrary python)
#   build/san/libferret_memcore.a   src/mem/ minus the interposer, for the unit tests
# The objects reuse the variant rules of the Makefile (build/obj/{rel,san}/%.o).

MEM_SRC      := $(wildcard src/mem/*.c)
MEM_HOOK_SRC := src/mem/memhook.c
MEM_CORE_SRC := $(filter-out $(MEM_HOOK_SRC),$(MEM_SRC))
mem_rel_OBJ  := $(patsubst %.c,$(BUILD)/obj/rel/%.o,$(MEM_SRC))
mem_san_OBJ  := $(patsubst %.c,$(BUILD)/obj/san/%.o,$(MEM_CORE_SRC))
-include $(mem_rel_OBJ:.o=.d) $(mem_san_OBJ:.o=.d)

MEM_LIB := $(BUILD)/libferret_mem.so
# -z defs: every symbol resolved at build time (the target must not fail to load us);
# -z nodelete: a stray dlclose must never unmap hooks the allocator still points to.
$(MEM_LIB): $(mem_rel_OBJ) $(BUILD)/rel/libferret.a
	$(CC) -shared $(REL_FLAGS) -Wl,-z,defs -Wl,-z,nodelete -o $@ $(mem_rel_OBJ) \
	  $(BUILD)/rel/libferret.a -ldl -lpthread -lm

$(BUILD)/san/libferret_memcore.a: $(mem_san_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

# Unit tests of the tracker's pieces link the core library too (a shorter stem wins over
# the Makefile's generic test rule).
$(BUILD)/san/tests/test_mem_%: tests/unit/test_mem_%.c tests/unit/check.h \
    $(BUILD)/san/libferret_memcore.a $(BUILD)/san/libferret.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests/unit $(WARN) $(SAN_FLAGS) -o $@ $< \
	  $(BUILD)/san/libferret_memcore.a $(BUILD)/san/libferret.a $(LDLIBS)

all: $(MEM_LIB)
E2E_DEPS += $(MEM_LIB)
