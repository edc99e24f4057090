// Preprocessor helpers for pivot's macros. Not public API.
#pragma once

#define PIVOT_INTERNAL_CAT_(a, b) a##b
#define PIVOT_INTERNAL_CAT(a, b) PIVOT_INTERNAL_CAT_(a, b)
#define PIVOT_INTERNAL_STR_(x) #x
#define PIVOT_INTERNAL_STR(x) PIVOT_INTERNAL_STR_(x)

// Number of arguments, 0..24.
#define PIVOT_INTERNAL_COUNT(...)                                                                         \
  PIVOT_INTERNAL_COUNT_(__VA_OPT__(__VA_ARGS__, ) 24, 23, 22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, \
                        10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0)
#define PIVOT_INTERNAL_COUNT_(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12, _13, _14, _15, _16, _17, \
                              _18, _19, _20, _21, _22, _23, _24, n, ...)                                  \
  n

// PIVOT_INTERNAL_FOR_EACH(M, a, b, c) -> M(0, a) M(1, b) M(2, c); up to 24 arguments.
#define PIVOT_INTERNAL_FOR_EACH(M, ...) \
  PIVOT_INTERNAL_CAT(PIVOT_INTERNAL_FE_, PIVOT_INTERNAL_COUNT(__VA_ARGS__))(M, 0, __VA_ARGS__)
#define PIVOT_INTERNAL_FE_0(M, i, ...)
#define PIVOT_INTERNAL_FE_1(M, i, a) M(i, a)
#define PIVOT_INTERNAL_FE_2(M, i, a, ...) M(i, a) PIVOT_INTERNAL_FE_1(M, i + 1, __VA_ARGS__)
#define PIVOT_INTERNAL_FE_3(M, i, a, ...) M(i, a) PIVOT_INTERNAL_FE_2(M, i + 1, __VA_ARGS__)
#define PIVOT_INTERNAL_FE_4(M, i, a, ...) M(i, a) PIVOT_INTERNAL_FE_3(M, i + 1, __VA_ARGS__)
#define PIVOT_INTERNAL_FE_5(M, i, a, ...) M(i, a) PIVOT_INTERNAL_FE_4(M, i + 1, __VA_ARGS__)
#define PIVOT_INTERNAL_FE_6(M, i, a, ...) M(i, a) PIVOT_INTERNAL_FE_5(M, i + 1, __VA_ARGS__)
#define PIVOT_INTERNAL_FE_7(M, i, a, ...) M(i, a) PIVOT_INTERNAL_FE_6(M, i + 1, __VA_ARGS__)
#define PIVOT_INTERNAL_FE_8(M, i, a, ...) M(i, a) PIVOT_INTERNAL_FE_7(M, i + 1, __VA_ARGS__)
#define PIVOT_INTERNAL_FE_9(M, i, a, ...) M(i, a) PIVOT_INTERNAL_FE_8(M, i + 1, __VA_ARGS__)
#define PIVOT_INTERNAL_FE_10(M, i, a, ...) M(i, a) PIVOT_INTERNAL_FE_9(M, i + 1, __VA_ARGS__)
#define PIVOT_INTERNAL_FE_11(M, i, a, ...) M(i, a) PIVOT_INTERNAL_FE_10(M, i + 1, __VA_ARGS__)
#define PIVOT_INTERNAL_FE_12(M, i, a, ...) M(i, a) PIVOT_INTERNAL_FE_11(M, i + 1, __VA_ARGS__)
#define PIVOT_INTERNAL_FE_13(M, i, a, ...) M(i, a) PIVOT_INTERNAL_FE_12(M, i + 1, __VA_ARGS__)
#define PIVOT_INTERNAL_FE_14(M, i, a, ...) M(i, a) PIVOT_INTERNAL_FE_13(M, i + 1, __VA_ARGS__)
#define PIVOT_INTERNAL_FE_15(M, i, a, ...) M(i, a) PIVOT_INTERNAL_FE_14(M, i + 1, __VA_ARGS__)
#define PIVOT_INTERNAL_FE_16(M, i, a, ...) M(i, a) PIVOT_INTERNAL_FE_15(M, i + 1, __VA_ARGS__)
#define PIVOT_INTERNAL_FE_17(M, i, a, ...) M(i, a) PIVOT_INTERNAL_FE_16(M, i + 1, __VA_ARGS__)
#define PIVOT_INTERNAL_FE_18(M, i, a, ...) M(i, a) PIVOT_INTERNAL_FE_17(M, i + 1, __VA_ARGS__)
#define PIVOT_INTERNAL_FE_19(M, i, a, ...) M(i, a) PIVOT_INTERNAL_FE_18(M, i + 1, __VA_ARGS__)
#define PIVOT_INTERNAL_FE_20(M, i, a, ...) M(i, a) PIVOT_INTERNAL_FE_19(M, i + 1, __VA_ARGS__)
#define PIVOT_INTERNAL_FE_21(M, i, a, ...) M(i, a) PIVOT_INTERNAL_FE_20(M, i + 1, __VA_ARGS__)
#define PIVOT_INTERNAL_FE_22(M, i, a, ...) M(i, a) PIVOT_INTERNAL_FE_21(M, i + 1, __VA_ARGS__)
#define PIVOT_INTERNAL_FE_23(M, i, a, ...) M(i, a) PIVOT_INTERNAL_FE_22(M, i + 1, __VA_ARGS__)
#define PIVOT_INTERNAL_FE_24(M, i, a, ...) M(i, a) PIVOT_INTERNAL_FE_23(M, i + 1, __VA_ARGS__)
