#include <gtest/gtest.h>

#include "core/error.h"
#include "io/pickle.h"
#include "io_test_util.h"

namespace lipar::io::pickle {

using namespace std::string_literals;
using test::contains;

namespace {

std::string unhex(const std::string& hex) {
    std::string out;
    for (size_t i = 0; i + 1 < hex.size(); i += 2) {
        out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
    }
    return out;
}

// pickle.dumps(v, protocol=P) of
//   v = {'a': [1, -2, 2**40, -2**63, 1.5, True, None, 'é', b'xy', (1, 2, 3)], 'b': {}, 'c': 255,
//        'd': 65535, 'e': -129};  v['a'].append(v['a'][7])   (a memoized string, shared)
const char* kProtocol2 =
    "80027d71002858010000006171015d7102284b014afeffffff8a060000000000018a080000000000000080473ff80"
    "00000000000884e5802000000c3a97103635f636f646563730a656e636f64650a71045802000000787971055806000"
    "0"
    "006c6174696e3171068671075271084b014b024b03877109680365580100000062710a7d710b580100000063710c4b"
    "ff"
    "580100000064710d4dffff580100000065710e4a7fffffff752e";
const char* kProtocol4 =
    "80049561000000000000007d94288c0161945d94284b014afeffffff8a060000000000018a0800000000000000804"
    "73ff8000000000000884e8c02c3a99443027879944b014b024b0387946803658c0162947d948c0163944bff8c01649"
    "44d"
    "ffff8c0165944a7fffffff752e";

void expect_value(const ValuePtr& v, bool protocol4) {
    ASSERT_EQ(v->kind, Kind::Dict);
    ASSERT_EQ(v->entries.size(), 5u);
    const ValuePtr a = v->get("a");
    ASSERT_TRUE(a);
    ASSERT_EQ(a->kind, Kind::List);
    ASSERT_EQ(a->items.size(), 11u);
    EXPECT_EQ(a->items[0]->integer, 1);
    EXPECT_EQ(a->items[1]->integer, -2);
    EXPECT_EQ(a->items[2]->integer, int64_t{1} << 40);
    EXPECT_EQ(a->items[3]->integer, std::numeric_limits<int64_t>::min());
    EXPECT_EQ(a->items[4]->kind, Kind::Float);
    EXPECT_EQ(a->items[4]->real, 1.5);
    EXPECT_EQ(a->items[5]->kind, Kind::Bool);
    EXPECT_TRUE(a->items[5]->boolean);
    EXPECT_EQ(a->items[6]->kind, Kind::None);
    EXPECT_EQ(a->items[7]->text, "\xc3\xa9");
    if (protocol4) {
        EXPECT_EQ(a->items[8]->kind, Kind::Bytes);
        EXPECT_EQ(a->items[8]->text, "xy");
    } else {
        EXPECT_EQ(a->items[8]->kind, Kind::Object);  // _codecs.encode(...): not interpreted
        EXPECT_EQ(a->items[8]->text, "_codecs.encode");
    }
    ASSERT_EQ(a->items[9]->kind, Kind::Tuple);
    EXPECT_EQ(a->items[9]->items[2]->integer, 3);
    EXPECT_EQ(a->items[10], a->items[7]);  // the memo shares the object
    EXPECT_EQ(v->get("b")->kind, Kind::Dict);
    EXPECT_EQ(v->get("c")->integer, 255);
    EXPECT_EQ(v->get("d")->integer, 65535);
    EXPECT_EQ(v->get("e")->integer, -129);
}

Error load_error(const std::string& bytes) {
    try {
        load(bytes, {}, "test.pkl");
    } catch (const Error& e) {
        EXPECT_EQ(e.code(), StatusCode::FormatError);
        EXPECT_TRUE(contains(e.what(), "test.pkl: pickle ")) << e.what();
        return e;
    }
    ADD_FAILURE() << "no error";
    return Error(StatusCode::Ok, "");
}

}  // namespace

TEST(Pickle, protocol_2_values_decode_exactly) {
    expect_value(load(unhex(kProtocol2), {}, "p2"), false);
}

TEST(Pickle, protocol_4_frames_memoize_and_short_strings_decode_exactly) {
    expect_value(load(unhex(kProtocol4), {}, "p4"), true);
}

TEST(Pickle, ordered_dict_goes_through_the_call_hook_and_wide_ints_stay_opaque) {
    // pickle.dumps(OrderedDict([('k', 2**70)]), protocol=2)
    const std::string bytes = unhex(
        "800263636f6c6c656374696f6e730a4f726465726564446963740a71002952710158010000006b71028a090000"
        "00"
        "000000000040732e");
    std::vector<std::string> called;
    Hooks hooks;
    hooks.call = [&](const std::string& name, const ValuePtr& args) -> ValuePtr {
        called.push_back(name);
        EXPECT_EQ(args->kind, Kind::Tuple);
        return Value::make(Kind::Dict);
    };
    const ValuePtr v = load(bytes, hooks, "od");
    EXPECT_EQ(called, (std::vector<std::string>{"collections.OrderedDict"}));
    ASSERT_EQ(v->kind, Kind::Dict);
    EXPECT_EQ(v->get("k")->kind, Kind::Object);  // 2**70 does not fit int64
}

TEST(Pickle, malformed_programs_are_format_errors_with_offsets) {
    EXPECT_TRUE(contains(load_error(""s).what(), "data is truncated at byte 0"));
    EXPECT_TRUE(contains(load_error("\x80\x02").what(), "data is truncated at byte 2"));
    EXPECT_TRUE(
        contains(load_error("\x80\x02.").what(), "stack underflow at byte 2 (opcode 0x2e '.')"));
    EXPECT_TRUE(contains(load_error("\x80\x02X\xff\x00\x00\x00"
                                    "ab."s)
                             .what(),
                         "truncated at byte 2"));
    EXPECT_TRUE(
        contains(load_error("\x80\x02h\x07.").what(), "memo entry 7 that was never stored"));
    EXPECT_TRUE(contains(load_error("\x80\x02t.").what(), "no MARK"));
    EXPECT_TRUE(contains(load_error("\x80\x02(K\x01s.").what(), "stack underflow at byte 5"));
    EXPECT_TRUE(contains(load_error("\x80\x02]K\x01K\x02s.").what(), "sets items on a list"));
    EXPECT_TRUE(
        contains(load_error("\x80\x02\xff.").what(), "unsupported opcode at byte 2 (opcode 0xff)"));
    EXPECT_TRUE(contains(load_error("\x80\x09.").what(), "protocol 9 is not supported"));
    EXPECT_TRUE(contains(load_error("\x80\x02(X\x01\x00\x00\x00"
                                    "sQ."s)
                             .what(),
                         "persistent id but no loader"));
    EXPECT_TRUE(contains(load_error("\x80\x02"
                                    "ctorch\n.")
                             .what(),
                         "no end of line"));
}

}  // namespace lipar::io::pickle

namespace lipar::io::pickle {

// Found by tests/fuzz (fuzz_pickle): a container put inside itself through the memo was never
// freed. Such a pickle is refused, and a container shared without a cycle still loads.
TEST(Pickle, reference_cycles_are_refused_and_shared_containers_load) {
    // [] BINPUT 0, BINGET 0, APPEND: a list inside itself.
    EXPECT_TRUE(contains(load_error("\x80\x02]q\x00h\x00"
                                    "a."s)
                             .what(),
                         "reference cycle"));
    // d = {}; d["k"] = [d]
    EXPECT_TRUE(contains(load_error("\x80\x02}q\x00X\x01\x00\x00\x00k]h\x00"
                                    "as."s)
                             .what(),
                         "reference cycle"));
    // a = []; [a, a]
    ValuePtr v = load("\x80\x02]q\x00]h\x00"
                      "ah\x00"
                      "a."s,
                      {}, "diamond");
    ASSERT_EQ(v->kind, Kind::List);
    ASSERT_EQ(v->items.size(), 2u);
    EXPECT_EQ(v->items[0], v->items[1]);
    EXPECT_EQ(v->items[0]->kind, Kind::List);
}

TEST(Pickle, deeply_nested_lists_load_and_free_without_deep_recursion) {
    constexpr size_t kDepth = 300000;  // far beyond what recursive frees survive
    std::string bytes = "\x80\x02";
    bytes.append(kDepth, ']');
    bytes.append(kDepth - 1, 'a');
    bytes += '.';
    ValuePtr v = load(bytes, {}, "deep");
    size_t depth = 1;
    for (const Value* p = v.get(); !p->items.empty(); p = p->items[0].get())
        ++depth;
    EXPECT_EQ(depth, kDepth);
    v.reset();  // must not overflow the stack
}

}  // namespace lipar::io::pickle
