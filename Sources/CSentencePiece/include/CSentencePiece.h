// A small C API over SentencePiece (Debian's libsentencepiece), for Swift.
// Errors come back as a status code and a message allocated with malloc (free it with spm_free_string);
// no C++ exception ever crosses this boundary.
#ifndef CSENTENCEPIECE_H
#define CSENTENCEPIECE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Status codes returned by the functions below.
enum {
    SPM_OK = 0,
    SPM_ERROR = 1,          ///< SentencePiece reported an error; see the message.
    SPM_INVALID_UTF8 = 2,   ///< The input is not valid UTF-8; see the offset.
};

typedef struct spm_processor spm_processor;   ///< A loaded model (sentencepiece::SentencePieceProcessor).
typedef struct spm_ids spm_ids;               ///< A growable vector of int32 ids, reused between calls.
typedef struct spm_pieces spm_pieces;         ///< A list of byte strings (pieces), reused between calls.

void spm_free_string(char *string);

/// Sets SentencePiece's global log level (0 info, 1 warning, 2 error, 3 fatal).
void spm_set_min_log_level(int level);

/// Trains a model on the lines of `files` with SentencePiece's flags given as key/value pairs (for example
/// "model_type" = "bpe"; no "input" or "model_prefix"). On success *model holds the serialized model (free it
/// with free()) and *model_size its length.
int spm_train(const char *const *keys, const char *const *values, size_t count, const char *const *files,
              size_t file_count, char **model, size_t *model_size, char **error);

/// Loads a model file; returns NULL and sets *error on failure.
spm_processor *spm_load(const char *path, char **error);
/// Loads a model from its serialized bytes.
spm_processor *spm_load_from_bytes(const void *bytes, size_t length, char **error);
void spm_free(spm_processor *processor);

/// Whether spm_encode_lines caches the ids of space-led segments ("a", " b", ...) per thread. It does only when
/// that gives exactly SentencePiece's ids: BPE, CHAR or WORD models with identity normalization, no dummy
/// prefix, spaces kept, and no piece holding a space mark past its first character.
int spm_uses_segment_cache(const spm_processor *processor);
/// Empties every thread's cache for this processor (before their next use).
void spm_reset_segment_caches(spm_processor *processor);
/// Turns the cache off (0) or back on (1, only where it is exact).
void spm_set_segment_cache(spm_processor *processor, int enabled);

int32_t spm_piece_count(const spm_processor *processor);
int32_t spm_unk_id(const spm_processor *processor);
int32_t spm_bos_id(const spm_processor *processor);
int32_t spm_eos_id(const spm_processor *processor);
int32_t spm_pad_id(const spm_processor *processor);
/// The id of a piece, or the unknown id when the vocabulary does not hold it.
int32_t spm_piece_to_id(const spm_processor *processor, const char *piece, size_t length);
/// Whether the vocabulary holds exactly this piece (not mapped to unk).
int spm_has_piece(const spm_processor *processor, const char *piece, size_t length);
/// The piece of an id (pointer valid while the processor lives); *length receives its byte count.
const char *spm_id_to_piece(const spm_processor *processor, int32_t id, size_t *length);
int spm_is_unknown(const spm_processor *processor, int32_t id);
int spm_is_control(const spm_processor *processor, int32_t id);
int spm_is_byte(const spm_processor *processor, int32_t id);
/// The score of a piece (BPE: minus its merge rank; unigram: its log probability).
float spm_score(const spm_processor *processor, int32_t id);

spm_ids *spm_ids_new(void);
void spm_ids_free(spm_ids *ids);
void spm_ids_clear(spm_ids *ids);
size_t spm_ids_count(const spm_ids *ids);
const int32_t *spm_ids_data(const spm_ids *ids);

spm_pieces *spm_pieces_new(void);
void spm_pieces_free(spm_pieces *pieces);
size_t spm_pieces_count(const spm_pieces *pieces);
const char *spm_pieces_at(const spm_pieces *pieces, size_t index, size_t *length);

/// Offset of the first byte that is not part of valid UTF-8, or `length` when all of it is valid.
size_t spm_first_invalid_utf8(const char *text, size_t length);

/// Encodes one sentence (no line break inside) and APPENDS its ids to `out`.
int spm_encode_ids(const spm_processor *processor, const char *text, size_t length, spm_ids *out, char **error);
/// Encodes one sentence into pieces (replacing the contents of `out`).
int spm_encode_pieces(const spm_processor *processor, const char *text, size_t length, spm_pieces *out,
                      char **error);

/// Encodes a block of lines: splits `text` at every '\n', encodes each line as a sentence and appends the
/// ids to `out` with `newline_id` between consecutive lines (so "a\nb" gives ids(a), nl, ids(b), and "a\n"
/// gives ids(a), nl). Checks UTF-8 first: on invalid input returns SPM_INVALID_UTF8 with *invalid_offset set
/// and appends nothing. *newlines receives the number of '\n' bytes in the block.
int spm_encode_lines(const spm_processor *processor, const char *text, size_t length, int32_t newline_id,
                     spm_ids *out, size_t *newlines, size_t *invalid_offset, char **error);

/// Decodes ids to text (malloc'd, not NUL-terminated in meaning: use *length).
int spm_decode_ids(const spm_processor *processor, const int32_t *ids, size_t count, char **text,
                   size_t *length, char **error);

#ifdef __cplusplus
}
#endif

#endif
