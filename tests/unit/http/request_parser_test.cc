#include <gtest/gtest.h>

#include <cctype>
#include <memory>
#include <string>

#include "http/parser.h"
#include "http_test_util.h"

namespace flexgate::http {
namespace {

using namespace std::string_literals;

using test::request_error;

// A request head with `fields` (each "Name: value\r\n") after a GET request line.
std::string get_with(std::string_view fields, std::string_view version = "HTTP/1.1") {
  return "GET / " + std::string(version) + "\r\n" + std::string(fields) + "\r\n";
}
std::string post_with(std::string_view fields, std::string_view version = "HTTP/1.1") {
  return "POST /upload " + std::string(version) + "\r\nHost: a\r\n" + std::string(fields) + "\r\n";
}

class RequestParserTest : public ::testing::Test {
 protected:
  // Parses a copy of `in` kept alive in the fixture: the head's views point into it.
  ParseOutcome parse(std::string_view in, const Limits& limits = {}) {
    input_ = std::string(in);
    return parse_request_head(input_, limits, *head_);
  }
  RequestHead& head() { return *head_; }

 private:
  std::string input_;
  std::unique_ptr<RequestHead> head_ = std::make_unique<RequestHead>();
};

// ---- Valid requests ------------------------------------------------------------------------------

// Calls check(changed, at, byte) for `base` with each byte value (but those in `skip`) at each
// position from `first`; stops at the first fatal failure.
template <class Check>
void for_every_byte_at_every_position(std::string_view base, std::size_t first, std::string_view skip, Check check) {
  for (std::size_t at = first; at < base.size(); ++at) {
    for (int value = 0; value < 256; ++value) {
      const auto byte = static_cast<char>(value);
      if (skip.find(byte) != std::string_view::npos) continue;
      std::string changed(base);
      changed[at] = byte;
      check(changed, at, static_cast<unsigned char>(byte));
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
}

// Names and targets are scanned sixteen bytes at a time where the buffer allows: a byte of any
// value, at any position of a long name or target, must get the same verdict as a one-byte-at-a-
// time reading of RFC 9110's tchar and the visible-ASCII target.
TEST_F(RequestParserTest, EveryByteAtEveryPositionOfLongNamesAndTargetsIsJudgedAsTheGrammarSays) {
  const auto is_tchar = [](unsigned char c) {
    return std::isalnum(c) != 0 || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
  };
  // ':', CR and LF end a name, and SP, CR and LF a target: other verdicts, tested elsewhere.
  for_every_byte_at_every_position("X-Long-Field-Name-Of-40-Bytes-abcdefghij", 0, ":\r\n",
                                   [&](const std::string& name, std::size_t at, unsigned char c) {
    const ParseOutcome out = parse("GET / HTTP/1.1\r\nHost: a\r\n" + name + ": v\r\nAccept: */*\r\n\r\n");
    if (is_tchar(c)) {
      ASSERT_EQ(out.status, ParseStatus::kComplete) << "name byte " << at << " = " << int{c};
      ASSERT_EQ(head().fields[1].name, name);
      // Told apart from the names made only of letters, digits and '-' (the underscore check).
      ASSERT_EQ(head().fields.names_plain, std::isalnum(c) != 0 || c == '-') << "name byte " << at << " = " << int{c};
    } else if (at == 0 && (c == ' ' || c == '\t')) {
      ASSERT_EQ(out.error, ParseError::kObsFold);  // a line starting with whitespace
    } else {
      ASSERT_EQ(out.error, ParseError::kBadHeaderName) << "name byte " << at << " = " << int{c};
    }
  });
  for_every_byte_at_every_position("/a/long/target/path/of/forty/bytes/abcde", 1, " \r\n",
                                   [&](const std::string& target, std::size_t at, unsigned char c) {
    const ParseOutcome out = parse("GET " + target + " HTTP/1.1\r\nHost: a\r\nAccept: */*\r\n\r\n");
    if (c > 0x20 && c < 0x7f) {
      ASSERT_EQ(out.status, ParseStatus::kComplete) << "target byte " << at << " = " << int{c};
      ASSERT_EQ(head().target, target);
    } else {
      ASSERT_EQ(out.error, ParseError::kBadTarget) << "target byte " << at << " = " << int{c};
    }
  });
}

TEST_F(RequestParserTest, NamesArePlainOnlyWhenEveryNameIsLettersDigitsAndDashes) {
  // Short heads: the last names are read a byte at a time, near the end of the buffer.
  ASSERT_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\nX-Y-9: v\r\n\r\n").status, ParseStatus::kComplete);
  EXPECT_TRUE(head().fields.names_plain);
  ASSERT_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\nX_Y: v\r\n\r\n").status, ParseStatus::kComplete);
  EXPECT_FALSE(head().fields.names_plain);
  ASSERT_EQ(parse("GET / HTTP/1.1\r\nX.Y: v\r\nHost: a\r\nAccept: */*\r\nUser-Agent: test/1.0\r\n\r\n").status,
            ParseStatus::kComplete);
  EXPECT_FALSE(head().fields.names_plain) << "a rare byte early in a long head";
  // A method's rare bytes say nothing about the names; a new parse starts plain again.
  ASSERT_EQ(parse("M_GET / HTTP/1.1\r\nHost: a\r\n\r\n").status, ParseStatus::kComplete);
  EXPECT_TRUE(head().fields.names_plain);
}

TEST_F(RequestParserTest, SimpleGet) {
  const std::string in = "GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n";
  const ParseOutcome out = parse(in);
  ASSERT_EQ(out.status, ParseStatus::kComplete);
  EXPECT_EQ(out.consumed, in.size());
  EXPECT_EQ(head().method, Method::kGet);
  EXPECT_EQ(head().method_text, "GET");
  EXPECT_EQ(head().target, "/index.html?q=1");
  EXPECT_EQ(head().version_minor, 1);
  EXPECT_EQ(head().host, "example.com");
  ASSERT_EQ(head().fields.count, 2u);
  EXPECT_EQ(head().fields[0].name, "Host");
  EXPECT_EQ(head().fields[0].token, HeaderToken::kHost);
  EXPECT_EQ(head().fields[1].name, "Accept");
  EXPECT_EQ(head().fields[1].value, "*/*");
  EXPECT_EQ(head().fields[1].token, HeaderToken::kOther);
  EXPECT_EQ(head().framing, BodyFraming::kNone);
  EXPECT_TRUE(head().keep_alive);
  EXPECT_FALSE(head().expect_continue);
  EXPECT_FALSE(head().has_upgrade);
  EXPECT_EQ(request_error(in), ParseError::kNone);
}

// Field values are scanned 16 bytes at a time: every forbidden byte must stop the value wherever it
// falls in a block, and tabs and obs-text in a block must not.
TEST_F(RequestParserTest, EveryForbiddenValueByteIsFoundAtEveryOffset) {
  for (std::size_t at = 0; at < 40; ++at) {
    for (const char bad : {'\x00', '\x01', '\x08', '\x0b', '\x1f', '\x7f'}) {
      std::string value(48, 'v');
      value[at] = bad;
      const ParseOutcome r = parse(get_with("Host: a\r\nX-Long: " + value + "\r\n"));
      ASSERT_EQ(r.status, ParseStatus::kError) << "byte " << int(bad) << " at " << at;
      EXPECT_EQ(r.error, ParseError::kBadHeaderValue) << "byte " << int(bad) << " at " << at;
    }
    for (const char fine : {'\t', ' ', '\x80', '\xff', '~'}) {
      std::string value(48, 'v');
      value[at] = fine;
      ASSERT_EQ(parse(get_with("Host: a\r\nX-Long: " + value + "\r\n")).status, ParseStatus::kComplete)
          << "byte " << int(static_cast<unsigned char>(fine)) << " at " << at;
      const bool leading_whitespace = at == 0 && (fine == ' ' || fine == '\t');  // OWS, not value
      EXPECT_EQ(head().fields.find(std::string_view("X-Long"))->value,
                leading_whitespace ? std::string_view(value).substr(1) : std::string_view(value));
    }
    // A bare LF or CR inside the value ends it early: never part of a value.
    std::string value(48, 'v');
    value[at] = '\n';
    EXPECT_EQ(parse(get_with("Host: a\r\nX-Long: " + value + "\r\n")).status, ParseStatus::kError) << at;
  }
}

TEST_F(RequestParserTest, ALongValueCutAnywhereIsPartialThenComplete) {
  const std::string whole = get_with("Host: a\r\nX-Long: " + std::string(100, 'x') + "\r\n");
  for (std::size_t cut = 1; cut < whole.size(); ++cut) {
    ASSERT_EQ(parse(std::string_view(whole).substr(0, cut)).status, ParseStatus::kPartial) << cut;
  }
  EXPECT_EQ(parse(whole).status, ParseStatus::kComplete);
}

TEST_F(RequestParserTest, ViewsPointIntoTheBuffer) {
  const std::string in = "POST /p HTTP/1.1\r\nHost: h\r\nX-A:  v  \r\n\r\n";
  ASSERT_EQ(parse_request_head(in, Limits{}, head()).status, ParseStatus::kComplete);
  const auto inside = [&](std::string_view v) {
    return v.data() >= in.data() && v.data() + v.size() <= in.data() + in.size();
  };
  EXPECT_TRUE(inside(head().method_text));
  EXPECT_TRUE(inside(head().target));
  EXPECT_TRUE(inside(head().host));
  for (const HeaderField& f : head().fields) {
    EXPECT_TRUE(inside(f.name));
    EXPECT_TRUE(inside(f.value));
  }
}

TEST_F(RequestParserTest, MethodsAreCaseSensitive) {
  const std::pair<std::string_view, Method> cases[] = {
      {"GET", Method::kGet},        {"HEAD", Method::kHead},     {"POST", Method::kPost},
      {"PUT", Method::kPut},        {"DELETE", Method::kDelete}, {"OPTIONS", Method::kOptions},
      {"PATCH", Method::kPatch},    {"TRACE", Method::kTrace},   {"CONNECT", Method::kConnect},
      {"get", Method::kOther},      {"Get", Method::kOther},     {"PROPFIND", Method::kOther},
      {"M-SEARCH", Method::kOther}, {"GETS", Method::kOther},    {"!#$%&'*+-.^_`|~", Method::kOther},
  };
  for (const auto& [text, method] : cases) {
    const std::string in = std::string(text) + " / HTTP/1.1\r\nHost: a\r\n\r\n";
    ASSERT_EQ(parse(in).status, ParseStatus::kComplete) << text;
    EXPECT_EQ(head().method, method) << text;
    EXPECT_EQ(head().method_text, text);
  }
}

TEST_F(RequestParserTest, TargetForms) {
  for (std::string_view target :
       {"/", "/a/b?c=d&e", "http://example.com/x", "example.com:443", "*", "/%41%2F", "/~!$&'()*+,;=:@[]"}) {
    const std::string in = "OPTIONS " + std::string(target) + " HTTP/1.1\r\nHost: a\r\n\r\n";
    ASSERT_EQ(parse(in).status, ParseStatus::kComplete) << target;
    EXPECT_EQ(head().target, target);
  }
}

TEST_F(RequestParserTest, Http10WithoutHostAndKeepAliveDefaults) {
  ASSERT_EQ(parse("GET / HTTP/1.0\r\n\r\n").status, ParseStatus::kComplete);
  EXPECT_EQ(head().version_minor, 0);
  EXPECT_EQ(head().host, "");
  EXPECT_FALSE(head().keep_alive);

  ASSERT_EQ(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").status, ParseStatus::kComplete);
  EXPECT_TRUE(head().keep_alive);

  ASSERT_EQ(parse("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n").status, ParseStatus::kComplete);
  EXPECT_FALSE(head().keep_alive);

  ASSERT_EQ(parse("GET / HTTP/1.0\r\nHost:\r\n\r\n").status, ParseStatus::kComplete);  // empty ok in 1.0
  EXPECT_EQ(head().host, "");
  ASSERT_EQ(parse("GET / HTTP/1.0\r\nHost: a.b\r\n\r\n").status, ParseStatus::kComplete);
  EXPECT_EQ(head().host, "a.b");
}

TEST_F(RequestParserTest, ConnectionTokens) {
  ASSERT_EQ(parse(get_with("Host: a\r\nConnection: close\r\n")).status, ParseStatus::kComplete);
  EXPECT_FALSE(head().keep_alive);
  EXPECT_EQ(head().connection_tokens, "close");

  EXPECT_TRUE(head().connection_names_fields);  // "close" is looked for like any other name

  ASSERT_EQ(parse(get_with("Host: a\r\nConnection: Keep-Alive\r\n")).status, ParseStatus::kComplete);
  EXPECT_FALSE(head().connection_names_fields);  // names only the hop-by-hop Keep-Alive

  ASSERT_EQ(parse(get_with("Host: a\r\nConnection: keep-alive, X-Foo\r\n")).status, ParseStatus::kComplete);
  EXPECT_TRUE(head().keep_alive);
  EXPECT_TRUE(head().connection_names_fields);
  EXPECT_EQ(head().connection_tokens, "keep-alive, X-Foo");
  EXPECT_TRUE(connection_nominates(head().fields, "x-foo"));
  EXPECT_FALSE(connection_nominates(head().fields, "x-bar"));

  // Several Connection fields: the first is stored, keep_alive and nominations read all of them.
  ASSERT_EQ(parse(get_with("Host: a\r\nConnection: X-A\r\nX-A: 1\r\nConnection: ,CLOSE , X-B\r\n")).status,
            ParseStatus::kComplete);
  EXPECT_EQ(head().connection_tokens, "X-A");
  EXPECT_FALSE(head().keep_alive);
  EXPECT_TRUE(connection_nominates(head().fields, "x-a"));
  EXPECT_TRUE(connection_nominates(head().fields, "X-B"));

  ASSERT_EQ(parse(get_with("Host: a\r\nConnection:\r\n")).status, ParseStatus::kComplete);
  EXPECT_TRUE(head().keep_alive);

  EXPECT_EQ(request_error(get_with("Host: a\r\nConnection: close me\r\n")), ParseError::kBadHeaderValue);
  EXPECT_EQ(request_error(get_with("Host: a\r\nConnection: \"close\"\r\n")), ParseError::kBadHeaderValue);
}

// Found by fuzzing (proxy_replay_fuzz, hop-by-hop invariant): an empty first Connection field made
// connection_tokens empty, which the proxy reads as "nothing nominated", so X-Secret, nominated by
// the second Connection field, was forwarded upstream. connection_tokens is now the first
// non-empty value: empty exactly when nothing is nominated.
TEST_F(RequestParserTest, EmptyFirstConnectionFieldDoesNotHideNominations) {
  ASSERT_EQ(parse(get_with("Host: a\r\nConnection:\r\nConnection: X-Secret\r\nX-Secret: 1\r\n")).status,
            ParseStatus::kComplete);
  EXPECT_EQ(head().connection_tokens, "X-Secret");
  EXPECT_TRUE(connection_nominates(head().fields, "x-secret"));

  ASSERT_EQ(parse(get_with("Host: a\r\nConnection: \r\nConnection: \r\n")).status, ParseStatus::kComplete);
  EXPECT_EQ(head().connection_tokens, "");
}

TEST_F(RequestParserTest, ExpectAndUpgrade) {
  ASSERT_EQ(parse(post_with("Expect: 100-Continue\r\nContent-Length: 3\r\n")).status, ParseStatus::kComplete);
  EXPECT_TRUE(head().expect_continue);
  ASSERT_EQ(parse(post_with("Expect: 200-ok\r\nContent-Length: 3\r\n")).status, ParseStatus::kComplete);
  EXPECT_FALSE(head().expect_continue);
  ASSERT_EQ(parse(get_with("Host: a\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
                           "HTTP2-Settings: AAMAAABkAAQAAP__\r\n"))
                .status,
            ParseStatus::kComplete);
  EXPECT_TRUE(head().has_upgrade);
  EXPECT_TRUE(connection_nominates(head().fields, "http2-settings"));
}

TEST_F(RequestParserTest, FieldValueWhitespaceAndBytes) {
  ASSERT_EQ(parse(get_with("Host: a\r\nA: \t x  y \t \r\nB:\r\nC:   \r\nD:v\r\nE: \x80\xff caf\xc3\xa9\r\n"))
                .status,
            ParseStatus::kComplete);
  EXPECT_EQ(head().fields.find("a")->value, "x  y");
  EXPECT_EQ(head().fields.find("B")->value, "");
  EXPECT_EQ(head().fields.find("C")->value, "");
  EXPECT_EQ(head().fields.find("d")->value, "v");
  EXPECT_EQ(head().fields.find("E")->value, "\x80\xff caf\xc3\xa9");
  EXPECT_EQ(head().fields.find("Missing"), nullptr);
  EXPECT_EQ(head().fields.find(HeaderToken::kHost)->value, "a");
}

TEST_F(RequestParserTest, LeadingEmptyLinesAreIgnoredUpToFour) {
  const std::string req = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
  for (int n = 1; n <= 4; ++n) {
    std::string in;
    for (int i = 0; i < n; ++i) in += "\r\n";
    in += req;
    const ParseOutcome out = parse(in);
    ASSERT_EQ(out.status, ParseStatus::kComplete) << n;
    EXPECT_EQ(out.consumed, in.size());
  }
  EXPECT_EQ(request_error("\r\n\r\n\r\n\r\n\r\n" + req), ParseError::kBadRequestLine);
  EXPECT_EQ(request_error("\n" + req), ParseError::kBadLineEnding);
  EXPECT_EQ(request_error("\r" + req), ParseError::kBadLineEnding);
  EXPECT_EQ(parse("\r\n\r\n").status, ParseStatus::kPartial);
}

TEST_F(RequestParserTest, PipelinedRequestsConsumeExactlyOne) {
  const std::string first = "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n";
  const std::string second = "GET /b HTTP/1.1\r\nHost: b\r\n\r\n";
  const std::string in = first + "hello" + second;
  ParseOutcome out = parse(in);
  ASSERT_EQ(out.status, ParseStatus::kComplete);
  EXPECT_EQ(out.consumed, first.size());
  EXPECT_EQ(head().content_length, 5u);
  const std::string_view rest = std::string_view(in).substr(out.consumed + head().content_length);
  out = parse(rest);
  ASSERT_EQ(out.status, ParseStatus::kComplete);
  EXPECT_EQ(out.consumed, second.size());
  EXPECT_EQ(head().target, "/b");
  EXPECT_EQ(head().host, "b");
}

TEST_F(RequestParserTest, ByteByByteIsPartialUntilComplete) {
  const std::string in =
      "PUT /x HTTP/1.1\r\nHost: h:8080\r\nContent-Length: 10\r\nX-Long: " + std::string(300, 'v') +
      "\r\n\r\n";
  for (std::size_t k = 0; k < in.size(); ++k) {
    ASSERT_EQ(parse(std::string_view(in).substr(0, k)).status, ParseStatus::kPartial) << k;
  }
  const ParseOutcome out = parse(in + "trailing body bytes");
  ASSERT_EQ(out.status, ParseStatus::kComplete);
  EXPECT_EQ(out.consumed, in.size());
  EXPECT_EQ(head().content_length, 10u);
  EXPECT_EQ(head().host, "h:8080");
}

TEST_F(RequestParserTest, ReusedHeadIsReset) {
  ASSERT_EQ(
      parse(post_with("Content-Length: 4\r\nExpect: 100-continue\r\nUpgrade: x\r\nConnection: close\r\n"))
          .status,
      ParseStatus::kComplete);
  ASSERT_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n").status, ParseStatus::kComplete);
  EXPECT_EQ(head().framing, BodyFraming::kNone);
  EXPECT_EQ(head().content_length, 0u);
  EXPECT_FALSE(head().expect_continue);
  EXPECT_FALSE(head().has_upgrade);
  EXPECT_TRUE(head().keep_alive);
  EXPECT_EQ(head().connection_tokens, "");
  EXPECT_EQ(head().fields.count, 1u);
}

// ---- Request line --------------------------------------------------------------------------------

TEST(RequestLine, Malformed) {
  EXPECT_EQ(request_error("GET  / HTTP/1.1\r\nHost: a\r\n\r\n"), ParseError::kBadRequestLine);
  EXPECT_EQ(request_error("GET /  HTTP/1.1\r\nHost: a\r\n\r\n"), ParseError::kBadRequestLine);
  EXPECT_EQ(request_error(" GET / HTTP/1.1\r\nHost: a\r\n\r\n"), ParseError::kBadRequestLine);
  EXPECT_EQ(request_error("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n"), ParseError::kBadMethod);
  EXPECT_EQ(request_error("G(T / HTTP/1.1\r\nHost: a\r\n\r\n"), ParseError::kBadMethod);
  EXPECT_EQ(request_error("GE\x80T / HTTP/1.1\r\nHost: a\r\n\r\n"), ParseError::kBadMethod);
  EXPECT_EQ(request_error("GET\r\n\r\n"), ParseError::kBadRequestLine);
  EXPECT_EQ(request_error("GET / HTTP/1.1 \r\nHost: a\r\n\r\n"), ParseError::kBadVersion);
  EXPECT_EQ(request_error("GET / HTTP/1.1\tx\r\nHost: a\r\n\r\n"), ParseError::kBadVersion);
}

TEST(RequestLine, TargetBytes) {
  EXPECT_EQ(request_error("GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n"), ParseError::kBadTarget);
  EXPECT_EQ(request_error("GET /\x80 HTTP/1.1\r\nHost: a\r\n\r\n"), ParseError::kBadTarget);
  EXPECT_EQ(request_error("GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n"), ParseError::kBadTarget);
  EXPECT_EQ(request_error("GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n"s), ParseError::kBadTarget);
  EXPECT_EQ(request_error("GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n"), ParseError::kBadTarget);
  EXPECT_EQ(request_error("GET /a\rb HTTP/1.1\r\nHost: a\r\n\r\n"), ParseError::kBadLineEnding);
  EXPECT_EQ(request_error("GET /a\nb HTTP/1.1\r\nHost: a\r\n\r\n"), ParseError::kBadLineEnding);
}

TEST(RequestLine, Versions) {
  EXPECT_EQ(request_error("GET / HTTP/1.2\r\nHost: a\r\n\r\n"), ParseError::kUnsupportedVersion);
  EXPECT_EQ(request_error("GET / HTTP/2.0\r\nHost: a\r\n\r\n"), ParseError::kUnsupportedVersion);
  EXPECT_EQ(request_error("GET / HTTP/0.9\r\n\r\n"), ParseError::kUnsupportedVersion);
  EXPECT_EQ(request_error("GET / HTTP/3.0\r\n\r\n"), ParseError::kUnsupportedVersion);
  EXPECT_EQ(request_error("GET / http/1.1\r\nHost: a\r\n\r\n"), ParseError::kBadVersion);
  EXPECT_EQ(request_error("GET / HTTP/1\r\nHost: a\r\n\r\n"), ParseError::kBadVersion);
  EXPECT_EQ(request_error("GET / HTTP/11\r\nHost: a\r\n\r\n"), ParseError::kBadVersion);
  EXPECT_EQ(request_error("GET / HTTP/1.10\r\nHost: a\r\n\r\n"), ParseError::kBadVersion);
  EXPECT_EQ(request_error("GET / HTTP/1.1.1\r\nHost: a\r\n\r\n"), ParseError::kBadVersion);
  EXPECT_EQ(request_error("GET / HTTPS/1.1\r\nHost: a\r\n\r\n"), ParseError::kBadVersion);
  EXPECT_EQ(request_error("GET / HTTP/a.b\r\nHost: a\r\n\r\n"), ParseError::kBadVersion);
  EXPECT_EQ(request_error("GET / HTTP/2\r\nHost: a\r\n\r\n"), ParseError::kBadVersion);
}

TEST(RequestLine, Http09AndHttp2Preface) {
  EXPECT_EQ(request_error("GET /\r\n"), ParseError::kUnsupportedVersion);
  EXPECT_EQ(request_error("GET /index.html\r\n\r\n"), ParseError::kUnsupportedVersion);
  EXPECT_EQ(request_error("GET /\n"), ParseError::kBadLineEnding);
  EXPECT_EQ(request_error("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), ParseError::kUnsupportedVersion);
  EXPECT_EQ(status_for(ParseError::kUnsupportedVersion), 505);
}

TEST(RequestLine, LineEndings) {
  EXPECT_EQ(request_error("GET / HTTP/1.1\nHost: a\r\n\r\n"), ParseError::kBadLineEnding);
  EXPECT_EQ(request_error("GET / HTTP/1.1\rHost: a\r\n\r\n"), ParseError::kBadLineEnding);
  EXPECT_EQ(request_error("GET / HTTP/1.1\r\r\nHost: a\r\n\r\n"), ParseError::kBadLineEnding);
  EXPECT_EQ(request_error("GET\n/ HTTP/1.1\r\nHost: a\r\n\r\n"), ParseError::kBadLineEnding);
}

// ---- Field lines ---------------------------------------------------------------------------------

TEST(FieldLines, LineEndings) {
  EXPECT_EQ(request_error(get_with("Host: a\nX: y\r\n")), ParseError::kBadLineEnding);
  EXPECT_EQ(request_error(get_with("Host: a\rX: y\r\n")), ParseError::kBadLineEnding);
  EXPECT_EQ(request_error("GET / HTTP/1.1\r\nHost: a\r\n\n"), ParseError::kBadLineEnding);
  EXPECT_EQ(request_error("GET / HTTP/1.1\r\nHost: a\r\n\rX"), ParseError::kBadLineEnding);
  EXPECT_EQ(request_error("GET / HTTP/1.1\r\nHost: a\n\n"), ParseError::kBadLineEnding);
  EXPECT_EQ(request_error(get_with("Host: a\r\nX: a\rb\r\n")), ParseError::kBadLineEnding);
  EXPECT_EQ(request_error(get_with("Host: a\r\nX: a\nb\r\n")), ParseError::kBadLineEnding);
  EXPECT_EQ(request_error(get_with("Host: a\r\nX\ry: 1\r\n")), ParseError::kBadLineEnding);
  EXPECT_EQ(request_error(get_with("Host: a\r\nXy\n")), ParseError::kBadLineEnding);
}

TEST(FieldLines, ObsFoldAndLeadingWhitespace) {
  EXPECT_EQ(request_error(get_with("Host: a\r\nX: 1\r\n 2\r\n")), ParseError::kObsFold);
  EXPECT_EQ(request_error(get_with("Host: a\r\nX: 1\r\n\t2\r\n")), ParseError::kObsFold);
  EXPECT_EQ(request_error(get_with("Host: a\r\n Transfer-Encoding: chunked\r\n")), ParseError::kObsFold);
  EXPECT_EQ(request_error(get_with(" Host: a\r\n")), ParseError::kBadHeaderName);
  EXPECT_EQ(request_error(get_with("\tHost: a\r\n")), ParseError::kBadHeaderName);
}

TEST(FieldLines, Names) {
  EXPECT_EQ(request_error(get_with("Host : a\r\n")), ParseError::kBadHeaderName);
  EXPECT_EQ(request_error(get_with("Host\t: a\r\n")), ParseError::kBadHeaderName);
  EXPECT_EQ(request_error(get_with("Host: a\r\n: empty\r\n")), ParseError::kBadHeaderName);
  EXPECT_EQ(request_error(get_with("Host: a\r\nFo o: x\r\n")), ParseError::kBadHeaderName);
  EXPECT_EQ(request_error(get_with("Host: a\r\nNoColon\r\n")), ParseError::kBadHeaderName);
  EXPECT_EQ(request_error(get_with("Host: a\r\nContent-Length 10\r\n")), ParseError::kBadHeaderName);
  EXPECT_EQ(request_error(get_with("Host: a\r\nA(b): x\r\n")), ParseError::kBadHeaderName);
  EXPECT_EQ(request_error(get_with("Host: a\r\nA\x80: x\r\n")), ParseError::kBadHeaderName);
  EXPECT_EQ(request_error(get_with("Host: a\r\nA\x01: x\r\n")), ParseError::kBadHeaderName);
  EXPECT_EQ(request_error(get_with("Host: a\r\n\"A\": x\r\n")), ParseError::kBadHeaderName);
  EXPECT_EQ(request_error(get_with("Host: a\r\n!#$%&'*+-.^_`|~09azAZ: x\r\n")), ParseError::kNone);
}

TEST(FieldLines, ValueBytes) {
  for (int c = 0; c < 256; ++c) {
    const bool allowed = c == '\t' || (c >= 0x20 && c != 0x7f);
    if (c == '\r' || c == '\n') continue;
    std::string in = get_with("Host: a\r\nX: a" + std::string(1, static_cast<char>(c)) + "b\r\n");
    EXPECT_EQ(request_error(in), allowed ? ParseError::kNone : ParseError::kBadHeaderValue) << c;
  }
  EXPECT_EQ(request_error(get_with("Host: google.com\0.kallus.org\r\n"s)), ParseError::kBadHeaderValue);
}

// ---- Host ----------------------------------------------------------------------------------------

TEST(Host, RequiredOnceInHttp11) {
  EXPECT_EQ(request_error("GET / HTTP/1.1\r\n\r\n"), ParseError::kMissingHost);
  EXPECT_EQ(request_error(get_with("Host: a\r\nHost: b\r\n")), ParseError::kDuplicateHost);
  EXPECT_EQ(request_error(get_with("Host: a\r\nhost: a\r\n")), ParseError::kDuplicateHost);
  EXPECT_EQ(request_error(get_with("Host: a\r\nHost: a\r\n", "HTTP/1.0")), ParseError::kDuplicateHost);
  EXPECT_EQ(request_error(get_with("Host:\r\n")), ParseError::kBadHost);
  EXPECT_EQ(request_error(get_with("Host:   \r\n")), ParseError::kBadHost);
}

TEST(Host, Syntax) {
  for (std::string_view ok :
       {"a", "example.com", "EXAMPLE.com:80", "a:65535", "a:1", "1.2.3.4", "1.2.3.4:8080", "[::1]",
        "[::1]:443", "[2001:db8::8:800:200c:417a]", "[::ffff:1.2.3.4]", "[1:2:3:4:5:6:7:8]", "[1::]",
        "xn--bcher-kva.example", "a_b-c~d", "ex%41mple.com", "a!$&'()*+;=b", "999.999.999.999"}) {
    EXPECT_EQ(request_error(get_with("Host: " + std::string(ok) + "\r\n")), ParseError::kNone) << ok;
  }
  for (std::string_view bad : {"a b",       "a/b",    "a@b",    "user@a",    "a:99999",
                               "a:65536",   "a:",     ":80",    "a:8x",      "a:-1",
                               "a:123456",  "[::1",   "::1",    "[zz::1]",   "[1:2:3:4:5:6:7:8:9]",
                               "[1::2::3]", "[::1]x", "[::1]:", "[1.2.3.4]", "[::1.2.3]",
                               "[]",        "a,b",    "a%4",    "a%zz",      "a\\b",
                               "a?b",       "a#b",    "a\x80",  "\"a\"",     "[:1]",
                               "[1:]"}) {
    EXPECT_EQ(request_error(get_with("Host: " + std::string(bad) + "\r\n")), ParseError::kBadHost) << bad;
  }
}

// ---- Content-Length ------------------------------------------------------------------------------

TEST_F(RequestParserTest, ContentLengthValid) {
  const std::pair<std::string_view, std::uint64_t> cases[] = {
      {"0", 0},
      {"5", 5},
      {"007", 7},
      {"5, 5", 5},
      {"5,5", 5},
      {"5 ,\t5 , 005", 5},
      {"9223372036854775807", 9223372036854775807ULL},
  };
  for (const auto& [value, n] : cases) {
    ASSERT_EQ(parse(post_with("Content-Length: " + std::string(value) + "\r\n")).status,
              ParseStatus::kComplete)
        << value;
    EXPECT_EQ(head().framing, BodyFraming::kContentLength);
    EXPECT_EQ(head().content_length, n);
  }
  ASSERT_EQ(parse(post_with("Content-Length: 5\r\ncontent-length: 5\r\n")).status, ParseStatus::kComplete);
  EXPECT_EQ(head().content_length, 5u);
}

TEST(ContentLength, Invalid) {
  for (std::string_view bad : {"", "+5", "-1", "0x10", "5 5", "5,", ",5", "5,,5", "5, 6", "1e3", "5.0",
                               "five", "9223372036854775808", "18446744073709551616",
                               "99999999999999999999999", "\"5\"", "5;", "\xd9\xa5"}) {
    EXPECT_EQ(request_error(post_with("Content-Length: " + std::string(bad) + "\r\n")),
              ParseError::kBadContentLength)
        << bad;
  }
  EXPECT_EQ(request_error(post_with("Content-Length: 5\r\nContent-Length: 10\r\n")),
            ParseError::kBadContentLength);
  EXPECT_EQ(request_error(post_with("Content-Length: 5\r\nContent-Length: 5, 6\r\n")),
            ParseError::kBadContentLength);
}

// ---- Transfer-Encoding ---------------------------------------------------------------------------

TEST_F(RequestParserTest, TransferEncodingChunked) {
  for (std::string_view value : {"chunked", "Chunked", "CHUNKED", "\tchunked\t", "  chunked"}) {
    ASSERT_EQ(parse(post_with("Transfer-Encoding: " + std::string(value) + "\r\n")).status,
              ParseStatus::kComplete)
        << value;
    EXPECT_EQ(head().framing, BodyFraming::kChunked);
  }
}

TEST(TransferEncoding, Requests) {
  const std::pair<std::string_view, ParseError> cases[] = {
      {"chunked, chunked", ParseError::kBadTransferEncoding},
      {"chunked,chunked", ParseError::kBadTransferEncoding},
      {"gzip, chunked", ParseError::kUnsupportedTransferCoding},
      {"GZIP,\tchunked", ParseError::kUnsupportedTransferCoding},
      {"identity, chunked", ParseError::kUnsupportedTransferCoding},
      {"chunked, gzip", ParseError::kBadTransferEncoding},
      {"chunked, identity", ParseError::kBadTransferEncoding},
      {"identity", ParseError::kBadTransferEncoding},
      {"gzip", ParseError::kBadTransferEncoding},
      {"", ParseError::kBadTransferEncoding},
      {",chunked", ParseError::kBadTransferEncoding},
      {"chunked,", ParseError::kBadTransferEncoding},
      {"gzip,,chunked", ParseError::kBadTransferEncoding},
      {"chunked;a=b", ParseError::kBadTransferEncoding},
      {"\"chunked\"", ParseError::kBadTransferEncoding},
      {"chunk ed", ParseError::kBadTransferEncoding},
      {"xchunked", ParseError::kBadTransferEncoding},
      {"chunked\x0b", ParseError::kBadHeaderValue},
  };
  for (const auto& [value, error] : cases) {
    EXPECT_EQ(request_error(post_with("Transfer-Encoding: " + std::string(value) + "\r\n")), error) << value;
  }
  // The list spans every Transfer-Encoding field, in order.
  EXPECT_EQ(request_error(post_with("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n")),
            ParseError::kUnsupportedTransferCoding);
  EXPECT_EQ(request_error(post_with("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n")),
            ParseError::kBadTransferEncoding);
  EXPECT_EQ(request_error(post_with("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n")),
            ParseError::kBadTransferEncoding);
  EXPECT_EQ(request_error(post_with("Transfer-Encoding: chunked\r\nTransfer-Encoding:\r\n")),
            ParseError::kBadTransferEncoding);
}

TEST(TransferEncoding, WithContentLengthOrHttp10) {
  EXPECT_EQ(request_error(post_with("Content-Length: 6\r\nTransfer-Encoding: chunked\r\n")),
            ParseError::kContentLengthWithTransferEncoding);
  EXPECT_EQ(request_error(post_with("Transfer-Encoding: chunked\r\nContent-Length: 4\r\n")),
            ParseError::kContentLengthWithTransferEncoding);
  EXPECT_EQ(request_error(post_with("Transfer-Encoding: gzip\r\nContent-Length: 4\r\n")),
            ParseError::kContentLengthWithTransferEncoding);
  EXPECT_EQ(request_error(post_with("Transfer-Encoding: chunked\r\n", "HTTP/1.0")),
            ParseError::kBadTransferEncoding);
  EXPECT_EQ(request_error("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
            ParseError::kBadTransferEncoding);
}

// ---- Limits --------------------------------------------------------------------------------------

TEST(Limits, TargetLength) {
  Limits limits;
  limits.max_target_bytes = 64;
  const auto with_target = [](std::size_t n) {
    return "GET /" + std::string(n - 1, 'a') + " HTTP/1.1\r\nHost: a\r\n\r\n";
  };
  EXPECT_EQ(request_error(with_target(64), limits), ParseError::kNone);
  EXPECT_EQ(request_error(with_target(65), limits), ParseError::kTargetTooLong);
  // Still partial: the 65th target byte is enough to know.
  auto head = std::make_unique<RequestHead>();
  const std::string partial = "GET /" + std::string(64, 'a');
  const ParseOutcome out = parse_request_head(partial, limits, *head);
  EXPECT_EQ(out.status, ParseStatus::kError);
  EXPECT_EQ(out.error, ParseError::kTargetTooLong);
  EXPECT_EQ(parse_request_head(partial.substr(0, partial.size() - 1), limits, *head).status,
            ParseStatus::kPartial);
  // A long target wins over a bad byte after it.
  EXPECT_EQ(request_error("GET /" + std::string(80, 'a') + "\x01 HTTP/1.1\r\n\r\n", limits),
            ParseError::kTargetTooLong);
  EXPECT_EQ(status_for(ParseError::kTargetTooLong), 414);
}

TEST(Limits, HeadSize) {
  Limits limits;
  limits.max_head_bytes = 256;
  const std::string prefix = "GET / HTTP/1.1\r\nHost: a\r\nX: ";
  const std::string exact = prefix + std::string(256 - prefix.size() - 4, 'v') + "\r\n\r\n";
  ASSERT_EQ(exact.size(), 256u);
  EXPECT_EQ(request_error(exact, limits), ParseError::kNone);
  const std::string over = prefix + std::string(256 - prefix.size() - 3, 'v') + "\r\n\r\n";
  EXPECT_EQ(request_error(over, limits), ParseError::kHeadTooLarge);
  // Partial: 257 bytes without the end of the head is already too large.
  auto head = std::make_unique<RequestHead>();
  const std::string partial = prefix + std::string(300, 'v');
  EXPECT_EQ(parse_request_head(partial.substr(0, 256), limits, *head).status, ParseStatus::kPartial);
  const ParseOutcome out = parse_request_head(partial.substr(0, 257), limits, *head);
  EXPECT_EQ(out.status, ParseStatus::kError);
  EXPECT_EQ(out.error, ParseError::kHeadTooLarge);
  // A complete head followed by body bytes past the limit is fine.
  EXPECT_EQ(parse_request_head(exact + std::string(1000, 'b'), limits, *head).status, ParseStatus::kComplete);
  // Errors inside the limit are still reported as themselves.
  EXPECT_EQ(request_error("GET / HTTP/1.1\r\nHost: a\r\nX\x01: 1\r\n" + std::string(400, 'x'), limits),
            ParseError::kBadHeaderName);
  EXPECT_EQ(status_for(ParseError::kHeadTooLarge), 431);
}

TEST(Limits, DefaultHeadSize) {
  const std::string big = "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(16 * 1024, 'v') + "\r\n\r\n";
  EXPECT_EQ(request_error(big), ParseError::kHeadTooLarge);
}

TEST(Limits, FieldCount) {
  Limits limits;
  limits.max_header_fields = 10;
  const auto with_fields = [](int n) {
    std::string in = "GET / HTTP/1.1\r\nHost: a\r\n";
    for (int i = 1; i < n; ++i) in += "X-" + std::to_string(i) + ": v\r\n";
    return in + "\r\n";
  };
  EXPECT_EQ(request_error(with_fields(10), limits), ParseError::kNone);
  EXPECT_EQ(request_error(with_fields(11), limits), ParseError::kTooManyHeaders);
  EXPECT_EQ(status_for(ParseError::kTooManyHeaders), 431);
  // The default (100) and the storage capacity (128) are both enforced.
  EXPECT_EQ(request_error(with_fields(100)), ParseError::kNone);
  EXPECT_EQ(request_error(with_fields(101)), ParseError::kTooManyHeaders);
  limits.max_header_fields = 100000;
  limits.max_head_bytes = 1 << 20;
  EXPECT_EQ(request_error(with_fields(128), limits), ParseError::kNone);
  EXPECT_EQ(request_error(with_fields(129), limits), ParseError::kTooManyHeaders);
}

// ---- Error mapping -------------------------------------------------------------------------------

TEST(ParseErrors, StatusAndNames) {
  EXPECT_EQ(status_for(ParseError::kBodyTooLarge), 413);
  EXPECT_EQ(status_for(ParseError::kUnsupportedTransferCoding), 501);
  for (ParseError e : {ParseError::kBadRequestLine, ParseError::kBadMethod, ParseError::kBadTarget,
                       ParseError::kBadVersion, ParseError::kBadHeaderName, ParseError::kBadHeaderValue,
                       ParseError::kObsFold, ParseError::kBadLineEnding, ParseError::kMissingHost,
                       ParseError::kDuplicateHost, ParseError::kBadHost, ParseError::kBadContentLength,
                       ParseError::kContentLengthWithTransferEncoding, ParseError::kBadTransferEncoding,
                       ParseError::kBadChunk, ParseError::kChunkSizeOverflow, ParseError::kBadStatus}) {
    EXPECT_EQ(status_for(e), 400) << to_string(e);
  }
  for (int e = 0; e <= static_cast<int>(ParseError::kBadStatus); ++e) {
    EXPECT_NE(to_string(static_cast<ParseError>(e)), "unknown");
  }
  EXPECT_EQ(to_string(ParseError::kObsFold), "obs_fold");
}

}  // namespace
}  // namespace flexgate::http
