"""Ends right after start-up, as a file, with -m, with -c (its source) or from standard input:
`ferret mem` must still take the exit snapshot at Python's atexit (test_mem's
test_a_program_that_ends_at_once_ends_through_atexit)."""
KEEP = bytearray(1 << 20)
