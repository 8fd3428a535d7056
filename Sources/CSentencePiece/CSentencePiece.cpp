// Implementation of the C API in include/CSentencePiece.h. Every entry point catches C++ exceptions and turns
// them into an error status, so nothing unwinds into Swift.
#include "CSentencePiece.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sentencepiece {
namespace logging {
void SetMinLogLevel(int v);   // exported by libsentencepiece, not declared in Debian's public headers
}
}

struct spm_processor {
    sentencepiece::SentencePieceProcessor sp;
    // True when a line's ids are the concatenation of the ids of its space-led segments ("a", " b", " c"),
    // so that segments may be cached (see segments_are_independent).
    bool segment_cache = false;
    std::atomic<uint64_t> cache_epoch{0};   // bumping it empties every thread's cache for this processor
    // Identifies the processor to the thread caches (an address could be reused by a later processor).
    const uint64_t uid = next_uid.fetch_add(1, std::memory_order_relaxed);
    static std::atomic<uint64_t> next_uid;
};
std::atomic<uint64_t> spm_processor::next_uid{1};
struct spm_ids { std::vector<int> v; };
struct spm_pieces { std::vector<std::string> v; };

static char *copy_string(const std::string &s) {
    char *out = static_cast<char *>(std::malloc(s.size() + 1));
    if (out) { std::memcpy(out, s.data(), s.size()); out[s.size()] = 0; }
    return out;
}

static void set_error(char **error, const std::string &message) {
    if (error) *error = copy_string(message);
}

template <typename F>
static int guarded(char **error, F body) {
    try {
        return body();
    } catch (const std::exception &e) {
        set_error(error, e.what());
    } catch (...) {
        set_error(error, "unknown C++ exception in SentencePiece");
    }
    return SPM_ERROR;
}

static int from_status(const sentencepiece::util::Status &status, char **error) {
    if (status.ok()) return SPM_OK;
    set_error(error, status.ToString());
    return SPM_ERROR;
}

// --- Reading the few fields of the serialized ModelProto that decide whether caching is exact. ---
// sentencepiece_model.proto: ModelProto { pieces = 1; trainer_spec = 2; normalizer_spec = 3; }
// TrainerSpec { model_type = 3 (UNIGRAM 1, BPE 2, WORD 3, CHAR 4; default UNIGRAM) }
// NormalizerSpec { name = 1; add_dummy_prefix = 3 (default true); remove_extra_whitespaces = 4 (default true) }
namespace {
struct ProtoReader {
    const unsigned char *p, *end;
    bool ok = true;
    uint64_t varint() {
        uint64_t v = 0;
        for (int shift = 0; shift < 64 && p < end; shift += 7) {
            unsigned char b = *p++;
            v |= uint64_t(b & 0x7F) << shift;
            if (!(b & 0x80)) return v;
        }
        ok = false;
        return 0;
    }
    // Calls field(number, wire_type, reader-of-length-delimited-payload, varint value) for each field.
    template <typename F> void each(F field) {
        while (ok && p < end) {
            uint64_t key = varint();
            int number = int(key >> 3), wire = int(key & 7);
            if (wire == 0) { uint64_t v = varint(); field(number, wire, std::string_view(), v); }
            else if (wire == 2) {
                uint64_t n = varint();
                if (!ok || n > uint64_t(end - p)) { ok = false; return; }
                field(number, wire, std::string_view(reinterpret_cast<const char *>(p), n), 0);
                p += n;
            } else if (wire == 5) { p += 4; }
            else if (wire == 1) { p += 8; }
            else { ok = false; return; }
            if (p > end) { ok = false; return; }
        }
    }
};

ProtoReader reader(std::string_view bytes) {
    auto *b = reinterpret_cast<const unsigned char *>(bytes.data());
    return ProtoReader{b, b + bytes.size()};
}

// Segments are independent when: the model is BPE, CHAR or WORD (UNIGRAM's Viterbi sums float scores over the
// whole line, so a split could flip a near tie); normalization is identity with no dummy prefix and spaces
// kept (so " b" normalizes alone as it does inside the line); and no piece holds the space mark U+2581
// anywhere but at its start (so no piece, merge or user-defined symbol spans two segments).
bool segments_are_independent(const sentencepiece::SentencePieceProcessor &sp) {
    std::string serialized = sp.serialized_model_proto();
    int model_type = 1;
    std::string normalizer_name;
    bool add_dummy_prefix = true, remove_extra_whitespaces = true;
    ProtoReader top = reader(serialized);
    top.each([&](int number, int wire, std::string_view payload, uint64_t) {
        if (number == 2 && wire == 2) {
            ProtoReader trainer = reader(payload);
            trainer.each([&](int n, int w, std::string_view, uint64_t v) { if (n == 3 && w == 0) model_type = int(v); });
            top.ok = top.ok && trainer.ok;
        } else if (number == 3 && wire == 2) {
            ProtoReader normalizer = reader(payload);
            normalizer.each([&](int n, int w, std::string_view text, uint64_t v) {
                if (n == 1 && w == 2) normalizer_name = std::string(text);
                if (n == 3 && w == 0) add_dummy_prefix = v != 0;
                if (n == 4 && w == 0) remove_extra_whitespaces = v != 0;
            });
            top.ok = top.ok && normalizer.ok;
        }
    });
    if (!top.ok || model_type == 1 || normalizer_name != "identity" || add_dummy_prefix || remove_extra_whitespaces)
        return false;
    static const std::string space_mark = "\xE2\x96\x81";
    for (int id = 0; id < sp.GetPieceSize(); id++) {
        const std::string &piece = sp.IdToPiece(id);
        size_t found = piece.find(space_mark, 1);
        if (found != std::string::npos) return false;
        if (piece.find(' ') != std::string::npos) return false;
    }
    return true;
}

// The training sentences: the lines of the corpus files in order, as std::getline reads them (what
// SentencePiece's own file reader does). Handing the trainer the lines instead of its `input` flag keeps file
// names out of its flag parsing, which splits that flag at commas (a path holding one trained on other files),
// and out of the model, whose trainer_spec would record them (with the temporary path it was written to: two
// preparations of one corpus gave different model bytes).
class CorpusLines : public sentencepiece::SentenceIterator {
public:
    explicit CorpusLines(std::vector<std::string> files) : files_(std::move(files)) { Next(); }
    bool done() const override { return done_; }
    const std::string &value() const override { return line_; }
    sentencepiece::util::Status status() const override { return status_; }
    void Next() override {
        while (!done_) {
            if (stream_.is_open() && std::getline(stream_, line_)) return;
            if (stream_.is_open()) stream_.close();
            if (next_ == files_.size()) { done_ = true; return; }
            stream_.open(files_[next_], std::ios::binary);
            if (!stream_) {
                status_ = sentencepiece::util::Status(sentencepiece::util::StatusCode::kNotFound,
                                                      files_[next_] + ": cannot be read");
                done_ = true;
            }
            next_++;
        }
    }

private:
    std::vector<std::string> files_;
    size_t next_ = 0;
    std::ifstream stream_;
    std::string line_;
    bool done_ = false;
    sentencepiece::util::Status status_;
};

// One cache per thread (the encoder's workers), for the processor it last served; bounded in size.
struct SegmentCache {
    uint64_t owner = 0;   // uid of the processor it serves
    uint64_t epoch = 0;
    std::unordered_map<std::string, std::vector<int>> ids;
};
thread_local SegmentCache segment_cache;
constexpr size_t kMaxCachedSegments = 1 << 18;
}  // namespace

extern "C" {

void spm_free_string(char *string) { std::free(string); }

void spm_set_min_log_level(int level) { sentencepiece::logging::SetMinLogLevel(level); }

int spm_train(const char *const *keys, const char *const *values, size_t count, const char *const *files,
              size_t file_count, char **model, size_t *model_size, char **error) {
    return guarded(error, [&]() -> int {
        std::unordered_map<std::string, std::string> kwargs;
        for (size_t i = 0; i < count; i++) kwargs[keys[i]] = values[i];
        CorpusLines lines(std::vector<std::string>(files, files + file_count));
        std::string serialized;
        int status = from_status(sentencepiece::SentencePieceTrainer::Train(kwargs, &lines, &serialized), error);
        if (status != SPM_OK) return status;
        *model = static_cast<char *>(std::malloc(serialized.size()));
        if (!*model && !serialized.empty()) throw std::bad_alloc();
        std::memcpy(*model, serialized.data(), serialized.size());
        *model_size = serialized.size();
        return SPM_OK;
    });
}

spm_processor *spm_load(const char *path, char **error) {
    spm_processor *p = nullptr;
    int status = guarded(error, [&]() -> int {
        auto *candidate = new spm_processor();
        int s = from_status(candidate->sp.Load(path), error);
        if (s == SPM_OK) { candidate->segment_cache = segments_are_independent(candidate->sp); p = candidate; }
        else delete candidate;
        return s;
    });
    return status == SPM_OK ? p : nullptr;
}

spm_processor *spm_load_from_bytes(const void *bytes, size_t length, char **error) {
    spm_processor *p = nullptr;
    int status = guarded(error, [&]() -> int {
        auto *candidate = new spm_processor();
        std::string_view serialized(static_cast<const char *>(bytes), length);
        int s = from_status(candidate->sp.LoadFromSerializedProto(serialized), error);
        if (s == SPM_OK) { candidate->segment_cache = segments_are_independent(candidate->sp); p = candidate; }
        else delete candidate;
        return s;
    });
    return status == SPM_OK ? p : nullptr;
}

void spm_free(spm_processor *processor) {
    if (segment_cache.owner == processor->uid) { segment_cache.owner = 0; segment_cache.ids.clear(); }
    delete processor;
}

void spm_reset_segment_caches(spm_processor *processor) {
    processor->cache_epoch.fetch_add(1, std::memory_order_relaxed);
}

int spm_uses_segment_cache(const spm_processor *processor) { return processor->segment_cache ? 1 : 0; }
void spm_set_segment_cache(spm_processor *processor, int enabled) {
    processor->segment_cache = enabled && segments_are_independent(processor->sp);
}

int32_t spm_piece_count(const spm_processor *p) { return p->sp.GetPieceSize(); }
int32_t spm_unk_id(const spm_processor *p) { return p->sp.unk_id(); }
int32_t spm_bos_id(const spm_processor *p) { return p->sp.bos_id(); }
int32_t spm_eos_id(const spm_processor *p) { return p->sp.eos_id(); }
int32_t spm_pad_id(const spm_processor *p) { return p->sp.pad_id(); }

int32_t spm_piece_to_id(const spm_processor *p, const char *piece, size_t length) {
    return p->sp.PieceToId(std::string_view(piece, length));
}

int spm_has_piece(const spm_processor *p, const char *piece, size_t length) {
    std::string_view s(piece, length);
    int id = p->sp.PieceToId(s);
    return p->sp.IdToPiece(id) == s ? 1 : 0;
}

const char *spm_id_to_piece(const spm_processor *p, int32_t id, size_t *length) {
    if (id < 0 || id >= p->sp.GetPieceSize()) { *length = 0; return ""; }
    const std::string &piece = p->sp.IdToPiece(id);
    *length = piece.size();
    return piece.data();
}

int spm_is_unknown(const spm_processor *p, int32_t id) { return p->sp.IsUnknown(id) ? 1 : 0; }
int spm_is_control(const spm_processor *p, int32_t id) { return p->sp.IsControl(id) ? 1 : 0; }
int spm_is_byte(const spm_processor *p, int32_t id) { return p->sp.IsByte(id) ? 1 : 0; }
float spm_score(const spm_processor *p, int32_t id) { return p->sp.GetScore(id); }

spm_ids *spm_ids_new(void) { return new spm_ids(); }
void spm_ids_free(spm_ids *ids) { delete ids; }
void spm_ids_clear(spm_ids *ids) { ids->v.clear(); }
size_t spm_ids_count(const spm_ids *ids) { return ids->v.size(); }
const int32_t *spm_ids_data(const spm_ids *ids) { return ids->v.data(); }

spm_pieces *spm_pieces_new(void) { return new spm_pieces(); }
void spm_pieces_free(spm_pieces *pieces) { delete pieces; }
size_t spm_pieces_count(const spm_pieces *pieces) { return pieces->v.size(); }
const char *spm_pieces_at(const spm_pieces *pieces, size_t index, size_t *length) {
    const std::string &s = pieces->v[index];
    *length = s.size();
    return s.data();
}

// UTF-8 as RFC 3629 defines it: no overlong forms, no surrogates, nothing above U+10FFFF.
size_t spm_first_invalid_utf8(const char *text, size_t length) {
    const unsigned char *s = reinterpret_cast<const unsigned char *>(text);
    size_t i = 0;
    while (i < length) {
        // ASCII fast path, 8 bytes at a time.
        while (i + 8 <= length) {
            uint64_t word;
            std::memcpy(&word, s + i, 8);
            if (word & 0x8080808080808080ULL) break;
            i += 8;
        }
        if (i >= length) break;
        unsigned char c = s[i];
        if (c < 0x80) { i++; continue; }
        size_t need;
        unsigned char lo = 0x80, hi = 0xBF;   // allowed range of the second byte
        if (c >= 0xC2 && c <= 0xDF) need = 1;
        else if (c == 0xE0) { need = 2; lo = 0xA0; }
        else if (c >= 0xE1 && c <= 0xEC) need = 2;
        else if (c == 0xED) { need = 2; hi = 0x9F; }
        else if (c >= 0xEE && c <= 0xEF) need = 2;
        else if (c == 0xF0) { need = 3; lo = 0x90; }
        else if (c >= 0xF1 && c <= 0xF3) need = 3;
        else if (c == 0xF4) { need = 3; hi = 0x8F; }
        else return i;
        if (i + need >= length) return i;   // truncated sequence
        if (s[i + 1] < lo || s[i + 1] > hi) return i;
        for (size_t k = 2; k <= need; k++)
            if ((s[i + k] & 0xC0) != 0x80) return i;
        i += need + 1;
    }
    return length;
}

int spm_encode_ids(const spm_processor *p, const char *text, size_t length, spm_ids *out, char **error) {
    return guarded(error, [&]() -> int {
        std::vector<int> ids;
        int s = from_status(p->sp.Encode(std::string_view(text, length), &ids), error);
        if (s == SPM_OK) out->v.insert(out->v.end(), ids.begin(), ids.end());
        return s;
    });
}

int spm_encode_pieces(const spm_processor *p, const char *text, size_t length, spm_pieces *out,
                      char **error) {
    return guarded(error, [&]() -> int {
        out->v.clear();
        return from_status(p->sp.Encode(std::string_view(text, length), &out->v), error);
    });
}

int spm_encode_lines(const spm_processor *p, const char *text, size_t length, int32_t newline_id,
                     spm_ids *out, size_t *newlines, size_t *invalid_offset, char **error) {
    *newlines = 0;
    size_t bad = spm_first_invalid_utf8(text, length);
    if (bad != length) { *invalid_offset = bad; return SPM_INVALID_UTF8; }
    return guarded(error, [&]() -> int {
        std::vector<int> ids;
        size_t start = 0, count = 0;
        while (true) {
            const void *nl = std::memchr(text + start, '\n', length - start);
            size_t end = nl ? static_cast<const char *>(nl) - text : length;
            if (end > start && p->segment_cache) {
                const uint64_t epoch = p->cache_epoch.load(std::memory_order_relaxed);
                if (segment_cache.owner != p->uid || segment_cache.epoch != epoch ||
                    segment_cache.ids.size() > kMaxCachedSegments) {
                    segment_cache.ids.clear();
                    segment_cache.owner = p->uid;
                    segment_cache.epoch = epoch;
                }
                // Segments: the text before the first space, then each space with what follows up to the next.
                // SentencePiece merges adjacent unknown pieces into one <unk>; do the same across segments.
                const int unk = p->sp.unk_id();
                const size_t line_start = out->v.size();
                size_t a = start;
                while (a < end) {
                    size_t b = a + 1;
                    while (b < end && text[b] != ' ') b++;
                    std::string key(text + a, b - a);
                    auto found = segment_cache.ids.find(key);
                    if (found == segment_cache.ids.end()) {
                        auto status = p->sp.Encode(key, &ids);
                        if (!status.ok()) return from_status(status, error);
                        found = segment_cache.ids.emplace(std::move(key), ids).first;
                    }
                    auto first = found->second.begin();
                    if (first != found->second.end() && *first == unk && out->v.size() > line_start &&
                        out->v.back() == unk)
                        ++first;
                    out->v.insert(out->v.end(), first, found->second.end());
                    a = b;
                }
            } else if (end > start) {
                auto status = p->sp.Encode(std::string_view(text + start, end - start), &ids);
                if (!status.ok()) return from_status(status, error);
                out->v.insert(out->v.end(), ids.begin(), ids.end());
            }
            if (!nl) break;
            out->v.push_back(newline_id);
            count++;
            start = end + 1;
        }
        *newlines = count;
        return SPM_OK;
    });
}

int spm_decode_ids(const spm_processor *p, const int32_t *ids, size_t count, char **text, size_t *length,
                   char **error) {
    return guarded(error, [&]() -> int {
        std::vector<int> v(ids, ids + count);
        const int size = p->sp.GetPieceSize();
        for (size_t i = 0; i < count; i++) {
            if (v[i] < 0 || v[i] >= size) {
                set_error(error, "id " + std::to_string(v[i]) + " is outside the vocabulary (size " +
                                     std::to_string(size) + ")");
                return SPM_ERROR;
            }
        }
        std::string out;
        int s = from_status(p->sp.Decode(v, &out), error);
        if (s != SPM_OK) return s;
        *text = static_cast<char *>(std::malloc(out.size() + 1));
        std::memcpy(*text, out.data(), out.size());
        (*text)[out.size()] = 0;
        *length = out.size();
        return SPM_OK;
    });
}

}  // extern "C"
