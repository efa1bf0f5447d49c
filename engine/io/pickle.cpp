#include "io/pickle.h"

#include <charconv>
#include <cstdio>
#include <cstring>

#include "core/error.h"

namespace lipar::io::pickle {

namespace {

class Machine {
  public:
    Machine(std::string_view data, const Hooks& hooks, const std::string& where)
        : m_data(data), m_hooks(hooks), m_where(where) {}

    ValuePtr run() {
        for (;;) {
            m_op_pos = m_pos;
            m_op = static_cast<uint8_t>(*take(1));
            if (m_op == '.')
                return pop();
            step();
        }
    }

    // A container that can grow after it was made (list, dict, set, object) can be put inside
    // itself through the memo; shared ownership would then never free it. Torch checkpoints hold
    // no cycles, so load() refuses them; these two find and break them.
    bool has_cycle() const {
        std::unordered_map<const Value*, uint8_t> state;  // 1: on the path, 2: done
        std::vector<std::pair<const Value*, size_t>> path;
        for (const auto& root : m_containers) {
            if (state[root.get()] == 2)
                continue;
            path.push_back({root.get(), 0});
            state[root.get()] = 1;
            while (!path.empty()) {
                auto& [v, next] = path.back();
                const size_t n = v->items.size() + 2 * v->entries.size();
                if (next == n) {
                    state[v] = 2;
                    path.pop_back();
                    continue;
                }
                const size_t i = next++;
                const Value* child =
                    i < v->items.size()
                        ? v->items[i].get()
                        : ((i - v->items.size()) % 2 == 0
                               ? v->entries[(i - v->items.size()) / 2].first.get()
                               : v->entries[(i - v->items.size()) / 2].second.get());
                if (!child || (child->items.empty() && child->entries.empty()))
                    continue;
                uint8_t& s = state[child];
                if (s == 1)
                    return true;
                if (s == 0) {
                    s = 1;
                    path.push_back({child, 0});
                }
            }
        }
        return false;
    }
    void break_cycles() {
        for (auto& c : m_containers) {
            c->items.clear();
            c->entries.clear();
            c->string_keys.clear();
        }
    }

  private:
    [[noreturn]] void error(const std::string& what) const {
        char op[32];
        if (m_op >= 0x20 && m_op < 0x7f) {
            std::snprintf(op, sizeof(op), "0x%02x '%c'", m_op, m_op);
        } else {
            std::snprintf(op, sizeof(op), "0x%02x", m_op);
        }
        fail(StatusCode::FormatError, m_where, ": pickle ", what, " at byte ", m_op_pos,
             " (opcode ", op, ")");
    }

    const char* take(uint64_t n) {
        if (n > m_data.size() - m_pos)
            error("data is truncated");
        const char* p = m_data.data() + m_pos;
        m_pos += static_cast<size_t>(n);
        return p;
    }
    uint64_t take_le(int n) {
        const char* p = take(static_cast<uint64_t>(n));
        uint64_t v = 0;
        for (int i = n - 1; i >= 0; --i)
            v = (v << 8) | static_cast<unsigned char>(p[i]);
        return v;
    }
    std::string_view take_line() {
        const size_t end = m_data.find('\n', m_pos);
        if (end == std::string_view::npos)
            error("text argument has no end of line");
        std::string_view line = m_data.substr(m_pos, end - m_pos);
        m_pos = end + 1;
        return line;
    }
    uint64_t take_decimal() {
        const std::string_view line = take_line();
        uint64_t v = 0;
        auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), v);
        if (ec != std::errc() || p != line.data() + line.size())
            error("has a bad memo index");
        return v;
    }

    void push(ValuePtr v) {
        if (v && (v->kind == Kind::List || v->kind == Kind::Dict || v->kind == Kind::Set ||
                  v->kind == Kind::Object))
            m_containers.push_back(v);
        m_stack.push_back(std::move(v));
    }
    size_t fence() const { return m_marks.empty() ? 0 : m_marks.back(); }
    ValuePtr pop() {
        if (m_stack.size() <= fence())
            error("stack underflow");
        ValuePtr v = std::move(m_stack.back());
        m_stack.pop_back();
        return v;
    }
    const ValuePtr& top() const {
        if (m_stack.size() <= fence())
            error("stack underflow");
        return m_stack.back();
    }
    std::vector<ValuePtr> pop_mark() {
        if (m_marks.empty())
            error("has no MARK for this opcode");
        const size_t k = m_marks.back();
        m_marks.pop_back();
        std::vector<ValuePtr> items(std::make_move_iterator(m_stack.begin() + k),
                                    std::make_move_iterator(m_stack.end()));
        m_stack.resize(k);
        return items;
    }

    static ValuePtr make_int(int64_t v) {
        auto r = Value::make(Kind::Int);
        r->integer = v;
        return r;
    }
    static ValuePtr make_text(Kind kind, std::string text) {
        auto r = Value::make(kind);
        r->text = std::move(text);
        return r;
    }
    static ValuePtr make_seq(Kind kind, std::vector<ValuePtr> items) {
        auto r = Value::make(kind);
        r->items = std::move(items);
        return r;
    }

    // Little-endian two's complement of n bytes (LONG1/LONG4).
    ValuePtr make_long(uint64_t n) {
        const char* p = take(n);
        if (n == 0)
            return make_int(0);
        const bool negative = static_cast<unsigned char>(p[n - 1]) & 0x80;
        for (uint64_t i = 8; i < n; ++i) {
            if (static_cast<unsigned char>(p[i]) != (negative ? 0xFF : 0x00)) {
                return make_text(Kind::Object, "int (wider than 64 bits)");
            }
        }
        uint64_t v = negative ? ~uint64_t{0} : 0;
        for (int64_t i = static_cast<int64_t>(std::min<uint64_t>(n, 8)) - 1; i >= 0; --i) {
            v = (v << 8) | static_cast<unsigned char>(p[i]);
        }
        if (n < 8 && !negative)
            v &= (uint64_t{1} << (8 * n)) - 1;
        if (n < 8 && negative)
            v |= ~((uint64_t{1} << (8 * n)) - 1);
        return make_int(static_cast<int64_t>(v));
    }

    ValuePtr parse_text_int(std::string_view line) {
        if (line == "01") {
            auto b = Value::make(Kind::Bool);
            b->boolean = true;
            return b;
        }
        if (line == "00")
            return Value::make(Kind::Bool);
        if (!line.empty() && line.back() == 'L')
            line.remove_suffix(1);
        int64_t v = 0;
        auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), v);
        if (ec == std::errc::result_out_of_range)
            return make_text(Kind::Object, "int (wider than 64 bits)");
        if (ec != std::errc() || p != line.data() + line.size())
            error("has a malformed integer");
        return make_int(v);
    }

    ValuePtr call(const ValuePtr& callable, const ValuePtr& args) {
        if (callable->kind == Kind::Global && m_hooks.call) {
            if (ValuePtr r = m_hooks.call(callable->text, args))
                return r;
        }
        auto obj =
            make_text(Kind::Object,
                      callable->kind == Kind::Global ? callable->text : kind_name(callable->kind));
        obj->items.push_back(args);
        return obj;
    }

    void memo_put(uint64_t index) { m_memo[index] = top(); }
    void memo_get(uint64_t index) {
        const auto it = m_memo.find(index);
        if (it == m_memo.end())
            error(str_cat("refers to memo entry ", index, " that was never stored"));
        push(it->second);
    }

    void set_items(const ValuePtr& target, std::vector<ValuePtr>& kv) {
        if (kv.size() % 2 != 0)
            error("has an odd number of dict items");
        if (target->kind == Kind::Object)
            return;  // opaque mapping: contents are not needed
        if (target->kind != Kind::Dict)
            error(str_cat("sets items on a ", kind_name(target->kind)));
        for (size_t i = 0; i < kv.size(); i += 2)
            target->set_item(kv[i], kv[i + 1]);
    }

    void append_items(const ValuePtr& target, std::vector<ValuePtr> items) {
        if (target->kind == Kind::Object)
            return;
        if (target->kind != Kind::List && target->kind != Kind::Set) {
            error(str_cat("appends to a ", kind_name(target->kind)));
        }
        for (auto& v : items)
            target->items.push_back(std::move(v));
    }

    void step() {
        switch (m_op) {
            case 0x80: {  // PROTO
                const uint64_t proto = take_le(1);
                if (proto > 5)
                    error(str_cat("protocol ", proto, " is not supported"));
                return;
            }
            case 0x95:
                take(8);
                return;  // FRAME: framing is irrelevant when reading from memory
            case '(':
                m_marks.push_back(m_stack.size());
                return;
            case '0':
                pop();
                return;
            case '1':
                pop_mark();
                return;
            case '2':
                push(top());
                return;
            case 'N':
                push(Value::make(Kind::None));
                return;
            case 0x88:
            case 0x89: {
                auto b = Value::make(Kind::Bool);
                b->boolean = m_op == 0x88;
                push(b);
                return;
            }
            case 'J':
                push(make_int(static_cast<int32_t>(static_cast<uint32_t>(take_le(4)))));
                return;
            case 'K':
                push(make_int(static_cast<int64_t>(take_le(1))));
                return;
            case 'M':
                push(make_int(static_cast<int64_t>(take_le(2))));
                return;
            case 0x8a:
                push(make_long(take_le(1)));
                return;
            case 0x8b:
                push(make_long(take_le(4)));
                return;
            case 'I':
            case 'L':
                push(parse_text_int(take_line()));
                return;
            case 'G': {
                const char* p = take(8);  // big-endian IEEE double
                uint64_t bits = 0;
                for (int i = 0; i < 8; ++i)
                    bits = (bits << 8) | static_cast<unsigned char>(p[i]);
                auto f = Value::make(Kind::Float);
                std::memcpy(&f->real, &bits, 8);
                push(f);
                return;
            }
            case 'F': {
                const std::string_view line = take_line();
                auto f = Value::make(Kind::Float);
                auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), f->real);
                if (ec != std::errc() || p != line.data() + line.size())
                    error("has a malformed float");
                push(f);
                return;
            }
            case 'X':  // BINUNICODE
            case 'T':  // BINSTRING
                return push(sized_text(Kind::String, 4));
            case 0x8c:  // SHORT_BINUNICODE
            case 'U':   // SHORT_BINSTRING
                return push(sized_text(Kind::String, 1));
            case 0x8d:
                return push(sized_text(Kind::String, 8));  // BINUNICODE8
            case 'B':
                return push(sized_text(Kind::Bytes, 4));
            case 'C':
                return push(sized_text(Kind::Bytes, 1));
            case 0x8e:  // BINBYTES8
            case 0x96:  // BYTEARRAY8
                return push(sized_text(Kind::Bytes, 8));
            case ')':
                push(Value::make(Kind::Tuple));
                return;
            case 't':
                push(make_seq(Kind::Tuple, pop_mark()));
                return;
            case 0x85:
            case 0x86:
            case 0x87: {
                const size_t n = m_op - 0x84;
                std::vector<ValuePtr> items(n);
                for (size_t i = n; i-- > 0;)
                    items[i] = pop();
                push(make_seq(Kind::Tuple, std::move(items)));
                return;
            }
            case ']':
                push(Value::make(Kind::List));
                return;
            case 'l':
                push(make_seq(Kind::List, pop_mark()));
                return;
            case 'a': {
                ValuePtr v = pop();
                append_items(top(), {std::move(v)});
                return;
            }
            case 'e': {
                auto items = pop_mark();
                append_items(top(), std::move(items));
                return;
            }
            case 0x8f:
                push(Value::make(Kind::Set));
                return;
            case 0x90: {
                auto items = pop_mark();
                append_items(top(), std::move(items));
                return;
            }
            case 0x91:
                push(make_seq(Kind::Set, pop_mark()));
                return;
            case '}':
                push(Value::make(Kind::Dict));
                return;
            case 'd': {
                auto kv = pop_mark();
                auto dict = Value::make(Kind::Dict);
                set_items(dict, kv);
                push(dict);
                return;
            }
            case 's': {
                std::vector<ValuePtr> kv(2);
                kv[1] = pop();
                kv[0] = pop();
                set_items(top(), kv);
                return;
            }
            case 'u': {
                auto kv = pop_mark();
                set_items(top(), kv);
                return;
            }
            case 'c': {
                const std::string module(take_line());
                const std::string name(take_line());
                push(make_text(Kind::Global, module + "." + name));
                return;
            }
            case 0x93: {
                ValuePtr name = pop();
                ValuePtr module = pop();
                if (name->kind != Kind::String || module->kind != Kind::String) {
                    error("STACK_GLOBAL needs two strings");
                }
                push(make_text(Kind::Global, module->text + "." + name->text));
                return;
            }
            case 'R':
            case 0x81: {
                ValuePtr args = pop();
                ValuePtr callable = pop();
                push(call(callable, args));
                return;
            }
            case 0x92: {  // NEWOBJ_EX: cls, args, kwargs
                pop();
                ValuePtr args = pop();
                ValuePtr cls = pop();
                push(call(cls, args));
                return;
            }
            case 'o': {  // OBJ: MARK cls args... OBJ
                auto items = pop_mark();
                if (items.empty())
                    error("OBJ has no class");
                ValuePtr cls = items.front();
                items.erase(items.begin());
                push(call(cls, make_seq(Kind::Tuple, std::move(items))));
                return;
            }
            case 'i': {  // INST module\nname\n: MARK args... INST
                const std::string module(take_line());
                const std::string name(take_line());
                auto items = pop_mark();
                push(call(make_text(Kind::Global, module + "." + name),
                          make_seq(Kind::Tuple, std::move(items))));
                return;
            }
            case 'b':
                pop();
                top();
                return;  // BUILD: object state is not needed
            case 'Q':
            case 'P': {
                ValuePtr pid =
                    m_op == 'Q' ? pop() : make_text(Kind::String, std::string(take_line()));
                if (!m_hooks.persistent_load)
                    error("has a persistent id but no loader");
                ValuePtr v = m_hooks.persistent_load(pid);
                if (!v)
                    error("has a persistent id the loader does not know");
                push(std::move(v));
                return;
            }
            case 'q':
                memo_put(take_le(1));
                return;
            case 'r':
                memo_put(take_le(4));
                return;
            case 'p':
                memo_put(take_decimal());
                return;
            case 0x94:
                memo_put(m_memo.size());
                return;
            case 'h':
                memo_get(take_le(1));
                return;
            case 'j':
                memo_get(take_le(4));
                return;
            case 'g':
                memo_get(take_decimal());
                return;
            default:
                error("has an unsupported opcode");
        }
    }

    // A length of `len_bytes` little-endian bytes, then that many bytes of content.
    ValuePtr sized_text(Kind kind, int len_bytes) {
        const uint64_t n = take_le(len_bytes);
        return make_text(kind, std::string(take(n), static_cast<size_t>(n)));
    }

    std::string_view m_data;
    const Hooks& m_hooks;
    const std::string& m_where;
    size_t m_pos = 0;
    size_t m_op_pos = 0;
    uint8_t m_op = 0;
    std::vector<ValuePtr> m_stack;
    std::vector<size_t> m_marks;
    std::unordered_map<uint64_t, ValuePtr> m_memo;
    std::vector<ValuePtr> m_containers;  // every list, dict, set and object made, for the above
};

}  // namespace

ValuePtr load(std::string_view data, const Hooks& hooks, const std::string& where) {
    Machine machine(data, hooks, where);
    ValuePtr result;
    try {
        result = machine.run();
    } catch (...) {
        machine.break_cycles();
        throw;
    }
    if (machine.has_cycle()) {
        result.reset();
        machine.break_cycles();
        fail(StatusCode::FormatError, where,
             ": pickle holds a reference cycle (a container inside itself), which no checkpoint "
             "has");
    }
    return result;
}

}  // namespace lipar::io::pickle
