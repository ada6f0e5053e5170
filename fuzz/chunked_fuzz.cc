// libFuzzer target: ChunkedDecoder on arbitrary bytes. Split invariance: the input fed whole, cut
// in two at a fuzz-chosen offset, and (for short inputs) byte by byte must give the same body,
// verdict and consumed count.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/chunked.h"

namespace {

using namespace flexgate::http;

#define FUZZ_CHECK(cond)  \
  do {                    \
    if (!(cond)) abort(); \
  } while (0)

struct Result {
  ChunkedDecoder::Kind kind = ChunkedDecoder::Kind::kNeedMore;
  ParseError error = ParseError::kNone;
  std::string body;
  std::size_t consumed = 0;
  std::uint64_t body_bytes = 0;
  bool operator==(const Result&) const = default;
};

// Feeds `in` in pieces ending at cut1, cut2, then the end (cut1 <= cut2 <= size).
Result decode(std::string_view in, std::uint64_t max_body, std::size_t cut1, std::size_t cut2) {
  ChunkedDecoder d(max_body);
  Result r;
  const std::size_t ends[] = {cut1, cut2, in.size()};
  std::size_t pos = 0;
  for (std::size_t end : ends) {
    for (;;) {
      const std::string_view piece = in.substr(pos, end - pos);
      const ChunkedDecoder::Step s = d.next(piece);
      FUZZ_CHECK(s.consumed <= piece.size());
      if (s.kind == ChunkedDecoder::Kind::kData) {
        FUZZ_CHECK(!s.data.empty() && s.data.data() >= piece.data() &&
                   s.data.data() + s.data.size() <= piece.data() + s.consumed);
        r.body.append(s.data);
      }
      pos += s.consumed;
      r.kind = s.kind;
      r.error = s.error;
      if (s.kind == ChunkedDecoder::Kind::kDone || s.kind == ChunkedDecoder::Kind::kError) {
        FUZZ_CHECK((s.kind == ChunkedDecoder::Kind::kError) == (s.error != ParseError::kNone));
        FUZZ_CHECK(d.done() == (s.kind == ChunkedDecoder::Kind::kDone));
        r.consumed = pos;
        r.body_bytes = d.body_bytes();
        return r;
      }
      if (s.kind == ChunkedDecoder::Kind::kNeedMore) {
        FUZZ_CHECK(pos == end);
        break;
      }
    }
  }
  r.consumed = pos;
  r.body_bytes = d.body_bytes();
  FUZZ_CHECK(r.body_bytes == r.body.size() && r.body_bytes <= max_body);
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const std::uint64_t max_body = (data[0] & 1) ? UINT64_MAX : (std::uint64_t{data[0]} << 4);
  const std::string_view in(reinterpret_cast<const char*>(data) + 3, size - 3);
  const std::size_t cut = (std::size_t{data[1]} << 8 | data[2]) % (in.size() + 1);

  const Result whole = decode(in, max_body, in.size(), in.size());
  FUZZ_CHECK(decode(in, max_body, cut, cut) == whole);
  FUZZ_CHECK(decode(in, max_body, cut / 2, cut) == whole);
  if (in.size() <= 256) {  // byte by byte
    ChunkedDecoder d(max_body);
    Result r;
    std::size_t pos = 0;
    while (pos <= in.size()) {
      const std::string_view piece = in.substr(pos, pos < in.size() ? 1 : 0);
      const ChunkedDecoder::Step s = d.next(piece);
      if (s.kind == ChunkedDecoder::Kind::kData) r.body.append(s.data);
      pos += s.consumed;
      r.kind = s.kind;
      r.error = s.error;
      if (s.kind == ChunkedDecoder::Kind::kDone || s.kind == ChunkedDecoder::Kind::kError) break;
      if (s.kind == ChunkedDecoder::Kind::kNeedMore && pos == in.size()) break;
    }
    r.consumed = pos;
    r.body_bytes = d.body_bytes();
    FUZZ_CHECK(r == whole);
  }
  return 0;
}
