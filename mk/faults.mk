# mk/faults.mk: the fault-injection shim (tests/faults/faultfs.c, see its header) that e2e
# tests preload to make chosen writes fail with ENOSPC or EIO, or opens with EROFS.
FAULTFS := $(BUILD)/faults/libfaultfs.so
$(FAULTFS): tests/faults/faultfs.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -O1 -g -fPIC -shared -o $@ $< -ldl
E2E_DEPS += $(FAULTFS)
