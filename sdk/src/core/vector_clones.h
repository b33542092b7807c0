// Private to libtrl_sdk: TRL_VECTOR_CLONES compiles a hot loop for AVX-512, AVX2 and the baseline x86-64
// and picks one when the library loads (GCC's target_clones), so the auto-vectorised loops use the machine's
// widest vectors while the build stays portable. Elsewhere (Clang, other CPUs) it compiles the loop once.
#pragma once

#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define TRL_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define TRL_VECTOR_CLONES
#endif
