// Calls the C functions through include/firekeep_buffers.h (the declarations Swift imports),
// linked against the cdylib: a round trip, a wrong key, a too-small output, an overlap. Built
// and run by scripts/test.d/80-ffi.sh with the system C compiler (gcc: clang's nullability
// qualifiers are defined away). Exits non-zero on the first failed check.
#include <stdio.h>
#include <string.h>

#include "firekeep_buffers.h"

static int failures = 0;
#define CHECK(c) do { if (!(c)) { fprintf(stderr, "failed: %s (line %d)\n", #c, __LINE__); failures++; } } while (0)

static RustCallStatus fresh(void) {
    RustCallStatus s;
    memset(&s, 0, sizeof s);
    return s;
}

static void drop_error(RustCallStatus *s) {
    RustCallStatus free_status = fresh();
    if (s->errorBuf.data) ffi_firekeep_ffi_rustbuffer_free(s->errorBuf, &free_status);
}

int main(void) {
    uint8_t key[32], other[32], plain[10000], back[10000], out[11000];
    for (int i = 0; i < 32; i++) { key[i] = (uint8_t)i; other[i] = (uint8_t)(i + 1); }
    for (int i = 0; i < 10000; i++) plain[i] = (uint8_t)(i * 7);
    RustBuffer none;
    memset(&none, 0, sizeof none);

    RustCallStatus s = fresh();
    uint64_t n = firekeep_ffi_encrypt_into(key, 32, plain, sizeof plain, out, sizeof out, none, &s);
    CHECK(s.code == 0 && n > sizeof plain && n < sizeof out);

    s = fresh();
    uint64_t m = firekeep_ffi_decrypt_into(key, 32, out, n, back, sizeof back, &s);
    CHECK(s.code == 0 && m == sizeof plain && memcmp(plain, back, sizeof plain) == 0);

    s = fresh();
    firekeep_ffi_decrypt_into(other, 32, out, n, back, sizeof back, &s);
    CHECK(s.code == 1 && s.errorBuf.len > 0); // KeyMismatch, lowered
    drop_error(&s);

    s = fresh();
    firekeep_ffi_encrypt_into(key, 32, plain, sizeof plain, out, 100, none, &s);
    CHECK(s.code == 1); // too small
    drop_error(&s);

    s = fresh();
    firekeep_ffi_encrypt_into(key, 32, out, 100, out, sizeof out, none, &s);
    CHECK(s.code == 1); // overlap
    drop_error(&s);

    if (failures) return 1;
    printf("firekeep_buffers.h: C round trip and errors ok\n");
    return 0;
}
