/* SPDX-License-Identifier: MIT */
/* test_proc.c: a thread's scheduler state as the sampler reads it from /proc/PID/task/TID/stat
 * and schedstat, here from files whose text the test writes: when the costly stat file is read
 * again, and when a thread counts as still asleep (and its stack as unchanged). */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "sampler/proc.h"

static void
put(int fd, const char *text)
{
    CHECK(ftruncate(fd, 0) == 0);
    CHECK(pwrite(fd, text, strlen(text), 0) == (ssize_t)strlen(text));
}

static void
stat_text(ThreadStat *s, char state)
{
    /* a command name with a space and a parenthesis: the state follows the last ')' */
    char buf[128];
    snprintf(buf, sizeof buf, "4242 (we (ird) n) %c 1 4242 4242 0 -1 4194560 0 0 0 0\n", state);
    put(s->fd, buf);
}

static ThreadStat
fake(void)
{
    ThreadStat s = {.fd = memfd_create("stat", 0), .sched_fd = memfd_create("schedstat", 0)};
    CHECK(s.fd >= 0 && s.sched_fd >= 0);
    s.last = -1;
    s.last_run_ns = s.last_switches = UINT64_MAX;
    return s;
}

/* A thread whose stat says state and whose schedstat says sched. */
static ThreadStat
fake_as(char state, const char *sched)
{
    ThreadStat s = fake();
    stat_text(&s, state);
    put(s.sched_fd, sched);
    return s;
}

static void
test_asleep_until_it_runs(void)
{
    ThreadStat s = fake_as('S', "5000 700 3\n");
    CHECK(!proc_thread_still_asleep(&s)); /* nothing read yet */
    CHECK_EQ_INT(proc_thread_running(&s, 0), 0);
    CHECK(proc_thread_still_asleep(&s));
    /* still asleep: stat is not read again (a stat saying R now is not looked at) */
    stat_text(&s, 'R');
    CHECK_EQ_INT(proc_thread_running(&s, 0), 0);
    CHECK(proc_thread_still_asleep(&s));

    /* scheduled in since: stat is read again */
    put(s.sched_fd, "5100 700 4\n");
    CHECK(!proc_thread_still_asleep(&s));
    CHECK_EQ_INT(proc_thread_running(&s, 0), 1);
    CHECK(!proc_thread_still_asleep(&s));
    proc_thread_stat_close(&s);
}

static void
test_cpu_time_without_a_switch_is_running(void)
{
    /* stat said S while the thread was still on its CPU; woken before it switched out, it ran
     * on: the count of times scheduled in is unchanged, its CPU time is not */
    ThreadStat s = fake_as('S', "5000 700 3\n");
    CHECK_EQ_INT(proc_thread_running(&s, 0), 0);
    put(s.sched_fd, "9000 700 3\n");
    CHECK(!proc_thread_still_asleep(&s));
    stat_text(&s, 'R');
    CHECK_EQ_INT(proc_thread_running(&s, 0), 1);
    proc_thread_stat_close(&s);
}

static void
test_seen_running(void)
{
    /* the sampler saw the stack change: the thread ran, whatever schedstat says */
    ThreadStat s = fake_as('S', "5000 700 3\n");
    CHECK_EQ_INT(proc_thread_running(&s, 0), 0);
    CHECK(proc_thread_still_asleep(&s));
    proc_thread_ran(&s);
    CHECK(!proc_thread_still_asleep(&s));
    CHECK_EQ_INT(proc_thread_running(&s, 0), 0); /* read again: still S */
    CHECK(proc_thread_still_asleep(&s));
    proc_thread_stat_close(&s);
}

static void
test_a_new_reading_needs_its_own_walk(void)
{
    /* the sampler's order at each moment: must_walk?, the walk (if so), then the state */
    ThreadStat s = fake_as('S', "5000 700 3\n");
    uint32_t walked_at = 0;
    CHECK(proc_thread_must_walk(&s, &walked_at, 0)); /* nothing read yet */
    CHECK_EQ_INT(proc_thread_running(&s, 0), 0);     /* reading 1: asleep (waiting for the GIL) */
    /* next moment: asleep since reading 1, but its stack was read before it: walk once more */
    CHECK(proc_thread_must_walk(&s, &walked_at, 0));
    /* that walk still saw the old stack; then the thread got the GIL, ran, and fell asleep
     * elsewhere before the state was read: reading 2, asleep, with new counts */
    put(s.sched_fd, "9000 800 5\n");
    CHECK_EQ_INT(proc_thread_running(&s, 0), 0);
    /* the stack it sleeps in has not been read yet: it must be, once */
    CHECK(proc_thread_must_walk(&s, &walked_at, 0));
    CHECK_EQ_INT(proc_thread_running(&s, 0), 0); /* nothing changed: no new reading */
    CHECK(!proc_thread_must_walk(&s, &walked_at, 0));
    CHECK(!proc_thread_must_walk(&s, &walked_at, 0));
    /* it wakes: walked again until a reading says asleep and a walk follows it */
    put(s.sched_fd, "9500 800 6\n");
    CHECK(proc_thread_must_walk(&s, &walked_at, 0));
    CHECK_EQ_INT(proc_thread_running(&s, 0), 0);
    CHECK(proc_thread_must_walk(&s, &walked_at, 0));
    CHECK(!proc_thread_must_walk(&s, &walked_at, 0));
    proc_thread_stat_close(&s);
}

static void
test_one_schedstat_reading_per_moment(void)
{
    /* the sampler at each moment: must_walk? (a schedstat read, for a thread asleep at its last
     * reading only), the walk, then the state, which reads schedstat again only if it ran */
    ThreadStat s = fake_as('R', "5000 700 3\n");
    uint32_t walked_at = 0;
    CHECK_EQ_INT(proc_thread_running(&s, 1), 1);
    CHECK_EQ_INT(s.sched_reads, 1);
    /* running at its last reading: it must be walked, and schedstat cannot say otherwise */
    CHECK(proc_thread_must_walk(&s, &walked_at, 2));
    CHECK_EQ_INT(s.sched_reads, 1);
    stat_text(&s, 'S');
    CHECK_EQ_INT(proc_thread_running(&s, 2), 0);
    CHECK_EQ_INT(s.sched_reads, 2);
    /* asleep since: walked once more, and the state at the same moment is must_walk's */
    CHECK(proc_thread_must_walk(&s, &walked_at, 3));
    CHECK_EQ_INT(s.sched_reads, 3);
    CHECK_EQ_INT(proc_thread_running(&s, 3), 0);
    CHECK_EQ_INT(s.sched_reads, 3);
    /* a reading of another moment is not taken */
    CHECK(!proc_thread_must_walk(&s, &walked_at, 4));
    CHECK_EQ_INT(proc_thread_running(&s, 5), 0);
    CHECK_EQ_INT(s.sched_reads, 5);
    /* it ran: the state reads schedstat again, as late as can be, so that the rest of the run
     * must_walk's reading caught does not look like a new run at the next moment */
    put(s.sched_fd, "6000 700 4\n");
    CHECK(proc_thread_must_walk(&s, &walked_at, 6));
    put(s.sched_fd, "7000 700 5\n");
    CHECK_EQ_INT(proc_thread_running(&s, 6), 0);
    CHECK_EQ_INT(s.sched_reads, 7);
    CHECK(proc_thread_still_asleep(&s));
    proc_thread_ran(&s); /* a changed stack: not asleep, and nothing to read for it */
    CHECK(proc_thread_must_walk(&s, &walked_at, 7));
    CHECK_EQ_INT(s.sched_reads, 8);
    proc_thread_stat_close(&s);
}

static void
test_no_scheduler_statistics(void)
{
    /* a kernel without them prints zeros, which never change: never still asleep */
    ThreadStat s = fake_as('S', "0 0 0\n");
    CHECK_EQ_INT(proc_thread_running(&s, 0), 0);
    CHECK(!proc_thread_still_asleep(&s));
    const char *odd[] = {"garbage\n", "5000 700\n", "5000 x 3\n", "99999999999999999999 0 3\n", ""};
    for (size_t i = 0; i < ARRAY_LEN(odd); i++) {
        put(s.sched_fd, odd[i]);
        CHECK_EQ_INT(proc_thread_running(&s, 0), 0);
        CHECK(!proc_thread_still_asleep(&s));
    }
    close(s.sched_fd);
    s.sched_fd = -1; /* no schedstat at all */
    CHECK_EQ_INT(proc_thread_running(&s, 0), 0);
    CHECK(!proc_thread_still_asleep(&s));
    proc_thread_stat_close(&s);
}

static void
test_dead_and_odd(void)
{
    ThreadStat s = fake();
    put(s.sched_fd, "5000 700 3\n");
    stat_text(&s, 'Z');
    CHECK_EQ_INT(proc_thread_running(&s, 0), 0);
    CHECK(s.dead);
    CHECK(proc_thread_dead(&s));
    stat_text(&s, 'S');
    CHECK(!proc_thread_dead(&s));
    put(s.sched_fd, "5200 700 4\n"); /* it ran: stat is read again */
    put(s.fd, "4242 (no closing parenthesis S 1\n");
    CHECK_EQ_INT(proc_thread_running(&s, 0), -1);
    CHECK(!proc_thread_still_asleep(&s));
    put(s.fd, "");
    CHECK_EQ_INT(proc_thread_running(&s, 0), -1);
    proc_thread_stat_close(&s);
    CHECK_EQ_INT(proc_thread_running(&s, 0), -1); /* closed: unknown */
}

int
main(void)
{
    test_asleep_until_it_runs();
    test_cpu_time_without_a_switch_is_running();
    test_seen_running();
    test_a_new_reading_needs_its_own_walk();
    test_one_schedstat_reading_per_moment();
    test_no_scheduler_statistics();
    test_dead_and_odd();
    return check_report();
}
