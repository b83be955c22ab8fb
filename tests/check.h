/* check.h — the tiny test harness: every check prints both values on failure, the test
 * counts failures and main returns non-zero if any check failed.
 *   CHECK(cond)  CHECK_EQ_INT(a, b)  CHECK_NEAR(a, b, tol)  CHECK_REL(a, b, rtol, atol)
 *   CHECK_OK(status_expr)   RUN(test_fn)   return check_summary();                    */
#ifndef SCARP_TEST_CHECK_H
#define SCARP_TEST_CHECK_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include "scarp/status.h"

static int check_failures = 0, check_count = 0, check_tests = 0, check_tests_failed = 0;

#define CHECK(cond) do { check_count++; if (!(cond)) { check_failures++; \
    fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECK_MSG(cond, ...) do { check_count++; if (!(cond)) { check_failures++; \
    fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)
#define CHECK_EQ_INT(a, b) do { long long va_ = (long long)(a), vb_ = (long long)(b); check_count++; \
    if (va_ != vb_) { check_failures++; fprintf(stderr, "%s:%d: %s = %lld, expected %s = %lld\n", \
    __FILE__, __LINE__, #a, va_, #b, vb_); } } while (0)
#define CHECK_NEAR(a, b, tol) do { double va_ = (double)(a), vb_ = (double)(b); check_count++; \
    if (!(fabs(va_ - vb_) <= (tol))) { check_failures++; fprintf(stderr, \
    "%s:%d: %s = %.9g, expected %s = %.9g (tol %g)\n", __FILE__, __LINE__, #a, va_, #b, vb_, (double)(tol)); } } while (0)
#define CHECK_REL(a, b, rtol, atol) do { double va_ = (double)(a), vb_ = (double)(b); check_count++; \
    if (!(fabs(va_ - vb_) <= (atol) + (rtol) * fabs(vb_))) { check_failures++; fprintf(stderr, \
    "%s:%d: %s = %.9g, expected %s = %.9g (rtol %g, atol %g)\n", __FILE__, __LINE__, #a, va_, #b, vb_, \
    (double)(rtol), (double)(atol)); } } while (0)
#define CHECK_OK(expr) do { scarp_status st_ = (expr); check_count++; if (st_ != SCARP_OK) { \
    check_failures++; fprintf(stderr, "%s:%d: %s returned %d: %s\n", __FILE__, __LINE__, #expr, \
    (int)st_, scarp_last_error()); } } while (0)
#define CHECK_FAILS(expr, code) do { scarp_status st_ = (expr); check_count++; if (st_ != (code)) { \
    check_failures++; fprintf(stderr, "%s:%d: %s returned %d, expected %d (%s)\n", __FILE__, __LINE__, \
    #expr, (int)st_, (int)(code), scarp_last_error()); } } while (0)

#define RUN(fn) do { int before_ = check_failures; check_tests++; fn(); \
    if (check_failures != before_) { check_tests_failed++; fprintf(stderr, "FAIL %s\n", #fn); } \
    else fprintf(stderr, "ok   %s\n", #fn); } while (0)

static inline int check_summary(void)
{
    fprintf(stderr, "%d checks in %d tests: %d passed, %d failed\n", check_count, check_tests,
            check_tests - check_tests_failed, check_tests_failed);
    return check_failures ? 1 : 0;
}

/* Skips the rest of a test loudly (e.g. when ../shared/data is absent). */
#define SKIP(...) do { fprintf(stderr, "SKIP: "); fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); return; } while (0)

#endif
