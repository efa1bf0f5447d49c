#include "pipeline/model_pack.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/error.h"
#include "core/json.h"

namespace lipar::pipeline {

namespace fs = std::filesystem;

namespace {

std::string resolve(const std::string& dir, const std::string& path) {
    if (path.empty()) return {};
    // Lexically normal, so that "./a" and "a" name the same file in the same words (save()
    // writes the shorter form; a reload must describe the same pack).
    fs::path p(path);
    return (p.is_absolute() ? p : fs::path(dir) / p).lexically_normal().string();
}

std::string relative_to(const std::string& dir, const std::string& path) {
    if (path.empty()) return {};
    std::error_code ec;
    auto rel = fs::relative(path, dir, ec);
    return ec || rel.empty() || rel.string().rfind("..", 0) == 0 ? path : rel.string();
}

std::string get_string(const Json& obj, const char* key, const std::string& fallback = {}) {
    const Json* v = obj.find(key);
    return v ? v->as_string() : fallback;
}

void require_file(const ModelPack& p, const char* field, const std::string& path) {
    LIPAR_CHECK(!path.empty(), StatusCode::FormatError, "model pack '", p.dir, "': ", field,
                " is not set in manifest.json");
    // The error_code form: a name the file system refuses (too long, ...) is a missing file too,
    // not a filesystem_error escaping the loader.
    std::error_code ec;
    LIPAR_CHECK(fs::is_regular_file(path, ec), StatusCode::NotFound, "model pack '", p.dir, "': ",
                field, " file ", path, " is missing", ec ? " (" + ec.message() + ")" : std::string());
}

}  // namespace

ModelPack ModelPack::load(const std::string& dir) {
    const std::string manifest = (fs::path(dir) / "manifest.json").string();
    std::error_code ec;
    LIPAR_CHECK(fs::is_directory(dir, ec), StatusCode::NotFound, "model pack directory '", dir,
                "' does not exist");
    LIPAR_CHECK(fs::is_regular_file(manifest, ec), StatusCode::NotFound, "'", dir,
                "' is not a model pack: manifest.json is missing");
    std::ifstream in(manifest, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    ModelPack p;
    p.dir = dir;
    Json j;
    try {
        j = Json::parse(ss.str());
    } catch (const Error& e) {
        fail(StatusCode::FormatError, "model pack '", dir, "': manifest.json: ", e.what());
    }
    try {
        p.name = get_string(j, "name", fs::path(dir).filename().string());
        p.description = get_string(j, "description");
        if (const Json* u = j.find("untrained")) p.untrained = u->as_bool();
        const Json& dit = j.at("dit");
        p.dit_weights = resolve(dir, get_string(dit, "weights"));
        p.dit_select = get_string(dit, "select");
        if (const Json* h = dit.find("head_dim")) p.dit_head_dim = h->as_int64();
        const Json& ae = j.at("autoencoder");
        p.autoencoder_kind = get_string(ae, "kind");
        if (ae.contains("weights")) {
            p.encoder_weights = p.decoder_weights = resolve(dir, get_string(ae, "weights"));
        } else {
            p.encoder_weights = resolve(dir, get_string(ae, "encoder"));
            p.decoder_weights = resolve(dir, get_string(ae, "decoder"));
        }
        const Json& text = j.at("text");
        p.text_kind = get_string(text, "kind");
        p.text_weights = resolve(dir, get_string(text, "weights"));
        p.tokenizer = resolve(dir, get_string(text, "tokenizer"));
        p.embeddings = resolve(dir, get_string(text, "file"));
        if (const Json* l = text.find("text_len")) p.text_len = l->as_int64();
        if (const Json* s = j.find("schedule")) {
            if (const Json* v = s->find("shift")) p.shift = v->as_double();
            if (const Json* v = s->find("steps")) {
                p.steps.clear();
                for (const auto& e : v->elements()) p.steps.push_back(e.as_double());
            }
            if (const Json* v = s->find("frames_per_block")) p.frames_per_block = v->as_int64();
        }
        if (const Json* r = j.find("resolution")) {
            if (const Json* v = r->find("width")) p.width = static_cast<int>(v->as_int64());
            if (const Json* v = r->find("height")) p.height = static_cast<int>(v->as_int64());
            if (const Json* v = r->find("multiple")) p.multiple = static_cast<int>(v->as_int64());
        }
        if (const Json* w = j.find("attention")) {
            if (const Json* v = w->find("sink")) p.window_sink = v->as_int64();
            if (const Json* v = w->find("recent")) p.window_recent = v->as_int64();
        } else if (const Json* w = j.find("window")) {  // older packs: committed frames
            if (const Json* v = w->find("sink")) p.window_sink = v->as_int64();
            if (const Json* v = w->find("recent")) {
                const int64_t committed = v->as_int64();
                p.window_recent = committed > 0 ? committed + p.frames_per_block : committed;
            }
        }
        if (const Json* st = j.find("styles")) {
            for (const auto& e : st->elements()) p.styles.push_back(e.as_string());
        }
    } catch (const Error& e) {
        fail(StatusCode::FormatError, "model pack '", dir, "': manifest.json: ", e.what());
    }
    LIPAR_CHECK(p.dit_head_dim > 0 && p.text_len > 0, StatusCode::FormatError, "model pack '", dir,
                "': dit.head_dim and text.text_len must be positive");
    LIPAR_CHECK(p.window_sink >= 0 && p.window_recent >= 0, StatusCode::FormatError, "model pack '",
                dir, "': attention window sink and recent must not be negative");
    LIPAR_CHECK(p.window_recent == 0 || p.window_recent > p.frames_per_block, StatusCode::FormatError,
                "model pack '", dir, "': attention window recent ", p.window_recent,
                " counts the current block and must exceed its ", p.frames_per_block, " latent frames");
    require_file(p, "dit.weights", p.dit_weights);
    LIPAR_CHECK(p.autoencoder_kind == "taehv" || p.autoencoder_kind == "taesd",
                StatusCode::FormatError, "model pack '", dir, "': autoencoder.kind '",
                p.autoencoder_kind, "' (expected taehv or taesd)");
    require_file(p, "autoencoder encoder weights", p.encoder_weights);
    require_file(p, "autoencoder decoder weights", p.decoder_weights);
    if (p.text_kind == "umt5") {
        require_file(p, "text.weights", p.text_weights);
        require_file(p, "text.tokenizer", p.tokenizer);
    } else if (p.text_kind == "embeddings") {
        require_file(p, "text.file", p.embeddings);
    } else {
        LIPAR_CHECK(p.text_kind == "hashed", StatusCode::FormatError, "model pack '", dir,
                    "': text.kind '", p.text_kind, "' (expected umt5, embeddings or hashed)");
        LIPAR_CHECK(p.untrained, StatusCode::FormatError, "model pack '", dir,
                    "': hashed prompt embeddings are only for untrained packs");
    }
    LIPAR_CHECK(!p.steps.empty() && p.shift > 0 && p.frames_per_block > 0, StatusCode::FormatError,
                "model pack '", dir, "': schedule needs steps, shift > 0, frames_per_block > 0");
    LIPAR_CHECK(p.width > 0 && p.height > 0 && p.multiple > 0 && p.width % p.multiple == 0 &&
                    p.height % p.multiple == 0,
                StatusCode::FormatError, "model pack '", dir, "': resolution ", p.width, "x",
                p.height, " must be positive multiples of ", p.multiple);
    return p;
}

void ModelPack::save() const {
    Json j = Json::object();
    j.set("name", name);
    j.set("description", description);
    j.set("untrained", untrained);
    Json dit = Json::object();
    dit.set("weights", relative_to(dir, dit_weights));
    if (!dit_select.empty()) dit.set("select", dit_select);
    dit.set("head_dim", dit_head_dim);
    j.set("dit", dit);
    Json ae = Json::object();
    ae.set("kind", autoencoder_kind);
    if (encoder_weights == decoder_weights) {
        ae.set("weights", relative_to(dir, encoder_weights));
    } else {
        ae.set("encoder", relative_to(dir, encoder_weights));
        ae.set("decoder", relative_to(dir, decoder_weights));
    }
    j.set("autoencoder", ae);
    Json text = Json::object();
    text.set("kind", text_kind);
    if (!text_weights.empty()) text.set("weights", relative_to(dir, text_weights));
    if (!tokenizer.empty()) text.set("tokenizer", relative_to(dir, tokenizer));
    if (!embeddings.empty()) text.set("file", relative_to(dir, embeddings));
    text.set("text_len", text_len);
    j.set("text", text);
    Json sched = Json::object();
    sched.set("shift", shift);
    Json st = Json::array();
    for (double s : steps) st.push_back(s);
    sched.set("steps", st);
    sched.set("frames_per_block", frames_per_block);
    j.set("schedule", sched);
    Json res = Json::object();
    res.set("width", width);
    res.set("height", height);
    res.set("multiple", multiple);
    j.set("resolution", res);
    if (window_sink > 0 || window_recent > 0) {
        j.set("attention", Json::object().set("sink", window_sink).set("recent", window_recent));
    }
    if (!styles.empty()) {
        Json st = Json::array();
        for (const auto& s : styles) st.push_back(s);
        j.set("styles", st);
    }
    fs::create_directories(dir);
    const std::string path = (fs::path(dir) / "manifest.json").string();
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << j.dump(2) << "\n";
    LIPAR_CHECK(out.good(), StatusCode::IoError, "cannot write ", path);
}

std::string ModelPack::describe() const {
    std::ostringstream os;
    os << "pack        " << name << (untrained ? "  [UNTRAINED: random weights, output is noise]" : "")
       << "\n";
    if (!description.empty()) os << "            " << description << "\n";
    os << "directory   " << dir << "\n";
    os << "dit         " << dit_weights << (dit_select.empty() ? "" : " [" + dit_select + "]") << "\n";
    os << "autoencoder " << autoencoder_kind << ": " << encoder_weights;
    if (decoder_weights != encoder_weights) os << " + " << decoder_weights;
    os << "\n";
    os << "text        " << text_kind;
    if (text_kind == "umt5") os << ": " << text_weights << " + " << tokenizer;
    if (text_kind == "embeddings") os << ": " << embeddings;
    os << " (" << text_len << " tokens)\n";
    os << "schedule    shift " << shift << ", steps [";
    for (size_t i = 0; i < steps.size(); ++i) os << (i ? ", " : "") << steps[i];
    os << "], " << frames_per_block << " latent frames per block\n";
    os << "resolution  " << width << "x" << height << " (multiples of " << multiple << ")\n";
    if (window_sink > 0 || window_recent > 0)
        os << "attention   m = [" << window_sink << ", " << window_recent << "]: sink " << window_sink
           << " + the " << window_recent << " most recent latent frames, the current block's included\n";
    if (!styles.empty()) {
        os << "styles      ";
        for (size_t i = 0; i < styles.size(); ++i) os << (i ? ", " : "") << styles[i];
        os << "\n";
    }
    return os.str();
}

}  // namespace lipar::pipeline
