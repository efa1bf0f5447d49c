#pragma once
// Plain C interface of the SentencePiece shim library (liblipar_spm.so).
//
// Debian's libsentencepiece bundles a protobuf-lite whose exported symbols clash with the
// libprotobuf that LibTorch loads; linking both into one program crashes during static
// initialisation. The shim is therefore never linked into the engine: tokenizer.cpp loads it with
// dlopen(RTLD_LOCAL | RTLD_DEEPBIND) and resolves these functions by name. Only C types cross the
// boundary, so the shim and the engine may even use different C++ ABIs.
//
// Threading: one handle may be used by one thread at a time; distinct handles are independent.

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LIPAR_SPM_ABI_VERSION 1

typedef struct lipar_spm lipar_spm;

// Returns LIPAR_SPM_ABI_VERSION of the library that was loaded.
int lipar_spm_abi_version(void);

lipar_spm* lipar_spm_create(void);
void lipar_spm_destroy(lipar_spm* spm);

// Loads a SentencePiece model file. Returns 0 on success, -1 on failure (see last_error).
int lipar_spm_load(lipar_spm* spm, const char* model_path);

// Encodes `len` bytes of UTF-8 text into ids (no BOS/EOS added). Writes at most `capacity` ids and
// stores the full count in *count; a caller whose buffer was too small calls again with a larger
// one. Returns 0 on success, -1 on failure.
int lipar_spm_encode(lipar_spm* spm,
                     const char* text,
                     size_t len,
                     int32_t* ids,
                     size_t capacity,
                     size_t* count);

// Decodes ids into UTF-8 text. Writes at most `capacity` bytes (not NUL-terminated) and stores the
// full byte count in *len. Returns 0 on success, -1 on failure.
int lipar_spm_decode(lipar_spm* spm,
                     const int32_t* ids,
                     size_t n,
                     char* text,
                     size_t capacity,
                     size_t* len);

// The piece of one id, copied like lipar_spm_decode. Returns -1 for an id out of range.
int lipar_spm_id_to_piece(lipar_spm* spm, int32_t id, char* piece, size_t capacity, size_t* len);

// Vocabulary size, or -1 without a loaded model.
int lipar_spm_piece_count(lipar_spm* spm);

// Special ids of the loaded model (-1 when the model has none).
int lipar_spm_eos_id(lipar_spm* spm);
int lipar_spm_pad_id(lipar_spm* spm);
int lipar_spm_unk_id(lipar_spm* spm);
int lipar_spm_bos_id(lipar_spm* spm);

// Message of the last failure on this handle ("" when none). Valid until the next call.
const char* lipar_spm_last_error(lipar_spm* spm);

#ifdef __cplusplus
}
#endif
