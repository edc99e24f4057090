// Which sanitizer this translation unit is built with, the same way for both
// compilers: GCC defines __SANITIZE_ADDRESS__ and __SANITIZE_THREAD__, clang
// 14 only answers __has_feature. PIVOT_ASAN and PIVOT_TSAN are 1 or 0.
#pragma once

#if defined(__SANITIZE_ADDRESS__)
#define PIVOT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PIVOT_ASAN 1
#endif
#endif
#ifndef PIVOT_ASAN
#define PIVOT_ASAN 0
#endif

#if defined(__SANITIZE_THREAD__)
#define PIVOT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define PIVOT_TSAN 1
#endif
#endif
#ifndef PIVOT_TSAN
#define PIVOT_TSAN 0
#endif
