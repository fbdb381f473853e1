// Built into the prebuilt binaries only (the KQC_PORTABLE CMake option): they
// must load wherever the official Node binary does, which needs glibc 2.28,
// libstdc++ GLIBCXX_3.4.21 and CXXABI_1.3.9 (scripts/prebuild.mjs checks the
// binary against the node binary of its architecture). This compiler's
// headers refer to two newer symbols; each gets a hidden local definition
// that does what the library's would.
//
// Nothing is included, so that neither declaration is in sight.

// glibc 2.32: libstdc++'s headers read it to skip atomic operations while a
// process has one thread. 0 says "maybe threaded", so the atomics are always
// used: correct everywhere, and what a build on an older glibc does.
extern "C" __attribute__((visibility("hidden"))) char __libc_single_threaded;
char __libc_single_threaded = 0;

// GLIBCXX_3.4.29 (GCC 11): what std::allocator calls for an impossible size.
// The C++ ABI's own thrower (CXXABI_1.3.8) throws the same exception.
extern "C" [[noreturn]] void __cxa_throw_bad_array_new_length();
namespace std {
[[noreturn]] __attribute__((visibility("hidden"))) void
__throw_bad_array_new_length() {
  __cxa_throw_bad_array_new_length();
}
}  // namespace std
