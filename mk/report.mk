# mk/report.mk: issue 3's build pieces: the HTML report's assets embedded as C strings, and
# the test-only profile generator (tests/tools/mkprofile.c) used by e2e tests and bench/.

# tests/tools/mkprofile: sanitizer build for the tests, release build for the benchmark.
$(BUILD)/san/tools/mkprofile: tests/tools/mkprofile.c $(BUILD)/san/libferret.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(WARN) $(SAN_FLAGS) -o $@ $< $(BUILD)/san/libferret.a $(LDLIBS)
$(BUILD)/rel/tools/mkprofile: tests/tools/mkprofile.c $(BUILD)/rel/libferret.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(WARN) $(REL_FLAGS) -o $@ $< $(BUILD)/rel/libferret.a $(LDLIBS)
E2E_DEPS += $(BUILD)/san/tools/mkprofile
