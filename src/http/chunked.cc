#include "http/chunked.h"

#include <algorithm>

#include "http/char_class.h"

// RFC 9112 7.1:
//   chunked-body = *chunk last-chunk trailer-section CRLF
//   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
//   chunk-ext    = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
//   chunk-ext-val = token / quoted-string
// The decoder is a byte-at-a-time state machine (except chunk data, handed out as one view), so
// every verdict depends only on the bytes seen so far: any split of the input gives the same result.

namespace flexgate::http {
namespace {

using detail::byte;
using detail::is_ows;
using detail::is_tchar;

constexpr std::size_t kMaxSizeLineBytes = 8 * 1024;   // chunk-size + extensions + CR
constexpr std::size_t kMaxTrailerBytes = 16 * 1024;   // whole trailer section incl. final CRLF
constexpr std::size_t kMaxSignificantHexDigits = 16;  // 64 bits

// sub_state_ while state_ == kExtension.
enum Ext : std::uint8_t {
  kExtAfterWs,     // BWS after the size or a value: only ";" may follow
  kExtBeforeName,  // after ";" (BWS allowed)
  kExtName,
  kExtAfterNameWs,  // BWS after a name: "=" or ";" may follow
  kExtBeforeValue,  // after "=" (BWS allowed)
  kExtToken,
  kExtQuoted,
  kExtQuotedPair,  // after a backslash inside a quoted-string
  kExtAfterQuoted,
  // Not states: what next_ext_state() returns for a bad byte, and for the CR ending the line.
  kExtFault = 0xfe,
  kExtLineEnd = 0xff,
};

// One byte of chunk-ext. Whitespace is accepted only where the grammar has BWS, so "5 \r\n" and
// "5;a=b \r\n" are refused; CR, LF and CTLs are refused everywhere except the final CR.
std::uint8_t next_ext_state(std::uint8_t state, char c) {
  const bool ws = is_ows(c);
  switch (state) {
    case kExtAfterWs:
      if (c == ';') return kExtBeforeName;
      return ws ? kExtAfterWs : kExtFault;
    case kExtBeforeName:
      if (is_tchar(c)) return kExtName;
      return ws ? kExtBeforeName : kExtFault;
    case kExtName:
      if (is_tchar(c)) return kExtName;
      if (c == ';') return kExtBeforeName;
      if (c == '=') return kExtBeforeValue;
      if (c == '\r') return kExtLineEnd;
      return ws ? kExtAfterNameWs : kExtFault;
    case kExtAfterNameWs:
      if (c == ';') return kExtBeforeName;
      if (c == '=') return kExtBeforeValue;
      return ws ? kExtAfterNameWs : kExtFault;
    case kExtBeforeValue:
      if (c == '"') return kExtQuoted;
      if (is_tchar(c)) return kExtToken;
      return ws ? kExtBeforeValue : kExtFault;
    case kExtToken:
      if (is_tchar(c)) return kExtToken;
      if (c == ';') return kExtBeforeName;
      if (c == '\r') return kExtLineEnd;
      return ws ? kExtAfterWs : kExtFault;
    case kExtQuoted:
      if (c == '"') return kExtAfterQuoted;
      if (c == '\\') return kExtQuotedPair;
      return detail::kQdtext[byte(c)] != 0 ? kExtQuoted : kExtFault;
    case kExtQuotedPair:  // quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
      return detail::is_field_char(c) ? kExtQuoted : kExtFault;
    case kExtAfterQuoted:
      if (c == ';') return kExtBeforeName;
      if (c == '\r') return kExtLineEnd;
      return ws ? kExtAfterWs : kExtFault;
    default:
      return kExtFault;
  }
}

// sub_state_ while state_ == kTrailerLine.
enum Trailer : std::uint8_t { kTrailerName, kTrailerValue };

}  // namespace

void ChunkedDecoder::reset(std::uint64_t max_body) {
  // The trailer buffer keeps its capacity: a connection that sees trailers reuses it.
  std::string trailers = std::move(trailers_);
  trailers.clear();
  *this = ChunkedDecoder(max_body);
  trailers_ = std::move(trailers);
}

ChunkedDecoder::Step ChunkedDecoder::fail(ParseError error, std::size_t consumed) {
  state_ = State::kError;
  error_ = error;
  return Step{Kind::kError, consumed, {}, error};
}

ChunkedDecoder::Step ChunkedDecoder::next(std::string_view in) {
  const char* const begin = in.data();
  const char* p = begin;
  const char* const end = begin + in.size();
  const auto at = [&] { return static_cast<std::size_t>(p - begin); };

  if (state_ == State::kDone) return Step{Kind::kDone, 0, {}, ParseError::kNone};
  if (state_ == State::kError) return Step{Kind::kError, 0, {}, error_};

  while (p != end) {
    const char c = *p;
    switch (state_) {
      case State::kSize: {
        if (++line_bytes_ > kMaxSizeLineBytes) return fail(ParseError::kBadChunk, at());
        if (const unsigned hex = detail::kHexPlusOne[byte(c)]; hex != 0) {
          // Leading zeros do not count toward the 16-digit limit; any more digits cannot fit.
          if (chunk_remaining_ != 0 || hex != 1) {
            if (++size_digits_ > kMaxSignificantHexDigits) return fail(ParseError::kChunkSizeOverflow, at());
            chunk_remaining_ = (chunk_remaining_ << 4) | (hex - 1);
          }
          ++p;
          break;
        }
        if (line_bytes_ == 1) return fail(ParseError::kBadChunk, at());  // no HEXDIG at all
        // The size is complete: refuse it now, before any of its data is read.
        if (chunk_remaining_ > max_body_ - body_bytes_) return fail(ParseError::kBodyTooLarge, at());
        if (c == '\r') {
          state_ = State::kSizeLf;
        } else if (c == ';') {
          state_ = State::kExtension;
          sub_state_ = kExtBeforeName;
        } else if (is_ows(c)) {
          state_ = State::kExtension;
          sub_state_ = kExtAfterWs;
        } else {
          return fail(ParseError::kBadChunk, at());  // "0x", "-", "_", LF, ...
        }
        ++p;
        break;
      }

      case State::kExtension: {
        if (++line_bytes_ > kMaxSizeLineBytes) return fail(ParseError::kBadChunk, at());
        const std::uint8_t next = next_ext_state(sub_state_, c);
        if (next == kExtFault) return fail(ParseError::kBadChunk, at());
        if (next == kExtLineEnd) state_ = State::kSizeLf;
        sub_state_ = next;
        ++p;
        break;
      }

      case State::kSizeLf:
        if (c != '\n') return fail(ParseError::kBadChunk, at());
        ++p;
        line_bytes_ = 0;
        size_digits_ = 0;
        state_ = chunk_remaining_ == 0 ? State::kTrailerStart : State::kData;
        break;

      case State::kData: {
        const auto n = static_cast<std::size_t>(
            std::min<std::uint64_t>(chunk_remaining_, static_cast<std::uint64_t>(end - p)));
        const std::string_view data(p, n);
        p += n;
        chunk_remaining_ -= n;
        body_bytes_ += n;
        if (chunk_remaining_ == 0) state_ = State::kDataCr;
        return Step{Kind::kData, at(), data, ParseError::kNone};
      }

      case State::kDataCr:
        if (c != '\r') return fail(ParseError::kBadChunk, at());
        ++p;
        state_ = State::kDataLf;
        break;

      case State::kDataLf:
        if (c != '\n') return fail(ParseError::kBadChunk, at());
        ++p;
        state_ = State::kSize;
        break;

      case State::kTrailerStart:
        if (++trailer_bytes_ > kMaxTrailerBytes) return fail(ParseError::kHeadTooLarge, at());
        if (c == '\r') {
          state_ = State::kFinalLf;
        } else if (is_tchar(c)) {
          state_ = State::kTrailerLine;
          sub_state_ = kTrailerName;
          trailers_.push_back(c);
        } else {
          return fail(ParseError::kBadChunk, at());  // bare LF, obs-fold, empty name, ...
        }
        ++p;
        break;

      case State::kTrailerLine: {
        if (++trailer_bytes_ > kMaxTrailerBytes) return fail(ParseError::kHeadTooLarge, at());
        bool ok = true;
        if (sub_state_ == kTrailerName) {
          if (c == ':')
            sub_state_ = kTrailerValue;
          else
            ok = is_tchar(c);  // whitespace before the colon is refused
        } else if (c == '\r') {
          state_ = State::kTrailerLf;
        } else {
          ok = detail::is_field_char(c);  // OWS, VCHAR, obs-text
        }
        if (!ok) return fail(ParseError::kBadChunk, at());
        trailers_.push_back(c);
        ++p;
        break;
      }

      case State::kTrailerLf:
        if (++trailer_bytes_ > kMaxTrailerBytes) return fail(ParseError::kHeadTooLarge, at());
        if (c != '\n') return fail(ParseError::kBadChunk, at());
        trailers_.push_back(c);
        ++p;
        state_ = State::kTrailerStart;
        break;

      case State::kFinalLf:
        if (c != '\n') return fail(ParseError::kBadChunk, at());
        ++p;
        state_ = State::kDone;
        return Step{Kind::kDone, at(), {}, ParseError::kNone};

      case State::kDone:
      case State::kError:
        break;  // handled before the loop
    }
  }
  return Step{Kind::kNeedMore, in.size(), {}, ParseError::kNone};
}

bool next_trailer_field(std::string_view& section, HeaderField& field) {
  const std::size_t end = section.find("\r\n");
  if (section.empty() || end == std::string_view::npos) return false;
  const std::string_view line = section.substr(0, end);
  section.remove_prefix(end + 2);
  const std::size_t colon = line.find(':');  // the decoder checked there is one, after a token
  field.name = line.substr(0, colon);
  field.value = detail::trim_ows(line.substr(colon + 1));
  field.token = lookup_header_token(field.name);
  return true;
}

bool is_forbidden_trailer(const HeaderField& field, std::string_view connection_options) {
  switch (field.token) {
    case HeaderToken::kContentLength:
    case HeaderToken::kHost:
    case HeaderToken::kContentType:
    case HeaderToken::kExpect:
      return true;
    default:
      break;
  }
  if (is_hop_by_hop(field.token) || iequals(field.name, "http2-settings")) return true;
  if (connection_options.empty()) return false;
  return !detail::for_each_list_element(connection_options,
                                        [&](std::string_view option) { return !iequals(option, field.name); });
}

}  // namespace flexgate::http
