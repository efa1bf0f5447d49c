#include <gtest/gtest.h>

#include "core/error.h"
#include "core/json.h"

namespace lipar {

namespace {
// The message of the FormatError that parsing `text` throws.
std::string parse_error(std::string_view text) {
    try {
        Json::parse(text);
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), StatusCode::FormatError);
        return e.what();
    }
    ADD_FAILURE() << "no error for: " << text;
    return {};
}

bool contains(const std::string& haystack, const std::string& needle) {
    return haystack.find(needle) != std::string::npos;
}
}  // namespace

TEST(Json, parses_every_type_and_keeps_object_order) {
    const Json j = Json::parse(R"( {"z": 1, "a": [true, false, null, -2.5e3, "s"], "m": {}} )");
    ASSERT_TRUE(j.is_object());
    ASSERT_EQ(j.size(), 3u);
    EXPECT_EQ(j.items()[0].first, "z");
    EXPECT_EQ(j.items()[1].first, "a");
    EXPECT_EQ(j.items()[2].first, "m");
    const Json& a = j.at("a");
    ASSERT_EQ(a.size(), 5u);
    EXPECT_TRUE(a[0].as_bool());
    EXPECT_FALSE(a[1].as_bool());
    EXPECT_TRUE(a[2].is_null());
    EXPECT_DOUBLE_EQ(a[3].as_double(), -2500.0);
    EXPECT_FALSE(a[3].is_integer());
    EXPECT_EQ(a[4].as_string(), "s");
    EXPECT_TRUE(j.at("m").is_object());
    EXPECT_TRUE(j.at("m").empty());
    EXPECT_EQ(j.find("nope"), nullptr);
}

TEST(Json, integers_beyond_double_precision_stay_exact) {
    const Json j = Json::parse("[9007199254740993, -9223372036854775808, 9223372036854775807]");
    EXPECT_EQ(j[0].as_int64(), 9007199254740993LL);  // 2^53 + 1: a double would round it
    EXPECT_EQ(j[1].as_int64(), INT64_MIN);
    EXPECT_EQ(j[2].as_int64(), INT64_MAX);
    EXPECT_EQ(j.dump(), "[9007199254740993,-9223372036854775808,9223372036854775807]");
    // One past int64 is still a number, but not an exact integer.
    const Json big = Json::parse("9223372036854775808");
    EXPECT_TRUE(big.is_number());
    EXPECT_FALSE(big.is_integer());
    EXPECT_THROW(big.as_int64(), Error);
    EXPECT_THROW(Json::parse("1.5").as_int64(), Error);
}

TEST(Json, dump_and_parse_round_trip) {
    Json doc = Json::object();
    Json shape = Json::array();
    shape.push_back(64).push_back(int64_t{3}).push_back(0);
    doc.set("dtype", "F16").set("shape", shape).set("ratio", 0.1).set("ok", true);
    doc.set("none", Json()).set("text", std::string("tab\tquote\"back\\slash\x01 \xc3\xa9"));
    for (int indent : {-1, 0, 2, 4}) {
        const std::string text = doc.dump(indent);
        const Json back = Json::parse(text);
        EXPECT_EQ(back, doc) << text;
        EXPECT_EQ(back.dump(indent), text);
    }
    EXPECT_EQ(doc.dump(), R"({"dtype":"F16","shape":[64,3,0],"ratio":0.1,"ok":true,"none":null,)"
                          R"("text":"tab\tquote\"back\\slash\u0001 )"
                          "\xc3\xa9\"}");
    // A double that happens to be integral reads back as a double, not an integer.
    const Json two = Json::parse(Json(2.0).dump());
    EXPECT_FALSE(two.is_integer());
    EXPECT_DOUBLE_EQ(two.as_double(), 2.0);
}

TEST(Json, set_replaces_an_existing_key_in_place) {
    Json j = Json::object();
    j.set("a", 1).set("b", 2).set("a", 3);
    ASSERT_EQ(j.size(), 2u);
    EXPECT_EQ(j.items()[0].first, "a");
    EXPECT_EQ(j.at("a").as_int64(), 3);
}

TEST(Json, escapes_and_surrogate_pairs_decode_to_utf8) {
    const Json j = Json::parse(R"("a\"b\\c\/d\b\f\n\r\t\u00e9\u20ac\ud83d\ude00\u0000z")");
    const std::string expected =
        std::string("a\"b\\c/d\b\f\n\r\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80") +
        std::string(1, '\0') + "z";
    EXPECT_EQ(j.as_string(), expected);
    // Raw UTF-8 passes through unchanged.
    EXPECT_EQ(Json::parse("\"\xf0\x9f\x98\x80\"").as_string(), "\xf0\x9f\x98\x80");
}

TEST(Json, errors_name_the_byte_offset_and_what_was_expected) {
    EXPECT_TRUE(contains(parse_error("{\"a\" 1}"), "byte 5: expected ':'"));
    EXPECT_TRUE(contains(parse_error("[1, 2,]"), "byte 6: expected a value"));
    EXPECT_TRUE(contains(parse_error("[1 2]"), "byte 3: expected ',' or ']'"));
    EXPECT_TRUE(contains(parse_error("{\"a\":1} x"), "byte 8: expected end of input"));
    EXPECT_TRUE(contains(parse_error("\"abc"), "byte 4: expected '\"' closing"));
    EXPECT_TRUE(contains(parse_error("tru"), "byte 0: expected 'true'"));
    EXPECT_TRUE(contains(parse_error("01"), "byte 1: expected end of input"));
    EXPECT_TRUE(contains(parse_error("-"), "byte 1: expected a digit"));
    EXPECT_TRUE(contains(parse_error("1."), "byte 2: expected a digit after '.'"));
    EXPECT_TRUE(contains(parse_error("\"a\\x\""), "byte 3: expected a valid escape"));
    EXPECT_TRUE(contains(parse_error("\"\\ud83d\""), "expected '\\u' low surrogate"));
    EXPECT_TRUE(contains(parse_error("\"\\ude00\""), "byte 3: expected a high surrogate"));
    EXPECT_TRUE(contains(parse_error("\"\\u12G4\""), "byte 5: expected a hex digit"));
    EXPECT_TRUE(contains(parse_error("\"a\nb\""), "byte 2: expected an escaped control"));
    EXPECT_TRUE(contains(parse_error("\"\xff\""), "byte 1: expected valid UTF-8"));
    EXPECT_TRUE(contains(parse_error("\"\xc0\xaf\""), "valid UTF-8"));  // overlong '/'
    EXPECT_TRUE(contains(parse_error("{\"k\":1,\"k\":2}"), "byte 7: duplicate key \"k\""));
    EXPECT_TRUE(contains(parse_error("1e999"), "out of range"));
    EXPECT_TRUE(contains(parse_error(""), "byte 0: expected a value"));
    EXPECT_TRUE(contains(parse_error("{1:2}"), "byte 1: expected a string key"));
}

TEST(Json, nesting_limit_is_enforced_without_crashing) {
    const std::string ok = std::string(Json::kMaxDepth, '[') + std::string(Json::kMaxDepth, ']');
    EXPECT_NO_THROW(Json::parse(ok));
    const std::string deep(100000, '[');
    EXPECT_TRUE(contains(parse_error(deep), "nesting deeper than 256"));
}

TEST(Json, checked_accessors_name_the_expected_type_and_key) {
    const Json j = Json::parse(R"({"n": 1, "s": "x"})");
    try {
        j.at("s").as_int64();
        FAIL();
    } catch (const Error& e) {
        EXPECT_TRUE(contains(e.what(), "expected number, got string")) << e.what();
    }
    try {
        j.at("missing");
        FAIL();
    } catch (const Error& e) {
        EXPECT_TRUE(contains(e.what(), "missing key \"missing\"")) << e.what();
    }
    EXPECT_THROW(j.at("n").as_string(), Error);
    EXPECT_THROW(j.elements(), Error);
    EXPECT_THROW(Json::parse("[1]").at(size_t{1}), Error);
    EXPECT_THROW(Json(std::nan("")).dump(), Error);
}

}  // namespace lipar
