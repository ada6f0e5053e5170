#include "observe/trace_context.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

namespace flexgate::observe {
namespace {

// The spec's examples (section 3.2.3) and the W3C test suite's trace id.
constexpr std::string_view kSampled = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
constexpr std::string_view kNotSampled = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";
constexpr std::string_view kSuiteTraceId = "12345678901234567890123456789012";

std::string hex_of(const TraceId& id) {
  const auto hex = trace_id_hex(id);
  return std::string(hex.data(), hex.size());
}

std::string hex_of(const SpanId& id) {
  const auto hex = span_id_hex(id);
  return std::string(hex.data(), hex.size());
}

bool is_lower_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string with_suite_ids(std::string_view version, std::string_view tail = "") {
  return std::string(version) + "-" + std::string(kSuiteTraceId) + "-1234567890123456-01" + std::string(tail);
}

TEST(TraceparentParseTest, SpecExamplesParse) {
  const auto sampled = parse_traceparent(kSampled);
  ASSERT_TRUE(sampled.has_value());
  EXPECT_EQ(hex_of(sampled->trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(hex_of(sampled->parent_id), "00f067aa0ba902b7");
  EXPECT_EQ(sampled->flags, 0x01);
  EXPECT_TRUE(sampled->sampled());
  EXPECT_EQ(sampled->trace_id[0], 0x4b);
  EXPECT_EQ(sampled->trace_id[15], 0x36);
  EXPECT_EQ(sampled->parent_id[0], 0x00);
  EXPECT_EQ(sampled->parent_id[7], 0xb7);

  const auto not_sampled = parse_traceparent(kNotSampled);
  ASSERT_TRUE(not_sampled.has_value());
  EXPECT_FALSE(not_sampled->sampled());
}

TEST(TraceparentParseTest, UnknownFlagsAreKeptAndOnlyTheLowBitMeansSampled) {
  const auto context = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-fe");
  ASSERT_TRUE(context.has_value());
  EXPECT_EQ(context->flags, 0xfe);
  EXPECT_FALSE(context->sampled());
  EXPECT_TRUE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03")->sampled());
}

TEST(TraceparentParseTest, UpperCaseHexIsRefused) {
  EXPECT_FALSE(parse_traceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"));
  EXPECT_FALSE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01"));
  EXPECT_FALSE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A"));
  EXPECT_FALSE(parse_traceparent("0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
}

TEST(TraceparentParseTest, WrongFieldLengthsAreRefused) {
  EXPECT_FALSE(parse_traceparent(""));
  EXPECT_FALSE(parse_traceparent("0-12345678901234567890123456789012-1234567890123456-01"));
  EXPECT_FALSE(parse_traceparent("000-12345678901234567890123456789012-1234567890123456-01"));
  EXPECT_FALSE(parse_traceparent("0000-12345678901234567890123456789012-1234567890123456-01"));
  EXPECT_FALSE(parse_traceparent("00-1234567890123456789012345678901-1234567890123456-01"));
  EXPECT_FALSE(parse_traceparent("00-123456789012345678901234567890123-1234567890123456-01"));
  EXPECT_FALSE(parse_traceparent("00-12345678901234567890123456789012-123456789012345-01"));
  EXPECT_FALSE(parse_traceparent("00-12345678901234567890123456789012-12345678901234567-01"));
  EXPECT_FALSE(parse_traceparent("00-12345678901234567890123456789012-1234567890123456-1"));
  EXPECT_FALSE(parse_traceparent("00-12345678901234567890123456789012-1234567890123456-001"));
  EXPECT_FALSE(parse_traceparent("00-12345678901234567890123456789012-1234567890123456"));
}

TEST(TraceparentParseTest, IllegalCharactersAreRefused) {
  EXPECT_FALSE(parse_traceparent(".0-12345678901234567890123456789012-1234567890123456-01"));
  EXPECT_FALSE(parse_traceparent("0.-12345678901234567890123456789012-1234567890123456-01"));
  EXPECT_FALSE(parse_traceparent("00-.2345678901234567890123456789012-1234567890123456-01"));
  EXPECT_FALSE(parse_traceparent("00-1234567890123456789012345678901.-1234567890123456-01"));
  EXPECT_FALSE(parse_traceparent("00-12345678901234567890123456789012-.234567890123456-01"));
  EXPECT_FALSE(parse_traceparent("00-12345678901234567890123456789012-123456789012345.-01"));
  EXPECT_FALSE(parse_traceparent("00-12345678901234567890123456789012-1234567890123456-.0"));
  EXPECT_FALSE(parse_traceparent("00-12345678901234567890123456789012-1234567890123456-0."));
  EXPECT_FALSE(parse_traceparent("00-1234567890123456789012345678901g-1234567890123456-01"));
}

TEST(TraceparentParseTest, BadSeparatorsAreRefused) {
  EXPECT_FALSE(parse_traceparent("00_12345678901234567890123456789012-1234567890123456-01"));
  EXPECT_FALSE(parse_traceparent("00-12345678901234567890123456789012_1234567890123456-01"));
  EXPECT_FALSE(parse_traceparent("00-12345678901234567890123456789012-1234567890123456_01"));
  EXPECT_FALSE(parse_traceparent("00 12345678901234567890123456789012 1234567890123456 01"));
  EXPECT_FALSE(parse_traceparent("0012345678901234567890123456789012-1234567890123456-01-"));
}

TEST(TraceparentParseTest, AllZeroIdsAreRefused) {
  EXPECT_FALSE(parse_traceparent("00-00000000000000000000000000000000-1234567890123456-01"));
  EXPECT_FALSE(parse_traceparent("00-12345678901234567890123456789012-0000000000000000-01"));
  EXPECT_FALSE(parse_traceparent("cc-00000000000000000000000000000000-1234567890123456-01"));
  EXPECT_TRUE(parse_traceparent("00-00000000000000000000000000000001-0000000000000001-00"));
}

TEST(TraceparentParseTest, VersionFfIsRefused) {
  EXPECT_FALSE(parse_traceparent(with_suite_ids("ff")));
  EXPECT_FALSE(parse_traceparent(with_suite_ids("ff", "-future")));
}

TEST(TraceparentParseTest, Version00AllowsNothingAfterTheFlags) {
  EXPECT_TRUE(parse_traceparent(with_suite_ids("00")));
  EXPECT_FALSE(parse_traceparent(with_suite_ids("00", ".")));
  EXPECT_FALSE(parse_traceparent(with_suite_ids("00", "-")));
  EXPECT_FALSE(parse_traceparent(with_suite_ids("00", "-what-the-future-will-be-like")));
}

TEST(TraceparentParseTest, FutureVersionsParseTheirFirst55Characters) {
  for (std::string_view version : {"01", "cc", "fe"}) {
    SCOPED_TRACE(version);
    const auto exact = parse_traceparent(with_suite_ids(version));
    ASSERT_TRUE(exact.has_value());
    EXPECT_EQ(hex_of(exact->trace_id), kSuiteTraceId);
    EXPECT_EQ(hex_of(exact->parent_id), "1234567890123456");
    EXPECT_TRUE(exact->sampled());

    const auto extended = parse_traceparent(with_suite_ids(version, "-what-the-future-will-be-like"));
    ASSERT_TRUE(extended.has_value());
    EXPECT_EQ(hex_of(extended->trace_id), kSuiteTraceId);

    EXPECT_FALSE(parse_traceparent(with_suite_ids(version, ".what-the-future-will-be-like")));
    EXPECT_FALSE(parse_traceparent(with_suite_ids(version, "x")));
  }
  // Still the version 00 shape in the first 55 characters.
  EXPECT_FALSE(parse_traceparent("cc-1234567890123456789012345678901-1234567890123456-01-x"));
  EXPECT_FALSE(parse_traceparent("cc-12345678901234567890123456789012-1234567890123456-1"));
}

TEST(TraceparentParseTest, SurroundingOwsIsIgnoredButInnerWhitespaceIsNot) {
  for (const std::string& value : {with_suite_ids(" 00"), with_suite_ids("\t00"), with_suite_ids("00", " "),
                                   with_suite_ids("00", "\t"), "\t " + with_suite_ids("00", " \t")}) {
    SCOPED_TRACE(value);
    const auto context = parse_traceparent(value);
    ASSERT_TRUE(context.has_value());
    EXPECT_EQ(hex_of(context->trace_id), kSuiteTraceId);
  }
  EXPECT_FALSE(parse_traceparent("00- 2345678901234567890123456789012-1234567890123456-01"));
  EXPECT_FALSE(parse_traceparent("00-12345678901234567890123456789012-1234567890123456- 1"));
  EXPECT_FALSE(parse_traceparent(with_suite_ids("00", "\n")));
  EXPECT_FALSE(parse_traceparent("   "));
}

TEST(TraceparentParseTest, CombinedDuplicateHeadersAreRefused) {
  EXPECT_FALSE(parse_traceparent(with_suite_ids("00") + "," + with_suite_ids("00")));
}

TEST(TracestateValidTest, SimpleListsAreValid) {
  EXPECT_TRUE(valid_tracestate("rojo=00f067aa0ba902b7"));
  EXPECT_TRUE(valid_tracestate("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"));
  EXPECT_TRUE(valid_tracestate("foo=1,bar=2"));
  EXPECT_TRUE(valid_tracestate("fw529a3039@dt=00f067aa0ba902b7"));
  EXPECT_TRUE(valid_tracestate("1tenant@vendor=x"));
  EXPECT_TRUE(valid_tracestate("foo= leading space kept"));
}

TEST(TracestateValidTest, EmptyAndWhitespaceOnlyMembersAreAllowed) {
  EXPECT_TRUE(valid_tracestate(""));
  EXPECT_TRUE(valid_tracestate("   "));
  EXPECT_TRUE(valid_tracestate(","));
  EXPECT_TRUE(valid_tracestate("foo=1,,bar=2"));
  EXPECT_TRUE(valid_tracestate("foo=1, \t ,bar=2"));
  EXPECT_TRUE(valid_tracestate(",foo=1,"));
}

TEST(TracestateValidTest, OwsAroundMembersIsAllowed) {
  EXPECT_TRUE(valid_tracestate("foo=1 \t , \t bar=2, \t baz=3"));
  EXPECT_TRUE(valid_tracestate("foo=1\t \t,\t \tbar=2,\t \tbaz=3"));
  EXPECT_TRUE(valid_tracestate(" foo=1"));
  EXPECT_TRUE(valid_tracestate("\tfoo=1"));
  EXPECT_TRUE(valid_tracestate("foo=1 "));
  EXPECT_TRUE(valid_tracestate("foo=1\t"));
  EXPECT_TRUE(valid_tracestate("\t foo=1 \t"));
}

TEST(TracestateValidTest, AllAllowedCharacters) {
  const std::string key = "abcdefghijklmnopqrstuvwxyz0123456789_-*/";
  std::string value;
  for (char c = 0x20; c <= 0x7e; ++c) {
    if (c != ',' && c != '=') value += c;
  }
  EXPECT_TRUE(valid_tracestate(key + "=" + value));
  EXPECT_TRUE(valid_tracestate(key + "@a-z0-9_-*/=" + value));
}

TEST(TracestateValidTest, IllegalKeysAreRefused) {
  EXPECT_FALSE(valid_tracestate("foo =1"));
  EXPECT_FALSE(valid_tracestate("FOO=1"));
  EXPECT_FALSE(valid_tracestate("foo.bar=1"));
  EXPECT_FALSE(valid_tracestate("1foo=1"));  // a simple key starts with lcalpha
  EXPECT_FALSE(valid_tracestate("=1"));
  EXPECT_FALSE(valid_tracestate("foo"));
  EXPECT_FALSE(valid_tracestate("foo=1,bar"));
}

TEST(TracestateValidTest, IllegalMultiTenantKeysAreRefused) {
  EXPECT_FALSE(valid_tracestate("foo@=1,bar=2"));
  EXPECT_FALSE(valid_tracestate("@foo=1,bar=2"));
  EXPECT_FALSE(valid_tracestate("foo@@bar=1,bar=2"));
  EXPECT_FALSE(valid_tracestate("foo@bar@baz=1,bar=2"));
  EXPECT_FALSE(valid_tracestate("foo@1bar=1"));  // system id starts with lcalpha
  EXPECT_FALSE(valid_tracestate("_foo@bar=1"));
}

TEST(TracestateValidTest, KeyLengthLimits) {
  EXPECT_TRUE(valid_tracestate("foo=1," + std::string(256, 'z') + "=1"));
  EXPECT_FALSE(valid_tracestate("foo=1," + std::string(257, 'z') + "=1"));
  EXPECT_TRUE(valid_tracestate("foo=1," + std::string(241, 't') + "@" + std::string(14, 'v') + "=1"));
  EXPECT_FALSE(valid_tracestate("foo=1," + std::string(242, 't') + "@v=1"));
  EXPECT_FALSE(valid_tracestate("foo=1,t@" + std::string(15, 'v') + "=1"));
}

TEST(TracestateValidTest, IllegalValuesAreRefused) {
  EXPECT_FALSE(valid_tracestate("foo=bar=baz"));
  EXPECT_FALSE(valid_tracestate("foo=,bar=3"));
  EXPECT_FALSE(valid_tracestate("foo=a\x7f"));
  EXPECT_FALSE(valid_tracestate("foo=a\x01"));
  EXPECT_FALSE(valid_tracestate("foo=caf\xc3\xa9"));
  EXPECT_FALSE(valid_tracestate("foo=a\tb"));
  EXPECT_FALSE(valid_tracestate("foo=" + std::string(257, 'v')));
  EXPECT_TRUE(valid_tracestate("foo=" + std::string(256, 'v')));
}

TEST(TracestateValidTest, DuplicateKeysAreRefused) {
  EXPECT_FALSE(valid_tracestate("foo=1,foo=1"));
  EXPECT_FALSE(valid_tracestate("foo=1,foo=2"));
  EXPECT_FALSE(valid_tracestate("foo=1,bar=2, foo=3"));
  EXPECT_TRUE(valid_tracestate("foo=1,foo@t=2,t@foo=3"));
}

std::string members(int count) {
  std::string list;
  for (int i = 1; i <= count; ++i) {
    if (i > 1) list += ',';
    list += "bar" + std::to_string(i) + "=" + std::to_string(i);
  }
  return list;
}

TEST(TracestateValidTest, AtMost32Members) {
  EXPECT_TRUE(valid_tracestate(members(32)));
  EXPECT_FALSE(valid_tracestate(members(33)));
  EXPECT_TRUE(valid_tracestate(members(32) + ",,  ,"));  // empty members do not count
}

TEST(TracestateValidTest, AtMost512Characters) {
  const std::string first = "a=" + std::string(256, 'x');   // 258
  const std::string second = "b=" + std::string(251, 'y');  // 253: 258 + 1 + 253 = 512
  EXPECT_TRUE(valid_tracestate(first + "," + second));
  EXPECT_FALSE(valid_tracestate(first + "," + second + "y"));
  EXPECT_FALSE(valid_tracestate(std::string(513, ' ')));
}

TEST(TraceIdGenerateTest, SpanIdsAreNonZeroAndDistinct) {
  std::set<SpanId> seen;
  for (int i = 0; i < 10000; ++i) {
    const SpanId id = new_span_id();
    ASSERT_NE(id, SpanId{});
    ASSERT_TRUE(seen.insert(id).second) << "duplicate after " << i << ": " << hex_of(id);
  }
}

TEST(TraceIdGenerateTest, TraceIdsAreNonZeroAndDistinct) {
  std::set<TraceId> seen;
  for (int i = 0; i < 10000; ++i) {
    const TraceId id = new_trace_id();
    ASSERT_NE(id, TraceId{});
    ASSERT_TRUE(seen.insert(id).second) << "duplicate after " << i << ": " << hex_of(id);
  }
}

TEST(TraceIdGenerateTest, IdsFromTwoThreadsAreDistinct) {
  constexpr int kPerThread = 5000;
  std::vector<TraceId> a, b;
  auto generate = [](std::vector<TraceId>& out) {
    out.reserve(kPerThread);
    for (int i = 0; i < kPerThread; ++i) out.push_back(new_trace_id());
  };
  std::thread first(generate, std::ref(a));
  std::thread second(generate, std::ref(b));
  first.join();
  second.join();
  std::set<TraceId> seen(a.begin(), a.end());
  seen.insert(b.begin(), b.end());
  EXPECT_EQ(seen.size(), 2u * kPerThread);
}

TEST(TraceIdGenerateTest, NewTraceHasFreshIdsAndTheRequestedFlag) {
  const TraceContext sampled = new_trace(true);
  const TraceContext not_sampled = new_trace(false);
  EXPECT_TRUE(sampled.sampled());
  EXPECT_EQ(sampled.flags, kTraceFlagSampled);
  EXPECT_FALSE(not_sampled.sampled());
  EXPECT_EQ(not_sampled.flags, 0);
  EXPECT_NE(sampled.trace_id, TraceId{});
  EXPECT_NE(sampled.parent_id, SpanId{});
  EXPECT_NE(sampled.trace_id, not_sampled.trace_id);
  EXPECT_NE(sampled.parent_id, not_sampled.parent_id);
}

TEST(TraceFormatTest, AppendHexIsLowerCase) {
  std::string out = "x=";
  const std::uint8_t bytes[] = {0x00, 0x0f, 0xab, 0xff};
  append_hex(out, bytes);
  EXPECT_EQ(out, "x=000fabff");
  append_hex(out, std::span<const std::uint8_t>());
  EXPECT_EQ(out, "x=000fabff");
}

TEST(TraceFormatTest, TraceparentRoundTrips) {
  const auto context = parse_traceparent(kSampled);
  ASSERT_TRUE(context.has_value());
  std::string out = "traceparent: ";
  append_traceparent(out, context->trace_id, context->parent_id, context->flags);
  EXPECT_EQ(out, "traceparent: " + std::string(kSampled));

  for (int i = 0; i < 100; ++i) {
    const TraceContext fresh = new_trace(i % 2 == 0);
    std::string value;
    append_traceparent(value, fresh.trace_id, fresh.parent_id, fresh.flags);
    ASSERT_EQ(value.size(), kTraceparentLength);
    const auto parsed = parse_traceparent(value);
    ASSERT_TRUE(parsed.has_value()) << value;
    EXPECT_EQ(parsed->trace_id, fresh.trace_id);
    EXPECT_EQ(parsed->parent_id, fresh.parent_id);
    EXPECT_EQ(parsed->flags, fresh.flags);
  }
}

TEST(TraceFormatTest, TraceparentSendsOnlyTheSampledFlag) {
  const auto context = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff");
  ASSERT_TRUE(context.has_value());
  std::string out;
  append_traceparent(out, context->trace_id, context->parent_id, context->flags);
  EXPECT_EQ(out, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
  out.clear();
  append_traceparent(out, context->trace_id, context->parent_id, 0xfe);
  EXPECT_EQ(out, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
}

TEST(TraceFormatTest, FutureVersionIsForwardedAsVersion00) {
  const auto context = parse_traceparent(with_suite_ids("cc", "-extra"));
  ASSERT_TRUE(context.has_value());
  std::string out;
  append_traceparent(out, context->trace_id, context->parent_id, context->flags);
  EXPECT_EQ(out, with_suite_ids("00"));
}

TEST(TraceFormatTest, HexBuffersForLogs) {
  const TraceId trace_id = new_trace_id();
  const SpanId span_id = new_span_id();
  const auto trace_hex = trace_id_hex(trace_id);
  const auto span_hex = span_id_hex(span_id);
  const std::string_view trace_view(trace_hex.data(), trace_hex.size());
  const std::string_view span_view(span_hex.data(), span_hex.size());
  EXPECT_TRUE(is_lower_hex(trace_view));
  EXPECT_TRUE(is_lower_hex(span_view));
  std::string expected;
  append_hex(expected, trace_id);
  EXPECT_EQ(trace_view, expected);
  expected.clear();
  append_hex(expected, span_id);
  EXPECT_EQ(span_view, expected);
}

}  // namespace
}  // namespace flexgate::observe
