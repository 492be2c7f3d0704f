/* SPDX-License-Identifier: MIT */
/*
 * Costs in proportion to what exists: a 16 TiB mapping with three pages
 * touched is recorded as three pages (snapshots list only pages that
 * exist), an mm that maps nothing holds no page table, scenario files and
 * lines are bounded; and scn_compare treats a page one snapshot leaves out
 * as not populated, so a sparse trace still diverges from a dense one
 * exactly where the pages differ.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include "anonvm/anonvm.h"
#include "scenario/scenario.h"

#define X	0x140000000000ULL
#define PG	SCN_PAGE_SIZE

static struct scenario *parse(const char *text)
{
	struct scenario *s;
	char err[512];

	if (scn_parse_string("t.scn", text, &s, err, sizeof(err)))
		fail_msg("%s", err);
	return s;
}

static void run_huge(bool payload_none)
{
	struct scenario *s = parse(
		"spawn P\n"
		"P mmap 0x100000000000 4294967296 rw\n"	/* 16 TiB */
		"P write 0x100000000000 1\n"
		"P fork C\n"
		"C write 0x180000000000 2\n"
		"P read 0x1ffffffff000\n"		/* the zero page */
		"check\n"
		"P mprotect 0x100000000000 2147483648 r\n"
		"C munmap 0x100000000000 4294967296\n");
	struct scn_lib_opts o = { .payload_none = payload_none,
				  .overcommit_pages = ~0UL };	/* as mode 1 */
	struct scn_trace t;
	char err[256];

	assert_int_equal(scn_run_lib(s, &o, &t, err, sizeof(err)), 0);
	assert_string_equal(t.failure, "");
	assert_int_equal(t.nsnaps, 2);
	/* at the check: P has its page and the zero page, C its own page
	   and the shared one */
	assert_int_equal(t.snaps[0].nprocs, 2);
	assert_int_equal(t.snaps[0].procs[0].nvmas, 1);
	assert_int_equal(t.snaps[0].procs[0].npages, 2);
	assert_int_equal(t.snaps[0].procs[1].npages, 2);
	assert_int_equal(t.snaps[0].procs[1].pages[1].addr, 0x180000000000ULL);
	assert_int_equal(t.snaps[0].procs[1].pages[1].state, SCN_PTE_PRESENT);
	/* at the end: P split in two, C empty */
	assert_int_equal(t.snaps[1].procs[0].nvmas, 2);
	assert_int_equal(t.snaps[1].procs[0].npages, 2);
	assert_int_equal(t.snaps[1].procs[1].nvmas, 0);
	assert_int_equal(t.snaps[1].procs[1].npages, 0);
	scn_trace_free(&t);
	scn_free(s);
}

static void test_huge_mapping(void **state)
{
	run_huge(false);
	run_huge(true);
}

/* Page tables exist only for what is mapped and touched. */
static void test_lazy_tables(void **state)
{
	struct avm_config cfg;
	struct avm_sys *sys;
	struct avm_mm *mm[100];
	struct avm_stats st;
	char msg[256];
	unsigned char b = 7;

	avm_config_default(&cfg);
	cfg.node_frames = 1024;
	cfg.swap_slots = 0;
	cfg.overcommit_pages = ~0UL;	/* huge mappings, few frames */
	assert_int_equal(avm_sys_create(&cfg, &sys), 0);
	for (int i = 0; i < 100; i++)
		assert_int_equal(avm_mm_create(sys, &mm[i]), 0);
	assert_int_equal(avm_mmap(mm[0], X, 1UL << 40, AVM_PROT_READ |
				  AVM_PROT_WRITE, AVM_MAP_FIXED_NOREPLACE,
				  NULL), 0);
	avm_stats(sys, &st);
	assert_int_equal(st.page_tables, 0);
	assert_int_equal(avm_write(mm[0], X, &b, 1), 0);
	avm_stats(sys, &st);
	assert_int_equal(st.page_tables, 4);	/* one per level */
	assert_int_equal(avm_check(sys, msg, sizeof(msg)), 0);
	for (int i = 0; i < 100; i++)
		avm_exit(mm[i]);
	avm_stats(sys, &st);
	assert_int_equal(st.page_tables, 0);
	avm_sys_destroy(sys);
}

/* avm_next_page finds exactly the entries there are. */
static void test_next_page(void **state)
{
	struct avm_config cfg;
	struct avm_sys *sys;
	struct avm_mm *mm;
	unsigned long a = 0;
	unsigned char b = 1;

	avm_config_default(&cfg);
	cfg.node_frames = 1024;
	cfg.swap_slots = 0;
	cfg.overcommit_pages = ~0UL;	/* huge mappings, few frames */
	assert_int_equal(avm_sys_create(&cfg, &sys), 0);
	assert_int_equal(avm_mm_create(sys, &mm), 0);
	assert_int_equal(avm_next_page(mm, 0, ~0UL, &a), -ENOENT);
	assert_int_equal(avm_mmap(mm, X, 1UL << 36, AVM_PROT_READ |
				  AVM_PROT_WRITE, AVM_MAP_FIXED_NOREPLACE,
				  NULL), 0);
	assert_int_equal(avm_next_page(mm, X, X + (1UL << 36), &a), -ENOENT);
	assert_int_equal(avm_write(mm, X + 5 * PG, &b, 1), 0);
	assert_int_equal(avm_write(mm, X + (1UL << 35), &b, 1), 0);
	assert_int_equal(avm_next_page(mm, X, X + (1UL << 36), &a), 0);
	assert_int_equal(a, X + 5 * PG);
	assert_int_equal(avm_next_page(mm, X + 5 * PG + 1, ~0UL, &a), 0);
	assert_int_equal(a, X + 5 * PG);	/* addr rounds down */
	assert_int_equal(avm_next_page(mm, X + 6 * PG, ~0UL, &a), 0);
	assert_int_equal(a, X + (1UL << 35));
	assert_int_equal(avm_next_page(mm, X + 6 * PG, X + (1UL << 35), &a),
			 -ENOENT);
	avm_exit(mm);
	avm_sys_destroy(sys);
}

/* ---- comparing sparse and dense snapshots ------------------------------- */

static void one_snap(struct scn_trace *t, const char *exec, int stmt,
		     uint64_t npages, const struct scn_page *pages, size_t n)
{
	struct scn_vma v = { .start = X, .end = X + npages * PG,
			     .prot = SCN_PROT_RW };
	struct scn_snapshot *sn;
	struct scn_proc_snap *p;
	struct scn_result r = { .value = -1 };

	scn_trace_init(t, exec);
	for (int i = 0; i < stmt; i++)
		assert_int_equal(scn_trace_add_result(t, &r), 0);
	sn = scn_trace_add_snapshot(t, stmt);
	assert_non_null(sn);
	p = scn_snapshot_add_proc(sn, 0);
	assert_non_null(p);
	assert_int_equal(scn_proc_add_vma(p, &v), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(scn_proc_add_page(p, &pages[i]), 0);
}

static void test_compare_sparse(void **state)
{
	static const unsigned char zeroes[PG];
	struct scenario *s = parse("spawn A\nA mmap 0x140000000000 3 rw\n"
				   "A write 0x140000001000 1\n");
	uint64_t zh = scn_hash_page(zeroes);
	struct scn_page none0 = { .addr = X, .has_hash = true, .hash = zh };
	struct scn_page real = { .addr = X + PG, .state = SCN_PTE_PRESENT,
				 .mapcount = 1, .exclusive = true, .frame = 9,
				 .has_hash = true, .hash = 42 };
	struct scn_page none2 = none0, swap2 = none0, data2 = none0;
	struct scn_page dense[3], sparse[1] = { real };
	struct scn_trace a, b;
	char msg[512];

	none2.addr = X + 2 * PG;
	swap2.addr = X + 2 * PG;
	swap2.state = SCN_PTE_SWAP;
	swap2.has_hash = false;
	data2.addr = X + 2 * PG;
	data2.hash = 43;
	dense[0] = none0;
	dense[1] = real;
	dense[2] = none2;
	one_snap(&a, "dense", 3, 3, dense, 3);
	one_snap(&b, "sparse", 3, 3, sparse, 1);
	assert_int_equal(scn_compare(s, &a, &b, SCN_CMP_KERNEL | SCN_CMP_CONTENT,
				     msg, sizeof(msg)), 0);
	assert_int_equal(scn_compare(s, &b, &a, SCN_CMP_KERNEL | SCN_CMP_CONTENT,
				     msg, sizeof(msg)), 0);
	scn_trace_free(&a);

	/* the dense side has a page the sparse side does not list */
	dense[2] = swap2;
	one_snap(&a, "dense", 3, 3, dense, 3);
	assert_int_equal(scn_compare(s, &a, &b, SCN_CMP_KERNEL, msg,
				     sizeof(msg)), 1);
	assert_non_null(strstr(msg, "page 0x140000002000 (swap)"));
	assert_non_null(strstr(msg, "sparse has no page"));
	scn_trace_free(&a);

	dense[2] = real;
	dense[2].addr = X + 2 * PG;
	dense[2].frame = 10;
	one_snap(&a, "dense", 3, 3, dense, 3);
	assert_int_equal(scn_compare(s, &a, &b, SCN_CMP_KERNEL, msg,
				     sizeof(msg)), 1);
	assert_non_null(strstr(msg, "page 0x140000002000 (sharing)"));
	scn_trace_free(&a);

	dense[2] = data2;
	one_snap(&a, "dense", 3, 3, dense, 3);
	assert_int_equal(scn_compare(s, &a, &b, SCN_CMP_CONTENT, msg,
				     sizeof(msg)), 1);
	assert_non_null(strstr(msg, "page 0x140000002000 (content)"));
	scn_trace_free(&a);
	scn_trace_free(&b);
	scn_free(s);
}

/* ---- input bounds --------------------------------------------------------- */

static void test_file_bounds(void **state)
{
	char path[] = "/tmp/anonvm-sparse-XXXXXX", err[512], want[600];
	struct scenario *s;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	/* a file of zeroes one byte over the limit (a sparse file) */
	assert_int_equal(ftruncate(fd, SCN_MAX_FILE + 1), 0);
	close(fd);
	assert_int_equal(scn_parse_file(path, &s, err, sizeof(err)), -EFBIG);
	snprintf(want, sizeof(want), "%s: expected a scenario of at most %d "
		 "bytes, found more", path, SCN_MAX_FILE);
	assert_string_equal(err, want);
	assert_null(s);
	unlink(path);
	assert_int_equal(scn_parse_file("/dev/zero", &s, err, sizeof(err)),
			 -EFBIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_huge_mapping),
		cmocka_unit_test(test_lazy_tables),
		cmocka_unit_test(test_next_page),
		cmocka_unit_test(test_compare_sparse),
		cmocka_unit_test(test_file_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
