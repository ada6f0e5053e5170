#pragma once
// Helpers shared by the http unit tests: parse wrappers that also check that every prefix of the
// input gives a consistent verdict (the parsers re-parse from the start on each call).

#include <gtest/gtest.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "http/chunked.h"
#include "http/parser.h"

namespace flexgate::http::test {

// Prefix invariant of a head parser: for every k < n, parsing input[0, k) must be kPartial, or
// kComplete with the same `consumed` (k past the head), or kError with the same error. Inputs longer
// than `max_exhaustive` are sampled with a stride to keep the test fast.
template <class Parse>
void expect_prefix_consistent(std::string_view input, Parse&& parse, std::size_t max_exhaustive = 4096) {
  const ParseOutcome full = parse(input);
  const std::size_t stride = input.size() > max_exhaustive ? input.size() / 512 + 1 : 1;
  for (std::size_t k = 0; k < input.size(); k += stride) {
    const ParseOutcome part = parse(input.substr(0, k));
    switch (full.status) {
      case ParseStatus::kComplete:
        if (k < full.consumed) {
          ASSERT_EQ(part.status, ParseStatus::kPartial) << "prefix " << k << " of complete head";
        } else {
          ASSERT_EQ(part.status, ParseStatus::kComplete) << "prefix " << k;
          ASSERT_EQ(part.consumed, full.consumed) << "prefix " << k;
        }
        break;
      case ParseStatus::kError:
        if (part.status == ParseStatus::kError) {
          ASSERT_EQ(part.error, full.error) << "prefix " << k << ": " << to_string(part.error);
        } else {
          ASSERT_EQ(part.status, ParseStatus::kPartial) << "prefix " << k;
        }
        break;
      case ParseStatus::kPartial:
        ASSERT_EQ(part.status, ParseStatus::kPartial) << "prefix " << k;
        break;
    }
  }
}

inline ParseOutcome parse_request(std::string_view in, RequestHead& head, const Limits& limits = {}) {
  return parse_request_head(in, limits, head);
}

// The error of parsing `in` as a request head (kNone if it parsed), after checking prefixes.
inline ParseError request_error(std::string_view in, const Limits& limits = {}) {
  auto head = std::make_unique<RequestHead>();
  expect_prefix_consistent(in, [&](std::string_view s) { return parse_request_head(s, limits, *head); });
  const ParseOutcome out = parse_request_head(in, limits, *head);
  if (out.status == ParseStatus::kPartial) ADD_FAILURE() << "unexpectedly partial";
  return out.error;
}

inline ParseError response_error(std::string_view in, Method method = Method::kGet,
                                 const Limits& limits = {}) {
  auto head = std::make_unique<ResponseHead>();
  expect_prefix_consistent(in,
                           [&](std::string_view s) { return parse_response_head(s, limits, method, *head); });
  const ParseOutcome out = parse_response_head(in, limits, method, *head);
  if (out.status == ParseStatus::kPartial) ADD_FAILURE() << "unexpectedly partial";
  return out.error;
}

// The result of decoding a whole chunked stream with a given split of the input into pieces.
struct ChunkedResult {
  ChunkedDecoder::Kind kind = ChunkedDecoder::Kind::kNeedMore;
  ParseError error = ParseError::kNone;
  std::string body;
  std::size_t consumed = 0;  // input bytes used: through the final CRLF, or up to the faulty byte
  bool operator==(const ChunkedResult&) const = default;
};

inline void PrintTo(const ChunkedResult& r, std::ostream* os) {
  *os << "{kind=" << static_cast<int>(r.kind) << " error=" << to_string(r.error) << " body=\"" << r.body
      << "\" consumed=" << r.consumed << "}";
}

// Feeds `in` cut at `cuts` (sorted offsets); stops at kDone or kError.
inline ChunkedResult decode_chunked(std::string_view in, const std::vector<std::size_t>& cuts = {},
                                    std::uint64_t max_body = UINT64_MAX) {
  ChunkedDecoder decoder(max_body);
  ChunkedResult r;
  std::size_t cut_index = 0;
  std::size_t pos = 0;  // absolute offset of the next unconsumed byte
  for (;;) {
    const std::size_t piece_end = cut_index < cuts.size() ? cuts[cut_index] : in.size();
    const std::string_view piece = in.substr(pos, piece_end - pos);
    const ChunkedDecoder::Step step = decoder.next(piece);
    if (step.consumed > piece.size()) {
      ADD_FAILURE() << "consumed past the input";
      return r;
    }
    if (step.kind == ChunkedDecoder::Kind::kData) {
      if (step.data.empty() || step.data.data() < piece.data() ||
          step.data.data() + step.data.size() > piece.data() + piece.size()) {
        ADD_FAILURE() << "data is not a non-empty view into the input";
      }
      r.body.append(step.data);
    }
    pos += step.consumed;
    r.kind = step.kind;
    r.error = step.error;
    r.consumed = pos;
    if (step.kind == ChunkedDecoder::Kind::kDone || step.kind == ChunkedDecoder::Kind::kError) break;
    if (step.kind == ChunkedDecoder::Kind::kNeedMore) {
      if (pos != piece_end) ADD_FAILURE() << "kNeedMore without consuming everything";
      if (piece_end == in.size()) break;
      ++cut_index;
    }
  }
  // Errors are sticky; kDone too.
  if (r.kind == ChunkedDecoder::Kind::kError) {
    const auto again = decoder.next("0\r\n\r\n");
    EXPECT_EQ(again.kind, ChunkedDecoder::Kind::kError);
    EXPECT_EQ(again.error, r.error);
  }
  return r;
}

// Decodes `in` whole, byte by byte, at every single cut and (for short inputs) every pair of cuts,
// and checks all give the same result; returns it.
inline ChunkedResult decode_chunked_all_splits(std::string_view in, std::uint64_t max_body = UINT64_MAX) {
  const ChunkedResult whole = decode_chunked(in, {}, max_body);
  std::vector<std::size_t> every;
  for (std::size_t i = 1; i < in.size(); ++i) every.push_back(i);
  EXPECT_EQ(decode_chunked(in, every, max_body), whole) << "byte by byte";
  for (std::size_t i = 0; i <= in.size(); ++i) {
    EXPECT_EQ(decode_chunked(in, {i}, max_body), whole) << "cut at " << i;
  }
  if (in.size() <= 96) {
    for (std::size_t i = 0; i <= in.size(); ++i) {
      for (std::size_t j = i; j <= in.size(); ++j) {
        const ChunkedResult r = decode_chunked(in, {i, j}, max_body);
        if (!(r == whole)) {
          ADD_FAILURE() << "cuts at " << i << "," << j;
          return whole;
        }
      }
    }
  }
  return whole;
}

}  // namespace flexgate::http::test
