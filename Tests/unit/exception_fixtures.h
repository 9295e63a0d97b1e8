/*
 * exception_fixtures.h — the call chain the exception tests throw through:
 * middle() calls thrower(3) (a tail call at -O2), which recurses to
 * thrower(0) and throws; after() is a call made afterwards. Each test builds them its own way
 * (exception_frames.cpp with -finstrument-functions, ftrace_exceptions.cpp
 * with pads). C++.
 */
#ifndef EXCEPTION_FIXTURES_H
#define EXCEPTION_FIXTURES_H

#include <stdexcept>

#define NOINLINE __attribute__((noinline))
#define FN(fn) reinterpret_cast<const void *>(fn)

static volatile int sink;

extern "C" {
NOINLINE void thrower(int n)
{
    if (n == 0) throw std::runtime_error("boom");
    sink++;
    thrower(n - 1);
    sink++;
}
NOINLINE void middle(void) { thrower(3); }
NOINLINE void after(void) { sink++; }
}

#endif
